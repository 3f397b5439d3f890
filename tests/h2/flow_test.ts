/**
 * Flow control between two sessions of ours: 5 MB each way, and a reader
 * that does not read holds the sender at the window.
 */

import assert from "node:assert/strict";
import type { H2Stream } from "../../src/h2/session.ts";
import { delay, pseudoRandomBytes, sha256, within } from "../_helpers/net.ts";
import { dialH2, readAll, serveH2 } from "./_h2.ts";

const SIZE = 5 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** Our default stream window (256 KiB) plus one chunk in flight. */
const HELD = 256 * 1024 + CHUNK;

/** Writes `data` in chunks, counting what the stream took. */
async function send(stream: H2Stream, data: Uint8Array, sent: { n: number }): Promise<void> {
  for (let at = 0; at < data.length; at += CHUNK) {
    const chunk = data.subarray(at, Math.min(at + CHUNK, data.length));
    await stream.write(chunk);
    sent.n += chunk.length;
  }
  await stream.end();
}

/** Reads slowly: a pause every 16 chunks. */
async function readSlowly(stream: H2Stream): Promise<string> {
  const parts: Uint8Array[] = [];
  let i = 0;
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {
    parts.push(chunk.slice());
    if (++i % 16 === 0) await delay(1);
  }
  return sha256(...parts);
}

Deno.test("h2 flow control: 5 MB each way with a slow reader; the sender waits for window", async () => {
  const payload = pseudoRandomBytes(SIZE, 7);
  const reply = pseudoRandomBytes(SIZE, 9);
  const startReading = Promise.withResolvers<void>();
  const serverSent = { n: 0 };
  let serverGot = "";
  await using server = serveH2(async (stream) => {
    await startReading.promise;
    serverGot = await readSlowly(stream);
    stream.sendHeaders([":status", "200"], false);
    await send(stream, reply, serverSent);
  });
  const { session, done } = await dialH2(server.port);
  try {
    const stream = session.request(
      [":method", "POST", ":scheme", "http", ":authority", "x", ":path", "/upload"],
      false,
    );
    const clientSent = { n: 0 };
    const upload = send(stream, payload, clientSent);
    await delay(300);
    assert.ok(clientSent.n > 0, "some data went out");
    assert.ok(clientSent.n <= HELD, `the client sent ${clientSent.n} bytes to a reader that waits`);
    startReading.resolve();
    await within(upload, 20_000, "the upload");
    assert.equal(serverGot || (await waitFor(() => serverGot)), sha256(payload));

    const head = await within(stream.response(), 5_000, "the response head");
    assert.equal(head[1], "200");
    await delay(300); // we do not read: the server must stop at our window
    assert.ok(serverSent.n <= HELD, `the server sent ${serverSent.n} bytes to a reader that waits`);
    assert.equal(await within(readSlowly(stream), 20_000, "the download"), sha256(reply));
    assert.equal(serverSent.n, SIZE);
  } finally {
    session.close();
    await done;
  }
});

Deno.test("h2 flow control: a reset stream gives its unread bytes back to the connection", async () => {
  // 8 streams each leave 200 KB unread and are reset; with a 1 MiB connection
  // window the 9th stream only gets through when those bytes were returned.
  const body = pseudoRandomBytes(200_000, 3);
  await using server = serveH2(async (stream) => {
    await readAll(stream);
    stream.sendHeaders([":status", "200"], false);
    await stream.write(body);
    await stream.end();
  });
  const { session, done } = await dialH2(server.port);
  const get = [":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/"];
  try {
    for (let i = 0; i < 8; i++) {
      const stream = session.request(get, true);
      await stream.response();
      await delay(20); // the body arrives and sits unread
      stream.reset();
    }
    const last = session.request(get, true);
    await stream200(last);
    assert.equal((await within(readAll(last), 5_000, "the last body")).length, body.length);
  } finally {
    session.close();
    await done;
  }
});

async function stream200(stream: H2Stream): Promise<void> {
  const head = await within(stream.response(), 5_000, "a response head");
  assert.equal(head[1], "200");
}

async function waitFor(get: () => string): Promise<string> {
  for (let i = 0; i < 100 && get() === ""; i++) await delay(10);
  return get();
}

Deno.test("h2 flow control: an early complete response survives the server's RST_STREAM(NO_ERROR)", async () => {
  const reply = pseudoRandomBytes(100_000, 5);
  await using server = serveH2(async (stream) => {
    stream.sendHeaders([":status", "200"], false);
    await stream.write(reply);
    await stream.end(["x-early", "yes"]);
  });
  const { session, done } = await dialH2(server.port);
  try {
    const stream = session.request(
      [":method", "POST", ":scheme", "http", ":authority", "x", ":path", "/"],
      false,
    );
    // A request body larger than the server's window, which it never reads.
    const upload = stream.write(pseudoRandomBytes(1_000_000, 6)).catch((e) => e);
    await stream200(stream);
    await delay(50); // the RST_STREAM(NO_ERROR) arrives meanwhile
    assert.equal(sha256(await within(readAll(stream), 5_000, "the body")), sha256(reply));
    assert.deepEqual(stream.trailers, ["x-early", "yes"]);
    const outcome = await within(upload, 5_000, "the upload to settle");
    assert.ok(outcome === undefined || outcome instanceof Error);
    assert.equal(session.activeStreams, 0);
  } finally {
    session.close();
    await done;
  }
});

Deno.test("h2 flow control: a 1000-byte stream window still moves 200 KB, one update at a time", async () => {
  const payload = pseudoRandomBytes(200_000, 11);
  let got = "";
  await using server = serveH2(async (stream) => {
    got = sha256(await readAll(stream));
    stream.sendHeaders([":status", "200"], true);
  }, { initialWindowSize: 1000 });
  const { session, done } = await dialH2(server.port);
  try {
    const stream = session.request(
      [":method", "POST", ":scheme", "http", ":authority", "x", ":path", "/"],
      false,
    );
    await within(send(stream, payload, { n: 0 }), 10_000, "the upload");
    await stream200(stream);
    assert.equal(got, sha256(payload));
  } finally {
    session.close();
    await done;
  }
});

Deno.test("h2 flow control: frames above 32 KiB (a peer allowing 1 MiB frames) grow the read buffer", async () => {
  const reply = pseudoRandomBytes(600_000, 12);
  await using server = serveH2(async (stream) => {
    stream.sendHeaders([":status", "200"], false);
    await stream.write(reply); // one write: frames as large as the windows allow
    await stream.end();
  });
  const { session, done } = await dialH2(server.port, {
    maxFrameSize: 1 << 20,
    initialWindowSize: 1 << 20,
    connectionWindowSize: 4 << 20,
  });
  try {
    const stream = session.request(
      [":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/"],
      true,
    );
    await stream200(stream);
    const body = await within(readAll(stream), 10_000, "the body");
    assert.equal(sha256(body), sha256(reply));
  } finally {
    session.close();
    await done;
  }
});

/**
 * The session's lifecycle: SETTINGS timeout (fake clock), PING, graceful
 * GOAWAY, close, the peer's stream limit, large field blocks and 1xx heads.
 */

import assert from "node:assert/strict";
import { lentBuffers } from "../../src/h2/_buffers.ts";
import { FLAG, FRAME, SETTING, writeUint32 } from "../../src/h2/frame.ts";
import { H2_ERROR, H2Session, H2StreamError } from "../../src/h2/session.ts";
import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";
import { utf8, within } from "../_helpers/net.ts";
import { dialH2, RawPeer, readAll, serveH2 } from "./_h2.ts";

const GET = [":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/"];

Deno.test("h2 session: no SETTINGS ACK within 10 s is GOAWAY(SETTINGS_TIMEOUT)", async () => {
  const clock = new FakeClock();
  await using srv = serveH2(() => {}, { clock });
  const peer = await RawPeer.connect(srv.port); // sends SETTINGS, never ACKs ours
  try {
    const settings = await within(peer.until(FRAME.SETTINGS), 5_000, "our SETTINGS");
    assert.equal(settings!.flags & FLAG.ACK, 0);
    await clock.advance(9_999);
    assert.equal(srv.sessions[0].closed, false);
    await clock.advance(1);
    const goaway = await within(peer.until(FRAME.GOAWAY), 5_000, "GOAWAY");
    assert.equal(RawPeer.code(goaway!), H2_ERROR.SETTINGS_TIMEOUT);
  } finally {
    peer.close();
  }
});

Deno.test("h2 session: PING is answered with the same payload", async () => {
  await using srv = serveH2(() => {});
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.frame(FRAME.PING, 0, 0, utf8("8 bytes!"));
    const pong = await within(peer.until(FRAME.PING), 5_000, "PING ACK");
    assert.equal(pong!.flags, FLAG.ACK);
    assert.deepEqual(pong!.payload, utf8("8 bytes!"));
  } finally {
    peer.close();
  }
});

Deno.test("h2 session: goaway() refuses new streams, finishes open ones, then closes", async () => {
  const release = Promise.withResolvers<void>();
  await using srv = serveH2(async (stream) => {
    if (stream.head.includes("/hold")) await release.promise;
    stream.sendHeaders([":status", "200"], true);
  });
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, [...GET.slice(0, 7), "/hold"]);
    await within(waitForStreams(srv.sessions, 1), 5_000, "the first stream");
    srv.sessions[0].goaway();
    const goaway = await within(peer.until(FRAME.GOAWAY), 5_000, "GOAWAY");
    assert.equal(RawPeer.code(goaway!), H2_ERROR.NO_ERROR);
    assert.equal(new DataView(goaway!.payload.buffer).getUint32(0), 1, "last stream id 1");
    await peer.headers(3, GET);
    const refused = await within(peer.until(FRAME.RST_STREAM, 3), 5_000, "the refusal");
    assert.equal(RawPeer.code(refused!), H2_ERROR.REFUSED_STREAM);
    assert.equal(srv.sessions[0].closed, false, "open while stream 1 runs");
    release.resolve();
    const head = await within(peer.until(FRAME.HEADERS, 1), 5_000, "stream 1's response");
    assert.ok(head !== null);
    assert.equal(await within(peer.next(), 5_000, "the close"), null);
    assert.equal(srv.sessions[0].closed, true);
  } finally {
    peer.close();
  }
});

Deno.test("h2 session: close() resets open streams with CANCEL and run() resolves", async () => {
  await using srv = serveH2(() => {});
  const { session, done } = await dialH2(srv.port);
  const stream = session.request(GET, true);
  const reset = new Promise<number>((resolve) => stream.onReset = resolve);
  const head = stream.response();
  session.close();
  assert.equal(await reset, H2_ERROR.CANCEL);
  await assert.rejects(
    head,
    (e: unknown) => e instanceof H2StreamError && e.code === H2_ERROR.CANCEL,
  );
  await within(done, 5_000, "run()");
  assert.equal(session.closed, true);
  assert.equal(session.canOpen, false);
  assert.throws(() => session.request(GET, true), /closed/);
});

Deno.test("h2 session: the client stops at the server's SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
  const release = Promise.withResolvers<void>();
  await using srv = serveH2(async (stream) => {
    await release.promise;
    stream.sendHeaders([":status", "200"], true);
  }, { maxConcurrentStreams: 3 });
  const { session, done } = await dialH2(srv.port);
  try {
    const first = session.request(GET, true);
    await within(waitForStreams(srv.sessions, 1), 5_000, "the server's SETTINGS"); // its SETTINGS came first
    const streams = [first, session.request(GET, true), session.request(GET, true)];
    assert.equal(session.canOpen, false);
    assert.throws(() => session.request(GET, true), /concurrent stream limit/);
    release.resolve();
    for (const stream of streams) await within(stream.response(), 5_000, "a response");
    await within(waitFor(() => session.canOpen), 5_000, "room for a stream");
  } finally {
    session.close();
    await done;
  }
});

Deno.test("h2 session: a field block larger than a frame goes out in CONTINUATION frames", async () => {
  const big = "v".repeat(40_000);
  await using srv = serveH2(async (stream) => {
    await readAll(stream);
    stream.sendHeaders([":status", "200", "x-big", big], true);
  });
  const { session, done } = await dialH2(srv.port);
  try {
    const stream = session.request([...GET, "x-big", big], true);
    const head = await within(stream.response(), 5_000, "the response");
    assert.equal(head[head.indexOf("x-big") + 1], big);
    assert.equal(srv.sessions[0].closed, false);
  } finally {
    session.close();
    await done;
  }
});

Deno.test("h2 session: a client skips 1xx heads and resolves with the final one", async () => {
  await using srv = serveH2(async (stream) => {
    stream.sendHeaders([":status", "100"], false);
    stream.sendHeaders([":status", "103", "link", "</a.css>; rel=preload"], false);
    await readAll(stream);
    stream.sendHeaders([":status", "204"], true);
  });
  const { session, done } = await dialH2(srv.port);
  try {
    const stream = session.request([...GET.slice(0, 1), "POST", ...GET.slice(2)], false);
    await stream.write(utf8("x"));
    await stream.end();
    const head = await within(stream.response(), 5_000, "the final response");
    assert.deepEqual(head, [":status", "204"]);
    assert.equal(await stream.read(), null);
  } finally {
    session.close();
    await done;
  }
});

Deno.test("h2 session: SETTINGS_INITIAL_WINDOW_SIZE from the peer resizes open streams' windows", async () => {
  // The raw client announces a window of 10 bytes; the server's 100-byte body
  // waits until the client raises the window with SETTINGS.
  await using srv = serveH2(async (stream) => {
    stream.sendHeaders([":status", "200"], false);
    await stream.write(new Uint8Array(100));
    await stream.end();
  });
  const peer = await RawPeer.connect(srv.port, false);
  try {
    await peer.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    await peer.frame(FRAME.SETTINGS, 0, 0, setting(SETTING.INITIAL_WINDOW_SIZE, 10));
    await peer.headers(1, GET);
    const first = await within(peer.until(FRAME.DATA, 1), 5_000, "the first DATA");
    assert.equal(first!.payload.length, 10);
    await peer.frame(FRAME.SETTINGS, 0, 0, setting(SETTING.INITIAL_WINDOW_SIZE, 1000));
    let got = 10;
    while (got < 100) {
      const frame = await within(peer.until(FRAME.DATA, 1), 5_000, "more DATA");
      got += frame!.payload.length;
    }
    assert.equal(got, 100);
  } finally {
    peer.close();
  }
});

Deno.test("h2 session: the peer's RST_STREAM rejects a pending read and calls onReset", async () => {
  const outcome = Promise.withResolvers<{ code: number; read: unknown }>();
  await using srv = serveH2(async (stream) => {
    const code = new Promise<number>((resolve) => stream.onReset = resolve);
    const first = await stream.read();
    const read = await stream.read().catch((e) => e);
    outcome.resolve({ code: await code, read: first !== null ? read : "no data first" });
  });
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, [...GET.slice(0, 1), "POST", ...GET.slice(2)], false);
    await peer.frame(FRAME.DATA, 0, 1, utf8("part"));
    await new Promise((r) => setTimeout(r, 50));
    const code = new Uint8Array(4);
    writeUint32(code, 0, H2_ERROR.CANCEL);
    await peer.frame(FRAME.RST_STREAM, 0, 1, code);
    const { code: got, read } = await within(outcome.promise, 5_000, "the reset");
    assert.equal(got, H2_ERROR.CANCEL);
    assert.ok(read instanceof H2StreamError, `read() rejects: ${read}`);
    assert.equal(read.code, H2_ERROR.CANCEL);
  } finally {
    peer.close();
  }
});

Deno.test("h2 session: end() right after write() sets END_STREAM on that DATA frame", async () => {
  await using srv = serveH2(async (stream) => {
    stream.sendHeaders([":status", "200"], false);
    await stream.write(utf8("body"));
    await stream.end();
  });
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, GET);
    const data = await within(peer.until(FRAME.DATA, 1), 5_000, "the DATA frame");
    assert.deepEqual(data!.payload, utf8("body"));
    assert.equal(data!.flags, FLAG.END_STREAM, "one frame carries the body and the end");
  } finally {
    peer.close();
  }
});

Deno.test("h2 session: idle connections hold no working buffer", async () => {
  const before = lentBuffers();
  await using srv = serveH2(async (stream) => {
    await readAll(stream);
    stream.sendHeaders([":status", "200"], false);
    await stream.write(utf8("hello"));
    await stream.end();
  });
  const clients = await Promise.all(Array.from({ length: 10 }, () => dialH2(srv.port)));
  try {
    for (const { session } of clients) {
      const stream = session.request(GET, true);
      await within(stream.response(), 5_000, "a response");
      await readAll(stream);
    }
    // Both sides of 10 connections are idle now: every buffer is back.
    await waitFor(() => lentBuffers() === before);
    assert.equal(srv.sessions.length, 10);
  } finally {
    for (const { session, done } of clients) {
      session.close();
      await done;
    }
  }
});

Deno.test("h2 session: DATA before the response head is refused locally", async () => {
  const outcome = Promise.withResolvers<unknown>();
  await using srv = serveH2(async (stream) => {
    outcome.resolve(await stream.write(utf8("too early")).catch((e) => e));
    stream.sendHeaders([":status", "200"], true);
  });
  const { session, done } = await dialH2(srv.port);
  try {
    const stream = session.request(GET, true);
    assert.equal((await within(stream.response(), 5_000, "the response"))[1], "200");
    const error = await outcome.promise;
    assert.ok(error instanceof Error && /sendHeaders\(\) comes before DATA/.test(error.message));
  } finally {
    session.close();
    await done;
  }
});

for (const sniffed of [3, 24, 40]) {
  Deno.test(`h2 session: run(initial) takes ${sniffed} bytes already read (the sniffed preface)`, async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = (async () => {
      const conn = await listener.accept();
      const first = new Uint8Array(sniffed);
      let got = 0;
      while (got < sniffed) got += (await conn.read(first.subarray(got))) ?? sniffed;
      const session = new H2Session(conn, {
        role: "server",
        clock: SYSTEM_CLOCK,
        onStream: (stream) => stream.sendHeaders([":status", "204"], true),
      });
      await session.run(first);
    })();
    const { session, done } = await dialH2((listener.addr as Deno.NetAddr).port);
    try {
      const stream = session.request(GET, true);
      assert.equal((await within(stream.response(), 5_000, "the response"))[1], "204");
    } finally {
      session.close();
      await done;
      await accepted;
      listener.close();
    }
  });
}

Deno.test("h2 session: a client announces ENABLE_PUSH=0 and treats PUSH_PROMISE as PROTOCOL_ERROR", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { session, done } = await dialH2((listener.addr as Deno.NetAddr).port);
  const server = new RawPeer(await listener.accept());
  try {
    const preface = new Uint8Array(24);
    let got = 0;
    while (got < 24) got += (await server.conn.read(preface.subarray(got))) ?? 24;
    const settings = await within(server.until(FRAME.SETTINGS), 5_000, "the client's SETTINGS");
    assert.deepEqual(settings!.payload.subarray(0, 6), setting(SETTING.ENABLE_PUSH, 0));
    await server.frame(FRAME.SETTINGS, 0, 0);
    session.request(GET, true);
    await within(server.until(FRAME.HEADERS, 1), 5_000, "the request");
    const promise = new Uint8Array(4 + 1);
    writeUint32(promise, 0, 2);
    await server.frame(FRAME.PUSH_PROMISE, FLAG.END_HEADERS, 1, promise);
    const goaway = await within(server.until(FRAME.GOAWAY), 5_000, "GOAWAY");
    assert.equal(RawPeer.code(goaway!), H2_ERROR.PROTOCOL_ERROR);
    await within(done, 5_000, "the client session to close");
  } finally {
    server.close();
    session.close();
    await done;
    listener.close();
  }
});

function setting(id: number, value: number): Uint8Array {
  const payload = new Uint8Array(6);
  payload[1] = id;
  writeUint32(payload, 2, value);
  return payload;
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check());
}

async function waitForStreams(sessions: H2Session[], n: number): Promise<void> {
  await waitFor(() => sessions.length > 0 && sessions[0].activeStreams >= n);
}

/**
 * The client role against a node:http2 server: multiplexed streams, trailers,
 * a reset by the peer, GOAWAY.
 */

import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { H2_ERROR, H2StreamError } from "../../src/h2/session.ts";
import { HOST, text, utf8, within } from "../_helpers/net.ts";
import { dialH2, readAll } from "./_h2.ts";

/** A node:http2 server; `/reset` resets, `/slow` answers after 50 ms, the rest echo. */
async function nodeServer(): Promise<
  { port: number; server: http2.Http2Server; close(): Promise<void> }
> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    const path = headers[":path"];
    stream.on("error", () => {}); // node reports the resets it sends as stream errors
    if (headers[":method"] === "HEAD") {
      stream.respond({ ":status": 200, "content-length": "5" }, { endStream: true });
      return;
    }
    if (path === "/reset") {
      stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    const chunks: Uint8Array[] = [];
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const reply = () => {
        stream.respond({ ":status": 200, "x-path": String(path) }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "x-length": String(body.length) }));
        stream.end(body);
      };
      if (path === "/slow") setTimeout(reply, 50);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function get(port: number, path: string, method = "GET"): string[] {
  return [":method", method, ":scheme", "http", ":authority", `${HOST}:${port}`, ":path", path];
}

function connect(port: number, onGoaway?: (last: number, code: number) => void) {
  return dialH2(port, onGoaway ? { onGoaway } : {});
}

Deno.test("h2 client: 20 concurrent streams on one connection, bodies and trailers", async () => {
  const node = await nodeServer();
  const { session, done } = await connect(node.port);
  try {
    const results = await within(
      Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const stream = session.request(get(node.port, i % 2 ? "/slow" : `/n${i}`, "POST"), false);
        await stream.write(utf8(`body ${i}`));
        await stream.end();
        const head = await stream.response();
        const body = text(await readAll(stream));
        return { head, body, trailers: stream.trailers, id: stream.id };
      })),
      10_000,
      "20 responses",
    );
    for (const [i, r] of results.entries()) {
      assert.equal(r.head[0], ":status");
      assert.equal(r.head[1], "200");
      assert.equal(r.body, `body ${i}`);
      assert.deepEqual(r.trailers, ["x-length", String(`body ${i}`.length)]);
    }
    assert.deepEqual(results.map((r) => r.id), Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    assert.equal(session.activeStreams, 0);
  } finally {
    session.close();
    await done;
    await node.close();
  }
});

Deno.test("h2 client: a stream reset by the peer rejects read and calls onReset", async () => {
  const node = await nodeServer();
  const { session, done } = await connect(node.port);
  try {
    const stream = session.request(get(node.port, "/reset"), true);
    const resetCode = new Promise<number>((resolve) => stream.onReset = resolve);
    await assert.rejects(stream.response(), (e: unknown) => {
      return e instanceof H2StreamError && e.code === H2_ERROR.ENHANCE_YOUR_CALM;
    });
    assert.equal(await within(resetCode, 2_000, "onReset"), H2_ERROR.ENHANCE_YOUR_CALM);
    await assert.rejects(stream.read(), H2StreamError);
    // The connection still serves.
    const next = session.request(get(node.port, "/after"), true);
    assert.equal((await next.response())[1], "200");
    await readAll(next);
  } finally {
    session.close();
    await done;
    await node.close();
  }
});

Deno.test("h2 client: GOAWAY from the server stops new streams and lets open ones finish", async () => {
  const node = await nodeServer();
  let goaway: [number, number] | null = null;
  const { session, done } = await connect(node.port, (last, code) => goaway = [last, code]);
  try {
    const slow = session.request(get(node.port, "/slow"), true);
    // Wait until the server has the stream, then make it go away gracefully.
    const serverSession = await within(
      new Promise<http2.Http2Session>((resolve) => {
        node.server.once("stream", (s) => resolve(s.session!));
      }),
      2_000,
      "the server's stream",
    );
    serverSession.close();
    const head = await within(slow.response(), 2_000, "the slow response");
    assert.equal(head[1], "200");
    await readAll(slow);
    await within(done, 2_000, "the session to close");
    assert.ok(goaway !== null, "onGoaway was called");
    assert.equal(goaway![1], H2_ERROR.NO_ERROR);
    assert.equal(session.canOpen, false);
    assert.throws(() => session.request(get(node.port, "/x"), true), /going away|closed/);
  } finally {
    session.close();
    await done;
    await node.close();
  }
});

Deno.test("h2 client: a HEAD response with content-length and no body is complete", async () => {
  const node = await nodeServer();
  const { session, done } = await connect(node.port);
  try {
    const stream = session.request(get(node.port, "/h", "HEAD"), true);
    const head = await within(stream.response(), 2_000, "the HEAD response");
    assert.deepEqual(head.slice(0, 4), [":status", "200", "content-length", "5"]);
    assert.equal(await within(stream.read(), 2_000, "the end"), null);
  } finally {
    session.close();
    await done;
    await node.close();
  }
});

/**
 * HTTP/2 clients and the listener's limits and timeouts: header limits
 * (431), the response-header timeout (504), maxConnections counting h2
 * connections, per-client rate limits (429 over h2), and a graceful close
 * that lets a stream in flight finish.
 */

import assert from "node:assert/strict";
import http2 from "node:http2";
import { fixture, startHarness } from "../fixtures/harness.ts";
import { DEFAULT_HTTP_LIMITS, DEFAULT_HTTP_TIMEOUTS } from "../../src/config/defaults.ts";
import { delay, startNamedBackend, startRawBackend, waitFor, within } from "../_helpers/http.ts";

interface Answer {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: string;
}

/** One GET on a session: status, headers and body (rejects when the stream or session fails). */
function get(session: http2.ClientHttp2Session, path: string, extra: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = session.request({ ":method": "GET", ":path": path, ...extra });
    let headers: http2.IncomingHttpHeaders = {}, body = "";
    req.setEncoding("utf8");
    req.on("response", (h) => headers = h);
    req.on("data", (d: string) => body += d);
    req.on("end", () => resolve({ status: Number(headers[":status"]), headers, body }));
    req.on("error", reject);
  });
}

function connect(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {}); // a refused session is seen through its requests
  return session;
}

Deno.test("h2: a header section over maxHeadBytes gets 431; more fields than maxHeaders too", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], {
    spec: { h2c: true, limits: { ...DEFAULT_HTTP_LIMITS, maxHeadBytes: 2048, maxHeaders: 4 } },
  });
  const session = connect(proxy.port);
  try {
    assert.equal((await get(session, "/ok")).status, 200);
    const big = await get(session, "/big", { "x-big": "b".repeat(4000) });
    assert.equal(big.status, 431);
    const many = await get(session, "/many", { a: "1", b: "2", c: "3", d: "4", e: "5" });
    assert.equal(many.status, 431);
    assert.equal(proxy.proxy.ownResponses.get(431), 2);
    // The connection still serves.
    assert.equal((await get(session, "/again")).body, "a:/again");
  } finally {
    session.close();
  }
});

Deno.test("h2: no response head within the response-header timeout gets 504; the endpoint is blamed", async () => {
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    while ((await peer.readSome()) !== null) { /* never answer */ }
  });
  await using proxy = await startHarness([[backend.url]], {
    spec: { h2c: true, timeouts: { ...DEFAULT_HTTP_TIMEOUTS, responseHeaderMs: 200 } },
  });
  const session = connect(proxy.port);
  try {
    const started = Date.now();
    const res = await within(get(session, "/slow"), 5000, "the 504");
    assert.equal(res.status, 504);
    assert.match(res.body, /response header timeout/);
    assert.ok(Date.now() - started >= 190);
    assert.equal(proxy.endpoint(backend.port).failures, 1);
  } finally {
    session.close();
  }
});

Deno.test("h2: maxConnections counts HTTP/2 connections", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], {
    spec: { h2c: true, limits: { ...DEFAULT_HTTP_LIMITS, maxConnections: 1 } },
  });
  const first = connect(proxy.port);
  const second = connect(proxy.port);
  try {
    assert.equal((await get(first, "/1")).status, 200);
    assert.equal(proxy.proxy.connections, 1);
    await assert.rejects(within(get(second, "/2"), 5000, "the second connection's refusal"));
  } finally {
    first.close();
    second.destroy();
  }
});

Deno.test("h2: per-client rate limits answer 429 over h2 with Retry-After", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], {
    spec: { h2c: true, perClient: { connections: 0, ratePerSec: 1, burst: 1 } },
  });
  const session = connect(proxy.port);
  try {
    assert.equal((await get(session, "/1")).status, 200);
    const limited = await get(session, "/2");
    assert.equal(limited.status, 429);
    assert.equal(limited.headers["retry-after"], "1");
  } finally {
    session.close();
  }
});

Deno.test("h2: close(grace) sends GOAWAY and lets a stream in flight finish", async () => {
  await using backend = startRawBackend(async (peer) => {
    const req = await peer.readRequest();
    if (req === null) return;
    await delay(300);
    await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate");
  });
  const proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connect(proxy.port);
  try {
    const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
    const pending = get(session, "/slow");
    await delay(100);
    const closing = proxy.proxy.close(3000);
    await within(goaway, 2000, "GOAWAY on close");
    const res = await within(pending, 3000, "the stream in flight");
    assert.equal(res.body, "late");
    await within(closing, 3000, "close() once the stream ended");
  } finally {
    session.close();
    await proxy.close();
  }
});

Deno.test("h2: an endpoint that fails while the client is still sending its body: 502 at once, then the body is stopped", async () => {
  await using backend = startRawBackend(async (peer) => {
    await peer.readHead(); // then close without an answer
  });
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connect(proxy.port);
  try {
    const answer = new Promise<{ status: number; reset: boolean }>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": "/upload" });
      let status = 0;
      req.on("response", (h) => status = Number(h[":status"]));
      req.on("data", () => {});
      req.on(
        "close",
        () => resolve({ status, reset: req.rstCode === http2.constants.NGHTTP2_NO_ERROR }),
      );
      req.on("error", reject);
      req.write("part of a body that never ends");
    });
    const res = await within(answer, 5000, "the 502 while the body is still open");
    assert.equal(res.status, 502);
    assert.ok(res.reset);
  } finally {
    session.close();
  }
});

Deno.test("h2: a connection without streams for the idle timeout gets GOAWAY and is closed", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], {
    spec: { h2c: true, timeouts: { ...DEFAULT_HTTP_TIMEOUTS, idleMs: 300 } },
  });
  const session = connect(proxy.port);
  try {
    const closed = new Promise<void>((r) => session.once("close", () => r()));
    const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
    assert.equal((await get(session, "/1")).status, 200);
    const t0 = Date.now();
    await within(closed, 3000, "close of the idle connection");
    await within(goaway, 1000, "GOAWAY before the close");
    assert.ok(Date.now() - t0 >= 250, "not before the idle timeout");
    await waitFor(() => proxy.proxy.connections === 0, 2000, "the listener to forget it");
  } finally {
    session.destroy();
  }
});

Deno.test("h2: close() tells an idle HTTP/2 connection with GOAWAY before closing it", async () => {
  await using backend = startNamedBackend("a");
  const proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connect(proxy.port);
  try {
    const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
    assert.equal((await get(session, "/1")).status, 200);
    await within(proxy.proxy.close(1000), 3000, "close() of an idle connection");
    await within(goaway, 1000, "its GOAWAY");
  } finally {
    session.destroy();
    await proxy.close();
  }
});

Deno.test("TLS with h2 offered: a client silent in its handshake stops counting at the header-read timeout (Deno lets the socket go once the peer acts); close() does not wait for it", async () => {
  await using backend = startNamedBackend("a");
  const proxy = await startHarness([[backend.url]], {
    tls: { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") },
    spec: { timeouts: { ...DEFAULT_HTTP_TIMEOUTS, headerReadMs: 300 } },
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  try {
    await waitFor(() => proxy.proxy.connections === 1, 2000, "the handshake to count");
    const t0 = Date.now();
    await waitFor(() => proxy.proxy.connections === 0, 3000, "the handshake timeout");
    assert.ok(Date.now() - t0 >= 200, "not before the timeout");
    const again = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    try {
      await waitFor(() => proxy.proxy.connections === 1, 2000, "a second silent handshake");
      await within(proxy.proxy.close(0), 2000, "close() with a handshake pending");
    } finally {
      again.close();
    }
  } finally {
    conn.close();
    await proxy.close();
  }
});

/**
 * Client connections: pipelining, keep-alive on both sides, the header-read
 * and idle deadlines, the connection cap, and requests the codec refuses.
 */

import assert from "node:assert/strict";
import {
  delay,
  getRequest,
  HttpPeer,
  startNamedBackend,
  startProxy,
  startServeBackend,
  utf8,
  waitFor,
  within,
} from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("pipelining: three requests in one write get three responses, in order", async () => {
  // The first request is the slowest: answers would come back out of order if
  // the proxy sent them to the endpoint in parallel.
  const delays: Record<string, number> = { "/1": 120, "/2": 60, "/3": 0 };
  await using backend = startServeBackend(async (req) => {
    const path = new URL(req.url).pathname;
    await delay(delays[path] ?? 0);
    const body = req.method === "POST" ? await req.text() : "";
    return new Response(`${req.method} ${path} ${body}`);
  });
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect();
  try {
    await peer.write(
      getRequest("/1") +
        "POST /2 HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello" +
        getRequest("/3"),
    );
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await peer.readResponse()).text());
    assert.deepEqual(bodies, ["GET /1 ", "POST /2 hello", "GET /3 "]);
    assert.equal(peer.buffered, 0);
  } finally {
    peer.close();
  }
});

Deno.test("keep-alive: sequential requests reuse one client and one upstream connection", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect();
  try {
    for (let i = 0; i < 20; i++) {
      await peer.write(getRequest(`/r${i}`));
      const res = await peer.readResponse();
      assert.equal(res.text(), `a:/r${i}`);
      assert.equal(res.header("connection"), null);
    }
    assert.equal(backend.accepted, 1, "one upstream connection for 20 requests");
    assert.equal(proxy.stats().connections, 1);
  } finally {
    peer.close();
  }
  // A second client connection takes the pooled upstream connection too.
  const res = await proxy.get("/later");
  assert.equal(res.text(), "a:/later");
  assert.equal(backend.accepted, 1, "the pooled upstream connection is shared by clients");
  assert.equal(proxy.endpoint(backend).requests, 21);
});

Deno.test("keep-alive: an HTTP/1.0 client keeps its connection only when it asks", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect();
  try {
    await peer.write("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const res = await peer.readResponse();
    assert.equal(res.head.startLine, "HTTP/1.1 200 OK");
    assert.equal(res.header("connection"), "keep-alive");
    await peer.write("GET /y HTTP/1.0\r\n\r\n");
    const last = await peer.readResponse();
    assert.equal(last.text(), "a:/y");
    assert.equal(last.header("connection"), "close");
    assert.equal((await peer.readToEnd()).length, 0);
    assert.ok(peer.eof);
  } finally {
    peer.close();
  }
});

Deno.test("slowloris: a head trickled byte by byte is cut at the header deadline, not before (fake clock)", async () => {
  const HEADER_MS = 500;
  await using backend = startNamedBackend("a");
  const clock = new FakeClock();
  await using proxy = await startProxy([[backend.url]], {
    timeouts: { headerReadMs: HEADER_MS, idleMs: 10_000 },
    clock,
  });
  const peer = await proxy.connect(5000);
  try {
    const head = utf8("GET / HTTP/1.1\r\nHost: slow\r\nX-Padding: " + "a".repeat(40));
    let closed = false;
    const closing = peer.drainUntilClosed().then(() => closed = true);
    const t0 = clock.now();
    // One byte every 100 ms: the head is still incomplete at the deadline.
    for (let i = 0; i < 5; i++) {
      await peer.write(head.subarray(i, i + 1));
      await clock.advance(i < 4 ? 100 : 99);
    }
    await delay(20); // a close would have reached the client by now
    assert.equal(closed, false, "still open 1 ms before the deadline");
    await clock.advanceUntil(() => closed, 1_000, "the connection to close", 5);
    await closing;
    const elapsed = clock.now() - t0;
    // The sweeper looks every quarter of the shortest timeout (125 ms).
    assert.ok(
      elapsed <= HEADER_MS + 125 + 10,
      `closed after ${elapsed} ms, long after the deadline`,
    );
    assert.equal(backend.accepted, 0, "nothing reached the endpoint");
  } finally {
    peer.close();
  }
});

Deno.test("slowloris control: a head that is slow but completes in time is served (fake clock)", async () => {
  await using backend = startNamedBackend("a");
  const clock = new FakeClock();
  await using proxy = await startProxy([[backend.url]], {
    timeouts: { headerReadMs: 1000 },
    clock,
  });
  const peer = await proxy.connect();
  try {
    for (const part of ["GET /slow HT", "TP/1.1\r\nHo", "st: x\r\n", "\r\n"]) {
      await peer.write(part);
      await clock.advance(240);
    }
    assert.equal((await peer.readResponse()).text(), "a:/slow");
  } finally {
    peer.close();
  }
});

Deno.test("an incomplete head is cut at the header deadline (wall-clock smoke)", async () => {
  const HEADER_MS = 100;
  await using backend = startNamedBackend("a");
  await using proxy = await startProxy([[backend.url]], { timeouts: { headerReadMs: HEADER_MS } });
  const peer = await proxy.connect();
  try {
    await peer.write("GET / HTTP/1.1\r\nHost: slo");
    const t0 = Date.now();
    await within(peer.drainUntilClosed(), 2000, "connection closed");
    assert.ok(Date.now() - t0 >= HEADER_MS - 10, `closed after ${Date.now() - t0} ms`);
    assert.equal(backend.accepted, 0);
  } finally {
    peer.close();
  }
});

Deno.test("an idle keep-alive connection is closed after the idle timeout (wall-clock smoke)", async () => {
  const IDLE_MS = 100;
  await using backend = startNamedBackend("a");
  await using proxy = await startProxy([[backend.url]], { timeouts: { idleMs: IDLE_MS } });
  const peer = await proxy.connect();
  try {
    await peer.write(getRequest("/once"));
    assert.equal((await peer.readResponse()).text(), "a:/once");
    const t0 = Date.now();
    await within(peer.drainUntilClosed(), 2000, "idle connection closed");
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= IDLE_MS - 10, `closed after ${elapsed} ms, before the idle timeout`);
    assert.ok(elapsed <= IDLE_MS + 500, `closed after ${elapsed} ms, long after the idle timeout`);
    await waitFor(() => proxy.stats().connections === 0, 1000, "proxy forgot the connection");
  } finally {
    peer.close();
  }
});

Deno.test("maxConnections: the connection over the cap is closed at accept", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startProxy([[backend.url]], { limits: { maxConnections: 2 } });
  const open: HttpPeer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const p = await proxy.connect();
      open.push(p);
      await p.write(getRequest(`/c${i}`));
      assert.equal((await p.readResponse()).text(), `a:/c${i}`);
    }
    const extra = await proxy.connect(2000);
    open.push(extra);
    await extra.write(getRequest("/extra")).catch(() => {});
    assert.equal((await extra.readToEnd()).length, 0, "no response on the extra connection");
    assert.ok(extra.eof);
    assert.equal(proxy.stats().connections, 2);

    // Once one leaves, a new connection is served again.
    open[0].close();
    await waitFor(() => proxy.stats().connections === 1, 2000, "proxy noticed the close");
    const again = await proxy.connect();
    open.push(again);
    await again.write(getRequest("/again"));
    assert.equal((await again.readResponse()).text(), "a:/again");
  } finally {
    for (const p of open) p.close();
  }
});

Deno.test("requests the codec refuses get their status, then the connection closes", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startProxy([[backend.url]], {
    limits: { maxHeadBytes: 1024, maxTargetBytes: 100 },
  });
  const cases: [string, string, number][] = [
    [
      "Content-Length with Transfer-Encoding",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      400,
    ],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ["CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405],
    ["no Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
    [
      "gzip transfer coding",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      501,
    ],
    ["chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400],
    ["head too large", `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(1500)}\r\n\r\n`, 431],
    ["target too long", `GET /${"t".repeat(200)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
    ["head too large, unfinished", `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(3000)}`, 431],
  ];
  for (const [name, request, status] of cases) {
    const peer = await proxy.connect(2000);
    try {
      // A good request first: the bad one must also end a connection that was in use.
      await peer.write(getRequest("/ok") + request);
      assert.equal((await peer.readResponse()).status, 200, name);
      const res = await peer.readResponse();
      assert.equal(res.status, status, name);
      assert.equal(res.header("connection"), "close", name);
      assert.equal((await peer.readToEnd()).length, 0, name);
      assert.ok(peer.eof, `${name}: connection closed`);
    } finally {
      peer.close();
    }
  }
  assert.equal(proxy.endpoint(backend).requests, cases.length, "only the good requests went on");
});

Deno.test("close(grace): idle connections close at once, a request in flight finishes", async () => {
  let arrived!: () => void;
  const slowArrived = new Promise<void>((resolve) => arrived = resolve);
  await using backend = startServeBackend(async (req) => {
    if (new URL(req.url).pathname === "/slow") {
      arrived();
      await delay(300);
    }
    return new Response("done");
  });
  const proxy = await startProxy([[backend.url]]);
  const idle = await proxy.connect();
  const busy = await proxy.connect();
  try {
    await idle.write(getRequest("/quick"));
    assert.equal((await idle.readResponse()).text(), "done");
    await busy.write(getRequest("/slow"));
    await within(slowArrived, 2000, "slow request reached the endpoint");
    const t0 = Date.now();
    const closing = proxy.close(2000);
    await within(idle.drainUntilClosed(), 200, "idle connection closed at once");
    const res = await busy.readResponse();
    assert.equal(res.text(), "done");
    assert.equal(res.header("connection"), "close", "the last response announces the close");
    await within(busy.drainUntilClosed(), 1000, "busy connection closed after its response");
    await within(closing, 2000, "close() resolved");
    assert.ok(Date.now() - t0 < 1500, "close() did not wait for the whole grace period");
    await assert.rejects(HttpPeer.connect(proxy.port), Deno.errors.ConnectionRefused);
  } finally {
    idle.close();
    busy.close();
    await proxy.close();
  }
});

Deno.test("a malformed chunked request body gets 400, whether it arrived with the head or later", async () => {
  await using backend = startServeBackend(async (req) => new Response(await req.text()));
  await using proxy = await startProxy([[backend.url]]);
  // With the head: caught before anything is sent upstream.
  const early = await proxy.exchange(
    "POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n\r\n",
  );
  assert.equal(early.status, 400);
  assert.equal(early.header("connection"), "close");
  assert.equal(backend.accepted, 0);
  // Later, while the body streams: the upstream exchange is abandoned, the client told why.
  const peer = await proxy.connect(2000);
  try {
    await peer.write(
      "POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    await delay(50);
    await peer.write("ZZ\r\n\r\n");
    const res = await peer.readResponse();
    assert.equal(res.status, 400);
    assert.equal((await peer.readToEnd()).length, 0);
    assert.ok(peer.eof);
  } finally {
    peer.close();
  }
  assert.equal(proxy.endpoint(backend).failures, 0);
});

/**
 * Failures end to end: endpoints that die, refuse, hang or close without an
 * answer; clients that leave; what is retried and what is not; the error
 * responses and `/v1/health`.
 */

import assert from "node:assert/strict";
import {
  delay,
  getRequest,
  HttpPeer,
  refusedPort,
  startNamedBackend,
  startProxy,
  startRawBackend,
  startServeBackend,
  TruncatedError,
  waitFor,
  within,
} from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

const DYING_RESPONSES = {
  "Content-Length": "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(1000),
  "chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + "x".repeat(1000) +
    "\r\n3e8\r\nxx",
};

for (const [framing, partial] of Object.entries(DYING_RESPONSES)) {
  Deno.test(`an endpoint killed mid-response (${framing}): the client sees it truncated, the next request goes elsewhere`, async () => {
    const dies = { now: () => {} };
    await using dying = startRawBackend(async (peer) => {
      await peer.readRequest();
      await peer.write(partial);
      dies.now(); // dead: new connections are refused
      // returning closes the connection mid-body
    });
    dies.now = () => dying.stopListening();
    await using healthy = startNamedBackend("b");
    // Separate sites make the dying endpoint the first choice.
    await using proxy = await startProxy([[dying.url], [healthy.url]]);
    const peer = await proxy.connect(3000);
    try {
      await peer.write(getRequest("/big"));
      await assert.rejects(peer.readResponse(), TruncatedError);
      assert.ok(peer.eof, "the client connection was closed");
    } finally {
      peer.close();
    }
    const next = await proxy.get("/next");
    assert.equal(next.status, 200);
    assert.equal(next.text(), "b:/next");
    // The cut alone counts toward the passive threshold; the refused connect takes it out.
    assert.equal(proxy.endpoint(dying).failures, 2);
    assert.equal(proxy.endpoint(dying).status, "down");
  });
}

Deno.test("a refused connect is retried on the other endpoint, which is marked down", async () => {
  const port = refusedPort();
  await using healthy = startNamedBackend("b");
  await using proxy = await startProxy([[`http://127.0.0.1:${port}`], [healthy.url]]);
  for (let i = 0; i < 10; i++) {
    const res = await proxy.get(`/r${i}`);
    assert.equal(res.status, 200, `request ${i}`);
    assert.equal(res.text(), `b:/r${i}`);
  }
  const refused = proxy.endpoint({ port });
  assert.equal(refused.status, "down");
  assert.equal(refused.failures, 1, "ejected after the first refusal, not tried again");
  assert.equal(refused.requests, 0);
  assert.equal(proxy.endpoint(healthy).requests, 10);
});

/** An endpoint that reads a whole request, then closes without a word. */
function startSilentCloser(seen: string[]) {
  return startRawBackend(async (peer) => {
    const req = await peer.readRequest();
    if (req !== null) {
      seen.push(`${req.method} ${req.target} ${new TextDecoder().decode(req.body)}`);
    }
  });
}

Deno.test("a POST is never replayed: the endpoint closed without answering, the client gets 502", async () => {
  const seen: string[] = [];
  await using closer = startSilentCloser(seen);
  await using other = startNamedBackend("b");
  await using proxy = await startProxy([[closer.url], [other.url]]);
  const res = await proxy.exchange(
    "POST /orders HTTP/1.1\r\nHost: test\r\nContent-Length: 9\r\n\r\nbuy=1&x=2",
  );
  assert.equal(res.status, 502);
  assert.equal(res.header("retry-after"), "120");
  assert.match(res.text(), /<Code>BackendDown<\/Code>/);
  assert.deepEqual(seen, ["POST /orders buy=1&x=2"], "the endpoint saw the POST exactly once");
  assert.equal(other.accepted, 0, "the POST was not sent to the other endpoint");
});

Deno.test("an idempotent GET in the same situation is retried on the other endpoint", async () => {
  const seen: string[] = [];
  await using closer = startSilentCloser(seen);
  await using other = startNamedBackend("b");
  await using proxy = await startProxy([[closer.url], [other.url]]);
  const res = await proxy.get("/items");
  assert.equal(res.status, 200);
  assert.equal(res.text(), "b:/items");
  assert.deepEqual(seen, ["GET /items "]);
});

Deno.test("a client that leaves closes the upstream connection, and the endpoint is not blamed", async () => {
  let gotRequest!: () => void;
  const requestArrived = new Promise<void>((resolve) => gotRequest = resolve);
  let upstreamEnded!: (at: number) => void;
  const upstreamEnd = new Promise<number>((resolve) => upstreamEnded = resolve);
  let connections = 0;
  await using backend = startRawBackend(async (peer) => {
    const first = connections++ === 0;
    const req = await peer.readRequest();
    if (req === null) return;
    if (first) {
      // Slow: never answers, just waits for the proxy to hang up.
      gotRequest();
      await peer.drainUntilClosed();
      upstreamEnded(Date.now());
      return;
    }
    await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  await using proxy = await startProxy([[backend.url]]);
  const client = await HttpPeer.connect(proxy.port);
  await client.write(getRequest("/slow"));
  await within(requestArrived, 2000, "request reached the endpoint");
  const leftAt = Date.now();
  client.close();
  const endedAt = await within(upstreamEnd, 2000, "upstream connection closed");
  assert.ok(endedAt - leftAt < 500, `upstream closed ${endedAt - leftAt} ms after the client left`);
  const e = proxy.endpoint(backend);
  assert.equal(e.status, "up");
  assert.equal(e.failures, 0);
  await waitFor(() => proxy.endpoint(backend).inFlight === 0, 1000, "in-flight count drops");
  // Still in use: the only endpoint serves the next request.
  const res = await proxy.get("/next");
  assert.equal(res.status, 200);
  assert.equal(res.text(), "ok");
});

Deno.test("a response that does not start in time gives 504", async () => {
  await using hanging = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.drainUntilClosed();
  });
  await using proxy = await startProxy([[hanging.url]], { timeouts: { responseHeaderMs: 200 } });
  const t0 = Date.now();
  const res = await proxy.get("/slow");
  const elapsed = Date.now() - t0;
  assert.equal(res.status, 504);
  assert.equal(res.header("content-type"), "application/xml");
  assert.equal(res.header("retry-after"), "120");
  assert.match(res.text(), /response header timeout/);
  assert.ok(elapsed >= 190 && elapsed < 1500, `504 after ${elapsed} ms`);
});

Deno.test("every endpoint refusing gives 502 with the BackendDown XML body and Retry-After: 120", async () => {
  const ports = [refusedPort(), refusedPort()];
  await using proxy = await startProxy([ports.map((p) => `http://127.0.0.1:${p}`)]);
  const first = await proxy.get("/bucket/key?versionId=1");
  assert.equal(first.status, 502);
  assert.equal(first.header("retry-after"), "120");
  assert.equal(first.header("content-type"), "application/xml");
  assert.equal(first.header("server"), "SideKick");
  // minio/sidekick's errMessage, byte for byte.
  assert.equal(
    first.text(),
    '<?xml version="1.0" encoding="UTF-8"?>' +
      "<Error><Code>BackendDown</Code><Message>The remote server returned an error " +
      "(connection refused)</Message><Resource>/bucket/key</Resource></Error>",
  );
  // Both are ejected now: the next request fails fast with the "all offline" message.
  const second = await proxy.get("/bucket/other");
  assert.equal(second.status, 502);
  assert.equal(
    second.text(),
    '<?xml version="1.0" encoding="UTF-8"?>' +
      "<Error><Code>BackendDown</Code><Message>The remote server returned an error " +
      "(all backend servers are offline)</Message><Resource>/bucket/other</Resource></Error>",
  );
  for (const port of ports) assert.equal(proxy.endpoint({ port }).failures, 1);
});

Deno.test("/v1/health is 200 while an endpoint is up and 502 when none is", async () => {
  await using up = startNamedBackend("a");
  await using healthy = await startProxy([[up.url, `http://127.0.0.1:${refusedPort()}`]], {
    health: { active: true, intervalMs: 60_000 },
  });
  const ok = await healthy.get("/v1/health");
  assert.equal(ok.status, 200);
  assert.equal(ok.header("server"), "SideKick");
  assert.equal(
    up.accepted,
    1,
    "only the probe reached the endpoint; /v1/health is answered locally",
  );

  await using down = await startProxy([[`http://127.0.0.1:${refusedPort()}`]], {
    health: { active: true, intervalMs: 60_000 },
  });
  const bad = await down.get("/v1/health");
  assert.equal(bad.status, 502);
  assert.equal(bad.header("retry-after"), "120");
  assert.equal(bad.header("server"), "SideKick");
  assert.equal(bad.header("content-type"), "application/xml");
  assert.equal(
    bad.text(),
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>BackendDown</Code><Message>' +
      "The remote server returned an error (all backend servers are offline)</Message>" +
      "<Resource>/v1/health</Resource></Error>",
  );
});

Deno.test("a client that leaves in the middle of an upload closes the upstream connection, blamelessly", async () => {
  let gotHead!: () => void;
  const headArrived = new Promise<void>((resolve) => gotHead = resolve);
  let upstreamEnded!: (bytes: number) => void;
  const upstreamEnd = new Promise<number>((resolve) => upstreamEnded = resolve);
  await using backend = startRawBackend(async (peer) => {
    const head = await peer.readHead();
    if (head === null) return;
    gotHead();
    upstreamEnded(await peer.drainUntilClosed());
  });
  await using proxy = await startProxy([[backend.url]]);
  const client = await HttpPeer.connect(proxy.port);
  await client.write("PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n");
  await client.write("y".repeat(5000));
  await within(headArrived, 2000, "request head reached the endpoint");
  client.close();
  const relayed = await within(upstreamEnd, 2000, "upstream connection closed");
  assert.ok(relayed <= 5000, `relayed ${relayed} body bytes`);
  await waitFor(() => proxy.endpoint(backend).inFlight === 0, 1000, "in-flight count drops");
  assert.equal(proxy.endpoint(backend).failures, 0);
  assert.equal(proxy.endpoint(backend).status, "up");
});

Deno.test("the response-header timeout starts once the request body is sent, not before (fake clock)", async () => {
  await using backend = startServeBackend(async (req) =>
    new Response(`${(await req.bytes()).length}`)
  );
  const clock = new FakeClock();
  await using proxy = await startProxy([[backend.url]], {
    timeouts: { responseHeaderMs: 250 },
    clock,
  });
  const peer = await proxy.connect(3000);
  try {
    // An upload that takes 600 ms, longer than the response-header timeout.
    await peer.write("PUT /slow-upload HTTP/1.1\r\nHost: test\r\nContent-Length: 6000\r\n\r\n");
    for (let i = 0; i < 6; i++) {
      await clock.advance(100);
      await peer.write("z".repeat(1000));
    }
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text(), "6000");
  } finally {
    peer.close();
  }
  assert.equal(proxy.endpoint(backend).failures, 0);
});

Deno.test("after a slow upload, a response that does not start in time still gives 504 (fake clock)", async () => {
  await using hanging = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.drainUntilClosed();
  });
  const clock = new FakeClock();
  await using proxy = await startProxy([[hanging.url]], {
    timeouts: { responseHeaderMs: 250 },
    clock,
  });
  const peer = await proxy.connect(3000);
  try {
    await peer.write("PUT /x HTTP/1.1\r\nHost: test\r\nContent-Length: 2000\r\n\r\n");
    await clock.advance(100);
    await peer.write("z".repeat(1000));
    await clock.advance(100);
    const sentAt = clock.now();
    await peer.write("z".repeat(1000));
    let answered = false;
    const response = peer.readResponse().finally(() => answered = true);
    await clock.advance(249);
    await delay(20); // a response would have arrived by now
    assert.equal(answered, false, "no 504 before the timeout");
    await clock.advanceUntil(() => answered, 1_000, "the 504", 5);
    const res = await response;
    const elapsed = clock.now() - sentAt;
    assert.equal(res.status, 504);
    // The sweeper looks every quarter of the timeout.
    assert.ok(elapsed <= 250 + 63 + 10, `504 ${elapsed} ms after the body was sent`);
  } finally {
    peer.close();
  }
});

Deno.test("an oversized response head gives 502 without blaming the endpoint's transport", async () => {
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      if (req.target === "/huge") {
        await peer.write(`HTTP/1.1 200 OK\r\nX-Huge: ${"h".repeat(70 * 1024)}\r\n\r\n`);
        return;
      }
      await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  await using proxy = await startProxy([[backend.url]]);
  const res = await proxy.get("/huge");
  assert.equal(res.status, 502);
  assert.equal(proxy.endpoint(backend).failures, 0);
  assert.equal(proxy.endpoint(backend).status, "up");
  assert.equal((await proxy.get("/small")).text(), "ok");
});

Deno.test("a streamed POST whose first connect is refused goes to the next endpoint, body intact", async () => {
  const port = refusedPort();
  await using backend = startServeBackend(async (req) => new Response(await req.text()));
  await using proxy = await startProxy([[`http://127.0.0.1:${port}`], [backend.url]]);
  const peer = await proxy.connect(3000);
  try {
    await peer.write("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello");
    await delay(50);
    await peer.write("world");
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text(), "helloworld");
  } finally {
    peer.close();
  }
  assert.equal(proxy.endpoint({ port }).failures, 1);
});

Deno.test("pooled connections that the endpoint closed while idle are not used for a POST", async () => {
  // The endpoint closes a keep-alive connection 50 ms after each response.
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n`);
      await peer.write(req.body);
      await delay(50);
      return;
    }
  });
  await using proxy = await startProxy([[backend.url]]);
  for (let i = 0; i < 5; i++) {
    const res = await proxy.exchange(
      `POST /n${i} HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nbody-${i}`,
    );
    assert.equal(res.status, 200, `POST ${i}`);
    assert.equal(res.text(), `body-${i}`);
    await delay(120);
  }
  assert.equal(backend.accepted, 5);
  assert.equal(proxy.endpoint(backend).failures, 0);
});

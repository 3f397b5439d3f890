/**
 * Leases end to end: an endpoint counts a request in flight from the moment
 * it is picked (a hanging connect included), a retry never returns to an
 * endpoint that request already found dead, and a local resource error
 * (out of file descriptors) is sidekick's own, never the endpoint's.
 */

import assert from "node:assert/strict";
import {
  exhaustFileDescriptors,
  getRequest,
  HOST,
  type RawBackend,
  startNamedBackend,
  startProxy,
  startRawBackend,
  waitFor,
  within,
} from "../_helpers/http.ts";
import { delay, runLoad } from "../_helpers/sidecar.ts";

Deno.test("a hanging connect counts in flight: the site's maxConnections holds and the next request spills at once", async () => {
  // A accepts TCP and never speaks TLS: dialing it (connect + handshake) hangs.
  const hang = Deno.listen({ hostname: HOST, port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for (;;) {
      try {
        held.push(await hang.accept());
      } catch {
        return;
      }
    }
  })();
  await using b = startNamedBackend("b");
  const aUrl = `https://${HOST}:${(hang.addr as Deno.NetAddr).port}`;
  try {
    await using proxy = await startProxy([[aUrl], [b.url]], {
      siteMaxConnections: [1],
      timeouts: { connectMs: 1500 },
    });
    const first = proxy.get("/first").catch((e: Error) => e);
    await waitFor(() => held.length === 1, 2000, "the first request to dial A");
    const second = await within(proxy.get("/second"), 1000, "the second request");
    assert.equal(second.status, 200);
    assert.equal(second.text(), "b:/second", "A is full: the request went to site 2");
    assert.equal(held.length, 1, "A's cap of 1 was never exceeded");
    const res = await first;
    assert.ok(!(res instanceof Error), String(res));
    assert.equal(res.status, 200, "the first request went on to B after the connect timeout");
  } finally {
    hang.close();
    await accepting;
    for (const c of held) c.close();
  }
});

/**
 * A backend that serves `serveFirst` requests, then dies in a frozen way:
 * its listener is gone (new connections are refused) and any further request
 * on a connection it still holds is closed unanswered. This is the moment of
 * a SIGKILL under load, when pooled connections have not seen the FIN yet.
 */
function startFrozenDeath(serveFirst: number): RawBackend {
  let served = 0, arrived = 0, dead = false;
  let release: () => void = () => {};
  const barrier = new Promise<void>((resolve) => release = resolve);
  const backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null || dead) return;
      // Hold the first requests until all arrived: that many pooled connections.
      if (++arrived >= serveFirst) release();
      await barrier;
      await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na`);
      if (++served === serveFirst) {
        dead = true;
        backend.stopListening();
      }
    }
  });
  return backend;
}

Deno.test("a killed endpoint whose pooled connections are stale: the GET is retried on the other site, not on the dead one", async () => {
  await using a = startFrozenDeath(3);
  await using b = startNamedBackend("b");
  await using proxy = await startProxy([[a.url], [b.url]]);
  // Three requests at once: three connections to A, pooled after their answers.
  const warm = await Promise.all([proxy.get("/w1"), proxy.get("/w2"), proxy.get("/w3")]);
  assert.deepEqual(warm.map((r) => r.text()), ["a", "a", "a"]);
  const res = await proxy.get("/after-kill");
  assert.equal(res.status, 200, res.text());
  assert.equal(res.text(), "b:/after-kill");
  assert.equal(proxy.endpoint(a).status, "down", "the refused fresh connect marked A down");
});

// The smoke test of the path the frozen-death test pins down deterministically.
Deno.test("a backend killed under load: no client sees a failure", async () => {
  await using a = startNamedBackend("a");
  await using b = startNamedBackend("b");
  await using proxy = await startProxy([[a.url, b.url]]);
  const stop = new AbortController();
  const address = { transport: "tcp" as const, hostname: HOST, port: proxy.port };
  const load = runLoad(address, { keepAlive: 8, fresh: 2, signal: stop.signal });
  try {
    await delay(300);
    a.kill(); // listener and every connection at once, as SIGKILL would
    await delay(500);
  } finally {
    stop.abort();
  }
  const result = await load;
  assert.deepEqual(result.failures, []);
  assert.ok((result.byBackend.get("a") ?? 0) > 0 && (result.byBackend.get("b") ?? 0) > 0);
  assert.equal(proxy.endpoint(a).status, "down");
});

Deno.test("out of file descriptors: the client is shed with 503 and the endpoint is not blamed", async () => {
  await using b = startNamedBackend("b");
  const notices: string[] = [];
  await using proxy = await startProxy([[b.url]], {
    limits: { poolIdlePerEndpoint: 0 },
    onNotice: (m) => notices.push(m),
  });
  const peer = await proxy.connect();
  try {
    let res;
    {
      using _hog = exhaustFileDescriptors();
      await peer.write(getRequest("/starved"));
      res = await within(peer.readResponse(), 3000, "the shed response");
    }
    assert.equal(res.status, 503, res.text());
    assert.match(res.text(), /file descriptors/i);
  } finally {
    peer.close();
  }
  assert.equal(notices.length, 1, "logged once, as sidekick's own");
  assert.match(notices[0], /out of local resources \(Too many open files.*no endpoint is blamed/);
  const e = proxy.endpoint(b);
  assert.equal(e.failures, 0, "a local error is not the endpoint's");
  assert.equal(e.status, "up");
  const after = await proxy.get("/after");
  assert.equal(after.status, 200);
  assert.equal(after.text(), "b:/after");
});

/**
 * Lifecycle: close(grace) drains. `/v1/health` turns 503 at once, the
 * listener stops accepting, in-flight work finishes within the grace period
 * and what outlives it is cut; the state is observable throughout.
 */

import assert from "node:assert/strict";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener, tcpListener } from "../../src/config/builders.ts";
import { createSidecar, type Sidecar } from "../../src/sidecar.ts";
import { startRawBackend, TruncatedError } from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";
import type { Clock } from "../../src/pool/clock.ts";
import {
  get,
  HttpPeer,
  refuses,
  startHalfCloseEcho,
  startSlowBackend,
  waitFor,
  within,
} from "../_helpers/sidecar.ts";

function sidecarFor(url: string, clock?: Clock): Sidecar {
  const spec = httpListener("127.0.0.1:0", [[url]]);
  return createSidecar({
    listeners: [{
      ...spec,
      cluster: { ...spec.cluster, health: { ...DEFAULT_HEALTH, active: false } },
    }],
  }, { clock });
}

Deno.test("lifecycle: close(grace) lets a slow in-flight request complete and resolves soon after it", async () => {
  await using backend = startSlowBackend("a");
  const sidecar = sidecarFor(backend.url);
  const [addr] = await sidecar.start();
  const slow = get(addr, "/slow?ms=300");
  await waitFor(() => sidecar.stats().listeners[0].endpoints[0].inFlight === 1, 2_000, "in flight");
  const started = Date.now();
  const closing = sidecar.close(3_000);
  assert.equal(sidecar.state, "draining");
  assert.ok(await refuses(addr), "no new connections while draining");
  const response = await slow;
  assert.deepEqual(response, { status: 200, body: "a:/slow?ms=300" });
  await within(closing, 1_000, "close after the last request");
  const took = Date.now() - started;
  assert.ok(took < 1_000, `close took ${took} ms for a 300 ms request with a 3 s grace`);
  assert.equal(sidecar.state, "closed");
  assert.ok(await refuses(addr), "the listener is closed");
});

Deno.test("lifecycle: a request that outlives the grace period is cut when it ends (fake clock)", async () => {
  // A backend that never answers.
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.drainUntilClosed();
  });
  const clock = new FakeClock();
  const sidecar = sidecarFor(backend.url, clock);
  const [addr] = await sidecar.start();
  const slow = get(addr, "/slow");
  await waitFor(() => sidecar.stats().listeners[0].endpoints[0].inFlight === 1, 2_000, "in flight");
  let closed = false;
  const closing = sidecar.close(200).then(() => closed = true);
  await clock.advance(199);
  assert.equal(closed, false, "the grace period is not over");
  assert.equal(sidecar.state, "draining");
  await clock.advance(1);
  await within(closing, 1_000, "close at the end of the grace period");
  await assert.rejects(slow, TruncatedError);
  assert.equal(sidecar.state, "closed");
});

Deno.test("lifecycle: during the drain /v1/health answers 503 on an existing connection and nothing new is accepted", async () => {
  await using backend = startSlowBackend("a");
  const sidecar = sidecarFor(backend.url);
  const [addr] = await sidecar.start();
  const peer = await HttpPeer.connect(addr.port, 5_000, addr.hostname);
  try {
    await peer.write("GET /v1/health HTTP/1.1\r\nHost: test\r\n\r\n");
    assert.equal((await peer.readResponse()).status, 200);
    // Keep the work in flight so that the drain lasts.
    const slow = get(addr, "/slow?ms=400");
    await waitFor(() => sidecar.stats().listeners[0].endpoints[0].inFlight === 1, 2_000, "slow");
    // The next request on the kept-alive connection has begun when the drain starts.
    await peer.write("GET /v1/health HTTP/1.1\r\n");
    await waitFor(() => sidecar.stats().listeners[0].connections === 2, 1_000, "both open");
    await new Promise((r) => setTimeout(r, 50)); // the partial head is read
    const closing = sidecar.close(2_000);
    assert.equal(sidecar.state, "draining");
    await peer.write("Host: test\r\n\r\n");
    const health = await peer.readResponse();
    assert.equal(health.status, 503);
    assert.equal(health.header("connection")?.toLowerCase(), "close");
    assert.ok(await refuses(addr), "no new connections while draining");
    assert.equal((await slow).status, 200);
    await within(closing, 1_000, "close");
  } finally {
    peer.close();
  }
});

Deno.test("lifecycle: close(grace) drains a tcp connection that finishes in time and state goes to closed", async () => {
  await using echo = startHalfCloseEcho();
  const spec = tcpListener("127.0.0.1:0", [[echo.address]]);
  const sidecar = createSidecar({
    listeners: [{
      ...spec,
      cluster: { ...spec.cluster, health: { ...DEFAULT_HEALTH, active: false } },
    }],
  });
  assert.equal(sidecar.state, "created");
  const [addr] = await sidecar.start();
  const conn = await Deno.connect({ hostname: addr.hostname, port: addr.port });
  const peer = new HttpPeer(conn, 5_000);
  try {
    await peer.write("hello");
    await waitFor(() => sidecar.stats().listeners[0].connections === 1, 1_000, "relaying");
    const closing = sidecar.close(2_000);
    assert.equal(sidecar.state, "draining");
    await new Promise((r) => setTimeout(r, 50));
    await peer.closeWrite(); // the client finishes during the drain
    assert.equal(new TextDecoder().decode(await peer.readToEnd()), "got 5 bytes after EOF");
    await within(closing, 1_000, "close after the connection ended");
    assert.equal(sidecar.state, "closed");
  } finally {
    peer.close();
  }
});

Deno.test("lifecycle: start after close and reload after close reject; close is idempotent", async () => {
  await using backend = startSlowBackend("a");
  const sidecar = sidecarFor(backend.url);
  await sidecar.start();
  await Promise.all([sidecar.close(), sidecar.close(100)]);
  await assert.rejects(
    sidecar.reload({ listeners: [httpListener("127.0.0.1:0", [[backend.url]])] }),
    /closed/,
  );
  const fresh = sidecarFor(backend.url);
  await fresh.close();
  await assert.rejects(fresh.start(), /closed/);
});

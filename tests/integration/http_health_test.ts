/**
 * Health settings end to end: the healthy status set of the HTTP probe, and
 * optimistic checking (minio's --health-optimistic): an up endpoint is not
 * probed until real traffic fails on it, then probing resumes until it is
 * back up.
 */

import assert from "node:assert/strict";
import type { HealthEvent } from "../../src/health/checker.ts";
import { startHarness } from "../fixtures/harness.ts";
import { delay, startRawBackend, startServeBackend, waitFor } from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("health statuses: 200 only by default; a configured range accepts 204", async () => {
  await using backend = startServeBackend((req) =>
    new URL(req.url).pathname === "/health"
      ? new Response(null, { status: 204 })
      : new Response("hi")
  );
  const health = { active: true, path: "/health", intervalMs: 60_000, timeoutMs: 1000 };
  {
    const events: HealthEvent[] = [];
    await using strict = await startHarness([[backend.url]], {
      health,
      onHealthEvent: (e) => events.push(e),
    });
    assert.equal(strict.endpoint(backend.port).health.status, "down", "204 is not 200");
    assert.equal((await strict.get("/x")).status, 502);
    assert.deepEqual(events, []);
  }
  {
    const events: HealthEvent[] = [];
    await using ranged = await startHarness([[backend.url]], {
      health: { ...health, statuses: [[200, 299]] },
      onHealthEvent: (e) => events.push(e),
    });
    assert.equal(ranged.endpoint(backend.port).health.status, "up");
    assert.equal((await ranged.get("/x")).text(), "hi");
    assert.equal(events.length, 1);
    assert.equal(events[0].detail, "status 204");
  }
  {
    // A list that does not include 204 (e.g. 200,301-302) keeps it down.
    await using listed = await startHarness([[backend.url]], {
      health: { ...health, statuses: [[200, 200], [301, 302]] },
    });
    assert.equal(listed.endpoint(backend.port).health.status, "down");
  }
});

/** A backend that counts health probes and can be made to drop real requests. */
function startCountingBackend() {
  const state = { probes: 0, dropNext: 0 };
  const backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      if (req.target === "/health") {
        state.probes++;
        await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      if (state.dropNext > 0) {
        state.dropNext--;
        return; // close without an answer: a transport error
      }
      await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  });
  return { backend, state };
}

Deno.test("optimistic health: an up endpoint is not probed until traffic fails on it (fake clock)", async () => {
  const { backend, state } = startCountingBackend();
  await using _ = backend;
  const events: HealthEvent[] = [];
  const clock = new FakeClock();
  await using proxy = await startHarness([[backend.url]], {
    health: { active: true, path: "/health", intervalMs: 30, timeoutMs: 500, optimistic: true },
    onHealthEvent: (e) => events.push(e),
    clock,
  });
  const e = proxy.endpoint(backend.port);
  assert.equal(e.health.status, "up");
  assert.equal(state.probes, 1);
  assert.equal(proxy.checker!.isProbing(e), false, "resting once up");
  await clock.advance(200); // several intervals
  assert.equal(state.probes, 1, "no probes while up");
  assert.equal((await proxy.get("/a")).text(), "ok");

  // A request that gets no answer on a new connection is evidence, not proof
  // (issue 16 item 4): the only endpoint stays in, and probing resumes to
  // check it. (The first drop is on the pooled connection from /a, which is
  // retried blamelessly.)
  state.dropNext = 2;
  assert.equal((await proxy.get("/b")).status, 502);
  assert.equal(e.health.status, "up", "one failure below the threshold: still in");
  assert.equal(e.failures, 1);
  assert.equal(proxy.checker!.isProbing(e), true, "probing resumed to check");
  await clock.advanceUntil(() => state.probes >= 2, 2000, "the check probe ran");
  await clock.advance(150);
  assert.equal(state.probes, 2, "resting again: the probe passed");
  assert.equal((await proxy.get("/c")).text(), "ok");
  assert.deepEqual(events.map((x) => x.status), ["up"]);
  assert.equal(e.wentDown, 0);
});

Deno.test("non-optimistic health: probes go on while up; a traffic failure on the only endpoint leaves it in", async () => {
  const { backend, state } = startCountingBackend();
  await using _ = backend;
  const events: HealthEvent[] = [];
  await using proxy = await startHarness([[backend.url]], {
    health: { active: true, path: "/health", intervalMs: 30, timeoutMs: 500 },
    onHealthEvent: (e) => events.push(e),
  });
  await waitFor(() => state.probes >= 4, 2000, "probes continue");
  state.dropNext = 1;
  assert.equal((await proxy.get("/b")).status, 502);
  assert.equal(proxy.endpoint(backend.port).health.status, "up");
  assert.equal((await proxy.get("/c")).text(), "ok", "the next client is served");
  assert.deepEqual(events.map((x) => x.status), ["up"]);
});

Deno.test("optimistic health on the wall clock: an up endpoint rests (smoke)", async () => {
  const { backend, state } = startCountingBackend();
  await using _ = backend;
  await using proxy = await startHarness([[backend.url]], {
    health: { active: true, path: "/health", intervalMs: 10, timeoutMs: 500, optimistic: true },
  });
  await delay(60); // several intervals
  assert.equal(state.probes, 1, "no probes while up");
  assert.equal((await proxy.get("/a")).text(), "ok");
});

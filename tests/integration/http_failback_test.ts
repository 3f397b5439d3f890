/**
 * Fail-back delay end to end: when the preferred site recovers, traffic moves
 * back only after it has stayed available for the delay; failing over is
 * immediate; delay 0 is minio/sidekick's immediate fail-back.
 */

import assert from "node:assert/strict";
import { startHarness } from "../fixtures/harness.ts";
import { startServeBackend, waitFor } from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

function startSwitchable(name: string, healthy: { value: boolean }) {
  return startServeBackend((req) =>
    new URL(req.url).pathname === "/health"
      ? new Response(null, { status: healthy.value ? 200 : 503 })
      : new Response(name)
  );
}

const HEALTH = { active: true, path: "/health", intervalMs: 20, timeoutMs: 500 };

Deno.test("failback delay: a recovered first site serves again only after the delay (fake clock)", async () => {
  const DELAY = 500;
  const clock = new FakeClock();
  const aHealthy = { value: true };
  await using a = startSwitchable("a", aHealthy);
  await using b = startSwitchable("b", { value: true });
  await using proxy = await startHarness([[a.url], [b.url]], {
    health: HEALTH,
    failbackDelayMs: DELAY,
    clock,
  });
  assert.equal((await proxy.get("/1")).text(), "a", "site 1 serves from the start");

  aHealthy.value = false;
  const aIs = (status: string) => () => proxy.endpoint(a.port).health.status === status;
  await clock.advanceUntil(aIs("down"), 2000, "a down");
  assert.equal((await proxy.get("/2")).text(), "b", "failing over is immediate");

  aHealthy.value = true;
  await clock.advanceUntil(aIs("up"), 2000, "a up");
  const upAt = clock.now();
  // Within the delay, b keeps the traffic (the probes go on and keep passing).
  for (let i = 0; clock.now() - upAt < DELAY - 25; i++) {
    assert.equal((await proxy.get(`/w${i}`)).text(), "b", `at +${clock.now() - upAt} ms`);
    await clock.advance(25);
  }
  assert.equal(proxy.cluster.servingSite(), 1);
  await clock.advance(upAt + DELAY - clock.now());
  assert.equal((await proxy.get("/3")).text(), "a", "back on site 1 after the delay");
  assert.equal(proxy.cluster.servingSite(), 0);
});

Deno.test("failback delay on the wall clock (smoke)", async () => {
  const DELAY = 100;
  const aHealthy = { value: false };
  await using a = startSwitchable("a", aHealthy);
  await using b = startSwitchable("b", { value: true });
  await using proxy = await startHarness([[a.url], [b.url]], {
    health: HEALTH,
    failbackDelayMs: DELAY,
  });
  assert.equal((await proxy.get("/1")).text(), "b");
  aHealthy.value = true;
  await waitFor(() => proxy.endpoint(a.port).health.status === "up", 2000, "a up");
  const upAt = Date.now();
  assert.equal((await proxy.get("/2")).text(), "b", "not yet");
  await waitFor(() => proxy.cluster.servingSite() === 0, 2000, "fail-back");
  assert.ok(Date.now() - upAt >= DELAY - 25, `failed back after ${Date.now() - upAt} ms`);
  assert.equal((await proxy.get("/3")).text(), "a");
});

Deno.test("failback delay 0: traffic moves back as soon as the first site is up", async () => {
  const aHealthy = { value: true };
  await using a = startSwitchable("a", aHealthy);
  await using b = startSwitchable("b", { value: true });
  await using proxy = await startHarness([[a.url], [b.url]], { health: HEALTH });
  aHealthy.value = false;
  await waitFor(() => proxy.endpoint(a.port).health.status === "down", 2000, "a down");
  assert.equal((await proxy.get("/1")).text(), "b");
  aHealthy.value = true;
  await waitFor(() => proxy.endpoint(a.port).health.status === "up", 2000, "a up");
  assert.equal((await proxy.get("/2")).text(), "a");
});

/**
 * Fail-back delay without sleeping: the pure decision (failbackFloor) and the
 * Cluster that tracks when each site became available, on an injected clock.
 */

import assert from "node:assert/strict";
import { failbackFloor } from "../../src/balance/failover.ts";
import { type ClusterSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { initialHealthState, markDown } from "../../src/health/state.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { Attempt } from "../../src/balance/lease.ts";
import type { Endpoint } from "../../src/balance/endpoint.ts";

Deno.test("failbackFloor: the first available site when there is no delay or no current site", () => {
  assert.equal(failbackFloor([-1, 5, 0], 2, 10, 0), 1);
  assert.equal(failbackFloor([5, 0], -1, 6, 1000), 0, "startup: first available at once");
  assert.equal(failbackFloor([-1, -1], 0, 6, 1000), -1);
  assert.equal(failbackFloor([], -1, 6, 1000), -1);
});

Deno.test("failbackFloor: failing over is immediate, failing back waits for the delay", () => {
  // Site 0 is serving and goes away: site 1 at once, even if it just came up.
  assert.equal(failbackFloor([-1, 999], 0, 1000, 500), 1);
  // Site 0 comes back at t=2000 while site 1 serves.
  assert.equal(failbackFloor([2000, 0], 1, 2000, 500), 1);
  assert.equal(failbackFloor([2000, 0], 1, 2499, 500), 1);
  assert.equal(failbackFloor([2000, 0], 1, 2500, 500), 0);
  // The current site itself never waits, whatever its own age.
  assert.equal(failbackFloor([-1, 2499], 1, 2500, 500), 1);
  // A worse site takes over at once when the current one goes too.
  assert.equal(failbackFloor([2000, -1, 10], 1, 2100, 500), 2);
  // Of several recovered better sites, the best settled one wins.
  assert.equal(failbackFloor([2400, 1000, 0], 2, 2500, 500), 1);
});

class FakeClock {
  now = 1_000_000;
  readonly runtime = { now: () => this.now, random: () => 0 };
}

function spec(delay: number): ClusterSpec {
  const e = (port: number) => ({ scheme: "http" as const, host: "127.0.0.1", port, basePath: "" });
  return {
    policy: "least",
    health: { ...DEFAULT_HEALTH, active: true },
    failbackDelayMs: delay,
    sites: [
      { name: "a", endpoints: [e(1), e(2)] },
      { name: "b", endpoints: [e(3)] },
    ],
  };
}

function up(cluster: Cluster, e: Endpoint, now: number) {
  cluster.setHealth(e, initialHealthState(true, now));
}

function pickPort(cluster: Cluster): number | undefined {
  using lease = cluster.lease(new Attempt());
  return lease?.endpoint.spec.port;
}

Deno.test("Cluster: with a fail-back delay, a recovered site waits; a site that never went down does not", () => {
  const clock = new FakeClock();
  const cluster = new Cluster(spec(10_000), clock.runtime);
  const [[a1, a2], [b]] = cluster.sites;
  assert.equal(pickPort(cluster), undefined, "all start down");
  up(cluster, b, clock.now);
  up(cluster, a1, clock.now);
  assert.equal(pickPort(cluster), 1, "startup: the first site serves at once");

  // One endpoint of site a goes down: the site is still available, nothing moves.
  clock.now += 1000;
  cluster.reportTransportFailure(a1, "reset");
  up(cluster, a2, clock.now);
  assert.equal(pickPort(cluster), 2);

  // The whole site goes down: immediate failover to b.
  clock.now += 1000;
  cluster.setHealth(a2, markDown(a2.health, clock.now));
  assert.equal(pickPort(cluster), 3);
  assert.equal(cluster.servingSite(), 1);

  // Site a comes back; b keeps serving for 10 s.
  clock.now += 1000;
  const backAt = clock.now;
  up(cluster, a2, clock.now);
  for (const dt of [0, 1, 5_000, 9_999]) {
    clock.now = backAt + dt;
    assert.equal(pickPort(cluster), 3, `still on b at +${dt} ms`);
  }
  clock.now = backAt + 10_000;
  assert.equal(pickPort(cluster), 2, "back on a after the delay");
  assert.equal(cluster.servingSite(), 0);
});

Deno.test("Cluster: a flap during the delay restarts it", () => {
  const clock = new FakeClock();
  const cluster = new Cluster(spec(10_000), clock.runtime);
  const [[a1], [b]] = cluster.sites;
  up(cluster, b, clock.now);
  up(cluster, a1, clock.now);
  assert.equal(pickPort(cluster), 1);
  cluster.setHealth(a1, markDown(a1.health, clock.now));
  assert.equal(pickPort(cluster), 3);
  clock.now += 1000;
  up(cluster, a1, clock.now);
  clock.now += 8000;
  cluster.setHealth(a1, markDown(a1.health, clock.now)); // flaps, no pick in between
  clock.now += 1;
  const backAt = clock.now;
  up(cluster, a1, clock.now);
  clock.now = backAt + 9_999;
  assert.equal(pickPort(cluster), 3, "the delay counts from the last recovery");
  clock.now = backAt + 10_000;
  assert.equal(pickPort(cluster), 1);
});

Deno.test("Cluster: without a delay the first available site serves at once", () => {
  const clock = new FakeClock();
  const cluster = new Cluster(spec(0), clock.runtime);
  const [[a1], [b]] = cluster.sites;
  up(cluster, b, clock.now);
  assert.equal(pickPort(cluster), 3);
  up(cluster, a1, clock.now);
  assert.equal(pickPort(cluster), 1);
  assert.equal(cluster.servingSite(), 0);
});

Deno.test("Cluster: with probes off, an ejected site comes back after the eject time plus the delay", () => {
  const clock = new FakeClock();
  const s = spec(5_000);
  const cluster = new Cluster(
    { ...s, health: { ...s.health, active: false, ejectMs: 2_000 } },
    clock.runtime,
  );
  const [[a1, a2]] = cluster.sites;
  assert.notEqual(pickPort(cluster), 3, "probes off: up from the start, site a serves");
  cluster.reportTransportFailure(a1);
  cluster.reportTransportFailure(a2);
  assert.equal(pickPort(cluster), 3);
  clock.now += 2_000; // ejection over: available again, but just recovered
  assert.equal(pickPort(cluster), 3);
  clock.now += 5_000;
  assert.notEqual(pickPort(cluster), 3);
});

/**
 * Slow start, outlier ejection and the panic threshold, decided by the
 * cluster over lease outcomes on a fake time and a seeded random source.
 */

import assert from "node:assert/strict";
import type { ClusterSpec, HealthSpec, PolicyName } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH, DEFAULT_OUTLIER } from "../../src/config/defaults.ts";
import { initialHealthState, markDown } from "../../src/health/state.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import type { Endpoint } from "../../src/balance/endpoint.ts";
import { Attempt } from "../../src/balance/lease.ts";
import { mulberry32 } from "../_helpers/random.ts";

const e = (port: number) => ({ scheme: "http" as const, host: "127.0.0.1", port, basePath: "" });

interface World {
  cluster: Cluster;
  time: { now: number };
}

function world(
  sites: number[][],
  health: Partial<HealthSpec>,
  policy: PolicyName = "least",
): World {
  const time = { now: 1_000_000 };
  const spec: ClusterSpec = {
    policy,
    health: { ...DEFAULT_HEALTH, active: true, ...health },
    sites: sites.map((ports, i) => ({ name: `s${i}`, endpoints: ports.map(e) })),
  };
  const cluster = new Cluster(spec, { now: () => time.now, random: mulberry32(7) });
  for (const ep of cluster.endpoints) cluster.setHealth(ep, initialHealthState(true, time.now));
  return { cluster, time };
}

/** Picks `n` times (each lease released at once with `status`) and counts picks per port. */
function picks(cluster: Cluster, n: number, status = 200): Map<number, number> {
  const out = new Map<number, number>();
  const attempt = new Attempt();
  for (let i = 0; i < n; i++) {
    attempt.reset();
    const lease = cluster.lease(attempt);
    if (lease === undefined) continue;
    const port = lease.endpoint.spec.port;
    out.set(port, (out.get(port) ?? 0) + 1);
    lease.reached();
    lease.release({ rx: 0, tx: 0, status, error: "none" });
  }
  return out;
}

function recover(w: World, ep: Endpoint): void {
  w.cluster.setHealth(ep, markDown(ep.health, w.time.now - 1000));
  w.cluster.setHealth(ep, initialHealthState(true, w.time.now));
}

for (const policy of ["least", "random", "round-robin"] as const) {
  Deno.test(`slow start (${policy}): a recovered endpoint's share ramps from 10% to its full share`, () => {
    const w = world([[1, 2]], { slowStartMs: 10_000 }, policy);
    const b = w.cluster.endpoints[1];
    recover(w, b);
    const share = () => (picks(w.cluster, 2000).get(2) ?? 0) / 2000;
    const atStart = share();
    w.time.now += 5_000;
    const halfway = share();
    w.time.now += 5_000;
    const after = share();
    // Full share is one half. Eligible 10% of the time at first, half the time
    // halfway: random and least then give it p/2; round robin, which offers it
    // the next pick again when it was skipped, p/(1+p).
    assert.ok(atStart > 0.02 && atStart <= 0.1, `at start ${atStart}`);
    assert.ok(halfway >= 0.2 && halfway <= 0.4, `halfway ${halfway}`);
    assert.ok(after > 0.45 && after < 0.55, `after the window ${after}`);
  });
}

Deno.test("slow start: the first up at start is not a recovery, and a warming endpoint alone still serves", () => {
  const w = world([[1, 2]], { slowStartMs: 10_000 });
  const fresh = (picks(w.cluster, 1000).get(2) ?? 0) / 1000;
  assert.ok(fresh > 0.45, `no ramp at start: ${fresh}`);
  const [a, b] = w.cluster.endpoints;
  recover(w, b);
  w.cluster.setHealth(a, markDown(a.health, w.time.now));
  assert.equal(picks(w.cluster, 100).get(2), 100, "the only available endpoint takes everything");
});

Deno.test("slow start off: the same recovery gets its full share at once", () => {
  const w = world([[1, 2]], {});
  recover(w, w.cluster.endpoints[1]);
  const share = (picks(w.cluster, 2000).get(2) ?? 0) / 2000;
  assert.ok(share > 0.45, `${share}`);
});

Deno.test("outlier ejection: 5 gateway errors in a row eject for base x count, capped; probes decide nothing", () => {
  const rules = { ...DEFAULT_OUTLIER, baseEjectionMs: 1000, maxEjectionMs: 2500 };
  const w = world([[1, 2]], { outlier: rules });
  const [a] = w.cluster.endpoints;
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) {
      const attempt = new Attempt();
      const lease = w.cluster.lease(attempt)!;
      if (lease.endpoint !== a) {
        lease.release({ rx: 0, tx: 0, status: 200, error: "none" });
        i--;
        continue;
      }
      lease.reached();
      lease.release({ rx: 0, tx: 0, status: 503, error: "none" });
    }
  };
  fail(4);
  assert.equal(a.isUp(w.time.now), true, "4 are not enough");
  fail(1);
  assert.equal(a.ejectedUntil, w.time.now + 1000);
  assert.equal(a.isUp(w.time.now), false);
  assert.equal(a.health.status, "up", "health is untouched: probes go on");
  w.time.now += 1000;
  fail(5);
  assert.equal(a.ejectedUntil - w.time.now, 2000, "second ejection: 2 x base");
  w.time.now += 2000;
  fail(5);
  assert.equal(a.ejectedUntil - w.time.now, 2500, "capped");
  assert.equal(a.ejections, 3);
  assert.equal(w.cluster.ejections, 3);
});

Deno.test("outlier ejection: a success breaks the run; at most maxEjectedPercent of the cluster is out", () => {
  const w = world([[1, 2, 3, 4]], { outlier: { ...DEFAULT_OUTLIER, maxEjectedPercent: 25 } });
  const eps = w.cluster.endpoints;
  const settle = (ep: Endpoint, status: number) =>
    w.cluster.settled(ep, { rx: 0, tx: 0, status, error: "none" }, true);
  for (let i = 0; i < 4; i++) settle(eps[0], 500);
  settle(eps[0], 200);
  settle(eps[0], 500);
  assert.equal(eps[0].ejections, 0, "the run was broken");
  for (const ep of eps) for (let i = 0; i < 5; i++) settle(ep, 500);
  assert.equal(eps.filter((ep) => ep.ejectedUntil > w.time.now).length, 1, "25% of 4");
});

Deno.test("outlier ejection never takes the last up endpoint of a site while its probes pass", () => {
  const w = world([[1], [2]], { outlier: DEFAULT_OUTLIER });
  const [a] = w.cluster.endpoints;
  a.recordProbe({ passed: true, detail: "status 200", at: w.time.now });
  for (let i = 0; i < 10; i++) {
    w.cluster.settled(a, { rx: 0, tx: 0, status: 502, error: "none" }, true);
  }
  assert.equal(a.ejections, 0);
});

Deno.test("panic: below the threshold, with no later site, every endpoint of the site takes traffic", () => {
  const w = world([[1, 2, 3, 4]], { panicPercent: 50 });
  const eps = w.cluster.endpoints;
  for (const ep of eps.slice(1)) w.cluster.setHealth(ep, markDown(ep.health, w.time.now));
  const spread = picks(w.cluster, 400);
  assert.equal(spread.size, 4, `all four used: ${[...spread]}`);
  // Back at the threshold (2 of 4 up): no panic.
  w.cluster.setHealth(eps[1], initialHealthState(true, w.time.now));
  assert.deepEqual([...picks(w.cluster, 100).keys()].sort(), [1, 2]);
});

Deno.test("panic: failover wins while a later site can serve; with nothing up, the first site is used", () => {
  const w = world([[1, 2, 3], [4]], { panicPercent: 50 });
  const eps = w.cluster.endpoints;
  for (const ep of eps.slice(1, 3)) w.cluster.setHealth(ep, markDown(ep.health, w.time.now));
  assert.deepEqual([...picks(w.cluster, 100).keys()], [1], "site 0 serves normally, no panic");
  w.cluster.setHealth(eps[0], markDown(eps[0].health, w.time.now));
  assert.deepEqual([...picks(w.cluster, 100).keys()], [4], "site 0 has none: fail over");
  w.cluster.setHealth(eps[3], markDown(eps[3].health, w.time.now));
  const all = picks(w.cluster, 300);
  assert.deepEqual([...all.keys()].sort(), [1, 2, 3], "nothing up: panic in the first site");
});

Deno.test("panic off (the default): nothing up means no lease", () => {
  const w = world([[1, 2]], {});
  for (const ep of w.cluster.endpoints) w.cluster.setHealth(ep, markDown(ep.health, w.time.now));
  assert.equal(w.cluster.lease(new Attempt()), undefined);
});

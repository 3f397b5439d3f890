import assert from "node:assert/strict";
import { p2cCost, P2cPolicy } from "../../src/balance/p2c.ts";
import { decayedLatency, LATENCY_DECAY_MS, observeLatency } from "../../src/balance/ewma.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { Attempt } from "../../src/balance/lease.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import type { EndpointSpec } from "../../src/config/schema.ts";
import { mulberry32 } from "../_helpers/random.ts";

interface Sim {
  inFlight: number;
  latencyMs: number;
  latencyAt: number;
  readonly ok: boolean;
  readonly serviceMs: number;
}

/**
 * A closed loop on a virtual clock: `clients` clients each send a request,
 * wait for its answer (the endpoint's service time) and send the next. The
 * answer feeds the endpoint's peak-EWMA estimate as a lease release does.
 * Returns the picks per endpoint.
 */
function closedLoop(serviceMs: number[], clients: number, durationMs: number, seed: number) {
  const list: Sim[] = serviceMs.map((s) => ({
    inFlight: 0,
    latencyMs: 30,
    latencyAt: 0,
    ok: true,
    serviceMs: s,
  }));
  const policy = new P2cPolicy();
  const random = mulberry32(seed);
  const pick = { now: 0, key: -1 };
  const counts = list.map(() => 0);
  // Each client's pending answer: [due time, endpoint, sent at].
  const pending: [number, number, number][] = [];
  const send = (now: number) => {
    pick.now = now;
    const i = policy.select(list, (c) => c.ok, random, pick);
    counts[i]++;
    list[i].inFlight++;
    pending.push([now + list[i].serviceMs, i, now]);
  };
  for (let c = 0; c < clients; c++) send(0);
  for (let step = 0; step < 10_000_000; step++) {
    let next = 0;
    for (let k = 1; k < pending.length; k++) if (pending[k][0] < pending[next][0]) next = k;
    const [due, i, sent] = pending.splice(next, 1)[0];
    if (due > durationMs) break;
    const e = list[i];
    e.inFlight--;
    e.latencyMs = observeLatency(e.latencyMs, e.latencyAt, due, due - sent);
    e.latencyAt = due;
    send(due);
  }
  return counts;
}

Deno.test("p2c: with one endpoint at 200 ms and one at 1 ms, the slow one gets a small share (fake latency feed)", () => {
  const counts = closedLoop([1, 200], 16, 60_000, 42);
  const share = counts[1] / (counts[0] + counts[1]);
  console.log(
    `p2c simulated: slow share ${(share * 100).toFixed(3)}% of ${counts[0] + counts[1]} picks`,
  );
  assert.ok(counts[1] > 0, "the slow endpoint is still tried now and then");
  assert.ok(share < 0.005, `slow share ${share}`);
});

Deno.test("p2c: with equal endpoints the load is even", () => {
  const counts = closedLoop([5, 5, 5], 12, 20_000, 7);
  const total = counts.reduce((a, b) => a + b, 0);
  for (const c of counts) assert.ok(Math.abs(c / total - 1 / 3) < 0.03, `${counts}`);
});

Deno.test("p2c: cost is latency (1 ms floor) x (in flight + 1) / weight", () => {
  assert.equal(p2cCost({ inFlight: 3, latencyMs: 10, latencyAt: 0 }, 0), 40);
  assert.equal(p2cCost({ inFlight: 0, latencyMs: 0.01, latencyAt: 0 }, 0), 1);
  assert.equal(p2cCost({ inFlight: 1, latencyMs: 10, latencyAt: 0, weight: 4 }, 0), 5);
  // Unknown latency: the neutral default.
  assert.equal(p2cCost({ inFlight: 0 }, 0), 30);
});

Deno.test("p2c: the estimate takes a slow answer at once and decays with a 10 s time constant", () => {
  assert.equal(observeLatency(1, 0, 5, 200), 200);
  const later = decayedLatency(200, 0, LATENCY_DECAY_MS);
  assert.ok(Math.abs(later - 200 / Math.E) < 1e-9);
  // A fast answer soon after pulls the estimate down only a little.
  const blended = observeLatency(200, 0, 100, 1);
  assert.ok(blended > 190 && blended < 200, `${blended}`);
  // Much later, the fast answer dominates.
  assert.ok(observeLatency(200, 0, 60_000, 1) < 2);
});

Deno.test("p2c: always prefers the cheaper of two, and ties go by weight", () => {
  const policy = new P2cPolicy();
  const random = mulberry32(3);
  const pick = { now: 0, key: -1 };
  const cheap = { inFlight: 0, latencyMs: 2, latencyAt: 0 };
  const dear = { inFlight: 0, latencyMs: 50, latencyAt: 0 };
  for (let k = 0; k < 100; k++) {
    assert.equal(policy.select([dear, cheap], () => true, random, pick), 1);
  }
  // Equal cost (30 x 1 / 1 and 30 x 2 / 2): the tie goes 1 : 2 by weight.
  const light = { inFlight: 0, weight: 1 };
  const heavy = { inFlight: 1, weight: 2 };
  let heavyPicks = 0;
  for (let k = 0; k < 9_000; k++) {
    if (policy.select([light, heavy], () => true, random, pick) === 1) heavyPicks++;
  }
  assert.ok(Math.abs(heavyPicks / 9_000 - 2 / 3) < 0.03, `${heavyPicks}`);
});

const spec = (port: number): EndpointSpec => ({
  scheme: "http",
  host: "127.0.0.1",
  port,
  basePath: "",
});

Deno.test("p2c: leases feed the estimate on the cluster's clock, and a reload seeds new endpoints with the median", () => {
  let now = 1_000;
  const runtime = { now: () => now, random: mulberry32(9) };
  const health = { ...DEFAULT_HEALTH, active: false };
  const sites = (ports: number[]) => [{ name: "a", endpoints: ports.map(spec) }];
  const cluster = new Cluster({ policy: "p2c", health, sites: sites([1, 2, 3]) }, runtime);
  const [a, b, c] = cluster.sites[0];
  cluster.reportLatency(a, 10);
  cluster.reportLatency(b, 50);
  cluster.reportLatency(c, 400);
  assert.equal(a.latencyMs, 10); // the first answer replaces the neutral estimate
  cluster.reportLatency(a, 5);
  assert.equal(a.latencyMs, 10); // later ones blend in over time (none has passed)
  assert.equal(b.latencyMs, 50);
  assert.equal(b.latencyAt, 1_000);
  now = 1_000 + LATENCY_DECAY_MS;
  cluster.update({ policy: "p2c", health, sites: sites([1, 2, 3, 4]) });
  const d = cluster.sites[0][3];
  assert.ok(
    Math.abs(d.latencyMs - 50 / Math.E) < 1e-9,
    `median of the decayed estimates (10, 50, 400): ${d.latencyMs}`,
  );
  assert.equal(d.latencyAt, now);
  // A lease released after a reached HTTP exchange feeds its duration.
  const attempt = new Attempt();
  const lease = cluster.lease(attempt)!;
  const before = lease.endpoint.latencyAt;
  lease.reached();
  lease.release({ rx: 0, tx: 0, status: 200, error: "none" });
  assert.equal(lease.endpoint.latencyAt, now);
  assert.ok(before <= now);
});

Deno.test("p2c: a TCP lease feeds its connect time when it reaches the endpoint, not at the release", () => {
  let now = 5_000;
  const runtime = { now: () => now, random: mulberry32(4) };
  const cluster = new Cluster({
    policy: "p2c",
    health: { ...DEFAULT_HEALTH, active: false },
    sites: [{
      name: "t",
      endpoints: [{ scheme: "tcp", host: "127.0.0.1", port: 1, basePath: "" }],
    }],
  }, runtime);
  const e = cluster.sites[0][0];
  const lease = cluster.lease(new Attempt())!;
  now = 6_000;
  lease.reached();
  assert.equal(e.latencyAt, 6_000);
  assert.ok(e.latencyMs < 30, `connect time, not the neutral 30 ms: ${e.latencyMs}`);
  now = 9_000;
  lease.release({ rx: 0, tx: 0, status: 0, error: "none" });
  assert.equal(e.latencyAt, 6_000, "the session's length is not a latency");
});

Deno.test("p2c: an HTTP lease feeds the time to the response head, not the body's streaming time", async () => {
  const runtime = { now: () => 1_000, random: mulberry32(8) };
  const cluster = new Cluster({
    policy: "p2c",
    health: { ...DEFAULT_HEALTH, active: false },
    sites: [{ name: "h", endpoints: [spec(1)] }],
  }, runtime);
  const e = cluster.sites[0][0];
  const lease = cluster.lease(new Attempt())!;
  lease.reached();
  const answeredAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 80)); // the body streams
  lease.release({ rx: 0, tx: 1e6, status: 200, error: "none", answeredAt });
  assert.ok(e.latencyMs < 40, `time to the head: ${e.latencyMs} ms`);
  const timedOut = cluster.lease(new Attempt())!;
  timedOut.reached();
  await new Promise((resolve) => setTimeout(resolve, 80));
  timedOut.release({ rx: 0, tx: 0, status: 0, error: "timeout" });
  assert.ok(e.latencyMs >= 75, `no head: the whole wait counts (peak): ${e.latencyMs} ms`);
});

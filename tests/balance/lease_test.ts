/**
 * Leases and attempts without sockets: in flight from the pick, per-request
 * "tried" marks that interleaved requests cannot overwrite, the outcome
 * accounted at the release, and `using` releasing exactly once.
 */

import assert from "node:assert/strict";
import { Cluster } from "../../src/balance/cluster.ts";
import { Attempt } from "../../src/balance/lease.ts";
import { type ClusterSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { delay } from "../_helpers/http.ts";

const e = (port: number) => ({ scheme: "http" as const, host: "127.0.0.1", port, basePath: "" });

function cluster(policy: ClusterSpec["policy"], ports: number[], cap = 0): Cluster {
  return new Cluster({
    policy,
    health: { ...DEFAULT_HEALTH, active: false },
    sites: [{ name: "a", endpoints: ports.map(e), ...(cap > 0 ? { maxConnections: cap } : {}) }],
  }, { now: () => 0, random: () => 0.99 }); // 0.99: `least` keeps the first of tied endpoints
}

Deno.test("two interleaved requests: each retry avoids the endpoints its own request tried", () => {
  const c = cluster("least", [1, 2, 3]);
  const r1 = new Attempt(), r2 = new Attempt();
  r1.reset();
  r2.reset();
  const first = c.lease(r1)!;
  assert.equal(first.endpoint.spec.port, 1);
  const second = c.lease(r2)!;
  assert.equal(second.endpoint.spec.port, 2, "1 is busy: least goes to 2");
  first.release({ rx: 0, tx: 0, status: 0, error: "connect" });
  second.release({ rx: 0, tx: 0, status: 0, error: "connect" });
  // Request 2 picking 1 next must not make 1 eligible again for request 1.
  const r2retry = c.lease(r2)!;
  assert.equal(r2retry.endpoint.spec.port, 1);
  r2retry.release({ rx: 0, tx: 0, status: 0, error: "connect" });
  const r1retry = c.lease(r1)!;
  assert.notEqual(r1retry.endpoint.spec.port, 1, "request 1 went back to the endpoint it tried");
  assert.equal(r1retry.endpoint.spec.port, 2);
  r1retry.release({ rx: 0, tx: 0, status: 0, error: "none" });
  assert.equal(r1.count, 2);
  assert.equal(c.lease(r2)?.endpoint.spec.port, 3, "request 2 has one endpoint left");
  r2.lease.release({ rx: 0, tx: 0, status: 0, error: "none" });
  assert.equal(c.lease(r2), undefined, "every endpoint tried");
});

Deno.test("a lease counts in flight from the pick: a capped endpoint is full while its connect is pending", () => {
  const c = cluster("least", [1], 1);
  const [[a]] = c.sites;
  const held = c.lease(new Attempt())!;
  assert.equal(a.inFlight, 1, "counted before any connect");
  assert.equal(a.requests, 0, "a request counts once it reaches the endpoint");
  assert.equal(c.lease(new Attempt()), undefined, "the cap holds");
  held.release({ rx: 0, tx: 0, status: 0, error: "connect" });
  assert.equal(a.inFlight, 0);
  assert.equal(a.errors, 1, "a failed connect is an error, as sidekick_errors_total's HELP says");
  assert.equal(a.requests, 0);
});

Deno.test("release accounts bytes, the status class and the duration once; using releases at most once", () => {
  const c = cluster("round-robin", [1]);
  const [[a]] = c.sites;
  const attempt = new Attempt();
  {
    using lease = c.lease(attempt)!;
    lease.reached();
    lease.release({ rx: 10, tx: 20, status: 503, error: "none" });
    lease.release({ rx: 10, tx: 20, status: 503, error: "none" }); // twice: no effect
  } // and `using` after an explicit release: no effect either
  assert.deepEqual([a.inFlight, a.requests, a.rxBytes, a.txBytes, a.errors], [0, 1, 10, 20, 1]);
  const count = a.durationCounts.reduce((x, y) => x + y, 0);
  assert.equal(count, 1, "one duration observed");
  attempt.reset(); // the next request
  {
    using _dropped = c.lease(attempt);
    assert.equal(a.inFlight, 1);
  }
  assert.equal(a.inFlight, 0, "using released a lease nobody released");
  assert.equal(a.requests, 1, "a lease that never reached the endpoint is no request");
});

Deno.test("a lease still held cannot be held again by its attempt", () => {
  const c = cluster("round-robin", [1, 2]);
  const attempt = new Attempt();
  using _held = c.lease(attempt);
  assert.throws(() => c.lease(attempt), /still held/);
});

Deno.test("blame counts a failure on the endpoint and ejects it when probes are off", () => {
  const c = cluster("round-robin", [1, 2]);
  const [[a]] = c.sites;
  const attempt = new Attempt();
  const lease = c.lease(attempt)!;
  lease.blame("connection refused");
  lease.release({ rx: 0, tx: 0, status: 0, error: "connect" });
  assert.equal(a.failures, 1);
  assert.equal(a.isAvailable(0), false, "ejected");
  assert.equal(c.lease(new Attempt())?.endpoint.spec.port, 2);
});

Deno.test("a local failure is counted on the cluster and told to listeners once a second, never on an endpoint", () => {
  let now = 0;
  const c = new Cluster({
    policy: "least",
    health: { ...DEFAULT_HEALTH, active: false },
    sites: [{ name: "a", endpoints: [e(1)] }],
  }, { now: () => now, random: Math.random });
  const heard: string[] = [];
  using _sub = c.onLocalFailure((reason) => heard.push(reason));
  c.reportLocalFailure("Too many open files");
  now = 999;
  c.reportLocalFailure("Too many open files"); // the same burst
  now = 1000;
  c.reportLocalFailure("Too many open files (again)");
  assert.deepEqual(heard, ["Too many open files", "Too many open files (again)"]);
  assert.equal(c.localFailures, 3);
  assert.equal(c.sites[0][0].failures, 0);
});

Deno.test("an attempt reused for the next request forgets what the last one tried", () => {
  const c = cluster("least", [1, 2]);
  const a = new Attempt();
  for (let request = 0; request < 3; request++) {
    a.reset();
    const first = c.lease(a)!.endpoint;
    a.lease.release({ rx: 0, tx: 0, status: 0, error: "connect" });
    const second = c.lease(a)!.endpoint;
    assert.notEqual(second, first, "a retry avoids what this request tried");
    assert.equal(a.last, second);
    a.lease.release({ rx: 0, tx: 0, status: 200, error: "none" });
    assert.equal(c.lease(a), undefined, "both tried");
    assert.equal(a.count, 2);
  }
  a.reset();
  assert.equal(a.last, undefined);
  assert.equal(c.lease(a)?.endpoint.spec.port, 1, "a new request may go anywhere again");
  a.lease.release({ rx: 0, tx: 0, status: 200, error: "none" });
});

Deno.test("the first lease counts from the request's start when the core gives it; a retry from its own pick", async () => {
  const c = cluster("least", [1, 2]);
  const [[one, two]] = c.sites;
  const a = new Attempt();
  a.reset(performance.now());
  await delay(50); // the request started 50 ms before its first pick
  c.lease(a)!.release({ rx: 0, tx: 0, status: 0, error: "connect" });
  assert.equal(a.startAt, -1, "the pick used it up");
  c.lease(a)!.reached();
  a.lease.release({ rx: 0, tx: 0, status: 200, error: "none" });
  assert.equal(one.durationSum, 0, "a failed connect is no request duration");
  assert.ok(two.durationSum < 0.05, `the retry counts from its own pick: ${two.durationSum} s`);
  a.reset(performance.now());
  await delay(50);
  const lease = c.lease(a)!;
  lease.reached();
  lease.release({ rx: 0, tx: 0, status: 200, error: "none" });
  const d = lease.endpoint.durationSum;
  assert.ok(d >= 0.045, `the first lease counts from the request's start: ${d} s`);
});

Deno.test("latency is measured and fed to the endpoints only for a policy that reads it", async () => {
  for (
    const [policy, hash, tracked] of [
      ["least", undefined, false],
      ["round-robin", undefined, false],
      ["p2c", undefined, true],
      ["hash", "p2c", true],
      ["hash", "least", false],
    ] as const
  ) {
    const c = new Cluster({
      policy,
      ...(hash === undefined ? {} : { hash: { key: "client-ip", fallback: hash } }),
      health: { ...DEFAULT_HEALTH, active: false },
      sites: [{ name: "a", endpoints: [e(1)] }],
    }, { now: () => 5_000, random: () => 0.5 });
    assert.equal(c.tracksLatency, tracked, policy);
    const [[one]] = c.sites;
    const before = one.latencyMs;
    const a = new Attempt();
    a.reset(performance.now());
    await delay(20);
    const lease = c.lease(a)!;
    lease.reached();
    lease.release({ rx: 0, tx: 0, status: 200, error: "none", answeredAt: performance.now() });
    if (tracked) {
      assert.ok(one.latencyMs >= 19, `${policy}: ${one.latencyMs}`);
      assert.equal(one.latencyAt, 5_000);
    } else {
      assert.equal(one.latencyMs, before, `${policy} leaves the estimate alone`);
    }
  }
});

/**
 * Cluster and Endpoint live state: health transitions counted, down
 * listeners told of traffic failures (and isolated from each other), the
 * duration histogram, and the health path per site.
 */

import assert from "node:assert/strict";
import { type ClusterSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { initialHealthState, markDown } from "../../src/health/state.ts";
import { Cluster } from "../../src/balance/cluster.ts";

import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { DURATION_BUCKETS, Endpoint } from "../../src/balance/endpoint.ts";

const e = (port: number) => ({ scheme: "http" as const, host: "127.0.0.1", port, basePath: "" });

function spec(active: boolean): ClusterSpec {
  return {
    policy: "least",
    health: { ...DEFAULT_HEALTH, active, path: "/ready" },
    sites: [
      { name: "a", endpoints: [e(1)] },
      { name: "b", endpoints: [e(2)], healthPath: "/read" },
    ],
  };
}

Deno.test("Endpoint.setHealth counts changes of status only", () => {
  const ep = new Endpoint(e(1), false, 0);
  assert.equal(ep.setHealth(initialHealthState(false, 1)), false);
  assert.equal(ep.setHealth(initialHealthState(true, 2)), true);
  assert.equal(ep.setHealth({ status: "up", streak: 1, since: 2 }), false);
  assert.equal(ep.setHealth(markDown(ep.health, 3)), true);
  assert.deepEqual([ep.wentUp, ep.wentDown], [1, 1]);
});

Deno.test("Endpoint.observe fills the right bucket and the sum", () => {
  const ep = new Endpoint(e(1), true, 0);
  ep.observe(0.0001);
  ep.observe(0.0005); // on the bound: that bucket
  ep.observe(0.003);
  ep.observe(100);
  assert.equal(ep.durationCounts[0], 2);
  assert.equal(ep.durationCounts[DURATION_BUCKETS.indexOf(0.005)], 1);
  assert.equal(ep.durationCounts[DURATION_BUCKETS.length], 1, "+Inf");
  assert.ok(Math.abs(ep.durationSum - 100.0036) < 1e-9);
});

Deno.test("Cluster: a traffic failure on an up endpoint tells the down listeners once", () => {
  const cluster = new Cluster(spec(true), SYSTEM_RUNTIME);
  const [[a]] = cluster.sites;
  cluster.setHealth(a, initialHealthState(true, Date.now()));
  const heard: string[] = [];
  using _bad = cluster.onEndpointDown(() => {
    throw new Error("a broken listener");
  });
  const sub = cluster.onEndpointDown((ep, reason) => heard.push(`${ep.key} ${reason}`));
  cluster.reportTransportFailure(a, "connection refused");
  cluster.reportTransportFailure(a, "connection refused"); // already down: not again
  assert.deepEqual(heard, ["http://127.0.0.1:1 connection refused"]);
  assert.equal(a.failures, 2);
  assert.equal(a.wentDown, 1);
  sub[Symbol.dispose]();
  cluster.setHealth(a, initialHealthState(true, Date.now()));
  cluster.reportTransportFailure(a);
  assert.equal(heard.length, 1, "unsubscribed");
});

Deno.test("Cluster: with probes off a traffic failure ejects and tells nobody", () => {
  const cluster = new Cluster(spec(false), SYSTEM_RUNTIME);
  const [[a]] = cluster.sites;
  let heard = 0;
  using _sub = cluster.onEndpointDown(() => heard++);
  cluster.reportTransportFailure(a);
  assert.equal(heard, 0);
  assert.ok(a.ejectedUntil > Date.now());
  assert.equal(a.isUp(Date.now()), false);
});

Deno.test("Cluster: each endpoint knows its site's health path", () => {
  const cluster = new Cluster(spec(true), SYSTEM_RUNTIME);
  assert.deepEqual(cluster.endpoints.map((x) => x.healthPath), ["/ready", "/read"]);
});

Deno.test("Endpoint.downtimeMs sums ended downtimes; the first up after start is none", () => {
  const ep = new Endpoint(e(1), false, 0);
  ep.setHealth(initialHealthState(true, 500)); // first up: starting, not a downtime
  assert.equal(ep.downtimeMs, 0);
  ep.setHealth(markDown(ep.health, 1_000));
  ep.setHealth(initialHealthState(true, 1_250));
  ep.setHealth(markDown(ep.health, 2_000));
  ep.setHealth(initialHealthState(true, 2_100));
  assert.equal(ep.downtimeMs, 350);
});

Deno.test("Cluster counts failovers and failbacks of the serving site, not reloads", () => {
  let now = 0;
  const c = new Cluster(spec(true), { now: () => now, random: () => 0 });
  const [[a], [b]] = c.sites;
  c.setHealth(b, initialHealthState(true, now));
  c.setHealth(a, initialHealthState(true, now)); // a's first up, at start: no failback
  assert.deepEqual([c.failovers, c.failbacks], [0, 0]);
  now = 10;
  c.setHealth(a, markDown(a.health, now));
  assert.equal(c.servingSite(), 1);
  assert.deepEqual([c.failovers, c.failbacks], [1, 0]);
  c.setHealth(a, initialHealthState(true, 20));
  assert.deepEqual([c.failovers, c.failbacks], [1, 1]);
  c.update(spec(true));
  assert.deepEqual([c.failovers, c.failbacks], [1, 1], "a reload moves nothing");
});

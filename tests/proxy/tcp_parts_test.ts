import assert from "node:assert/strict";
import { tcpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { Attempt } from "../../src/balance/lease.ts";

import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { BufferPool } from "../../src/proxy/buffers.ts";
import { tierOf } from "../../src/proxy/tcp/tiers.ts";

Deno.test("BufferPool reuses released buffers up to its byte budget and ignores foreign sizes", () => {
  const pool = new BufferPool(1024, 2 * 1024 + 1000);
  assert.equal(pool.maxFree, 2);
  const [a, b, c] = [pool.acquire(), pool.acquire(), pool.acquire()];
  assert.equal(a.length, 1024);
  pool.release(a);
  pool.release(b);
  pool.release(c); // over the byte budget: dropped
  pool.release(new Uint8Array(10)); // not ours
  assert.equal(pool.free, 2);
  const again = [pool.acquire(), pool.acquire()];
  assert.ok(again.includes(a) && again.includes(b));
  assert.notEqual(pool.acquire(), c);
  assert.throws(() => new BufferPool(0, 1), RangeError);
});

Deno.test("Cluster.update() applies each tier's cap and each endpoint's disabled flag; a full tier is unavailable", () => {
  const base =
    tcpListener("127.0.0.1:0", [["127.0.0.1:1", "127.0.0.1:2"], ["127.0.0.1:3"]]).cluster;
  const spec = {
    ...base,
    health: { ...base.health, active: false },
    sites: [
      {
        ...base.sites[0],
        maxConnections: 1,
        endpoints: [base.sites[0].endpoints[0], { ...base.sites[0].endpoints[1], disabled: true }],
      },
      base.sites[1],
    ],
  };
  const cluster = new Cluster(spec, SYSTEM_RUNTIME);
  cluster.update({ ...spec, sites: [base.sites[0], base.sites[1]] }); // enabled for a while
  assert.equal(cluster.sites[0][1].draining, false);
  cluster.update(spec); // a reload that keeps the endpoint sets the flag again
  assert.deepEqual(cluster.endpoints.map((e) => [e.maxInFlight, e.draining]), [[1, false], [
    1,
    true,
  ], [0, false]]);
  using held = cluster.lease(new Attempt())!; // in flight until the end of the test
  const first = held.endpoint;
  assert.equal(first, cluster.sites[0][0]);
  using next = cluster.lease(new Attempt());
  assert.equal(next?.endpoint, cluster.sites[1][0], "tier 0 is full: spill");
  assert.equal(tierOf(cluster, first), 0);
  assert.equal(tierOf(cluster, cluster.sites[1][0]), 1);
  const removed = cluster.update({ ...spec, sites: [spec.sites[1]] });
  assert.equal(tierOf(cluster, removed[0]), -1);
  assert.ok(removed.every((e) => e.draining), "removed endpoints drain");
});

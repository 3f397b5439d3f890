/**
 * DNS SRV discovery against a real DNS server on loopback (dnsmasq): sites
 * by priority, weights and ports from the records, re-resolved every TTL,
 * the last answer kept while the server is gone, and a sidecar that routes
 * to the SRV targets (resolved through the same server).
 */
import assert from "node:assert/strict";
import { ClusterDns } from "../../src/discovery/cluster_dns.ts";
import { nameServerResolvers, sitesFromSrv } from "../../src/discovery/srv.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener } from "../../src/config/builders.ts";
import type { ClusterSpec } from "../../src/config/schema.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { startServeBackend } from "../_helpers/backends.ts";
import { haveDnsmasq, type SrvRecordSpec, startDnsmasq } from "../_helpers/dnsmasq.ts";
import { waitFor } from "../_helpers/net.ts";

const ignore = !(await haveDnsmasq());
const NAME = "_minio._tcp.minio.test";

function srv(target: string, port: number, priority: number, weight: number): SrvRecordSpec {
  return { name: NAME, target, port, priority, weight };
}

function template(ttlMs: number): ClusterSpec {
  return {
    policy: "least",
    health: { ...DEFAULT_HEALTH, active: false },
    sites: [],
    dns: { perAddress: false, ttlMs },
    srv: { name: NAME, scheme: "http" },
  };
}

/** The effective spec, as `priority-N: host:port*weight` lines. */
function shape(spec: ClusterSpec): string[] {
  return spec.sites.map((s) =>
    `${s.name}: ${s.endpoints.map((e) => `${e.host}:${e.port}*${e.weight}`).join(" ")}`
  );
}

Deno.test("sitesFromSrv: priority is the site, lowest first; a target:port stays in its lowest", () => {
  const sites = sitesFromSrv({ name: NAME, scheme: "https", basePath: "/s3" }, [
    { priority: 20, weight: 0, port: 9000, target: "c.example." },
    { priority: 10, weight: 7, port: 9001, target: "b.example." },
    { priority: 10, weight: 3, port: 9000, target: "a.example." },
    { priority: 30, weight: 1, port: 9000, target: "a.example." },
    { priority: 40, weight: 1, port: 0, target: "." }, // "no such service"
  ]);
  assert.deepEqual(shape({ ...template(1), sites }), [
    "priority-10: a.example:9000*3 b.example:9001*7",
    "priority-20: c.example:9000*1",
  ]);
  assert.equal(sites[0].endpoints[0].scheme, "https");
  assert.equal(sites[0].endpoints[0].basePath, "/s3");
});

Deno.test({
  name:
    "SRV from dnsmasq: sites, ports and weights; re-resolved on TTL; stale while the server is gone",
  ignore,
  async fn() {
    let dns = await startDnsmasq(
      [
        srv("minio-1.test", 9001, 10, 5),
        srv("minio-2.test", 9002, 10, 1),
        srv("dr.test", 9100, 20, 1),
      ],
      {},
    );
    const port = dns.port;
    const { srvResolver } = nameServerResolvers("127.0.0.1", port);
    const errors: string[] = [];
    let changes = 0;
    const watch = new ClusterDns(template(100), {
      srvResolver,
      timeoutMs: 500,
      onChange: () => changes++,
      onError: (name, e) => errors.push(`${name}: ${(e as Error).name}`),
    });
    try {
      watch.start();
      await watch.ready();
      assert.deepEqual(shape(watch.effective()), [
        "priority-10: minio-1.test:9001*5 minio-2.test:9002*1",
        "priority-20: dr.test:9100*1",
      ]);
      // The server goes away: lookups fail, the last answer stays.
      await dns.stop();
      await waitFor(() => errors.length >= 2, 5_000, "two failed lookups");
      assert.equal(errors[0].startsWith(`${NAME}: `), true);
      assert.equal(shape(watch.effective()).length, 2, "stale on error");
      // It comes back with another answer: taken at the next TTL.
      const before = changes;
      dns = await startDnsmasq([srv("minio-3.test", 9003, 5, 2)], {}, port);
      await waitFor(() => changes > before, 5_000, "the new answer");
      assert.deepEqual(shape(watch.effective()), ["priority-5: minio-3.test:9003*2"]);
    } finally {
      await watch.close();
      await dns.stop();
    }
  },
});

Deno.test({
  name:
    "SRV from dnsmasq: a sidecar sends requests to the lowest priority's target, then fails over",
  ignore,
  async fn() {
    await using primary = startServeBackend(() => new Response("primary"));
    await using backup = startServeBackend(() => new Response("backup"));
    await using dns = await startDnsmasq(
      [srv("primary.test", primary.port, 10, 1), srv("backup.test", backup.port, 20, 1)],
      { "primary.test": "127.0.0.1", "backup.test": "127.0.0.1" },
    );
    const resolvers = nameServerResolvers("127.0.0.1", dns.port);
    const spec = httpListener("127.0.0.1:0", [], {
      cluster: {
        ...template(200),
        health: { ...DEFAULT_HEALTH, path: "/", intervalMs: 100, timeoutMs: 500 },
      },
    });
    const sidecar = createSidecar({ listeners: [spec] }, {
      ...resolvers,
      firstProbeWaitMs: 3_000,
    });
    try {
      const [addr] = await sidecar.start();
      const get = async () => await (await fetch(`http://127.0.0.1:${addr.port}/`)).text();
      const l = sidecar.stats().listeners[0];
      assert.deepEqual(l.endpoints.map((e) => [e.endpoint, e.site, e.status]), [
        [`http://primary.test:${primary.port}`, 0, "up"],
        [`http://backup.test:${backup.port}`, 1, "up"],
      ]);
      assert.equal(await get(), "primary");
      primary.kill();
      await waitFor(
        () => sidecar.stats().listeners[0].endpoints[0].status === "down",
        5_000,
        "the primary to be seen down",
      );
      assert.equal(await get(), "backup");
    } finally {
      await sidecar.close();
    }
  },
});

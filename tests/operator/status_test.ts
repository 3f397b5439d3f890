/**
 * The status document is a pure function of stats, config and a clock:
 * quantiles from the histogram, downtime, probes and names as shown.
 */

import assert from "node:assert/strict";
import { httpListener, tcpListener } from "../../src/config/builders.ts";
import { histogramQuantile, statusDocument } from "../../src/operator/status.ts";
import type { SidecarStats } from "../../src/sidecar.ts";

Deno.test("histogramQuantile interpolates inside the bucket, like Prometheus' histogram_quantile", () => {
  const bounds = [0.001, 0.01, 0.1];
  assert.equal(histogramQuantile(0.5, { bounds, counts: [0, 0, 0, 0], sum: 0 }), null);
  // 10 in (0, 1ms], 10 in (1ms, 10ms]: p50 is the top of the first bucket, p75 halfway in the second.
  const h = { bounds, counts: [10, 10, 0, 0], sum: 0 };
  assert.equal(histogramQuantile(0.5, h), 0.001);
  assert.ok(Math.abs(histogramQuantile(0.75, h)! - 0.0055) < 1e-12);
  // Ranks above the last bound give the last bound.
  assert.equal(histogramQuantile(0.99, { bounds, counts: [1, 0, 0, 9], sum: 0 }), 0.1);
});

Deno.test("statusDocument: names, serving tier, downtime, last probe, own responses", () => {
  const stats: SidecarStats = {
    state: "running",
    createdAt: 1_000,
    reloads: { succeeded: 2, failed: 1, lastAt: 3_000, lastError: "bad file" },
    listeners: [{
      name: "db",
      kind: "tcp",
      address: { transport: "tcp", hostname: "::1", port: 26257 },
      connections: 3,
      policy: "least",
      sites: ["tier0", "tier1"],
      servingSite: 1,
      failovers: 1,
      failbacks: 0,
      ownResponses: new Map(),
      endpoints: [
        {
          endpoint: "tcp://10.0.0.1:1",
          site: 0,
          status: "down",
          inFlight: 0,
          requests: 5,
          failures: 2,
          downtimeMs: 1_500,
          wentUp: 1,
          wentDown: 1,
          since: 4_000,
          lastProbe: { passed: false, detail: "connection refused", at: 4_500 },
        },
        {
          endpoint: "tcp://10.0.0.2:1",
          site: 1,
          status: "up",
          inFlight: 3,
          requests: 9,
          failures: 0,
          draining: true,
        },
      ],
    }],
  };
  const config = {
    listeners: [tcpListener("[::1]:26257", [["10.0.0.1:1"], ["10.0.0.2:1"]], { name: "db" })],
  };
  const doc = statusDocument(stats, config, 11_000);
  assert.equal(doc.uptimeSeconds, 10);
  assert.deepEqual(doc.reloads, {
    succeeded: 2,
    failed: 1,
    last: new Date(3_000).toISOString(),
    lastError: "bad file",
  });
  const l = doc.listeners[0];
  assert.equal(l.address, "[::1]:26257");
  assert.equal(l.servingSite, "tier1");
  assert.equal(l.check, "tcp connect");
  assert.deepEqual(l.sites.map((s) => [s.name, s.serving, s.endpoints.length]), [[
    "tier0",
    false,
    1,
  ], ["tier1", true, 1]]);
  const [down] = l.sites[0].endpoints;
  assert.equal(down.downtimeSeconds, 1.5);
  assert.equal(down.statusSince, new Date(4_000).toISOString());
  assert.deepEqual(down.lastProbe, {
    passed: false,
    detail: "connection refused",
    at: new Date(4_500).toISOString(),
  });
  assert.equal(down.latencyMs, null);
  assert.equal(l.sites[1].endpoints[0].status, "draining");
  // Pure: the same input gives the same output.
  assert.deepEqual(statusDocument(stats, config, 11_000), doc);
});

Deno.test("statusDocument: a gRPC health check is described with its service", () => {
  const spec = httpListener("127.0.0.1:8080", [["h2c://127.0.0.1:50051"]]);
  const grpc = {
    ...spec,
    cluster: {
      ...spec.cluster,
      health: { ...spec.cluster.health, kind: "grpc" as const, grpcService: "a.B" },
    },
  };
  const stats: SidecarStats = {
    state: "running",
    createdAt: 0,
    reloads: { succeeded: 0, failed: 0, lastAt: 0, lastError: "" },
    listeners: [{
      name: grpc.name,
      kind: "http",
      address: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
      connections: 0,
      policy: "least",
      endpoints: [],
    }],
  };
  const doc = statusDocument(stats, { listeners: [grpc] }, 0);
  assert.equal(doc.listeners[0].check, "grpc Health/Check 'a.B'");
});

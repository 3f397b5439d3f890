import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import { type SidecarConfig } from "../../src/config/schema.ts";
import {
  DEFAULT_HEALTH,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  DEFAULT_LOG,
} from "../../src/config/defaults.ts";

Deno.test("validateConfig() normalises a full file to the expected config", () => {
  const text = [
    "gracePeriod: 1m30s",
    "log: {trace: all, statusCodes: [502], json: true}",
    "listeners:",
    "  - name: s3",
    "    address: '[::1]:8080'",
    "    policy: random",
    "    sites:",
    "      - endpoints: ['http://10.0.0.{1...2}:9000/s3', {address: 'https://b:9443', disabled: true}]",
    "      - name: dr",
    "        endpoints: [http://c]",
    "        healthPath: /ready",
    "        maxConnections: 10",
    "        forcePromotionAfter: 2m",
    "    health: {path: /live, port: 9001, interval: 1s, statuses: '200-299,301', optimistic: true}",
    "    failbackDelay: 30s",
    "    dns: {perAddress: true, ttl: 1m}",
    "    timeouts: {responseHeader: 30s}",
    "    limits: {maxConnections: 1000}",
    "    upstreamTls: {insecure: true}",
    "  - kind: tcp",
    "    address: :26257",
    "    tiers: [{endpoints: ['127.0.0.1:{26258...26259}']}]",
    "    idleTimeout: 1h",
    "    proxyProtocol: v2",
    "",
  ].join("\n");
  const expected: SidecarConfig = {
    gracePeriodMs: 90_000,
    log: { ...DEFAULT_LOG, trace: "all", statusCodes: [502], json: true },
    listeners: [
      {
        kind: "http",
        name: "s3",
        hostname: "::1",
        port: 8080,
        cluster: {
          policy: "random",
          sites: [
            {
              name: "site1",
              endpoints: [
                { scheme: "http", host: "10.0.0.1", port: 9000, basePath: "/s3" },
                { scheme: "http", host: "10.0.0.2", port: 9000, basePath: "/s3" },
                { scheme: "https", host: "b", port: 9443, basePath: "", disabled: true },
              ],
              maxConnections: 0,
              forcePromotionAfterMs: 0,
            },
            {
              name: "dr",
              endpoints: [{ scheme: "http", host: "c", port: 80, basePath: "" }],
              healthPath: "/ready",
              maxConnections: 10,
              forcePromotionAfterMs: 120_000,
            },
          ],
          health: {
            ...DEFAULT_HEALTH,
            kind: "http",
            path: "/live",
            port: 9001,
            intervalMs: 1_000,
            statuses: [[200, 299], [301, 301]],
            optimistic: true,
            udpPayload: "ping",
          },
          failbackDelayMs: 30_000,
          dns: { perAddress: true, ttlMs: 60_000 },
        },
        timeouts: { ...DEFAULT_HTTP_TIMEOUTS, responseHeaderMs: 30_000 },
        limits: { ...DEFAULT_HTTP_LIMITS, maxConnections: 1000 },
        upstreamTls: { insecure: true },
      },
      {
        kind: "tcp",
        name: "tcp::26257",
        hostname: "0.0.0.0",
        port: 26257,
        cluster: {
          policy: "least",
          sites: [{
            name: "tier0",
            endpoints: [
              { scheme: "tcp", host: "127.0.0.1", port: 26258, basePath: "" },
              { scheme: "tcp", host: "127.0.0.1", port: 26259, basePath: "" },
            ],
            maxConnections: 0,
            forcePromotionAfterMs: 0,
          }],
          health: {
            ...DEFAULT_HEALTH,
            kind: "tcp",
            intervalMs: 2_000,
            timeoutMs: 1_000,
            statuses: [[200, 200]],
            optimistic: false,
            udpPayload: "ping",
          },
          failbackDelayMs: 0,
          dns: { perAddress: false, ttlMs: 600_000 },
        },
        connectMs: 5_000,
        idleMs: 3_600_000,
        maxAttempts: 3,
        maxConnections: 0,
        proxyProtocol: "v2",
      },
    ],
  };
  const result = validateConfig(text, "s.yaml");
  assert.ok("config" in result);
  assert.deepEqual(result.config, expected);
  assert.deepEqual(result.warnings, []);
  assert.equal(result.format, "sidekick");
});

Deno.test("validateConfig() accepts the example files with no problem or warning", async (t) => {
  for (const file of ["examples/sidekick.yaml", "examples/iaido-cockroach.yaml"]) {
    await t.step(file, async () => {
      const result = validateConfig(await Deno.readTextFile(file), file);
      if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
      assert.deepEqual(result.warnings, []);
    });
  }
});

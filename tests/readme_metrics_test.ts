/**
 * The README's metrics table lists every family sidekick exposes: a new
 * metric that is not documented fails here.
 */

import assert from "node:assert/strict";
import { DEFAULT_HEALTH } from "../src/config/defaults.ts";
import { Cluster } from "../src/balance/cluster.ts";
import { renderMetrics } from "../src/observe/metrics.ts";
import { renderSidecarMetrics } from "../src/observe/sidecar_metrics.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("README: the metrics table names every metric family exposed", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf("\n| metric ");
  assert.ok(start > 0, "the README has the metrics table");
  const table = readme.slice(start, readme.indexOf("\n\n", start));
  const documented = new Set([...table.matchAll(/`([a-z_]+)(\{[^}]*\})?`/g)].map((m) => m[1]));
  const cluster = new Cluster({
    policy: "least",
    health: { ...DEFAULT_HEALTH, active: true },
    sites: [{
      name: "a",
      endpoints: [{ scheme: "http", host: "10.0.0.1", port: 1, basePath: "" }],
    }],
  }, { now: () => 1000, random: () => 0 });
  const text = renderMetrics([{ listener: "l", cluster, connections: () => 0 }], 1000) +
    renderSidecarMetrics({
      state: "running",
      listeners: [],
    }, { rssBytes: 1, cpuSeconds: 1, startTimeSeconds: 1, openFds: 3 });
  const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
  assert.ok(families.length > 10, text);
  const missing = families.filter((f) => !documented.has(f));
  assert.deepEqual(missing, [], `not in the README's metrics table: ${missing.join(", ")}`);
});

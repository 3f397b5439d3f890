/**
 * A probe that cannot run because sidekick is out of file descriptors is no
 * evidence against the endpoint: its health does not change.
 */

import assert from "node:assert/strict";
import { Cluster } from "../../src/balance/cluster.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { parseEndpoint } from "../../src/config/builders.ts";
import { HealthChecker, type HealthEvent } from "../../src/health/checker.ts";
import { createProbe } from "../../src/health/probes.ts";
import { initialHealthState } from "../../src/health/state.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { exhaustFileDescriptors, startNamedBackend } from "../_helpers/http.ts";

for (const kind of ["http", "tcp"] as const) {
  Deno.test(`a ${kind} probe round while out of file descriptors leaves an up endpoint up`, async () => {
    await using backend = startNamedBackend("a");
    const cluster = new Cluster({
      policy: "least",
      health: { ...DEFAULT_HEALTH, kind, intervalMs: 60_000, timeoutMs: 2_000 },
      sites: [{ name: "a", endpoints: [parseEndpoint(backend.url)] }],
    }, SYSTEM_RUNTIME);
    const [[e]] = cluster.sites;
    cluster.setHealth(e, initialHealthState(true, Date.now()));
    const events: HealthEvent[] = [];
    const probe = createProbe(kind, cluster);
    const checker = new HealthChecker(cluster, SYSTEM_RUNTIME, (ev) => events.push(ev), probe);
    try {
      {
        using _hog = exhaustFileDescriptors();
        await checker.start(); // one probe of every endpoint
      }
      assert.equal(e.health.status, "up");
      assert.deepEqual(events, []);
      assert.ok(checker.isProbing(e), "probes go on");
    } finally {
      await checker.stop();
    }
  });
}

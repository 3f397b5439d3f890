import assert from "node:assert/strict";
import { httpListener } from "../../src/config/builders.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import type { HealthEvent } from "../../src/health/checker.ts";
import { formatHealthEvent } from "../../src/observe/log.ts";
import { createSidecar, type EndpointStats } from "../../src/sidecar.ts";
import { freePort, waitFor } from "../_helpers/sidecar.ts";

function serveOn(port: number, delayMs = 0): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    if (new URL(req.url).pathname === "/slow") await new Promise((r) => setTimeout(r, delayMs));
    return new Response("ok");
  });
}

Deno.test("stats: latency range, downtime only after having been up, last probe; no 0.0s downtime on the first up", async () => {
  const port = await freePort();
  const events: HealthEvent[] = [];
  const spec = httpListener("127.0.0.1:0", [[`http://127.0.0.1:${port}`]]);
  await using sidecar = createSidecar({
    listeners: [{
      ...spec,
      cluster: { ...spec.cluster, health: { ...DEFAULT_HEALTH, intervalMs: 30, timeoutMs: 500 } },
    }],
  }, { onHealthEvent: (e) => events.push(e), firstProbeWaitMs: 1000 });
  const [addr] = await sidecar.start();
  const ep = (): EndpointStats => sidecar.stats().listeners[0].endpoints[0];
  assert.equal(ep().status, "down");
  assert.equal(ep().lastProbe?.detail, "connection refused");
  assert.equal(ep().minLatencyMs, undefined);

  // The backend comes up for the first time: not an outage.
  let backend = serveOn(port, 60);
  await waitFor(() => ep().status === "up", 5000, "first up");
  assert.equal(events.at(-1)?.downtimeMs, 0);
  assert.match(formatHealthEvent(events.at(-1)!, false, 0), / is up$/);
  assert.equal(ep().downtimeMs, 0);
  assert.equal(ep().lastProbe?.detail, "status 200");

  for (const path of ["/fast", "/slow"]) {
    await (await fetch(`http://127.0.0.1:${addr.port}${path}`)).text();
  }
  const { minLatencyMs, maxLatencyMs } = ep();
  assert.ok(minLatencyMs !== undefined && maxLatencyMs !== undefined);
  assert.ok(minLatencyMs < 50, `min ${minLatencyMs}`);
  assert.ok(maxLatencyMs >= 55, `max ${maxLatencyMs}`);

  // A real outage: counted while it lasts, then as the last downtime.
  await backend.shutdown();
  await waitFor(() => ep().status === "down", 5000, "down");
  const downAt = Date.now();
  await waitFor(() => (ep().downtimeMs ?? 0) > 0, 5000, "downtime counting");
  backend = serveOn(port);
  try {
    await waitFor(() => ep().status === "up", 5000, "up again");
    const outage = Date.now() - downAt;
    const { downtimeMs, lastDowntimeMs } = ep();
    assert.ok(lastDowntimeMs !== undefined && lastDowntimeMs > 0 && lastDowntimeMs <= outage + 100);
    assert.equal(downtimeMs, lastDowntimeMs);
    const up = events.at(-1)!;
    assert.equal(up.downtimeMs, lastDowntimeMs);
    assert.match(formatHealthEvent(up, false, 0), /is up Downtime duration: \d+(\.\d+)?(ms|s)$/);
  } finally {
    await sidecar.close();
    await backend.shutdown();
  }
});

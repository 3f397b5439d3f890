/**
 * Outlier ejection, the panic threshold and slow start end to end: real
 * backends on loopback behind a sidecar, one wall-clock smoke test each
 * (the decisions themselves are tested on fake time in
 * tests/balance/resilience_test.ts).
 */

import assert from "node:assert/strict";
import { DEFAULT_OUTLIER } from "../../src/config/defaults.ts";
import { statusDocument } from "../../src/operator/status.ts";
import { startNamedBackend, startProxy, startRawBackend } from "../_helpers/http.ts";

/** Probes pass; the first `bad` requests get `status`, then 200. */
function backend(name: string, bad: number, status: number, healthStatus = 200) {
  let seen = 0;
  return startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      const code = req.target === "/health" ? healthStatus : seen++ < bad ? status : 200;
      const body = `${name}:${req.target}`;
      await peer.write(`HTTP/1.1 ${code} X\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
  });
}

Deno.test("outlier ejection: five 503s in a row eject an endpoint while its probes pass; counted in stats and metrics", async () => {
  await using bad = backend("bad", 1000, 503);
  await using good = startNamedBackend("good");
  await using proxy = await startProxy([[bad.url, good.url]], {
    policy: "round-robin",
    health: { active: true, path: "/health", intervalMs: 60_000, outlier: DEFAULT_OUTLIER },
  });
  let fromBad = 0;
  for (let i = 0; i < 30; i++) {
    const res = await proxy.get(`/r${i}`);
    if (res.status === 503) fromBad++;
  }
  assert.equal(fromBad, 5, "ejected after the fifth 503");
  const e = proxy.endpoint(bad);
  assert.equal(e.ejections, 1);
  assert.equal(e.status, "down", "ejected (probes still pass)");
  const unit = proxy.sidecar.stats().listeners[0];
  assert.equal(unit.endpoints.find((x) => x.endpoint === e.endpoint)?.ejections, 1);
  const doc = statusDocument(proxy.sidecar.stats(), { listeners: [] }, Date.now());
  const shown = doc.listeners[0].sites.flatMap((s) => s.endpoints);
  assert.equal(shown.find((x) => x.endpoint === e.endpoint)?.ejections, 1, "in /status");
  const metrics = await proxy.get("/.prometheus/metrics");
  assert.match(
    metrics.text(),
    new RegExp(`sidekick_outlier_ejections_total\\{endpoint="http://127.0.0.1:${bad.port}".*\\} 1`),
  );
});

Deno.test("outlier ejection is off by default: the 503s go on", async () => {
  await using bad = backend("bad", 1000, 503);
  await using good = startNamedBackend("good");
  await using proxy = await startProxy([[bad.url, good.url]], {
    policy: "round-robin",
    health: { active: true, path: "/health", intervalMs: 60_000 },
  });
  let fromBad = 0;
  for (let i = 0; i < 20; i++) if ((await proxy.get(`/r${i}`)).status === 503) fromBad++;
  assert.equal(fromBad, 10);
});

Deno.test("panic: with every probe failing (a wrong health path), 50% panic keeps serving instead of 502", async () => {
  await using a = backend("a", 0, 200, 404);
  await using b = backend("b", 0, 200, 404);
  for (const [panicPercent, expected] of [[0, 502], [50, 200]] as const) {
    await using proxy = await startProxy([[a.url, b.url]], {
      health: { active: true, path: "/health", intervalMs: 60_000, panicPercent },
    });
    assert.equal(proxy.endpoint(a).status, "down");
    const res = await proxy.get("/object");
    assert.equal(res.status, expected, `panic ${panicPercent}%`);
  }
});

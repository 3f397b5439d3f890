/**
 * The reload warm-up probes new endpoints with the checker's own probe: the
 * healthy status set and the listener's upstream TLS apply to both.
 */

import assert from "node:assert/strict";
import { type HttpListenerSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener } from "../../src/config/builders.ts";
import type { ProbeResult } from "../../src/health/http_probe.ts";
import { ListenerUnit } from "../../src/lifecycle/unit.ts";
import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { fixture, startTlsBackend } from "../fixtures/harness.ts";
import { startServeBackend } from "../_helpers/http.ts";

function spec(urls: string[], extra: Partial<HttpListenerSpec> = {}): HttpListenerSpec {
  const base = httpListener("127.0.0.1:0", [urls]);
  return {
    ...base,
    ...extra,
    cluster: {
      ...base.cluster,
      health: { ...DEFAULT_HEALTH, intervalMs: 60_000, timeoutMs: 2_000 },
    },
  };
}

async function warm(unit: ListenerUnit, next: HttpListenerSpec): Promise<Map<string, ProbeResult>> {
  const results = new Map<string, ProbeResult>();
  await unit.probeAdded(next, results, new AbortController().signal);
  return results;
}

Deno.test("warm-up: a new endpoint answering 200 fails a health status set of [204]", async () => {
  await using old = startServeBackend(() => new Response(null, { status: 204 }));
  await using added = startServeBackend(() => new Response("ok"));
  const unit = new ListenerUnit(spec([old.url]), {
    clock: SYSTEM_CLOCK,
    runtime: SYSTEM_RUNTIME,
    onHealthEvent: () => {},
  });
  try {
    const next = spec([old.url, added.url]);
    const strict = {
      ...next,
      cluster: {
        ...next.cluster,
        health: { ...next.cluster.health, statuses: [[204, 204]] as const },
      },
    };
    const results = await warm(unit, strict);
    assert.deepEqual([...results.keys()], [added.url]);
    assert.equal(results.get(added.url)?.passed, false, results.get(added.url)?.detail);
    const lenient = await warm(unit, next);
    assert.equal(lenient.get(added.url)?.passed, true, "200 passes the default set");
  } finally {
    await unit.close(0);
  }
});

Deno.test("warm-up: a new https endpoint behind the listener's private CA passes", async () => {
  await using old = startServeBackend(() => new Response("ok"));
  await using added = startTlsBackend(() => new Response("ok"));
  const upstreamTls = { caFile: fixture("ca.pem"), insecure: false };
  const unit = new ListenerUnit(spec([old.url], { upstreamTls }), {
    clock: SYSTEM_CLOCK,
    runtime: SYSTEM_RUNTIME,
    onHealthEvent: () => {},
  });
  try {
    const results = await warm(unit, spec([old.url, added.url], { upstreamTls }));
    const r = results.get(added.url);
    assert.equal(r?.passed, true, r?.detail);
  } finally {
    await unit.close(0);
  }
});

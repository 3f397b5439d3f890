/**
 * Stale-on-error for plain host-name endpoints (issue 16 item 9): without
 * `dns.perAddress`, each dial and each probe resolves the name again; when
 * the name stops resolving, the last good address keeps serving (as rr-dns
 * mode and nginx do) and the outage is reported once. The resolver is the
 * sidecar's injected one, so the test controls when the name vanishes.
 */

import assert from "node:assert/strict";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener } from "../../src/config/builders.ts";
import type { DnsRecordType } from "../../src/discovery/dns.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { delay, HttpPeer, startNamedBackend } from "../_helpers/http.ts";

Deno.test("a plain host-name endpoint keeps its last good address when the name stops resolving", async () => {
  await using backend = startNamedBackend("b");
  let gone = false;
  let lookups = 0;
  const resolver = (host: string, type: DnsRecordType): Promise<string[]> => {
    lookups++;
    if (gone || host !== "svc.test" || type === "AAAA") {
      return Promise.reject(new Deno.errors.NotFound(`no ${type} for ${host}`));
    }
    return Promise.resolve(["127.0.0.1"]);
  };
  const errors: string[] = [];
  const spec = httpListener("127.0.0.1:0", [[`http://svc.test:${backend.port}`]]);
  await using sidecar = createSidecar({
    listeners: [{
      ...spec,
      // Fresh connections for every request, and frequent probes: each one resolves again.
      limits: { ...spec.limits, poolIdlePerEndpoint: 0 },
      cluster: { ...spec.cluster, health: { ...DEFAULT_HEALTH, intervalMs: 50, timeoutMs: 500 } },
    }],
  }, { resolver, onDnsError: (host) => errors.push(host) });
  const [addr] = await sidecar.start();
  const get = async (path: string) => {
    const peer = await HttpPeer.connect(addr.port, 5000);
    try {
      await peer.write(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
      const res = await peer.readResponse();
      return `${res.status} ${res.text()}`;
    } finally {
      peer.close();
    }
  };
  assert.equal(await get("/before"), "200 b:/before");
  gone = true;
  const before = lookups;
  const answers: string[] = [];
  for (let i = 0; i < 10; i++) {
    await delay(60); // probes keep running (and resolving) meanwhile
    answers.push(await get(`/after${i}`));
  }
  assert.ok(lookups > before + 10, `the name was looked up again (${lookups - before} times)`);
  assert.deepEqual(answers, answers.map((_, i) => `200 b:/after${i}`));
  assert.equal(sidecar.stats().listeners[0].endpoints[0].status, "up");
  assert.deepEqual(errors, ["svc.test"], "the outage is reported once");
});

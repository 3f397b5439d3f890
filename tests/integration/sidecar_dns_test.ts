/**
 * Per-address DNS discovery end to end: a name in a cluster with
 * `dns.perAddress` becomes one endpoint per A/AAAA record, re-resolved every
 * `ttlMs` with an injected resolver; new addresses are probed at once, a
 * failed lookup keeps the last answer and a removed address drains.
 */

import assert from "node:assert/strict";
import { type HttpListenerSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener } from "../../src/config/builders.ts";
import type { DnsRecordType } from "../../src/discovery/dns.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { delay, dualStackListeners, get, startSlowBackend, waitFor } from "../_helpers/sidecar.ts";

/** A resolver answering from a table the test changes; `fail` makes lookups throw. */
function tableResolver(name: string) {
  const state = { a: ["127.0.0.1"], aaaa: [] as string[], fail: false, calls: 0 };
  const resolver = (host: string, type: DnsRecordType): Promise<string[]> => {
    state.calls++;
    if (host !== name) return Promise.reject(new Deno.errors.NotFound(host));
    if (state.fail) return Promise.reject(new Error("SERVFAIL"));
    const list = type === "A" ? state.a : state.aaaa;
    return list.length === 0
      ? Promise.reject(new Deno.errors.NotFound(`no ${type} for ${host}`))
      : Promise.resolve([...list]);
  };
  return { state, resolver };
}

function listener(port: number, ttlMs: number): HttpListenerSpec {
  const spec = httpListener("127.0.0.1:0", [[`http://svc.test:${port}`]]);
  return {
    ...spec,
    cluster: {
      ...spec.cluster,
      policy: "round-robin",
      dns: { perAddress: true, ttlMs },
      // A long interval: only the "probe new endpoints at once" path can bring one up quickly.
      health: { ...DEFAULT_HEALTH, path: "/health", intervalMs: 60_000, timeoutMs: 500 },
    },
  };
}

Deno.test("dns: each address of a name is an endpoint; re-resolution adds, a failed lookup keeps, a removal drains", async () => {
  const [l4, l6] = dualStackListeners();
  const port = l4.addr.port;
  l4.close();
  l6.close();
  await using v4 = startSlowBackend("v4", { hostname: "127.0.0.1", port });
  await using v6 = startSlowBackend("v6", { hostname: "::1", port });
  const { state, resolver } = tableResolver("svc.test");
  const errors: string[] = [];
  await using sidecar = createSidecar({ listeners: [listener(port, 30)] }, {
    resolver,
    onDnsError: (host, e) => errors.push(`${host}: ${(e as Error).message}`),
  });
  const [addr] = await sidecar.start();
  const endpoints = () => sidecar.stats().listeners[0].endpoints.map((e) => [e.endpoint, e.status]);

  // Only the A record: one endpoint, probed before listening.
  assert.deepEqual(endpoints(), [[`http://127.0.0.1:${port}`, "up"]]);
  assert.equal((await get(addr, "/one")).body, "v4:/one");

  // An AAAA record appears: a second endpoint, up long before the 60 s probe interval.
  state.aaaa = ["::1"];
  await waitFor(() => endpoints().length === 2, 2_000, "the AAAA address is added");
  await waitFor(
    () => endpoints().every(([, s]) => s === "up"),
    2_000,
    "the new endpoint is probed at once",
  );
  assert.deepEqual(endpoints(), [[`http://127.0.0.1:${port}`, "up"], [
    `http://[::1]:${port}`,
    "up",
  ]]);
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await get(addr, `/r${i}`)).body.split(":")[0]);
  assert.deepEqual([...seen].sort(), ["v4", "v6"]);

  // Lookups fail: the last answer stays in use.
  state.fail = true;
  const calls = state.calls;
  await waitFor(() => errors.length >= 3 && state.calls > calls + 4, 2_000, "failed lookups");
  assert.match(errors[0], /^svc\.test: SERVFAIL/);
  assert.equal(endpoints().length, 2);
  assert.equal((await get(addr, "/still")).status, 200);

  // The A record goes away: its endpoint drains, and its slow request completes.
  const slow = get(addr, "/slow?ms=400"); // round-robin: the next pick is 127.0.0.1 or ::1
  const other = get(addr, "/slow?ms=400");
  await waitFor(
    () => sidecar.stats().listeners[0].endpoints.every((e) => e.inFlight === 1),
    2_000,
    "one slow request on each endpoint",
  );
  state.a = [];
  state.fail = false;
  await waitFor(() => endpoints().length === 1, 2_000, "the A address is removed");
  assert.deepEqual(endpoints(), [[`http://[::1]:${port}`, "up"]]);
  const bodies = [(await slow).body, (await other).body].sort();
  assert.deepEqual(bodies, ["v4:/slow?ms=400", "v6:/slow?ms=400"]);
  for (let i = 0; i < 3; i++) assert.equal((await get(addr, `/v6only${i}`)).body, `v6:/v6only${i}`);

  assert.ok(v4.accepted > 0 && v6.accepted > 0, "both backends were reached");

  // Closing stops the watch: no lookups afterwards.
  await sidecar.close();
  const final = state.calls;
  await delay(100);
  assert.equal(state.calls, final);
});

Deno.test("dns: a reload keeps the answers of names that stay, and a name added by reload is resolved", async () => {
  await using a = startSlowBackend("a");
  await using b = startSlowBackend("b");
  const calls = new Map<string, number>();
  const resolver = (host: string, type: DnsRecordType): Promise<string[]> => {
    calls.set(host, (calls.get(host) ?? 0) + 1);
    if (type === "AAAA") return Promise.reject(new Deno.errors.NotFound(host));
    return Promise.resolve(["127.0.0.1"]);
  };
  const base = listener(a.port, 10_000); // re-resolved rarely: answers must carry over
  await using sidecar = createSidecar({ listeners: [base] }, { resolver });
  const [addr] = await sidecar.start();
  assert.equal((await get(addr, "/x")).body, "a:/x");
  const withB: HttpListenerSpec = {
    ...base,
    cluster: {
      ...base.cluster,
      sites: [{
        name: "site1",
        endpoints: [...base.cluster.sites[0].endpoints, {
          scheme: "http",
          host: "other.test",
          port: b.port,
          basePath: "",
        }],
      }],
    },
  };
  const svcLookups = calls.get("svc.test");
  await sidecar.reload({ listeners: [withB] });
  // Resolved and probed before the reload took effect: no unexpanded name, no gap.
  assert.deepEqual(
    sidecar.stats().listeners[0].endpoints.map((e) => [e.endpoint, e.status]),
    [[`http://127.0.0.1:${a.port}`, "up"], [`http://127.0.0.1:${b.port}`, "up"]],
  );
  assert.equal(calls.get("svc.test"), svcLookups, "the name that stayed was not looked up again");
  assert.equal(calls.get("other.test"), 2, "A and AAAA of the new name");
  assert.equal(sidecar.stats().listeners[0].endpoints[0].requests, 1, "a kept its counters");
  assert.equal((await get(addr, "/y")).status, 200);
});

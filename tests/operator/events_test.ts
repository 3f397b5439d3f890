import assert from "node:assert/strict";
import { parseCommandLine } from "../../cli.ts";
import { httpListener, tcpListener } from "../../src/config/builders.ts";
import {
  describeReload,
  diffStats,
  type OutageState,
  outageWarnings,
} from "../../src/operator/events.ts";
import type { EndpointStats, ListenerStats, SidecarStats } from "../../src/sidecar.ts";

function ep(endpoint: string, extra: Partial<EndpointStats> = {}): EndpointStats {
  return { endpoint, site: 0, status: "up", inFlight: 0, requests: 0, failures: 0, ...extra };
}

function stats(...listeners: ListenerStats[]): SidecarStats {
  return { state: "running", listeners };
}

function http(servingSite: number, endpoints: EndpointStats[] = []): ListenerStats {
  return { name: "web", kind: "http", address: null, connections: 0, servingSite, endpoints };
}

Deno.test("diffStats: failover, fail-back, serving again, and a TCP tier promotion", () => {
  assert.deepEqual(diffStats(stats(http(0)), stats(http(1))).map((e) => e.message), [
    "web: failover from site 1 to site 2",
  ]);
  const back = diffStats(stats(http(1)), stats(http(0)));
  assert.equal(back[0].message, "web: fail-back from site 2 to site 1");
  assert.deepEqual(back[0].fields, { event: "failback", listener: "web", from: 1, to: 0 });
  assert.equal(
    diffStats(stats(http(-1)), stats(http(1)))[0].message,
    "web: serving again from site 2",
  );
  // Going to no site at all is the outage warning's business, not an event here.
  assert.deepEqual(diffStats(stats(http(0)), stats(http(-1))), []);
  const tcp = (s: number): ListenerStats => ({ ...http(s), name: "db", kind: "tcp" });
  assert.equal(
    diffStats(stats(tcp(2)), stats(tcp(0)))[0].message,
    "db: tier promotion from tier 2 to tier 0",
  );
  assert.deepEqual(diffStats(stats(http(0)), stats(http(0))), []);
});

Deno.test("diffStats: an endpoint that left a listener is reported as draining", () => {
  const before = stats(http(0, [ep("http://a:1", { inFlight: 3 }), ep("http://b:1")]));
  const after = stats(http(0, [ep("http://b:1")]));
  const [e] = diffStats(before, after);
  assert.equal(e.message, "web: http://a:1 removed, draining 3 in flight");
  assert.equal(e.fields.event, "drain");
});

Deno.test("outageWarnings: names each endpoint's last probe, repeats at a bounded rate, stops when over", () => {
  const state: OutageState = new Map();
  const down = stats(http(-1, [
    ep("http://a:1", { status: "down", lastProbe: { passed: false, detail: "status 404", at: 0 } }),
    ep("http://b:1", {
      status: "down",
      lastProbe: { passed: false, detail: "connection refused", at: 0 },
    }),
    ep("http://c:1", {
      status: "down",
      lastProbe: { passed: false, detail: "timed out after 1000 ms", at: 0 },
    }),
    ep("http://d:1", {
      status: "down",
      lastProbe: { passed: false, detail: "dns error: no such host", at: 0 },
    }),
  ]));
  const at = (now: number, s = down) => outageWarnings(state, s, { now, repeatMs: 30_000 });
  const [w] = at(1_000);
  assert.equal(w.level, "warning");
  assert.equal(
    w.message,
    "web: no endpoint available, every request fails: http://a:1 (status 404), " +
      "http://b:1 (connection refused), http://c:1 (timed out after 1000 ms), " +
      "http://d:1 (dns error: no such host)",
  );
  // Bounded: checks every second for a minute warn three times (0, 30 and 60 s).
  let count = 1;
  for (let t = 2_000; t <= 61_000; t += 1_000) count += at(t).length;
  assert.equal(count, 3);
  // Over: nothing, and a new outage warns at once.
  const up = stats(http(0, [ep("http://a:1")]));
  assert.deepEqual(at(62_000, up), []);
  assert.equal(at(63_000).length, 1);
  // A listener without any endpoint (DNS has not answered) is an outage too.
  const [none] = outageWarnings(new Map(), stats(http(-1)), { now: 0, repeatMs: 1 });
  assert.match(none.message, /^web: no endpoints, every request fails \(no DNS answer yet/);
});

Deno.test("describeReload: +added, -removed, ~changed, per listener", () => {
  const before = {
    listeners: [
      httpListener("127.0.0.1:8080", [["http://a:1", "http://b:1"], ["http://c:1"]]),
      tcpListener("127.0.0.1:5432", [["10.0.0.1:5432"]]),
    ],
  };
  const after = {
    listeners: [
      // c:1 moves from site 2 to site 1; b:1 goes; d:1 comes.
      httpListener("127.0.0.1:8080", [["http://a:1", "http://c:1"], ["http://d:1"]]),
      tcpListener("127.0.0.1:6432", [["10.0.0.1:5432"]]),
    ],
  };
  const events = describeReload(before, after).map((e) => e.message);
  assert.deepEqual(events, [
    "reload: http: ~http://c:1 +http://d:1 -http://b:1",
    `reload: ${after.listeners[1].name}: +listener tcp 127.0.0.1:6432`,
    `reload: ${before.listeners[1].name}: -listener tcp 127.0.0.1:5432`,
  ]);
  assert.deepEqual(describeReload(before, before), []);
  const policy = {
    listeners: [{
      ...before.listeners[0],
      cluster: { ...before.listeners[0].cluster, policy: "random" as const },
    }],
  };
  assert.match(
    describeReload({ listeners: [before.listeners[0]] }, policy)[0].message,
    /~settings/,
  );
});

Deno.test("describeReload sees a shell-expanded site list change", () => {
  const parse = (...sites: string[]) => {
    const p = parseCommandLine(["-a", "127.0.0.1:8080", ...sites], () => undefined);
    if (typeof p !== "object") throw new Error("not a config");
    return p.config;
  };
  const [e] = describeReload(parse("http://h:{1...2}"), parse("http://h:{1...3}"));
  assert.equal(e.message, "reload: http: +http://h:3");
});

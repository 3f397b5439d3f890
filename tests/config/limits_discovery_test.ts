import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import { checkConfigText } from "../../src/config/format.ts";
import { configFromFlags, UsageError } from "../../src/config/compat/flags.ts";
import { applyFlagOverrides } from "../../src/config/compat/overrides.ts";
import { parseRate } from "../../src/config/rate.ts";
import { requiredPermissions } from "../../src/cli/permissions.ts";

const HTTP = `listeners:
  - kind: http
    address: 127.0.0.1:8080
    sites:
      - endpoints: [http://127.0.0.1:9000]
    limits:
      perClientConnections: 16
      perClientRate: 6000/m
      perClientBurst: 300
  - kind: tcp
    address: 127.0.0.1:5432
    tiers:
      - endpoints: [127.0.0.1:5433]
    limits:
      perClientRate: 10/s
  - kind: udp
    address: 127.0.0.1:5353
    tiers:
      - endpoints: [127.0.0.1:5354]
    limits:
      perClientConnections: 4
`;

function problems(text: string): string[] {
  const r = validateConfig(text, "s.yaml");
  return "problems" in r ? r.problems.map(formatProblem) : [];
}

Deno.test("limits: per-client keys for every listener kind", () => {
  const r = validateConfig(HTTP, "s.yaml");
  assert.ok("config" in r, JSON.stringify(r));
  const [http, tcp, udp] = r.config.listeners;
  assert.deepEqual(http.perClient, { connections: 16, ratePerSec: 100, burst: 300 });
  assert.deepEqual(tcp.perClient, { connections: 0, ratePerSec: 10, burst: 10 });
  assert.deepEqual(udp.perClient, { connections: 4, ratePerSec: 0, burst: 1 });
  // the normalised config reads back the same
  const check = checkConfigText(HTTP, "s.yaml");
  assert.ok(check.ok);
  const again = validateConfig(check.normalized, "n.yaml");
  assert.ok("config" in again, JSON.stringify(again));
  assert.deepEqual(again.config.listeners.map((l) => l.perClient), [
    http.perClient,
    tcp.perClient,
    udp.perClient,
  ]);
  assert.match(check.normalized, /perClientRate: 100\/s/);
});

Deno.test("limits: absent or zero is off", () => {
  const r = validateConfig(HTTP.replace(/ {4}limits:\n( {6}.*\n)+/g, ""), "s.yaml");
  assert.ok("config" in r);
  assert.deepEqual(r.config.listeners.map((l) => l.perClient), [undefined, undefined, undefined]);
  const zero = validateConfig(
    HTTP.replace("perClientConnections: 16", "perClientConnections: 0")
      .replace("perClientRate: 6000/m", "perClientRate: 0").replace(
        "      perClientBurst: 300\n",
        "",
      ),
    "s.yaml",
  );
  assert.ok("config" in zero);
  assert.equal(zero.config.listeners[0].perClient, undefined);
});

Deno.test("limits: bad values say where and what to write", () => {
  assert.deepEqual(problems(HTTP.replace("6000/m", "6000")), [
    "s.yaml:8:22: listeners[0].limits.perClientRate: 6000 is not a rate; use COUNT/UNIT, like 100/s or 6000/m",
  ]);
  assert.deepEqual(problems(HTTP.replace("6000/m", "fast")), [
    "s.yaml:8:22: listeners[0].limits.perClientRate: 'fast' is not a rate; use COUNT/UNIT, like 100/s or 6000/m",
  ]);
  assert.deepEqual(problems(HTTP.replace("6000/m", "5/fortnight")), [
    "s.yaml:8:22: listeners[0].limits.perClientRate: '5/fortnight' has an unknown unit 'fortnight'; use s, m or h, like 100/s",
  ]);
  assert.deepEqual(problems(HTTP.replace("perClientBurst: 300", "perClientBurst: 0")), [
    "s.yaml:9:23: listeners[0].limits.perClientBurst: 0 is out of range; use 1 or more",
  ]);
  assert.deepEqual(
    problems(HTTP.replace("      perClientRate: 10/s", "      maxConnections: 10")),
    [
      "s.yaml:15:7: listeners[1].limits.maxConnections: 'maxConnections' is a tcp listener key, not under limits; move it up one level",
    ],
  );
  assert.deepEqual(
    problems(HTTP.replace("      perClientRate: 10/s", "      perClientBurst: 10")),
    [
      "s.yaml:15:23: listeners[1].limits.perClientBurst: is the bucket of perClientRate; set perClientRate too",
    ],
  );
});

Deno.test("limits: --per-client-* flags, and as overrides of a file", () => {
  const { config } = configFromFlags({
    "per-client-connections": "8",
    "per-client-rate": "50/s",
  }, ["http://127.0.0.1:9000"]);
  assert.deepEqual(config.listeners[0].perClient, { connections: 8, ratePerSec: 50, burst: 50 });
  assert.equal(
    configFromFlags({}, ["http://127.0.0.1:9000"]).config.listeners[0].perClient,
    undefined,
  );
  assert.throws(
    () => configFromFlags({ "per-client-rate": "50" }, ["http://127.0.0.1:9000"]),
    (e) => e instanceof UsageError && /^--per-client-rate: '50' is not a rate/.test(e.message),
  );
  assert.throws(
    () => configFromFlags({ "per-client-burst": "5" }, ["http://127.0.0.1:9000"]),
    (e) =>
      e instanceof UsageError &&
      /--per-client-burst is the bucket of --per-client-rate/.test(e.message),
  );
  assert.throws(
    () => configFromFlags({ "per-client-connections": "-1" }, ["http://127.0.0.1:9000"]),
    (e) =>
      e instanceof UsageError && /--per-client-connections must be a whole number/.test(e.message),
  );
  const file = validateConfig(HTTP, "s.yaml");
  assert.ok("config" in file);
  const out = applyFlagOverrides(file.config, {
    "per-client-rate": "1/s",
    "per-client-burst": "3",
  });
  assert.deepEqual(out.listeners[0].perClient, { connections: 0, ratePerSec: 1, burst: 3 });
  assert.deepEqual(
    out.listeners[1].perClient,
    file.config.listeners[1].perClient,
    "tcp keeps its own",
  );
});

Deno.test("rates: units, fractions and spaces", () => {
  assert.equal(parseRate("100/s"), 100);
  assert.equal(parseRate("6000/m"), 100);
  assert.equal(parseRate("36/h"), 0.01);
  assert.equal(parseRate("5/250ms"), 20);
  assert.equal(parseRate("1.5 / 1s"), 1.5);
  assert.throws(() => parseRate("1/0s"), /zero time/);
  assert.throws(() => parseRate("-1/s"), /not a rate/);
});

const SRV = `listeners:
  - kind: http
    address: 127.0.0.1:8080
    discovery:
      srv: https://_minio._tcp.minio.default.svc.cluster.local/s3
    dns:
      ttl: 30s
  - kind: tcp
    address: 127.0.0.1:5432
    discovery:
      srv: _postgres._tcp.db.svc.
`;

Deno.test("discovery.srv: a listener's endpoints from SRV records, written back the same", () => {
  const r = validateConfig(SRV, "s.yaml");
  assert.ok("config" in r, JSON.stringify(r));
  const [http, tcp] = r.config.listeners;
  assert.deepEqual(http.cluster.srv, {
    name: "_minio._tcp.minio.default.svc.cluster.local",
    scheme: "https",
    basePath: "/s3",
  });
  assert.deepEqual(http.cluster.sites, []);
  assert.equal(http.cluster.dns?.ttlMs, 30_000);
  assert.deepEqual(tcp.cluster.srv, { name: "_postgres._tcp.db.svc", scheme: "tcp" });
  const check = checkConfigText(SRV, "s.yaml");
  assert.ok(check.ok);
  assert.match(
    check.normalized,
    /discovery:\n {6}srv: https:\/\/_minio\._tcp\.minio\.default\.svc\.cluster\.local\/s3\n/,
  );
  assert.doesNotMatch(check.normalized, /sites:|tiers:/);
  const again = validateConfig(check.normalized, "n.yaml");
  assert.ok("config" in again, JSON.stringify(again));
  assert.deepEqual(again.config.listeners.map((l) => l.cluster.srv), [
    http.cluster.srv,
    tcp.cluster.srv,
  ]);
});

Deno.test("discovery.srv: bad names and clashes with sites say what to do", () => {
  assert.deepEqual(problems(SRV.replace("_postgres._tcp.db.svc.", "http://_pg._tcp.db")), [
    "s.yaml:11:12: listeners[1].discovery.srv: 'http://_pg._tcp.db' is not an SRV name; use an SRV name like _postgres._tcp.db.svc",
  ]);
  assert.deepEqual(problems(SRV.replace("_postgres._tcp.db.svc.", "nodots")), [
    "s.yaml:11:12: listeners[1].discovery.srv: 'nodots' is not an SRV name; use an SRV name like _postgres._tcp.db.svc",
  ]);
  assert.deepEqual(
    problems(
      SRV.replace(
        "    discovery:\n      srv: _postgres",
        "    tiers:\n      - endpoints: [127.0.0.1:1]\n    discovery:\n      srv: _postgres",
      ),
    ),
    ["s.yaml:10:5: listeners[1].tiers: 'tiers' and 'discovery.srv' both list endpoints; use one of them"],
  );
  assert.deepEqual(problems(SRV.replace("      srv: _postgres._tcp.db.svc.\n", "      sr: x\n")), [
    "s.yaml:11:7: listeners[1].discovery.sr: unknown key 'sr'; use srv",
    "s.yaml:11:7: listeners[1].discovery.srv: is missing; use an SRV name like _postgres._tcp.db.svc",
  ]);
});

Deno.test("discovery.srv: the permissions name the name server and say the targets need a grant", () => {
  const r = validateConfig(SRV, "s.yaml");
  assert.ok("config" in r);
  const p = requiredPermissions(r.config, { nameservers: ["10.96.0.10"] });
  const ns = p.net.find((e) => e.value === "10.96.0.10:53");
  assert.match(ns?.why ?? "", /look up SRV _minio\._tcp\.minio\.default\.svc\.cluster\.local/);
  assert.match(ns?.why ?? "", /grant their HOST:PORT too/);
});

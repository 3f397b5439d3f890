import assert from "node:assert/strict";
import { parseSideLbArgs, RING_DOMAIN_TTL_MS } from "../../../src/config/compat/sidelb.ts";

function hosts(args: string[], env: Record<string, string> = {}): string[] {
  return parseSideLbArgs(args, env).listener.cluster.sites[0].endpoints.map((e) =>
    e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`
  );
}

Deno.test("parseSideLbArgs() defaults: tcp, round-robin, one tier, SideLB's defaults for the rest", () => {
  const { listener, ringDomain } = parseSideLbArgs(["0.0.0.0:8080", "backends=10.0.0.1:80"]);
  assert.equal(listener.kind, "tcp");
  assert.equal(listener.hostname, "0.0.0.0");
  assert.equal(listener.port, 8080);
  assert.equal(listener.cluster.policy, "round-robin");
  assert.equal(listener.cluster.health.kind, "tcp");
  assert.equal(listener.cluster.sites.length, 1);
  assert.deepEqual(listener.cluster.sites[0].endpoints, [
    { scheme: "tcp", host: "10.0.0.1", port: 80, basePath: "" },
  ]);
  assert.equal(listener.cluster.dns, undefined);
  assert.equal(ringDomain, undefined);
});

Deno.test("parseSideLbArgs() takes options in any order, repeated backends= accumulate, whitespace is trimmed", () => {
  const args = [
    " backends= 10.0.0.1:80 , 10.0.0.2:80 ",
    "mode=least-connections",
    "0.0.0.0:80",
    "backends=10.0.0.3:80,",
  ];
  assert.deepEqual(hosts(args), ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
  assert.equal(parseSideLbArgs(args).listener.cluster.policy, "least");
});

Deno.test("parseSideLbArgs() mode and proto are case-insensitive; proto=udp makes a UDP listener", () => {
  const { listener } = parseSideLbArgs([
    ":53",
    "backends=10.0.0.1:53",
    "MODE=Least-Connections",
    "proto=UDP",
  ]);
  assert.equal(listener.kind, "udp");
  assert.equal(listener.cluster.policy, "least");
  assert.equal(listener.cluster.health.kind, "udp");
  assert.equal(listener.cluster.sites[0].endpoints[0].scheme, "udp");
});

Deno.test("parseSideLbArgs() accepts host names and bracketed IPv6 in bind, backends and ring_domain", () => {
  const { listener, ringDomain } = parseSideLbArgs([
    "[::1]:5353",
    "backends=[::1]:53,db.internal:5432",
    "ring_domain=[fd00::1]:53",
  ]);
  assert.equal(listener.hostname, "::1");
  assert.equal(listener.port, 5353);
  assert.deepEqual(ringDomain, { host: "fd00::1", port: 53 });
  assert.deepEqual(
    listener.cluster.sites[0].endpoints.map((e) => [e.host, e.port]),
    [["::1", 53], ["db.internal", 5432], ["fd00::1", 53]],
  );
});

Deno.test("parseSideLbArgs() ring_domain alone is enough; it is re-resolved per address every 60 s", () => {
  const { listener, ringDomain } = parseSideLbArgs([
    "0.0.0.0:80",
    "ring_domain=web.svc:8080",
    "ring_domain=api.svc:9090",
  ]);
  assert.deepEqual(ringDomain, { host: "api.svc", port: 9090 }, "the last one wins");
  assert.deepEqual(listener.cluster.dns, { perAddress: true, ttlMs: RING_DOMAIN_TTL_MS });
  assert.deepEqual(hosts(["0.0.0.0:80", "ring_domain=api.svc:9090"]), ["api.svc:9090"]);
});

Deno.test("parseSideLbArgs() reads SIDELB_* variables; an argument wins over its variable", () => {
  const env = {
    SIDELB_BIND_ADDR: "127.0.0.1:9000",
    SIDELB_BACKENDS: "10.0.0.1:80,10.0.0.2:80",
    SIDELB_MODE: "least-connections",
    SIDELB_PROTO: "udp",
    SIDELB_RING_DOMAIN: "ring.svc:80",
  };
  const fromEnv = parseSideLbArgs([], env);
  assert.equal(fromEnv.listener.hostname, "127.0.0.1");
  assert.equal(fromEnv.listener.port, 9000);
  assert.equal(fromEnv.listener.kind, "udp");
  assert.equal(fromEnv.listener.cluster.policy, "least");
  assert.deepEqual(fromEnv.ringDomain, { host: "ring.svc", port: 80 });
  assert.deepEqual(hosts([], env), ["10.0.0.1:80", "10.0.0.2:80", "ring.svc:80"]);

  const args = [
    "0.0.0.0:80",
    "backends=10.9.9.9:80",
    "mode=round-robin",
    "proto=tcp",
    "ring_domain=other.svc:81",
  ];
  const both = parseSideLbArgs(args, env);
  assert.equal(both.listener.port, 80);
  assert.equal(both.listener.kind, "tcp");
  assert.equal(both.listener.cluster.policy, "round-robin");
  assert.deepEqual(both.ringDomain, { host: "other.svc", port: 81 });
  assert.deepEqual(hosts(args, env), ["10.9.9.9:80", "other.svc:81"]);

  assert.equal(
    parseSideLbArgs(["0.0.0.0:80"], { SIDELB_BACKENDS: "10.0.0.1:80", SIDELB_MODE: "" }).listener
      .cluster.policy,
    "round-robin",
    "an empty variable is unset",
  );
});

Deno.test("parseSideLbArgs() least-connections is per endpoint (policy least), not per IP group", () => {
  const { listener } = parseSideLbArgs([
    "0.0.0.0:80",
    "backends=10.0.0.1:80,10.0.0.1:81",
    "mode=least-connections",
  ]);
  assert.equal(listener.cluster.policy, "least");
  assert.equal(listener.cluster.sites[0].endpoints.length, 2, "both ports of one IP are endpoints");
});

Deno.test("parseSideLbArgs() errors name the argument, the value and what is accepted", () => {
  const ok = ["0.0.0.0:80", "backends=10.0.0.1:80"];
  const cases: [string[], Record<string, string>, ErrorConstructor, string][] = [
    [
      [...ok, "mode=fastest"],
      {},
      RangeError,
      "mode=fastest is not accepted: use round-robin or least-connections",
    ],
    [
      [...ok],
      { SIDELB_MODE: "fastest" },
      RangeError,
      "SIDELB_MODE=fastest is not accepted: use round-robin or least-connections",
    ],
    [[...ok, "proto=sctp"], {}, RangeError, "proto=sctp is not accepted: use tcp or udp"],
    [
      [...ok],
      { SIDELB_PROTO: "quic" },
      RangeError,
      "SIDELB_PROTO=quic is not accepted: use tcp or udp",
    ],
    [
      [...ok, "weights=1,2"],
      {},
      TypeError,
      "weights=1,2 is not accepted: options are backends=, mode=, proto=, ring_domain=, health_socket=",
    ],
    [
      [...ok, "--verbose"],
      {},
      TypeError,
      "'--verbose' is not accepted: the bind address is already '0.0.0.0:80', and options are backends=, mode=, proto=, ring_domain=, health_socket=",
    ],
    [
      ["0.0.0.0:80", "backends=10.0.0.1:80,10.0.0.2"],
      {},
      TypeError,
      "backends=10.0.0.2 is not accepted: use HOST:PORT or [IPv6]:PORT with a port in 1..65535",
    ],
    [
      ["0.0.0.0:80", "backends=::1:53"],
      {},
      TypeError,
      "backends=::1:53 is not accepted: use HOST:PORT or [IPv6]:PORT with a port in 1..65535",
    ],
    [
      ["0.0.0.0:80", "backends=10.0.0.1:70000"],
      {},
      TypeError,
      "backends=10.0.0.1:70000 is not accepted: use HOST:PORT or [IPv6]:PORT with a port in 1..65535",
    ],
    [
      ["0.0.0.0:80"],
      { SIDELB_BACKENDS: "10.0.0.1:80,bad" },
      TypeError,
      "SIDELB_BACKENDS=bad is not accepted: use HOST:PORT or [IPv6]:PORT with a port in 1..65535",
    ],
    [
      ["0.0.0.0:80", "ring_domain=ring.svc"],
      {},
      TypeError,
      "ring_domain=ring.svc is not accepted: use HOST:PORT or [IPv6]:PORT with a port in 1..65535",
    ],
    [
      ["0.0.0.0", "backends=10.0.0.1:80"],
      {},
      TypeError,
      "bind address '0.0.0.0' is not accepted: use HOST:PORT, :PORT or [IPv6]:PORT",
    ],
    [
      ["backends=10.0.0.1:80"],
      { SIDELB_BIND_ADDR: "0.0.0.0:99999" },
      RangeError,
      "SIDELB_BIND_ADDR=0.0.0.0:99999 is not accepted: the port must be 0..65535",
    ],
    [
      ["backends=10.0.0.1:80"],
      {},
      TypeError,
      "Cannot start an l4 listener: give a bind address (HOST:PORT, :PORT or [IPv6]:PORT) as the first argument or in SIDELB_BIND_ADDR",
    ],
    [
      ["0.0.0.0:80", "mode=round-robin"],
      {},
      TypeError,
      "Cannot start an l4 listener without endpoints: give backends=HOST:PORT,... or ring_domain=HOST:PORT (or SIDELB_BACKENDS / SIDELB_RING_DOMAIN)",
    ],
    [
      ["0.0.0.0:80", "backends=  , "],
      {},
      TypeError,
      "Cannot start an l4 listener without endpoints: give backends=HOST:PORT,... or ring_domain=HOST:PORT (or SIDELB_BACKENDS / SIDELB_RING_DOMAIN)",
    ],
  ];
  for (const [args, env, type, message] of cases) {
    assert.throws(() => parseSideLbArgs(args, env), (e: unknown) => {
      assert.ok(e instanceof type, `${args.join(" ")}: ${e}`);
      assert.equal((e as Error).message, message);
      return true;
    });
  }
});

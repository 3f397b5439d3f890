import assert from "node:assert/strict";
import { validateIaidoConfig } from "../../src/config/iaido.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import {
  type EndpointSpec,
  type SidecarConfig,
  type SiteSpec,
  type TcpListenerSpec,
} from "../../src/config/schema.ts";
import { DEFAULT_HEALTH, DEFAULT_LOG } from "../../src/config/defaults.ts";

function tcp(host: string, port: number, disabled = false): EndpointSpec {
  return { scheme: "tcp", host, port, basePath: "", ...(disabled ? { disabled } : {}) };
}

function tier(i: number, endpoints: EndpointSpec[], extra: Partial<SiteSpec> = {}): SiteSpec {
  return { name: `tier${i}`, endpoints, maxConnections: 0, forcePromotionAfterMs: 0, ...extra };
}

/** What an iaido frontend becomes, with iaido's defaults. */
function frontend(
  address: string,
  hostname: string,
  port: number,
  sites: SiteSpec[],
  ejectMs = 1_000,
  perAddress = false,
): TcpListenerSpec {
  return {
    kind: "tcp",
    name: `tcp:${address}`,
    hostname,
    port,
    cluster: {
      policy: "least",
      sites,
      health: {
        ...DEFAULT_HEALTH,
        kind: "tcp",
        intervalMs: 2_000,
        timeoutMs: 1_000,
        ejectMs,
        statuses: [[200, 200]],
        optimistic: false,
        udpPayload: "ping",
      },
      failbackDelayMs: 0,
      dns: { perAddress, ttlMs: 1_000 },
    },
    connectMs: 5_000,
    idleMs: 3_600_000,
    maxAttempts: 3,
    maxConnections: 0,
    proxyProtocol: "off",
    drainDelayMs: 30_000,
  };
}

function ok(text: string): { config: SidecarConfig; warnings: string[] } {
  const result = validateConfig(text, "iaido.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  assert.equal(result.format, "iaido");
  return { config: result.config, warnings: result.warnings.map(formatProblem) };
}

function problems(text: string): string[] {
  const result = validateConfig(text, "iaido.yaml");
  assert.ok("problems" in result, "expected problems");
  return result.problems.map(formatProblem);
}

/** iaido's own bootstrap output (yaml.v3, every default written out by Validate()). */
const IAIDO_BOOTSTRAPPED = `diagAddr: 0.0.0.0:13013
frontends:
  - backendPool:
      latencyBucket: 10ms
      maintenanceTime: 30s
      tiers:
        - dialFailureTimeout: 1s
          forcePromotionAfter: 0s
          maxBackendConnections: 0
          targets:
            - hosts:
                - 127.0.0.1
              port: 26257
              proto: TCP
              disabled: false
            - hosts:
                - 127.0.0.1
              port: 26258
              proto: TCP
              disabled: false
    bindAddress: 0.0.0.0:26257
    idleDuration: 1h0m0s
    rebalanceDuration: 10s
  - backendPool:
      latencyBucket: 10ms
      maintenanceTime: 30s
      tiers:
        - dialFailureTimeout: 1s
          forcePromotionAfter: 0s
          maxBackendConnections: 0
          targets:
            - hosts:
                - 127.0.0.1
                - 127.0.0.2
              port: 8080
              proto: TCP
              disabled: false
    bindAddress: 0.0.0.0:8080
    idleDuration: 1h0m0s
    rebalanceDuration: 10s
gracePeriod: 5s
`;

Deno.test("iaido: a bootstrapped config translates to TCP listeners", () => {
  const { config, warnings } = ok(IAIDO_BOOTSTRAPPED);
  assert.deepEqual(config, {
    log: DEFAULT_LOG,
    gracePeriodMs: 5_000,
    admin: { hostname: "0.0.0.0", port: 13013 }, // diagAddr
    listeners: [
      frontend("0.0.0.0:26257", "0.0.0.0", 26257, [
        tier(0, [tcp("127.0.0.1", 26257), tcp("127.0.0.1", 26258)]),
      ]),
      frontend("0.0.0.0:8080", "0.0.0.0", 8080, [
        tier(0, [tcp("127.0.0.1", 8080), tcp("127.0.0.2", 8080)]),
      ]),
    ],
  });
  const notSupported = "is not supported and has no effect";
  assert.deepEqual(warnings, [
    `iaido.yaml:4:7: frontends[0].backendPool.latencyBucket: ${notSupported}: tiers come from the file only (no latency tiering)`,
    `iaido.yaml:23:5: frontends[0].rebalanceDuration: ${notSupported}: sidekick keeps the configured tier order and checks health on its own schedule`,
    `iaido.yaml:25:7: frontends[1].backendPool.latencyBucket: ${notSupported}: tiers come from the file only (no latency tiering)`,
    `iaido.yaml:40:5: frontends[1].rebalanceDuration: ${notSupported}: sidekick keeps the configured tier order and checks health on its own schedule`,
  ]);
});

Deno.test("iaido: the CockroachDB demo translates to tiers with caps and promotion", async () => {
  const { config, warnings } = ok(await Deno.readTextFile("examples/iaido-cockroach.yaml"));
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    log: DEFAULT_LOG,
    gracePeriodMs: 30_000,
    listeners: [
      frontend("127.0.0.1:26257", "127.0.0.1", 26257, [
        tier(0, [tcp("127.0.0.1", 26258), tcp("127.0.0.1", 26259)], { maxConnections: 32 }),
        tier(1, [tcp("127.0.0.1", 26260)], { maxConnections: 32, forcePromotionAfterMs: 60_000 }),
      ], 30_000),
      frontend("127.0.0.1:8080", "127.0.0.1", 8080, [
        tier(0, [tcp("127.0.0.1", 8081), tcp("127.0.0.1", 8082), tcp("127.0.0.1", 8084, true)]),
        tier(1, [tcp("127.0.0.1", 8083)]),
      ], 30_000),
    ],
  });
});

const ONE = (frontendLines: string, tierLines = "", targetLines = "") =>
  `frontends:
  - bindAddress: 127.0.0.1:26257
${frontendLines}    backendPool:
      tiers:
        - targets:
            - hosts: [127.0.0.1]
              port: 26258
${targetLines}${tierLines}`;

Deno.test("iaido: hostnames turn on per-address DNS endpoints, re-resolved every second", () => {
  const { config } = ok(ONE("").replace("[127.0.0.1]", "[crdb.internal, 10.0.0.1]"));
  assert.deepEqual(config.listeners[0].cluster.dns, { perAddress: true, ttlMs: 1_000 });
  assert.deepEqual(ok(ONE("").replace("[127.0.0.1]", "['::1']")).config.listeners[0].cluster.dns, {
    perAddress: false,
    ttlMs: 1_000,
  });
});

Deno.test("iaido: UDP frontends become UDP listeners", () => {
  const prefixed = ok(
    ONE("", "", "              proto: udp\n").replace("127.0.0.1:26257", "udp:127.0.0.1:5353"),
  );
  const l = prefixed.config.listeners[0];
  assert.equal(l.kind, "udp");
  assert.equal(l.kind === "udp" && l.flowIdleMs, 3_600_000);
  assert.equal(l.name, "udp:127.0.0.1:5353");
  assert.deepEqual(l.cluster.sites[0].endpoints, [{
    scheme: "udp",
    host: "127.0.0.1",
    port: 26258,
    basePath: "",
  }]);
  assert.equal(l.cluster.health.kind, "udp");
  const byProto = ok(ONE("", "", "              proto: UDP\n"));
  assert.equal(byProto.config.listeners[0].kind, "udp");
});

Deno.test("iaido: behaviour differences are warnings", async (t) => {
  await t.step("a hostname bindAddress stays on that host", () => {
    const { config, warnings } = ok(ONE("").replace("127.0.0.1:26257", "localhost:26257"));
    assert.equal(config.listeners[0].hostname, "localhost");
    assert.deepEqual(warnings, [
      "iaido.yaml:2:18: frontends[0].bindAddress: 'localhost:26257' listens on localhost as written; iaido would have listened on all interfaces",
    ]);
  });
  await t.step("no bindAddress listens on a port the system picks", () => {
    const { config, warnings } = ok(
      ONE("").replace("  - bindAddress: 127.0.0.1:26257\n    backendPool", "  - backendPool"),
    );
    assert.equal(config.listeners[0].port, 0);
    assert.deepEqual(warnings, [
      "iaido.yaml:2:5: frontends[0].bindAddress: is not set: listening on a port the system picks (iaido's default :0)",
    ]);
  });
  await t.step("different dialFailureTimeouts: the largest wins", () => {
    const text = ONE(
      "",
      "          dialFailureTimeout: 3s\n        - dialFailureTimeout: 7s\n          targets: [{hosts: [b], port: 1}]\n",
    );
    const { config, warnings } = ok(text);
    assert.equal(config.listeners[0].cluster.health.ejectMs, 7_000);
    assert.deepEqual(warnings, [
      "iaido.yaml:5:9: frontends[0].backendPool.tiers: tiers have different dialFailureTimeout values; sidekick ejects per listener and uses the largest",
    ]);
  });
  await t.step("a target listed twice counts once", () => {
    const { config, warnings } = ok(
      ONE("", "        - targets: [{hosts: [127.0.0.1], port: 26258}]\n"),
    );
    assert.equal(config.listeners[0].cluster.sites.length, 1);
    assert.deepEqual(warnings, [
      "iaido.yaml:8:30: frontends[0].backendPool.tiers[1].targets[0].hosts[0]: '127.0.0.1' port 26258 is listed twice in this frontend; the first one counts",
    ]);
  });
  await t.step("a tier without targets is skipped", () => {
    const { config, warnings } = ok(
      ONE("", "        - maxBackendConnections: 4\n          targets: []\n"),
    );
    assert.equal(config.listeners[0].cluster.sites.length, 1);
    assert.deepEqual(warnings, [
      "iaido.yaml:9:11: frontends[0].backendPool.tiers[1].targets: is empty; the tier is skipped",
    ]);
  });
});

Deno.test("iaido: mistakes are located problems, strict like iaido", async (t) => {
  const cases: [string, string[]][] = [
    [ONE("").replace("bindAddress", "bindAdress"), [
      "iaido.yaml:2:5: frontends[0].bindAdress: unknown key 'bindAdress'; did you mean 'bindAddress'?",
    ]],
    [ONE("    idleDuraton: 1h\n"), [
      "iaido.yaml:3:5: frontends[0].idleDuraton: unknown key 'idleDuraton'; did you mean 'idleDuration'?",
    ]],
    [ONE("    idleDuration: 3600\n"), [
      "iaido.yaml:3:19: frontends[0].idleDuration: 3600 is not a duration; add a unit, e.g. 3600s",
    ]],
    [ONE("", "", "              proto: SCTP\n"), [
      "iaido.yaml:8:22: frontends[0].backendPool.tiers[0].targets[0].proto: 'SCTP' is not a proto; use TCP or UDP",
    ]],
    [ONE("").replace("port: 26258", "port: 0"), [
      "iaido.yaml:7:21: frontends[0].backendPool.tiers[0].targets[0].port: 0 is not a port; use 1..65535",
    ]],
    [ONE("").replace("hosts: [127.0.0.1]", "hosts: []"), [
      "iaido.yaml:6:22: frontends[0].backendPool.tiers[0].targets[0].hosts: must not be empty; list hostnames or IPs, like [127.0.0.1]",
    ]],
    [
      ONE("").replace("            - hosts: [127.0.0.1]\n              port", "            - port"),
      [
        "iaido.yaml:6:15: frontends[0].backendPool.tiers[0].targets[0].hosts: is missing; list the backend hostnames or IPs, like [127.0.0.1]",
      ],
    ],
    ["frontends:\n  - bindAddress: :1\n    backendPool:\n      tiers: []\n", [
      "iaido.yaml:4:14: frontends[0].backendPool.tiers: must not be empty; list at least one tier with targets",
    ]],
    ["frontends:\n  - bindAddress: :1\n", [
      "iaido.yaml:2:5: frontends[0].backendPool: is missing; give backendPool with tiers",
    ]],
    ["frontends: []\n", [
      "iaido.yaml:1:12: frontends: needs at least one frontend with bindAddress and backendPool",
    ]],
    ["diagAddr: :6060\n", [
      "iaido.yaml:1:1: frontends: is missing; list at least one frontend with bindAddress and backendPool",
    ]],
    [ONE("").replace("127.0.0.1:26257", "'::1:26257'"), [
      "iaido.yaml:2:18: frontends[0].bindAddress: Cannot listen on '::1:26257': expected HOST:PORT, :PORT or [IPv6]:PORT",
    ]],
    [ONE("", "", "              proto: udp\n").replace("127.0.0.1:26257", "tcp:127.0.0.1:1"), [
      "iaido.yaml:8:22: frontends[0].backendPool.tiers[0].targets[0].proto: UDP does not match this frontend's TCP; a frontend relays one protocol (use udp: in bindAddress for UDP)",
    ]],
    [ONE("") + ONE("").replace("frontends:\n", ""), [
      "iaido.yaml:8:18: frontends[1].bindAddress: '127.0.0.1:26257' is already taken by frontends[0] ('127.0.0.1:26257'); give each listener its own port",
    ]],
    [ONE("", "", "              maxBackendConnections: 3\n"), [
      "iaido.yaml:8:15: frontends[0].backendPool.tiers[0].targets[0].maxBackendConnections: unknown key 'maxBackendConnections'; use hosts, port, proto or disabled",
    ]],
    [ONE("", "          maxBackendConnections: -1\n          latencyBucket: fast\n"), [
      "iaido.yaml:8:34: frontends[0].backendPool.tiers[0].maxBackendConnections: -1 is out of range; use 0 or more",
      "iaido.yaml:9:11: frontends[0].backendPool.tiers[0].latencyBucket: unknown key 'latencyBucket'; use dialFailureTimeout, forcePromotionAfter, maxBackendConnections or targets",
    ]],
    [ONE("").replace("backendPool:\n", "backendPool:\n      latencyBucket: fast\n"), [
      "iaido.yaml:4:22: frontends[0].backendPool.latencyBucket: 'fast' is not a duration; use e.g. 5s, 1m30s",
    ]],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected[0], () => assert.deepEqual(problems(text), expected));
  }
});

Deno.test("iaido: negative latencyBucket and rebalanceDuration are accepted (iaido: off)", () => {
  const { warnings } = ok(
    ONE("    rebalanceDuration: -1s\n").replace(
      "backendPool:\n",
      "backendPool:\n      latencyBucket: -1ms\n",
    ),
  );
  assert.equal(warnings.length, 2);
});

Deno.test("validateIaidoConfig() reads any file as iaido's", () => {
  const result = validateIaidoConfig("listeners: []\n", "x.yaml");
  assert.ok("problems" in result);
  assert.deepEqual(result.problems.map(formatProblem), [
    "x.yaml:1:1: listeners: unknown key 'listeners'; use diagAddr, frontends or gracePeriod",
    "x.yaml:1:1: frontends: is missing; list at least one frontend with bindAddress and backendPool",
  ]);
});

Deno.test("iaido: the geo-distributed demo (:PORT binds, comments, three tiers) translates", () => {
  const { config, warnings } = ok(`# geo-distributed CockroachDB cluster as one endpoint
diagAddr: :6060
frontends:
  - bindAddress: :26257
    idleDuration: 5m
    backendPool:
      tiers:
        - maxBackendConnections: 64
          targets:
            - hosts: # East
                - 10.142.0.51
                - 10.142.0.52
              port: 26257
        - maxBackendConnections: 32
          forcePromotionAfter: 1m
          targets:
            - hosts: # West
                - 10.138.0.43
              port: 26257
        - maxBackendConnections: 8
          forcePromotionAfter: 15s
          targets:
            - hosts: # Europe
                - 10.154.0.8
              port: 26257
gracePeriod: 5s
`);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.admin, { hostname: "0.0.0.0", port: 6060 });
  assert.deepEqual(config.listeners, [{
    ...frontend(":26257", "0.0.0.0", 26257, [
      tier(0, [tcp("10.142.0.51", 26257), tcp("10.142.0.52", 26257)], { maxConnections: 64 }),
      tier(1, [tcp("10.138.0.43", 26257)], { maxConnections: 32, forcePromotionAfterMs: 60_000 }),
      tier(2, [tcp("10.154.0.8", 26257)], { maxConnections: 8, forcePromotionAfterMs: 15_000 }),
    ]),
    idleMs: 300_000,
  }]);
});

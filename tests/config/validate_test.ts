import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import type { SidecarConfig } from "../../src/config/schema.ts";

/** Every problem of a text, formatted; fails when the text is valid. */
function problems(text: string, file = "s.yaml"): string[] {
  const result = validateConfig(text, file);
  assert.ok("problems" in result, `expected problems, got a config for:\n${text}`);
  return result.problems.map(formatProblem);
}

/** The config of a valid text; fails with the problems otherwise. */
function config(text: string): SidecarConfig {
  const result = validateConfig(text, "s.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  return result.config;
}

/** A valid one-listener file of the given kind, with `extra` lines added to the listener. */
function listener(kind: "http" | "tcp" | "udp", ...extra: string[]): string {
  const endpoint = kind === "http" ? "http://127.0.0.1:9001" : "127.0.0.1:9001";
  return [
    "listeners:",
    `  - kind: ${kind}`,
    "    address: 127.0.0.1:8080",
    "    sites:",
    `      - endpoints: [${endpoint}]`,
    ...extra.map((line) => `    ${line}`),
    "",
  ].join("\n");
}

Deno.test("validateConfig() reports three mistakes with their exact places", () => {
  const text = [
    "listeners:",
    "  - kind: http",
    "    address: 127.0.0.1:8080",
    "    polcy: least",
    "    sites:",
    "      - endpoints: [http://127.0.0.1:9001]",
    "    health:",
    "      interval: fast",
    "  - kind: tcp",
    "    address: 127.0.0.1:26257",
    "    tiers:",
    "      - endpoints: [127.0.0.1:26258]",
    "    proxyProtocol: v3",
    "",
  ].join("\n");
  assert.deepEqual(problems(text, "sidekick.yaml"), [
    "sidekick.yaml:4:5: listeners[0].polcy: unknown key 'polcy'; did you mean 'policy'?",
    "sidekick.yaml:8:17: listeners[0].health.interval: 'fast' is not a duration; use e.g. 5s, 1m30s",
    "sidekick.yaml:13:20: listeners[1].proxyProtocol: 'v3' is not a PROXY protocol version; use off, v1 or v2",
  ]);
  const result = validateConfig(text, "sidekick.yaml");
  assert.ok("problems" in result);
  assert.deepEqual(result.problems[1], {
    file: "sidekick.yaml",
    line: 8,
    col: 17,
    path: "listeners[0].health.interval",
    message: "'fast' is not a duration; use e.g. 5s, 1m30s",
  });
});

Deno.test("validateConfig() suggests the key or value that was meant", async (t) => {
  const cases: [string, string][] = [
    [
      "listener:\n  - kind: http\n",
      "s.yaml:1:1: listener: unknown key 'listener'; did you mean 'listeners'?",
    ],
    [
      "gracePerod: 5s\nlisteners: []\n",
      "s.yaml:1:1: gracePerod: unknown key 'gracePerod'; did you mean 'gracePeriod'?",
    ],
    [
      listener("http", "helth: {}"),
      "s.yaml:6:5: listeners[0].helth: unknown key 'helth'; did you mean 'health'?",
    ],
    [
      listener("http", "health: {intervl: 5s}"),
      "s.yaml:6:14: listeners[0].health.intervl: unknown key 'intervl'; did you mean 'interval'?",
    ],
    [
      listener("http", "policy: rond-robin"),
      "s.yaml:6:13: listeners[0].policy: 'rond-robin' is not a policy; use least, random, round-robin, p2c or hash (did you mean 'round-robin'?)",
    ],
    [
      listener("http", "zzz: 1"),
      "s.yaml:6:5: listeners[0].zzz: unknown key 'zzz'; use kind, name, address, policy, sites, tiers, health, failbackDelay, dns, discovery, timeouts, limits, tls, upstreamTls, proxyHeaders, metrics, http2 or h2c",
    ],
    [
      listener("http", "maxConnections: 5"),
      "s.yaml:6:5: listeners[0].maxConnections: 'maxConnections' is not for http listeners; use limits.maxConnections",
    ],
    [
      listener("udp", "proxyProtocol: v1"),
      "s.yaml:6:5: listeners[0].proxyProtocol: 'proxyProtocol' is for tcp listeners, not udp",
    ],
    [
      listener("tcp", "timeouts: {}"),
      "s.yaml:6:5: listeners[0].timeouts: 'timeouts' is not for tcp listeners; use connectTimeout and idleTimeout",
    ],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected.split(": ").slice(1, 2).join(), () => {
      const found = problems(text);
      assert.ok(found.includes(expected), found.join("\n"));
    });
  }
});

Deno.test("validateConfig() points at YAML syntax errors", () => {
  assert.deepEqual(problems("listeners:\n  - kind: http\n    sites: [http://a:1\n"), [
    "s.yaml:4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]",
  ]);
  assert.deepEqual(problems("listeners:\n\t- kind: http\n"), [
    "s.yaml:2:1: YAML syntax error: tabs are not allowed as indentation; indent with spaces",
  ]);
  assert.deepEqual(problems("a: 1\n---\nb: 2\n"), [
    "s.yaml:2:1: YAML syntax error: a config file holds one document; remove the '---' separator",
  ]);
  assert.deepEqual(problems(""), [
    "s.yaml:1:1: the file is empty; a config needs 'listeners:' (or iaido's 'frontends:')",
  ]);
  assert.deepEqual(problems(listener("http", "policy: least", "policy: random")), [
    "s.yaml:7:5: key 'policy' appears twice in the same map; keep one",
  ]);
});

Deno.test("validateConfig() checks every enum, duration, port and number", async (t) => {
  const cases: [string, string][] = [
    [
      listener("http", "kind: http"),
      "s.yaml:6:5: key 'kind' appears twice in the same map; keep one",
    ],
    [
      listener("http").replace("kind: http", "kind: sctp"),
      "s.yaml:2:11: listeners[0].kind: 'sctp' is not a listener kind; use http, tcp or udp",
    ],
    [
      listener("http", "policy: fast"),
      "s.yaml:6:13: listeners[0].policy: 'fast' is not a policy; use least, random, round-robin, p2c or hash",
    ],
    [
      listener("http", "health: {kind: icmp}"),
      "s.yaml:6:20: listeners[0].health.kind: 'icmp' is not a probe kind; use http, tcp, udp or grpc",
    ],
    [
      listener("tcp", "proxyProtocol: 2"),
      "s.yaml:6:20: listeners[0].proxyProtocol: 2 is not a PROXY protocol version; use off, v1 or v2",
    ],
    [
      "log: {trace: some}\n" + listener("http"),
      "s.yaml:1:14: log.trace: 'some' is not a trace mode; use off, all, application or minio",
    ],
    [
      listener("http", "health: {interval: 30}"),
      "s.yaml:6:24: listeners[0].health.interval: 30 is not a duration; add a unit, e.g. 30s",
    ],
    [
      listener("http", "health: {interval: '30'}"),
      "s.yaml:6:24: listeners[0].health.interval: '30' is not a duration; add a unit, e.g. 30s",
    ],
    [
      listener("http", "health: {interval: -5s}"),
      "s.yaml:6:24: listeners[0].health.interval: '-5s' is not a duration; use e.g. 5s, 1m30s",
    ],
    [
      listener("http", "health: {interval: 0s}"),
      "s.yaml:6:24: listeners[0].health.interval: '0s' would probe without a pause; use e.g. 5s, or active: false to stop probes",
    ],
    [
      listener("http", "health: {timeout: 0s}"),
      "s.yaml:6:23: listeners[0].health.timeout: '0s' is too short; use at least 1ms",
    ],
    [
      listener("http", "health: {port: 70000}"),
      "s.yaml:6:20: listeners[0].health.port: 70000 is not a port; use 0..65535",
    ],
    [
      listener("http", "health: {rise: 0}"),
      "s.yaml:6:20: listeners[0].health.rise: 0 is out of range; use 1 or more",
    ],
    [
      listener("http", "health: {fall: 1.5}"),
      "s.yaml:6:20: listeners[0].health.fall: 1.5 is not a whole number; use 1 or more",
    ],
    [
      listener("http", "health: {optimistic: yes}"),
      "s.yaml:6:26: listeners[0].health.optimistic: 'yes' is not true or false",
    ],
    [
      listener("http", "health: {path: ready}"),
      "s.yaml:6:20: listeners[0].health.path: 'ready' must start with /",
    ],
    [
      listener("http", "health: {statuses: '600'}"),
      "s.yaml:6:24: listeners[0].health.statuses: '600' is not a status or range; use e.g. 200 or 200-299,301",
    ],
    [
      listener("http", "health: {statuses: [200, 299-200]}"),
      "s.yaml:6:30: listeners[0].health.statuses[1]: '299-200' is not a status or range; use e.g. 200 or 200-299,301",
    ],
    [
      listener("http", "limits: {maxHeaders: many}"),
      "s.yaml:6:26: listeners[0].limits.maxHeaders: 'many' is not a whole number; use 1 or more",
    ],
    [
      listener("tcp", "maxConnections: -1"),
      "s.yaml:6:21: listeners[0].maxConnections: -1 is out of range; use 0 or more",
    ],
    [
      listener("udp", "maxFlows: 0"),
      "s.yaml:6:15: listeners[0].maxFlows: 0 is out of range; use 1 or more",
    ],
    [
      listener("tcp", "connectTimeout: 0s"),
      "s.yaml:6:21: listeners[0].connectTimeout: '0s' is too short; use at least 1ms",
    ],
    [
      listener("http", "name: [a]"),
      "s.yaml:6:11: listeners[0].name: a list is not text; use a short label",
    ],
    [
      listener("http", "dns: {perAddress: 1}"),
      "s.yaml:6:23: listeners[0].dns.perAddress: 1 is not true or false",
    ],
    [
      "log: {statusCodes: [200, 700]}\n" + listener("http"),
      "s.yaml:1:26: log.statusCodes[1]: 700 is out of range; use 100..599",
    ],
    [
      "gracePeriod: soon\n" + listener("http"),
      "s.yaml:1:14: gracePeriod: 'soon' is not a duration; use e.g. 5s, 1m30s",
    ],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected, () => assert.deepEqual(problems(text), [expected]));
  }
});

Deno.test("validateConfig() checks addresses, endpoints and their uniqueness", async (t) => {
  const two = (a: string, kindA: string, b: string, kindB: string) =>
    `listeners:\n  - {kind: ${kindA}, address: "${a}", tiers: [{endpoints: [127.0.0.1:1]}]}\n` +
    `  - {kind: ${kindB}, address: "${b}", tiers: [{endpoints: [127.0.0.1:2]}]}\n`;
  const cases: [string, string[]][] = [
    [
      "listeners:\n  - address: 127.0.0.1:70000\n    sites: [{endpoints: [http://a:1]}]\n",
      ["s.yaml:2:14: listeners[0].address: Cannot listen on '127.0.0.1:70000': port must be 0..65535, got 70000"],
    ],
    [
      "listeners:\n  - address: nope\n    sites: [{endpoints: [http://a:1]}]\n",
      ["s.yaml:2:14: listeners[0].address: Cannot listen on 'nope': expected HOST:PORT, :PORT or [IPv6]:PORT"],
    ],
    [
      two(":9000", "tcp", "127.0.0.1:9000", "tcp"),
      ["s.yaml:3:26: listeners[1].address: '127.0.0.1:9000' is already taken by listeners[0] (':9000'); give each listener its own port"],
    ],
    [
      two("127.0.0.1:9000", "tcp", "127.0.0.1:9000", "http"),
      ["s.yaml:3:27: listeners[1].address: '127.0.0.1:9000' is already taken by listeners[0] ('127.0.0.1:9000'); give each listener its own port"],
    ],
    [listener("http").replace("sites:\n      - endpoints: [http://127.0.0.1:9001]", "sites: []"), [
      "s.yaml:4:12: listeners[0].sites: needs at least one entry, each with endpoints: [http://HOST:PORT]",
    ]],
    ["listeners:\n  - kind: tcp\n    tiers:\n      - name: a\n", [
      "s.yaml:4:9: listeners[0].tiers[0].endpoints: is missing; list at least one endpoint, like HOST:PORT",
    ]],
    ["listeners:\n  - kind: tcp\n    tiers:\n      - endpoints:\n", [
      "s.yaml:4:9: listeners[0].tiers[0].endpoints: is empty; list at least one endpoint, like HOST:PORT",
    ]],
    ["listeners:\n  - sites: [{endpoints: [ftp://a:1]}]\n", [
      "s.yaml:2:26: listeners[0].sites[0].endpoints[0]: Cannot use endpoint 'ftp://a:1': scheme must be http, https, h2c or h2, not ftp",
    ]],
    ["listeners:\n  - sites: [{endpoints: ['http://a{1...}:1']}]\n", [
      "s.yaml:2:26: listeners[0].sites[0].endpoints[0]: Cannot expand 'http://a{1...}:1' at character 9: expected {START...END} or {A,B,C}",
    ]],
    ["listeners:\n  - kind: udp\n    tiers: [{endpoints: [10.0.0.1]}]\n", [
      "s.yaml:3:26: listeners[0].tiers[0].endpoints[0]: Cannot use endpoint '10.0.0.1': expected HOST:PORT or [IPv6]:PORT",
    ]],
    ["listeners:\n  - sites: [{endpoints: ['http://a:{1...2}']}, {endpoints: [http://a:2]}]\n", [
      "s.yaml:2:61: listeners[0].sites[1].endpoints[0]: endpoint 'http://a:2' is already listed at listeners[0].sites[0].endpoints[0]",
    ]],
    [
      "listeners:\n  - sites: [{endpoints: [http://a:1]}]\n    tiers: [{endpoints: [http://a:1]}]\n",
      [
        "s.yaml:3:5: listeners[0].tiers: 'sites' and 'tiers' mean the same; use one of them",
      ],
    ],
    ["listeners:\n  - kind: http\n", [
      "s.yaml:2:5: listeners[0].sites: is missing; list the sites in failover order, each with endpoints: [http://HOST:PORT]",
    ]],
    ["listeners: []\n", ["s.yaml:1:12: listeners: needs at least one listener, like - kind: http"]],
    ["log: {}\n", [
      "s.yaml:1:1: listeners: is missing; list at least one listener, like - kind: http",
    ]],
    [listener("http", "tls: {cert: a.crt}"), [
      "s.yaml:6:10: listeners[0].tls.key: is missing; give the private key (PEM) file",
    ]],
    [listener("http", "upstreamTls: {cert: a.crt}"), [
      "s.yaml:6:18: listeners[0].upstreamTls.key: is missing; 'cert' and 'key' go together (mTLS)",
    ]],
    [
      listener("http", "name: a") +
      "  - {name: a, address: ':1', sites: [{endpoints: [http://b:1]}]}\n",
      [
        "s.yaml:7:12: listeners[1].name: name 'a' is already used by listeners[0]",
      ],
    ],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected[0], () => assert.deepEqual(problems(text), expected));
  }
  await t.step("TCP and UDP may share a port", () => {
    config(two("127.0.0.1:9000", "tcp", "127.0.0.1:9000", "udp"));
  });
  await t.step("port 0 never clashes", () => {
    config(two("127.0.0.1:0", "tcp", "127.0.0.1:0", "tcp"));
  });
});

Deno.test("validateConfig() reads anchors and aliases, and refuses merge keys", () => {
  const text = [
    "listeners:",
    "  - kind: tcp",
    "    address: 127.0.0.1:1",
    "    tiers: [{endpoints: [127.0.0.1:2]}]",
    "    health: &probe {rise: 2, fall: 3}",
    "  - kind: tcp",
    "    address: 127.0.0.1:3",
    "    tiers: [{endpoints: [127.0.0.1:4]}]",
    "    health: *probe",
    "",
  ].join("\n");
  const c = config(text);
  assert.equal(c.listeners[1].cluster.health.rise, 2);
  assert.equal(c.listeners[1].cluster.health.fall, 3);
  assert.deepEqual(problems(listener("http", "health: *nowhere")), [
    "s.yaml:6:13: listeners[0].health: alias *nowhere has no anchor &nowhere before it",
  ]);
  assert.deepEqual(problems(listener("http", "health:", "  <<: {rise: 2}")), [
    "s.yaml:7:7: listeners[0].health.<<: merge keys (<<) are not supported; repeat the keys instead",
  ]);
});

Deno.test("validateConfig() refuses a file mixing sidekick's and iaido's schemas", () => {
  assert.deepEqual(problems(listener("http") + "frontends: []\n"), [
    "s.yaml:6:1: frontends: 'frontends' is iaido's schema and 'listeners' is sidekick's; use one of them in a file",
  ]);
});

Deno.test("validateConfig() reads proxyHeaders on an HTTP listener (default: on)", () => {
  const on = config(listener("http")).listeners[0];
  assert.ok(on.kind === "http" && on.proxyHeaders === undefined);
  const off = config(listener("http", "proxyHeaders: false")).listeners[0];
  assert.ok(off.kind === "http" && off.proxyHeaders === false);
  assert.match(problems(listener("http", "proxyHeaders: sometimes"))[0], /^s\.yaml:6:19: /);
  assert.match(problems(listener("tcp", "proxyHeaders: false"))[0], /proxyHeaders/);
});

Deno.test("validateConfig() reads http2 and h2c on an HTTP listener (defaults: h2 over TLS, no h2c)", () => {
  const plain = config(listener("http")).listeners[0];
  assert.ok(plain.kind === "http" && plain.http2 === undefined && plain.h2c === undefined);
  const both = config(listener("http", "http2: false", "h2c: true")).listeners[0];
  assert.ok(both.kind === "http" && both.http2 === false && both.h2c === true);
  assert.deepEqual(problems(listener("http", "h2c: maybe")), [
    "s.yaml:6:10: listeners[0].h2c: 'maybe' is not true or false",
  ]);
  assert.deepEqual(problems(listener("tcp", "h2c: true")), [
    "s.yaml:6:5: listeners[0].h2c: 'h2c' is for http listeners, not tcp",
  ]);
});

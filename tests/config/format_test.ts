import assert from "node:assert/strict";
import { checkConfigText, formatConfig } from "../../src/config/format.ts";
import { configFromFlags } from "../../src/config/compat/flags.ts";
import { formatProblem } from "../../src/config/problem.ts";
import type {
  ClusterSpec,
  EndpointSpec,
  HealthSpec,
  ListenerSpec,
  SidecarConfig,
} from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { POLICY_NAMES } from "../../src/config/schema.ts";
import { mulberry32 } from "../_helpers/random.ts";

type Rand = () => number;
const int = (r: Rand, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)];
const chance = (r: Rand) => r() < 0.5;
const ms = (r: Rand, min = 0) =>
  Math.max(min, pick(r, [0, 1, 999, 1_000, 1_500, 60_000, 90_061, 3_600_000, int(r, 0, 1e8)]));
/** Text that YAML would read as something else unless quoted. */
const TRICKY = ["true", "null", "0123", "1e3", "a: b", "#x", "- y", "~", "on", "s p a c e", "ünï"];

function endpoint(r: Rand, kind: ListenerSpec["kind"], id: number[]): EndpointSpec {
  const host = pick(r, [
    `10.${id.join(".")}`,
    `h${id.join("-")}.example`,
    `fd00::${id.map((n) => n + 1).join(":")}`,
  ]);
  const base: EndpointSpec = kind === "http"
    ? {
      scheme: pick(r, ["http", "https"] as const),
      host,
      port: int(r, 1, 65535),
      basePath: pick(r, ["", "/s3", "/a/b"]),
    }
    : { scheme: kind, host, port: int(r, 1, 65535), basePath: "" };
  const weighted = chance(r) ? base : { ...base, weight: int(r, 2, 65535) };
  return chance(r) ? weighted : { ...weighted, disabled: true };
}

function health(r: Rand): HealthSpec {
  const active = chance(r);
  return {
    active,
    kind: pick(r, ["http", "tcp", "udp"] as const),
    path: pick(r, ["/", "/ready", "/minio/health/live"]),
    port: int(r, 0, 65535),
    intervalMs: ms(r, active ? 1 : 0),
    timeoutMs: ms(r, 1),
    rise: int(r, 1, 5),
    fall: int(r, 1, 5),
    ejectMs: ms(r),
    statuses: Array.from({ length: int(r, 1, 3) }, () => {
      const lo = int(r, 100, 599);
      return [lo, chance(r) ? lo : int(r, lo, 599)] as [number, number];
    }),
    optimistic: chance(r),
    udpPayload: pick(r, ["ping", ...TRICKY]),
  };
}

function cluster(r: Rand, kind: ListenerSpec["kind"], l: number): ClusterSpec {
  const policy = pick(r, POLICY_NAMES);
  return {
    policy,
    ...(policy === "hash"
      ? {
        hash: {
          key: pick(r, ["client-ip", "header:X-User", "cookie:session"] as const),
          fallback: pick(r, ["least", "random", "round-robin", "p2c"] as const),
        },
      }
      : {}),
    sites: Array.from({ length: int(r, 1, 3) }, (_, s) => ({
      name: pick(r, [`site${s}`, `${TRICKY[s]}`]),
      endpoints: Array.from({ length: int(r, 1, 3) }, (_, e) => endpoint(r, kind, [l, s, e])),
      ...(chance(r) ? { healthPath: "/site" } : {}),
      maxConnections: int(r, 0, 100),
      forcePromotionAfterMs: ms(r),
    })),
    health: health(r),
    failbackDelayMs: ms(r),
    dns: { perAddress: chance(r), ttlMs: ms(r, 1) },
  };
}

function listener(r: Rand, l: number): ListenerSpec {
  const kind = pick(r, ["http", "tcp", "udp"] as const);
  const common = {
    name: `${pick(r, TRICKY)}${l}`,
    hostname: pick(r, ["127.0.0.1", "0.0.0.0", "::1", "localhost"]),
    port: 10_000 + l,
    cluster: cluster(r, kind, l),
  };
  if (kind === "udp") return { kind, ...common, flowIdleMs: ms(r, 1), maxFlows: int(r, 1, 1e6) };
  if (kind === "tcp") {
    return {
      kind,
      ...common,
      connectMs: ms(r, 1),
      idleMs: ms(r),
      maxAttempts: int(r, 1, 9),
      maxConnections: int(r, 0, 1e5),
      proxyProtocol: pick(r, ["off", "v1", "v2"] as const),
    };
  }
  return {
    kind,
    ...common,
    timeouts: {
      headerReadMs: ms(r),
      idleMs: ms(r),
      connectMs: ms(r),
      responseHeaderMs: ms(r),
      requestBodyMs: ms(r),
      responseWriteMs: ms(r),
      requestMs: ms(r),
    },
    ...(chance(r) ? { metrics: false } : {}),
    ...(chance(r) ? { http2: false } : {}),
    ...(chance(r) ? { h2c: true } : {}),
    limits: {
      maxHeadBytes: int(r, 1, 1e6),
      maxHeaders: int(r, 1, 1e3),
      maxTargetBytes: int(r, 1, 1e5),
      maxConnections: int(r, 0, 1e5),
      maxAttempts: int(r, 1, 9),
      poolIdlePerEndpoint: int(r, 0, 1e3),
      poolIdleMs: ms(r),
    },
    ...(chance(r) ? { tls: { certFile: "c.pem", keyFile: pick(r, TRICKY) } } : {}),
    upstreamTls: {
      ...(chance(r) ? { caFile: "ca.pem" } : {}),
      ...(chance(r) ? { certFile: "client.pem", keyFile: "client.key" } : {}),
      insecure: chance(r),
    },
  };
}

function randomConfig(r: Rand): SidecarConfig {
  return {
    gracePeriodMs: ms(r),
    log: {
      health: chance(r),
      trace: pick(r, ["off", "all", "application", "minio"] as const),
      errorsOnly: chance(r),
      statusCodes: Array.from({ length: int(r, 0, 3) }, () => int(r, 100, 599)),
      quiet: chance(r),
      json: chance(r),
      debug: chance(r),
    },
    listeners: Array.from({ length: int(r, 1, 4) }, (_, l) => listener(r, l)),
  };
}

Deno.test("formatConfig() round-trips through validateConfig (property)", () => {
  const r = mulberry32(20240611);
  for (let i = 0; i < 300; i++) {
    const config = randomConfig(r);
    const text = formatConfig(config);
    const result = validateConfig(text, `case${i}.yaml`);
    if ("problems" in result) {
      assert.fail(`case ${i}:\n${result.problems.map(formatProblem).join("\n")}\n${text}`);
    }
    assert.deepEqual(result.config, config, `case ${i}:\n${text}`);
  }
});

Deno.test("formatConfig() writes a command-line config as a file that loads back", () => {
  const { config } = configFromFlags(
    {
      address: "127.0.0.1:8080",
      "health-path": "/ready",
      "health-duration": "1s",
      "status-code": ["502"],
    },
    ["http://127.0.0.1:{9001...9002}", "https://[::1]:9443/base"],
  );
  const result = validateConfig(formatConfig(config), "flags.yaml");
  assert.ok("config" in result);
  const [a, b] = [config.listeners[0], result.config.listeners[0]];
  assert.deepEqual(
    b.cluster.sites,
    a.cluster.sites.map((s) => ({ ...s, maxConnections: 0, forcePromotionAfterMs: 0 })),
  );
  assert.deepEqual(b.cluster.health, { ...a.cluster.health, kind: "http", udpPayload: "ping" });
  assert.deepEqual(result.config.log, config.log);
});

Deno.test("checkConfigText() names the file and its schema in the normalised output", () => {
  const iaido = checkConfigText(
    "diagAddr: :6060\nfrontends: [{bindAddress: ':1', backendPool: {tiers: [{targets: [{hosts: [a], port: 1}]}]}}]\n",
    "iaido.yaml",
  );
  assert.ok(iaido.ok);
  assert.ok(
    iaido.normalized.startsWith(
      "# iaido.yaml (written in iaido's schema), normalised by sidekick check",
    ),
  );
  assert.deepEqual(iaido.warnings, []);
  // diagAddr is iaido's name for the admin listener.
  assert.ok(iaido.normalized.includes("admin:\n  address: 0.0.0.0:6060\n"), iaido.normalized);
  const again = checkConfigText(iaido.normalized, "n.yaml");
  assert.ok(again.ok);
  assert.equal(
    again.normalized.split("\n").slice(1).join("\n"),
    iaido.normalized.split("\n").slice(1).join("\n"),
  );
});

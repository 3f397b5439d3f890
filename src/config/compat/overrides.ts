/**
 * Flags given together with `--config`: each overrides the matching setting
 * of the file (for every HTTP listener, or the only one for `--address`).
 * Pure: values in, a new configuration out.
 *
 * @module
 */

import { adminConflict } from "../admin.ts";
import { adminFromFlag, configFromFlags, type FlagValues, UsageError } from "./flags.ts";
import type { HttpListenerSpec, SidecarConfig } from "../schema.ts";
import { RESILIENCE_FLAGS } from "./health_flags.ts";

const HEALTH_FLAGS: Readonly<Record<string, keyof HttpListenerSpec["cluster"]["health"]>> = {
  "health-path": "path",
  "health-port": "port",
  "health-duration": "intervalMs",
  "health-timeout": "timeoutMs",
  "health-optimistic": "optimistic",
  "health-status": "statuses",
  ...RESILIENCE_FLAGS,
};
const LOG_FLAGS = ["log", "trace", "errors", "status-code", "quiet", "json", "debug"];
const UPSTREAM_TLS_FLAGS = ["insecure", "cacert", "client-cert", "client-key"];
const SERVER_TLS_FLAGS = ["cert", "key", "key-password"];
/** Flags that only steer the process and have nothing to override. */
const NEUTRAL = new Set([
  "config",
  "bootstrap",
  "bootstrap-addr",
  "force",
  "help",
  "version",
  "tls-max",
  "auto-tls-host",
  "check",
  "reload-period",
  "health-socket",
]);
const PER_CLIENT_FLAGS = ["per-client-connections", "per-client-rate", "per-client-burst"];
const OVERRIDABLE = new Set([
  "admin",
  "address",
  "host-balance",
  "hash-key",
  "failback-delay",
  "rr-dns-mode",
  "dns-ttl",
  "no-proxy-headers",
  ...PER_CLIENT_FLAGS,
  ...Object.keys(HEALTH_FLAGS),
  ...LOG_FLAGS,
  ...UPSTREAM_TLS_FLAGS,
  ...SERVER_TLS_FLAGS,
]);

/**
 * Applies the flags that were given to a configuration loaded from a file.
 *
 * @param config The file's configuration.
 * @param values The flags that were given (command line and `SIDEKICK_*`).
 * @returns The configuration with the flags applied.
 * @throws {UsageError} For a flag that has nothing to override (naming it and what to do instead).
 *
 * @example Usage
 * ```ts
 * import { applyFlagOverrides } from "./overrides.ts";
 * import { httpListener } from "../builders.ts";
 * import assert from "node:assert/strict";
 * const file = { listeners: [httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]])] };
 * const out = applyFlagOverrides(file, { "health-path": "/ready" });
 * assert.equal(out.listeners[0].cluster.health.path, "/ready");
 * ```
 */
export function applyFlagOverrides(config: SidecarConfig, values: FlagValues): SidecarConfig {
  const given = Object.keys(values).filter((k) => values[k] !== undefined && !NEUTRAL.has(k));
  for (const k of given) {
    if (!OVERRIDABLE.has(k)) {
      throw new UsageError(`--${k} cannot be combined with --config; set it in the file instead`);
    }
  }
  if (given.length === 0) return config;
  const http = config.listeners.filter((l) => l.kind === "http");
  if (values.address !== undefined && http.length !== 1) {
    throw new UsageError(
      `--address overrides the HTTP listener of the file, but it has ${http.length}; set the addresses in the file`,
    );
  }
  // The flags' own translation (validation included) against a placeholder site.
  const fromFlags = configFromFlags({
    ...values,
    admin: undefined,
    // --hash-key alone sets the key of a file whose policy is hash already.
    "host-balance": values["host-balance"] ??
      (values["hash-key"] !== undefined ? "hash" : undefined),
  }, [
    "http://placeholder.invalid:1",
  ]).config;
  const f = fromFlags.listeners[0] as HttpListenerSpec;
  const has = (names: readonly string[]) => names.some((n) => values[n] !== undefined);
  const listeners = config.listeners.map((l) => {
    if (l.kind !== "http") return l;
    let health = l.cluster.health;
    for (const [flag, key] of Object.entries(HEALTH_FLAGS)) {
      if (values[flag] !== undefined) health = { ...health, [key]: f.cluster.health[key] };
    }
    if (values["health-duration"] !== undefined) {
      health = { ...health, active: f.cluster.health.active };
    }
    return {
      ...l,
      ...(values.address !== undefined ? { hostname: f.hostname, port: f.port } : {}),
      ...(has(UPSTREAM_TLS_FLAGS) ? { upstreamTls: f.upstreamTls } : {}),
      ...(has(SERVER_TLS_FLAGS) ? { tls: f.tls } : {}),
      ...(values["no-proxy-headers"] === true ? { proxyHeaders: false } : {}),
      ...(has(PER_CLIENT_FLAGS) ? { perClient: f.perClient } : {}),
      cluster: {
        ...l.cluster,
        health,
        ...(values["host-balance"] !== undefined ? { policy: f.cluster.policy } : {}),
        ...(f.cluster.hash === undefined ? {} : {
          // --hash-key wins; else a file's own hash settings stay.
          hash: values["hash-key"] !== undefined
            ? f.cluster.hash
            : l.cluster.hash ?? f.cluster.hash,
        }),
        ...(values["failback-delay"] !== undefined
          ? { failbackDelayMs: f.cluster.failbackDelayMs }
          : {}),
        ...(has(["rr-dns-mode", "dns-ttl"]) ? { dns: f.cluster.dns } : {}),
      },
    };
  });
  const admin = adminFromFlag(values);
  const out = { ...config, listeners, ...(has(LOG_FLAGS) ? { log: fromFlags.log } : {}), ...admin };
  const clash = out.admin === undefined ? null : adminConflict(out.admin, out.listeners);
  if (clash !== null) throw new UsageError(`--admin: ${clash}`);
  return out;
}

/**
 * bobvawter/iaido's YAML schema, read as is and translated into a
 * {@linkcode SidecarConfig}. Decoding is strict like iaido's (`KnownFields`):
 * an unknown key is a problem, with a "did you mean" suggestion.
 *
 * | iaido | sidekick |
 * | --- | --- |
 * | `frontends[]` | one listener each: `tcp`, or `udp` for a `udp:` bindAddress or UDP targets |
 * | `bindAddress` (`[tcp:\|udp:]host:port`, default `:0`) | `hostname`, `port` |
 * | `idleDuration` (0 = default 1h) | `idleMs` (TCP) or `flowIdleMs` (UDP); it really fires (iaido's never did) |
 * | `backendPool.tiers[]` | `cluster.sites[]`, named `tier0`, `tier1`, ... |
 * | `targets[].hosts` x `port` | one endpoint per host; with any hostname, `dns.perAddress` (every A/AAAA record a backend) |
 * | `targets[].proto` (TCP/UDP, any case) | the listener kind |
 * | `targets[].disabled` | `EndpointSpec.disabled` (drains) |
 * | `maxBackendConnections` | `SiteSpec.maxConnections` |
 * | `forcePromotionAfter` | `SiteSpec.forcePromotionAfterMs` |
 * | `dialFailureTimeout` (0 = default 1s) | `health.ejectMs` (the largest of the tiers) |
 * | `gracePeriod` (0 = default 5s) | `gracePeriodMs` |
 * | `diagAddr` | `admin`: the admin listener, which also serves iaido's `/healthz`, `/statusz`, `/configz` |
 * | `maintenanceTime` (0 = default 30s) | `drainDelayMs` (TCP): connections to a removed or disabled backend are kept T..3T, as iaido's two smeared ticks |
 * | `rebalanceDuration`, `latencyBucket` | checked, then a warning: not supported |
 *
 * Health: TCP connect probes (UDP probes for UDP) every 2 s with a 1 s
 * timeout, in the configured tier order. iaido's latency re-tiering, which
 * fought with the configured tiers, is not done.
 *
 * Decision on iaido's "a hostname becomes all interfaces" quirk (only
 * `net.ParseIP` was applied to the bind host): fixed. A hostname is listened
 * on as written (`localhost:26257` stays on loopback), with a warning, so an
 * iaido file never exposes a port more widely than its text says.
 *
 * @module
 */

import { readAdminAddress } from "./admin.ts";
import { type Claim, claimAddress, fullHealth } from "./_cluster.ts";
import { DEFAULT_GRACE_PERIOD_MS } from "./defaults.ts";
import { byPlace, type Fields, join, Reader, type Val } from "./_reader.ts";
import {
  type EndpointSpec,
  type ListenerSpec,
  type SidecarConfig,
  type SiteSpec,
} from "./schema.ts";
import { DEFAULT_LOG } from "./defaults.ts";
import { parseL4Endpoint, parseListenAddress, tcpListener, udpListener } from "./builders.ts";
import type { ValidationResult } from "./problem.ts";

/** iaido's top-level keys. */
export const IAIDO_TOP_KEYS: readonly string[] = ["diagAddr", "frontends", "gracePeriod"];

/**
 * iaido's defaults, in ms, where sidekick's differ: `idleDuration` (1h),
 * `dialFailureTimeout` (1s), `maintenanceTime` (30s), and the DNS refresh
 * (iaido resolves every target again on each 1 s `--reloadPeriod` tick).
 */
export const IAIDO_DEFAULTS = {
  idleMs: 3_600_000,
  dialFailureMs: 1_000,
  dnsTtlMs: 1_000,
  maintenanceMs: 30_000,
} as const;

const IAIDO_TARGET_HINT = "like - hosts: [127.0.0.1]\n  port: 26258";

/**
 * Validates text as an iaido config file (whatever its keys) and translates
 * it, collecting every problem with its line and column.
 * {@linkcode validateConfig} calls this for a file with `frontends:` or
 * `diagAddr:` at the top.
 *
 * @param text The YAML text.
 * @param file The file name to put in problems.
 * @returns The config with warnings (unsupported iaido keys are named), or the problems.
 *
 * @example Usage
 * ```ts
 * import { validateIaidoConfig } from "./iaido.ts";
 * import assert from "node:assert/strict";
 * const text = [
 *   "frontends:",
 *   "  - bindAddress: 127.0.0.1:26257",
 *   "    backendPool:",
 *   "      tiers:",
 *   "        - maxBackendConnections: 32",
 *   "          targets:",
 *   "            - hosts: [127.0.0.1]",
 *   "              port: 26258",
 * ].join("\n");
 * const result = validateIaidoConfig(text, "iaido.yaml");
 * assert.ok("config" in result);
 * assert.equal(result.config.listeners[0].cluster.sites[0].maxConnections, 32);
 * ```
 */
export function validateIaidoConfig(text: string, file: string): ValidationResult {
  const parsed = Reader.parse(text, file);
  if ("problems" in parsed) return parsed;
  const { reader: r, root } = parsed;
  if (root === undefined) {
    r.problem(0, "", "the file is empty; an iaido config needs 'frontends:'");
    return { problems: r.problems };
  }
  const config = readIaido(r, root);
  if (r.problems.length > 0 || config === undefined) {
    return { problems: byPlace(r.problems) };
  }
  return { config, warnings: byPlace(r.warnings), format: "iaido" };
}

function readIaido(r: Reader, root: Val): SidecarConfig | undefined {
  const top = r.map(root, IAIDO_TOP_KEYS);
  if (top === undefined) return undefined;
  const grace = r.duration(top.get("gracePeriod"));
  const v = top.require("frontends", "list at least one frontend with bindAddress and backendPool");
  const items = r.seq(v, "list the frontends, like - bindAddress: 127.0.0.1:26257");
  if (v !== undefined && items?.length === 0) {
    r.problem(v.at, v.path, "needs at least one frontend with bindAddress and backendPool");
  }
  const claims: Claim[] = [];
  const listeners: ListenerSpec[] = [];
  for (const item of items ?? []) {
    const l = readFrontend(r, item, claims);
    if (l !== undefined) listeners.push(l);
  }
  // iaido's diagnostics listener is sidekick's admin listener (/healthz, /statusz, /configz too).
  const admin = readAdminAddress(r, top.get("diagAddr"), listeners);
  return {
    listeners,
    log: DEFAULT_LOG,
    gracePeriodMs: grace || DEFAULT_GRACE_PERIOD_MS,
    ...(admin === undefined ? {} : { admin }),
  };
}

function unsupported(r: Reader, f: Fields | undefined, key: string, why: string): void {
  const v = f?.get(key);
  if (f === undefined || !f.has(key)) return;
  if (v !== undefined && r.duration(v, 0, true) === undefined) return;
  r.warn(f.keyAt(key), join(f.path, key), `is not supported and has no effect: ${why}`);
}

function readFrontend(r: Reader, item: Val, claims: Claim[]): ListenerSpec | undefined {
  const f = r.map(item, ["backendPool", "bindAddress", "idleDuration", "rebalanceDuration"]);
  if (f === undefined) return undefined;
  unsupported(
    r,
    f,
    "rebalanceDuration",
    "sidekick keeps the configured tier order and checks health on its own schedule",
  );
  const bindVal = f.get("bindAddress");
  const bind = r.text(bindVal, "use [tcp:|udp:]HOST:PORT") ?? "";
  const at = bindVal?.at ?? f.at;
  const path = join(f.path, "bindAddress");
  const prefix = /^(tcp|udp):/i.exec(bind)?.[1].toLowerCase() as "tcp" | "udp" | undefined;
  const address = (prefix === undefined ? bind : bind.slice(4)) || ":0";
  let hostname = "0.0.0.0";
  let port = 0;
  try {
    ({ hostname, port } = parseListenAddress(address));
  } catch (e) {
    r.problem(at, path, (e as Error).message);
  }
  if (bind === "") {
    r.warn(at, path, "is not set: listening on a port the system picks (iaido's default :0)");
  } else if (!/^[0-9.]*$/.test(hostname) && !hostname.includes(":")) {
    r.warn(
      at,
      path,
      `'${bind}' listens on ${hostname} as written; iaido would have listened on all interfaces`,
    );
  }
  const pool = r.map(f.require("backendPool", "give backendPool with tiers"), [
    "latencyBucket",
    "maintenanceTime",
    "tiers",
  ]);
  unsupported(r, pool, "latencyBucket", "tiers come from the file only (no latency tiering)");
  const tiers = readTiers(r, pool, prefix);
  const kind = prefix ?? tiers.proto ?? "tcp";
  if (kind === "udp") {
    unsupported(r, pool, "maintenanceTime", "UDP flows move off a removed endpoint at once");
  }
  const maintenance = kind === "tcp" ? r.duration(pool?.get("maintenanceTime")) : undefined;
  claimAddress(r, claims, { owner: f.path, address, transport: kind, hostname, port }, at, path);
  const idle = r.duration(f.get("idleDuration")) || IAIDO_DEFAULTS.idleMs;
  const base = kind === "tcp" ? tcpListener("0.0.0.0:0", []) : udpListener("0.0.0.0:0", []);
  const cluster = {
    ...base.cluster,
    sites: tiers.sites.map((s) => ({
      ...s,
      endpoints: s.endpoints.map((e) => ({ ...e, scheme: kind })),
    })),
    health: { ...fullHealth(base.cluster.health, kind), ejectMs: tiers.ejectMs },
    failbackDelayMs: 0,
    dns: { perAddress: tiers.hostnames, ttlMs: IAIDO_DEFAULTS.dnsTtlMs },
  };
  const common = { name: `${kind}:${address}`, hostname, port, cluster };
  if (kind === "udp") return { ...udpListener("0.0.0.0:0", []), ...common, flowIdleMs: idle };
  return {
    ...tcpListener("0.0.0.0:0", []),
    ...common,
    idleMs: idle,
    drainDelayMs: maintenance || IAIDO_DEFAULTS.maintenanceMs,
  };
}

interface Tiers {
  sites: SiteSpec[];
  /** Whether any tier lists a target (so an empty result is explained by other problems). */
  listed: boolean;
  /** Whether any host is a name rather than an IP (then every A/AAAA record is a backend). */
  hostnames: boolean;
  ejectMs: number;
  proto?: "tcp" | "udp" | undefined;
}

function readTiers(r: Reader, pool: Fields | undefined, prefix?: "tcp" | "udp"): Tiers {
  const out: Tiers = {
    sites: [],
    listed: false,
    hostnames: false,
    ejectMs: IAIDO_DEFAULTS.dialFailureMs,
    proto: prefix,
  };
  if (pool === undefined) return out;
  const v = pool.require("tiers", "list at least one tier with targets");
  const items = r.seq(v, "list the tiers, best first, like - targets: [...]");
  if (v !== undefined && items?.length === 0) {
    r.problem(v.at, v.path, "must not be empty; list at least one tier with targets");
  }
  const failures = new Set<number>();
  const seen = new Set<string>();
  (items ?? []).forEach((item, i) => {
    const t = r.map(item, [
      "dialFailureTimeout",
      "forcePromotionAfter",
      "maxBackendConnections",
      "targets",
    ]);
    if (t === undefined) return;
    failures.add(r.duration(t.get("dialFailureTimeout")) || IAIDO_DEFAULTS.dialFailureMs);
    const site: SiteSpec = {
      name: `tier${i}`,
      endpoints: readTargets(r, t, out, seen),
      maxConnections: r.int(t.get("maxBackendConnections"), 0) ?? 0,
      forcePromotionAfterMs: r.duration(t.get("forcePromotionAfter")) ?? 0,
    };
    if (site.endpoints.length > 0) out.sites.push(site);
    else if (!t.has("targets")) r.warn(t.at, t.path, "has no targets and is skipped");
  });
  out.ejectMs = Math.max(...failures, IAIDO_DEFAULTS.dialFailureMs);
  if (failures.size > 1 && v !== undefined) {
    r.warn(
      v.at,
      v.path,
      `tiers have different dialFailureTimeout values; sidekick ejects per listener and uses the largest`,
    );
  }
  if (v !== undefined && items !== undefined && items.length > 0 && !out.listed) {
    r.problem(v.at, v.path, `no tier has a target; add targets ${IAIDO_TARGET_HINT}`);
  }
  return out;
}

function readTargets(r: Reader, t: Fields, tiers: Tiers, seen: Set<string>): EndpointSpec[] {
  const items = r.seq(t.get("targets"), `list targets ${IAIDO_TARGET_HINT}`) ?? [];
  if (t.has("targets") && items.length === 0) {
    r.warn(t.keyAt("targets"), join(t.path, "targets"), "is empty; the tier is skipped");
  }
  const out: EndpointSpec[] = [];
  if (items.length > 0) tiers.listed = true;
  for (const item of items) {
    const g = r.map(item, ["hosts", "port", "proto", "disabled"]);
    if (g === undefined) continue;
    const protoVal = g.get("proto");
    const proto = (r.oneOf(protoVal, ["TCP", "UDP"] as const, "a proto", true) ?? "TCP")
      .toLowerCase() as "tcp" | "udp";
    if (tiers.proto === undefined) tiers.proto = proto;
    else if (proto !== tiers.proto) {
      r.problem(
        protoVal?.at ?? g.at,
        join(g.path, "proto"),
        `${proto.toUpperCase()} does not match this frontend's ${tiers.proto.toUpperCase()}; ` +
          "a frontend relays one protocol (use udp: in bindAddress for UDP)",
      );
    }
    const port = r.port(g.require("port", "give the backend port, 1..65535"), 1);
    const disabled = r.bool(g.get("disabled")) ?? false;
    const hostsVal = g.require("hosts", "list the backend hostnames or IPs, like [127.0.0.1]");
    const hosts = r.seq(hostsVal, "list hostnames or IPs, like [127.0.0.1]") ?? [];
    if (hostsVal !== undefined && hosts.length === 0) {
      r.problem(
        hostsVal.at,
        hostsVal.path,
        "must not be empty; list hostnames or IPs, like [127.0.0.1]",
      );
    }
    for (const h of hosts) {
      const host = r.text(h, "use a hostname or an IP");
      if (host === undefined || port === undefined) continue;
      const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
      let endpoint: EndpointSpec;
      try {
        endpoint = parseL4Endpoint(`${bare.includes(":") ? `[${bare}]` : bare}:${port}`, proto);
      } catch (e) {
        r.problem(h.at, h.path, (e as Error).message);
        continue;
      }
      const id = `${endpoint.host}:${port}`;
      if (seen.has(id)) {
        r.warn(
          h.at,
          h.path,
          `'${host}' port ${port} is listed twice in this frontend; the first one counts`,
        );
        continue;
      }
      seen.add(id);
      if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(endpoint.host) && !endpoint.host.includes(":")) {
        tiers.hostnames = true;
      }
      out.push(disabled ? { ...endpoint, disabled } : endpoint);
    }
  }
  return out;
}

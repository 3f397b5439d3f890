/**
 * Private to `src/config`: reads the cluster part of a sidekick-schema
 * listener (policy, sites or tiers with their endpoints, health, fail-back
 * delay, DNS) into a {@linkcode ClusterSpec}, with every default filled in.
 *
 * @module
 */

import { isMap, isScalar } from "npm:yaml@^2.9.1";
import { DEFAULT_DNS, DEFAULT_HASH } from "./defaults.ts";
import { expandSite } from "./expand.ts";
import { parseHashKey, parseStatusList } from "./builders.ts";
import { type Fields, join, type Reader, show, type Val } from "./_reader.ts";
import {
  type ClusterSpec,
  type EndpointSpec,
  type HashSpec,
  type HealthSpec,
  POLICY_NAMES,
  type PolicyName,
  type SiteSpec,
  type SrvSpec,
} from "./schema.ts";
import { parseEndpoint, parseL4Endpoint } from "./builders.ts";
import { readResilience, RESILIENCE_KEYS } from "./_resilience.ts";

/** The kind of a listener, which decides how endpoints are written. */
export type ListenerKind = "http" | "tcp" | "udp";

/** The keys of a `sites[]`/`tiers[]` entry. */
export const SITE_KEYS = [
  "name",
  "endpoints",
  "healthPath",
  "maxConnections",
  "forcePromotionAfter",
] as const;

/** The keys of `health`. */
export const HEALTH_KEYS = [
  "active",
  "kind",
  "path",
  "port",
  "interval",
  "timeout",
  "rise",
  "fall",
  "eject",
  "statuses",
  "optimistic",
  "udpPayload",
  "grpcService",
  ...RESILIENCE_KEYS,
] as const;

/** Health with the optional fields filled in. */
export function fullHealth(base: HealthSpec, kind: ListenerKind): HealthSpec {
  return {
    ...base,
    kind: base.kind ?? kind,
    statuses: base.statuses ?? [[200, 200]],
    optimistic: base.optimistic ?? false,
    udpPayload: base.udpPayload ?? "ping",
  };
}

/** An endpoint as a user writes it again: a URL for HTTP, HOST:PORT for TCP/UDP. */
export function endpointText(e: EndpointSpec): string {
  const host = e.host.includes(":") ? `[${e.host}]` : e.host;
  if (e.scheme === "tcp" || e.scheme === "udp") return `${host}:${e.port}`;
  return `${e.scheme}://${host}:${e.port}${e.basePath}`;
}

/**
 * Reads the cluster keys of one listener map.
 *
 * @param r The reader.
 * @param f The listener's fields.
 * @param kind The listener kind.
 * @param base The builder's cluster (defaults for policy and health).
 * @returns The cluster (meaningful only when no problem was recorded).
 */
export function readCluster(
  r: Reader,
  f: Fields,
  kind: ListenerKind,
  base: ClusterSpec,
): ClusterSpec {
  const healthVal = f.get("health");
  const health = readHealth(r, healthVal, fullHealth(base.health, kind));
  if (health.kind === "grpc" && kind !== "http" && healthVal !== undefined) {
    r.problem(healthVal.at, healthVal.path, "kind: grpc needs an HTTP listener (kind: http)");
  }
  const dnsFields = r.map(f.get("dns"), ["perAddress", "ttl"]);
  const srv = readSrv(r, f, kind);
  return {
    ...readPolicy(r, f.get("policy"), base),
    // With discovery (even a bad one: no cascade of problems), sites are optional.
    sites: f.has("discovery") && !f.has("sites") && !f.has("tiers") ? [] : readSites(r, f, kind),
    ...(srv === undefined ? {} : { srv }),
    health,
    failbackDelayMs: r.duration(f.get("failbackDelay")) ?? 0,
    dns: {
      perAddress: r.bool(dnsFields?.get("perAddress")) ?? DEFAULT_DNS.perAddress,
      ttlMs: r.duration(dnsFields?.get("ttl"), 1) ?? DEFAULT_DNS.ttlMs,
    },
  };
}

const FALLBACKS = POLICY_NAMES.filter((n): n is HashSpec["fallback"] => n !== "hash");

/** `policy: NAME`, or `policy: {name: hash, key: KEY, fallback: NAME}`. */
function readPolicy(
  r: Reader,
  v: Val | undefined,
  base: ClusterSpec,
): { policy: PolicyName; hash?: HashSpec } {
  if (v === undefined) return { policy: base.policy, ...(base.hash ? { hash: base.hash } : {}) };
  if (!isMap(v.node)) {
    const policy = r.oneOf(v, POLICY_NAMES, "a policy") ?? base.policy;
    return policy === "hash" ? { policy, hash: DEFAULT_HASH } : { policy };
  }
  const p = r.map(v, ["name", "key", "fallback"])!;
  const policy = r.oneOf(
    p.require("name", `name the policy: ${POLICY_NAMES.join(", ")}`),
    POLICY_NAMES,
    "a policy",
  ) ??
    base.policy;
  const keyVal = p.get("key");
  const fallbackVal = p.get("fallback");
  if (policy !== "hash") {
    for (const extra of [keyVal, fallbackVal]) {
      if (extra !== undefined) {
        r.problem(extra.at, extra.path, `only the hash policy takes this key; remove it`);
      }
    }
    return { policy };
  }
  let key = DEFAULT_HASH.key;
  const keyText = r.text(keyVal, "use client-ip, header:NAME or cookie:NAME");
  if (keyText !== undefined) {
    try {
      key = parseHashKey(keyText);
    } catch (e) {
      r.problem(keyVal!.at, keyVal!.path, (e as Error).message);
    }
  }
  const fallback = r.oneOf(fallbackVal, FALLBACKS, "a fallback policy") ?? DEFAULT_HASH.fallback;
  return { policy, hash: { key, fallback } };
}

/**
 * `discovery: {srv: NAME}`: for HTTP the name may be written as a URL to
 * give the scheme and a base path (`https://_minio._tcp.minio.svc/s3`).
 */
function readSrv(r: Reader, f: Fields, kind: ListenerKind): SrvSpec | undefined {
  const d = r.map(f.get("discovery"), ["srv"]);
  if (d === undefined) return undefined;
  const hint = kind === "http"
    ? "use an SRV name like _minio._tcp.minio.svc (or https://_minio._tcp.minio.svc/base, h2c://_grpc._tcp.svc)"
    : "use an SRV name like _postgres._tcp.db.svc";
  const v = d.require("srv", hint);
  const text = r.text(v, hint);
  if (text === undefined || v === undefined) return undefined;
  const m = /^(?:(https?|h2c?):\/\/)?([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+)\.?(\/[^\s?#]*)?$/.exec(
    text,
  );
  if (m === null || (kind !== "http" && (m[1] !== undefined || m[3] !== undefined))) {
    return r.problem(v.at, v.path, `'${text}' is not an SRV name; ${hint}`);
  }
  for (const key of ["sites", "tiers"]) {
    if (f.has(key)) {
      r.problem(
        f.keyAt(key),
        join(f.path, key),
        `'${key}' and 'discovery.srv' both list endpoints; use one of them`,
      );
    }
  }
  const scheme = kind === "http" ? (m[1] as SrvSpec["scheme"] | undefined) ?? "http" : kind;
  const basePath = (m[3] ?? "").replace(/\/+$/, "");
  return { name: m[2], scheme, ...(basePath === "" ? {} : { basePath }) };
}

/** `discovery.srv` as a user writes it again. */
export function srvText(srv: SrvSpec): string {
  const plain = srv.scheme === "http" || srv.scheme === "tcp" || srv.scheme === "udp";
  if (plain && (srv.basePath ?? "") === "") return srv.name;
  return `${srv.scheme}://${srv.name}${srv.basePath ?? ""}`;
}

function readSites(r: Reader, f: Fields, kind: ListenerKind): SiteSpec[] {
  let key = kind === "http" ? "sites" : "tiers";
  if (f.has("sites") && f.has("tiers")) {
    r.problem(
      f.keyAt("tiers"),
      join(f.path, "tiers"),
      "'sites' and 'tiers' mean the same; use one of them",
    );
  } else if (f.has("sites")) key = "sites";
  else if (f.has("tiers")) key = "tiers";
  const example = kind === "http" ? "http://HOST:PORT" : "HOST:PORT";
  const v = f.require(key, `list the ${key} in failover order, each with endpoints: [${example}]`);
  const items = r.seq(v, `list the ${key} in failover order, each with endpoints: [${example}]`);
  if (v !== undefined && items?.length === 0) {
    r.problem(v.at, v.path, `needs at least one entry, each with endpoints: [${example}]`);
  }
  const seen = new Map<string, string>();
  const sites: SiteSpec[] = [];
  (items ?? []).forEach((item, i) => {
    const s = r.map(item, SITE_KEYS);
    if (s === undefined) return;
    const healthPath = r.text(s.get("healthPath"), "use a path like /health/ready");
    if (healthPath !== undefined && !healthPath.startsWith("/")) {
      r.problem(
        s.get("healthPath")!.at,
        join(s.path, "healthPath"),
        `'${healthPath}' must start with /`,
      );
    }
    sites.push({
      name: r.text(s.get("name"), "use a short label") ??
        (kind === "http" ? `site${i + 1}` : `tier${i}`),
      endpoints: readEndpoints(r, s, kind, seen),
      ...(healthPath === undefined ? {} : { healthPath }),
      maxConnections: r.int(s.get("maxConnections"), 0) ?? 0,
      forcePromotionAfterMs: r.duration(s.get("forcePromotionAfter")) ?? 0,
    });
  });
  return sites;
}

function readEndpoints(
  r: Reader,
  s: Fields,
  kind: ListenerKind,
  seen: Map<string, string>,
): EndpointSpec[] {
  const example = kind === "http" ? "http://HOST:PORT or http://host{1...4}:9000" : "HOST:PORT";
  const v = s.require("endpoints", `list at least one endpoint, like ${example}`);
  const items = r.seq(v, `list endpoints like ${example}`);
  if (v !== undefined && items?.length === 0) {
    r.problem(v.at, v.path, `needs at least one endpoint, like ${example}`);
  }
  const out: EndpointSpec[] = [];
  for (const item of items ?? []) {
    let textVal: Val | undefined = item;
    let disabled = false;
    let weight = 1;
    if (isMap(item.node)) {
      const e = r.map(item, ["address", "disabled", "weight"]);
      textVal = e?.require("address", `give the endpoint as ${example}`);
      disabled = r.bool(e?.get("disabled")) ?? false;
      weight = r.int(e?.get("weight"), 1, 65535) ?? 1;
    }
    const text = r.text(textVal, `use ${example}`);
    if (text === undefined || textVal === undefined) continue;
    let expanded: string[];
    try {
      expanded = expandSite(text);
    } catch (e) {
      r.problem(textVal.at, textVal.path, (e as Error).message);
      continue;
    }
    for (const one of expanded) {
      const endpoint = parseOne(r, textVal, one, kind);
      if (endpoint === undefined) continue;
      const id = endpointText(endpoint);
      const before = seen.get(id);
      if (before !== undefined) {
        r.problem(textVal.at, textVal.path, `endpoint '${id}' is already listed at ${before}`);
        continue;
      }
      seen.set(id, textVal.path);
      out.push({
        ...endpoint,
        ...(disabled ? { disabled } : {}),
        ...(weight !== 1 ? { weight } : {}),
      });
    }
  }
  return out;
}

function parseOne(r: Reader, v: Val, text: string, kind: ListenerKind): EndpointSpec | undefined {
  try {
    if (kind !== "http") return parseL4Endpoint(text, kind);
    const e = parseEndpoint(text);
    if (e.port < 1) return r.problem(v.at, v.path, `'${text}' has port 0; use 1..65535`);
    return e;
  } catch (e) {
    return r.problem(v.at, v.path, (e as Error).message);
  }
}

function readHealth(r: Reader, v: Val | undefined, base: HealthSpec): HealthSpec {
  const h = r.map(v, HEALTH_KEYS);
  if (h === undefined) return base;
  const active = r.bool(h.get("active")) ?? base.active;
  const path = r.text(h.get("path"), "use a path like /health/ready");
  if (path !== undefined && !path.startsWith("/")) {
    r.problem(h.get("path")!.at, join(h.path, "path"), `'${path}' must start with /`);
  }
  const grpcService = r.text(h.get("grpcService"), "use a service name like my.pkg.Greeter") ??
    base.grpcService;
  const intervalVal = h.get("interval");
  const intervalMs = r.duration(intervalVal) ?? base.intervalMs;
  if (active && intervalMs === 0 && intervalVal !== undefined) {
    r.problem(
      intervalVal.at,
      intervalVal.path,
      `${
        show(intervalVal.node)
      } would probe without a pause; use e.g. 5s, or active: false to stop probes`,
    );
  }
  return {
    active,
    kind: r.oneOf(h.get("kind"), ["http", "tcp", "udp", "grpc"] as const, "a probe kind") ??
      base.kind,
    path: path ?? base.path,
    port: r.port(h.get("port"), 0) ?? base.port,
    intervalMs,
    timeoutMs: r.duration(h.get("timeout"), 1) ?? base.timeoutMs,
    rise: r.int(h.get("rise"), 1) ?? base.rise,
    fall: r.int(h.get("fall"), 1) ?? base.fall,
    ejectMs: r.duration(h.get("eject")) ?? base.ejectMs,
    statuses: readStatuses(r, h.get("statuses")) ?? base.statuses,
    optimistic: r.bool(h.get("optimistic")) ?? base.optimistic,
    udpPayload: r.text(h.get("udpPayload"), "use the text to send, like ping") ?? base.udpPayload,
    ...readResilience(r, h, base),
    ...(grpcService === undefined ? {} : { grpcService }),
  };
}

/** `200`, `"200-299,301"` or a list of those. */
function readStatuses(r: Reader, v: Val | undefined): [number, number][] | undefined {
  if (v === undefined) return undefined;
  const parts = isScalar(v.node) ? [v] : r.seq(v, "use e.g. 200-299,301 or [200, 301]");
  if (parts === undefined) return undefined;
  const out: [number, number][] = [];
  let ok = true;
  for (const part of parts) {
    const raw = isScalar(part.node) ? part.node.value : undefined;
    const text = typeof raw === "number" || typeof raw === "string" ? String(raw) : undefined;
    try {
      if (text === undefined || text.trim() === "") throw new TypeError();
      out.push(...parseStatusList(text));
    } catch {
      r.problem(
        part.at,
        part.path,
        `${show(part.node)} is not a status or range; use e.g. 200 or 200-299,301`,
      );
      ok = false;
    }
  }
  if (ok && out.length === 0) {
    return r.problem(v.at, v.path, "needs at least one status; use e.g. 200 or 200-299,301");
  }
  return ok ? out : undefined;
}

/** A listen address already claimed by an earlier listener. */
export interface Claim {
  /** The listener that claims it, like `listeners[0]`. */
  readonly owner: string;
  readonly address: string;
  readonly transport: "tcp" | "udp";
  readonly hostname: string;
  readonly port: number;
}

const WILDCARDS = ["0.0.0.0", "::"];

/**
 * Records a listen address, or a problem when an earlier listener of the
 * same transport already has it (a wildcard host overlaps every host).
 * Port 0 never clashes: the system picks a free port.
 */
export function claimAddress(
  r: Reader,
  claims: Claim[],
  claim: Claim,
  at: number,
  path: string,
): void {
  const other = claims.find((c) =>
    c.transport === claim.transport && c.port === claim.port && claim.port !== 0 &&
    (c.hostname === claim.hostname || WILDCARDS.includes(c.hostname) ||
      WILDCARDS.includes(claim.hostname))
  );
  if (other !== undefined) {
    r.problem(
      at,
      path,
      `'${claim.address}' is already taken by ${other.owner} ('${other.address}'); give each listener its own port`,
    );
    return;
  }
  claims.push(claim);
}

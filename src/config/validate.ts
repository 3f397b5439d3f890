/**
 * The config file reader: YAML text in, a typed {@linkcode SidecarConfig} out,
 * or every problem with its line and column. Pure: no I/O.
 *
 * A file with top-level `listeners:` uses sidekick's schema (documented key by
 * key in `examples/sidekick.yaml`); a file with top-level `frontends:` or
 * `diagAddr:` is an iaido file and is translated (see `iaido.ts`).
 *
 * @module
 */

import { isScalar } from "npm:yaml@^2.9.1";
import { readAdminAddress } from "./admin.ts";
import { type Claim, claimAddress, type ListenerKind, readCluster } from "./_cluster.ts";
import { DEFAULT_GRACE_PERIOD_MS } from "./defaults.ts";
import { byPlace, type Fields, join, Reader, type Val } from "./_reader.ts";
import { IAIDO_TOP_KEYS, validateIaidoConfig } from "./iaido.ts";
import { closestMatch, listChoices, type ValidationResult } from "./problem.ts";
import {
  type HttpListenerSpec,
  type ListenerSpec,
  type LogSpec,
  type PerClientLimits,
  type ServerTlsSpec,
  type SidecarConfig,
  type UpstreamTlsSpec,
} from "./schema.ts";
import {
  DEFAULT_HTTP2,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  DEFAULT_LOG,
} from "./defaults.ts";
import { PER_CLIENT_KEYS, readPerClient } from "./_limits.ts";
import { httpListener, parseListenAddress, tcpListener, udpListener } from "./builders.ts";

export { DEFAULT_GRACE_PERIOD_MS };

export type { ValidationResult };

const TOP_KEYS = ["gracePeriod", "log", "listeners", "admin", "healthSocket"];
const LOG_KEYS = ["health", "trace", "errorsOnly", "statusCodes", "quiet", "json", "debug"];
const COMMON_KEYS = [
  "kind",
  "name",
  "address",
  "policy",
  "sites",
  "tiers",
  "health",
  "failbackDelay",
  "dns",
  "discovery",
];
const KINDS = ["http", "tcp", "udp"] as const;
const HTTP_KEYS = [
  ...COMMON_KEYS,
  "timeouts",
  "limits",
  "tls",
  "upstreamTls",
  "proxyHeaders",
  "metrics",
  "http2",
  "h2c",
];
const TCP_KEYS = [
  ...COMMON_KEYS,
  "connectTimeout",
  "idleTimeout",
  "maxAttempts",
  "maxConnections",
  "proxyProtocol",
  "drainDelay",
  "tls",
  "upstreamTls",
  "limits",
];
const UDP_KEYS = [...COMMON_KEYS, "flowIdle", "maxFlows", "limits"];
const KIND_KEYS: Record<ListenerKind | "any", readonly string[]> = {
  http: HTTP_KEYS,
  tcp: TCP_KEYS,
  udp: UDP_KEYS,
  any: [...new Set([...HTTP_KEYS, ...TCP_KEYS, ...UDP_KEYS])],
};
/** Where a key of another listener kind lives in this one. */
const INSTEAD: Record<string, string> = {
  "http:maxConnections": "limits.maxConnections",
  "http:maxAttempts": "limits.maxAttempts",
  "http:connectTimeout": "timeouts.connect",
  "http:idleTimeout": "timeouts.idle",
  "tcp:timeouts": "connectTimeout and idleTimeout",
  "udp:idleTimeout": "flowIdle",
  "udp:maxConnections": "maxFlows",
};

/**
 * Validates a config file's text and translates it into a configuration,
 * collecting every problem (not only the first), each with its line, column,
 * path and a message naming the bad value and what is accepted.
 *
 * @param text The YAML text.
 * @param file The file name to put in problems.
 * @returns The config with warnings, or the problems.
 *
 * @example Usage
 * ```ts
 * import { validateConfig } from "./validate.ts";
 * import { formatProblem } from "./problem.ts";
 * import assert from "node:assert/strict";
 *
 * const ok = validateConfig(
 *   "listeners:\n  - kind: tcp\n    address: 127.0.0.1:26257\n    tiers:\n      - endpoints: [127.0.0.1:26258]\n",
 *   "sidekick.yaml",
 * );
 * assert.ok("config" in ok && ok.config.listeners[0].kind === "tcp");
 *
 * const bad = validateConfig("listeners:\n  - polcy: least\n", "sidekick.yaml");
 * assert.ok("problems" in bad);
 * assert.equal(
 *   formatProblem(bad.problems[0]),
 *   "sidekick.yaml:2:5: listeners[0].polcy: unknown key 'polcy'; did you mean 'policy'?",
 * );
 * ```
 */
export function validateConfig(text: string, file: string): ValidationResult {
  const parsed = Reader.parse(text, file);
  if ("problems" in parsed) return parsed;
  const { reader: r, root } = parsed;
  if (root === undefined) {
    r.problem(0, "", "the file is empty; a config needs 'listeners:' (or iaido's 'frontends:')");
    return { problems: r.problems };
  }
  const keys = r.keys(root);
  const iaido = keys.includes("frontends") || keys.includes("diagAddr");
  if (iaido && !keys.includes("listeners")) return validateIaidoConfig(text, file);
  const config = readSidekick(r, root, iaido);
  if (r.problems.length > 0 || config === undefined) {
    return { problems: byPlace(r.problems) };
  }
  return { config, warnings: byPlace(r.warnings), format: "sidekick" };
}

function readSidekick(r: Reader, root: Val, mixed: boolean): SidecarConfig | undefined {
  const top = r.map(root, mixed ? [...TOP_KEYS, ...IAIDO_TOP_KEYS] : TOP_KEYS, (key) => {
    const near = closestMatch(key, [...TOP_KEYS, "frontends"]);
    return near === undefined ? undefined : `unknown key '${key}'; did you mean '${near}'?`;
  });
  if (top === undefined) return undefined;
  for (const key of ["frontends", "diagAddr"]) {
    if (mixed && top.has(key)) {
      r.problem(
        top.keyAt(key),
        key,
        `'${key}' is iaido's schema and 'listeners' is sidekick's; use one of them in a file`,
      );
    }
  }
  const log = readLog(r, top.get("log"));
  const gracePeriodMs = r.duration(top.get("gracePeriod")) ?? DEFAULT_GRACE_PERIOD_MS;
  const v = top.require("listeners", "list at least one listener, like - kind: http");
  const items = r.seq(v, "list the listeners, like - kind: http");
  if (v !== undefined && items?.length === 0) {
    r.problem(v.at, v.path, "needs at least one listener, like - kind: http");
  }
  const listeners: ListenerSpec[] = [];
  const claims: Claim[] = [];
  const names = new Map<string, string>();
  for (const item of items ?? []) {
    const l = readListener(r, item, claims, names);
    if (l !== undefined) listeners.push(l);
  }
  const adminFields = r.map(top.get("admin"), ["address"]);
  const admin = readAdminAddress(r, adminFields?.get("address"), listeners);
  const healthSocket = r.text(top.get("healthSocket"), "give a socket path like /run/sidelb.sock");
  return {
    listeners,
    log,
    gracePeriodMs,
    ...(admin === undefined ? {} : { admin }),
    ...(healthSocket ? { healthSocket } : {}),
  };
}

function readLog(r: Reader, v: Val | undefined): LogSpec {
  const f = r.map(v, LOG_KEYS);
  if (f === undefined) return DEFAULT_LOG;
  const traceVal = f.get("trace");
  const trace = traceVal !== undefined && isScalar(traceVal.node) && traceVal.node.value === false
    ? "off"
    : r.oneOf(traceVal, ["off", "all", "application", "minio"] as const, "a trace mode");
  const codesVal = f.get("statusCodes");
  const codes = codesVal !== undefined && isScalar(codesVal.node)
    ? [codesVal]
    : r.seq(codesVal, "use a list of statuses, like [500, 502]");
  return {
    health: r.bool(f.get("health")) ?? DEFAULT_LOG.health,
    trace: trace ?? DEFAULT_LOG.trace,
    errorsOnly: r.bool(f.get("errorsOnly")) ?? DEFAULT_LOG.errorsOnly,
    statusCodes: codes?.map((c) => r.int(c, 100, 599) ?? 0) ?? DEFAULT_LOG.statusCodes,
    quiet: r.bool(f.get("quiet")) ?? DEFAULT_LOG.quiet,
    json: r.bool(f.get("json")) ?? DEFAULT_LOG.json,
    debug: r.bool(f.get("debug")) ?? DEFAULT_LOG.debug,
  };
}

function misplacedKey(kind: ListenerKind): (key: string) => string | undefined {
  return (key) => {
    const instead = INSTEAD[`${kind}:${key}`];
    if (instead !== undefined) return `'${key}' is not for ${kind} listeners; use ${instead}`;
    const owners = KINDS.filter((k) => KIND_KEYS[k].includes(key));
    if (owners.length > 0) return `'${key}' is for ${listChoices(owners)} listeners, not ${kind}`;
    return undefined;
  };
}

function readListener(
  r: Reader,
  item: Val,
  claims: Claim[],
  names: Map<string, string>,
): ListenerSpec | undefined {
  // The kind decides which keys are valid, so it is read first; with a bad
  // kind, every listener key is accepted to avoid a cascade of problems.
  const kind = r.oneOf(r.peek(item, "kind"), KINDS, "a listener kind");
  const f = r.map(item, KIND_KEYS[kind ?? "any"], misplacedKey(kind ?? "http"));
  if (f === undefined) return undefined;
  const k: ListenerKind = kind ?? "http";
  const addressVal = f.get("address");
  const address = r.text(addressVal, "use HOST:PORT, like 127.0.0.1:8080") ??
    (k === "http" ? ":8080" : ":0");
  const addressPath = join(f.path, "address");
  let hostname = "0.0.0.0";
  let port = 0;
  try {
    ({ hostname, port } = parseListenAddress(address));
    claimAddress(
      r,
      claims,
      {
        owner: f.path,
        address,
        transport: k === "udp" ? "udp" : "tcp",
        hostname,
        port,
      },
      addressVal?.at ?? f.at,
      addressPath,
    );
  } catch (e) {
    r.problem(addressVal?.at ?? f.at, addressPath, (e as Error).message);
  }
  const nameVal = f.get("name");
  const name = r.text(nameVal, "use a short label") ?? `${k}:${address}`;
  if (nameVal !== undefined) {
    const before = names.get(name);
    if (before !== undefined) {
      r.problem(nameVal.at, nameVal.path, `name '${name}' is already used by ${before}`);
    }
    names.set(name, f.path);
  }
  const common = { name, hostname, port };
  if (k === "http") {
    const base = httpListener("0.0.0.0:0", []);
    return { ...base, ...common, cluster: readCluster(r, f, k, base.cluster), ...readHttp(r, f) };
  }
  if (k === "tcp") {
    const base = tcpListener("0.0.0.0:0", []);
    const tls = readServerTls(r, f);
    const upstreamTls = readUpstreamTls(r, f);
    return {
      ...base,
      ...common,
      cluster: readCluster(r, f, k, base.cluster),
      connectMs: r.duration(f.get("connectTimeout"), 1) ?? base.connectMs,
      idleMs: r.duration(f.get("idleTimeout")) ?? base.idleMs,
      maxAttempts: r.int(f.get("maxAttempts"), 1) ?? base.maxAttempts,
      maxConnections: r.int(f.get("maxConnections"), 0) ?? base.maxConnections,
      proxyProtocol: readProxyProtocol(r, f.get("proxyProtocol")) ?? base.proxyProtocol,
      ...drainDelay(r.duration(f.get("drainDelay"))),
      ...(tls === undefined ? {} : { tls }),
      ...(upstreamTls === undefined ? {} : { upstreamTls }),
      ...l4PerClient(r, f, "tcp"),
    };
  }
  const base = udpListener("0.0.0.0:0", []);
  return {
    ...base,
    ...common,
    cluster: readCluster(r, f, k, base.cluster),
    flowIdleMs: r.duration(f.get("flowIdle"), 1) ?? base.flowIdleMs,
    maxFlows: r.int(f.get("maxFlows"), 1) ?? base.maxFlows,
    ...l4PerClient(r, f, "udp"),
  };
}

/** A TCP or UDP listener's `limits:` (only the per-client keys; the others are listener keys there). */
function l4PerClient(r: Reader, f: Fields, kind: "tcp" | "udp"): { perClient?: PerClientLimits } {
  const l = r.map(
    f.get("limits"),
    PER_CLIENT_KEYS,
    (key) =>
      KIND_KEYS[kind].includes(key)
        ? `'${key}' is a ${kind} listener key, not under limits; move it up one level`
        : undefined,
  );
  const perClient = readPerClient(r, l);
  return perClient === undefined ? {} : { perClient };
}

/** `drainDelayMs` only when set, so that a file without the key gives the builder's spec. */
function drainDelay(ms: number | undefined): { drainDelayMs?: number } {
  return ms === undefined || ms === 0 ? {} : { drainDelayMs: ms };
}

function readProxyProtocol(r: Reader, v: Val | undefined): "off" | "v1" | "v2" | undefined {
  if (v !== undefined && isScalar(v.node) && v.node.value === false) return "off";
  return r.oneOf(v, ["off", "v1", "v2"] as const, "a PROXY protocol version");
}

function readHttp(
  r: Reader,
  f: Fields,
): Pick<
  HttpListenerSpec,
  | "timeouts"
  | "limits"
  | "tls"
  | "upstreamTls"
  | "proxyHeaders"
  | "metrics"
  | "perClient"
  | "http2"
  | "h2c"
> {
  const t = r.map(f.get("timeouts"), [
    "headerRead",
    "idle",
    "connect",
    "responseHeader",
    "requestBody",
    "responseWrite",
    "request",
  ]);
  const l = r.map(f.get("limits"), [
    "maxHeadBytes",
    "maxHeaders",
    "maxTargetBytes",
    "maxConnections",
    "maxAttempts",
    "poolIdlePerEndpoint",
    "poolIdle",
    ...PER_CLIENT_KEYS,
  ]);
  const perClient = readPerClient(r, l);
  const T = DEFAULT_HTTP_TIMEOUTS;
  const L = DEFAULT_HTTP_LIMITS;
  const tls = readServerTls(r, f);
  const proxyHeaders = r.bool(f.get("proxyHeaders"));
  return {
    ...(proxyHeaders === undefined ? {} : { proxyHeaders }),
    ...(perClient === undefined ? {} : { perClient }),
    timeouts: {
      headerReadMs: r.duration(t?.get("headerRead")) ?? T.headerReadMs,
      idleMs: r.duration(t?.get("idle")) ?? T.idleMs,
      connectMs: r.duration(t?.get("connect")) ?? T.connectMs,
      responseHeaderMs: r.duration(t?.get("responseHeader")) ?? T.responseHeaderMs,
      requestBodyMs: r.duration(t?.get("requestBody")) ?? T.requestBodyMs,
      responseWriteMs: r.duration(t?.get("responseWrite")) ?? T.responseWriteMs,
      requestMs: r.duration(t?.get("request")) ?? T.requestMs,
    },
    limits: {
      maxHeadBytes: r.int(l?.get("maxHeadBytes"), 1) ?? L.maxHeadBytes,
      maxHeaders: r.int(l?.get("maxHeaders"), 1) ?? L.maxHeaders,
      maxTargetBytes: r.int(l?.get("maxTargetBytes"), 1) ?? L.maxTargetBytes,
      maxConnections: r.int(l?.get("maxConnections"), 0) ?? L.maxConnections,
      maxAttempts: r.int(l?.get("maxAttempts"), 1) ?? L.maxAttempts,
      poolIdlePerEndpoint: r.int(l?.get("poolIdlePerEndpoint"), 0) ?? L.poolIdlePerEndpoint,
      poolIdleMs: r.duration(l?.get("poolIdle")) ?? L.poolIdleMs,
    },
    ...(tls === undefined ? {} : { tls }),
    ...(f.get("metrics") === undefined ? {} : { metrics: r.bool(f.get("metrics")) ?? true }),
    ...optionalBool(r, f, "http2", DEFAULT_HTTP2.http2),
    ...optionalBool(r, f, "h2c", DEFAULT_HTTP2.h2c),
    upstreamTls: readUpstreamTls(r, f) ?? { insecure: false },
  };
}

/** `{key: value}` when the file sets `key` (a bad value reads as `otherwise`, with its problem noted). */
function optionalBool<K extends string>(
  r: Reader,
  f: Fields,
  key: K,
  otherwise: boolean,
): { [P in K]?: boolean } {
  const v = f.get(key);
  return v === undefined ? {} : { [key]: r.bool(v) ?? otherwise } as { [P in K]?: boolean };
}

const PEM_FILE = "use the path of a PEM file";

/** A listener's `tls` (HTTP and TCP): the certificate served to clients. */
function readServerTls(r: Reader, f: Fields): ServerTlsSpec | undefined {
  const tls = r.map(f.get("tls"), ["cert", "key", "keyPassword"]);
  if (tls === undefined) return undefined;
  return {
    certFile: r.text(tls.require("cert", "give the certificate chain (PEM) file"), PEM_FILE) ?? "",
    keyFile: r.text(tls.require("key", "give the private key (PEM) file"), PEM_FILE) ?? "",
    ...(tls.get("keyPassword") === undefined
      ? {}
      : { keyPassword: r.text(tls.get("keyPassword"), "the key's password") ?? "" }),
  };
}

/** A listener's `upstreamTls` (HTTP and TCP): how endpoints are dialled with TLS. */
function readUpstreamTls(r: Reader, f: Fields): UpstreamTlsSpec | undefined {
  const up = r.map(f.get("upstreamTls"), ["ca", "cert", "key", "serverName", "insecure"]);
  if (up === undefined) return undefined;
  const certFile = r.text(up.get("cert"), PEM_FILE);
  const keyFile = r.text(up.get("key"), PEM_FILE);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? "cert" : "key";
    r.problem(up.at, join(up.path, missing), `is missing; 'cert' and 'key' go together (mTLS)`);
  }
  const caFile = r.text(up.get("ca"), PEM_FILE);
  const nameVal = up.get("serverName");
  const serverName = r.text(nameVal, "use a host name, like db.internal");
  if (serverName !== undefined && certFile !== undefined) {
    r.problem(
      nameVal?.at ?? up.at,
      join(up.path, "serverName"),
      "cannot go with a client certificate (Deno sends the dialled host as the name with one); " +
        "drop serverName, or name the endpoints by that host",
    );
  }
  return {
    ...(caFile === undefined ? {} : { caFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
    ...(serverName === undefined ? {} : { serverName }),
    insecure: r.bool(up.get("insecure")) ?? false,
  };
}

/**
 * The normalised config: any {@linkcode SidecarConfig} written back as
 * sidekick-schema YAML with every default filled in and durations in Go
 * syntax, and `sidekick check`, which validates a file's text and prints
 * that, or every problem.
 *
 * @module
 */

import { stringify } from "npm:yaml@^2.9.1";
import { endpointText, fullHealth, srvText } from "./_cluster.ts";
import { formatResilience } from "./_resilience.ts";
import { DEFAULT_DNS, DEFAULT_GRACE_PERIOD_MS, DEFAULT_HASH } from "./defaults.ts";
import { formatDuration } from "./duration.ts";
import { formatRate } from "./rate.ts";
import { formatProblem } from "./problem.ts";
import {
  type ClusterSpec,
  type HttpListenerSpec,
  type ListenerSpec,
  type PerClientLimits,
  type ServerTlsSpec,
  type SidecarConfig,
  type UpstreamTlsSpec,
} from "./schema.ts";
import { DEFAULT_LOG } from "./defaults.ts";
import { validateConfig } from "./validate.ts";

const d = formatDuration;

/**
 * Writes a configuration as sidekick-schema YAML with every key present, so
 * that reading it back with {@linkcode validateConfig} gives an equal config.
 *
 * @param config The configuration (from a file, flags or code).
 * @returns YAML text.
 * @throws {RangeError} When a duration is negative or not a whole number of ms.
 *
 * @example Usage
 * ```ts
 * import { formatConfig } from "./format.ts";
 * import { tcpListener } from "./builders.ts";
 * import assert from "node:assert/strict";
 * const text = formatConfig({ listeners: [tcpListener("127.0.0.1:26257", [["127.0.0.1:26258"]])] });
 * assert.ok(text.includes("address: 127.0.0.1:26257"));
 * assert.ok(text.includes("connectTimeout: 5s"));
 * ```
 */
export function formatConfig(config: SidecarConfig): string {
  const log = config.log ?? DEFAULT_LOG;
  return stringify({
    gracePeriod: d(config.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS),
    log: {
      health: log.health,
      trace: log.trace,
      errorsOnly: log.errorsOnly,
      statusCodes: [...log.statusCodes],
      quiet: log.quiet,
      json: log.json,
      debug: log.debug,
    },
    listeners: config.listeners.map(listener),
    ...(config.admin === undefined
      ? {}
      : { admin: { address: address(config.admin.hostname, config.admin.port) } }),
    ...(config.healthSocket === undefined ? {} : { healthSocket: config.healthSocket }),
  }, { lineWidth: 0 });
}

function address(hostname: string, port: number): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

function listener(l: ListenerSpec): Record<string, unknown> {
  const head = {
    kind: l.kind,
    name: l.name,
    address: address(l.hostname, l.port),
    ...cluster(l.cluster, l.kind),
  };
  if (l.kind === "http") return { ...head, ...http(l) };
  if (l.kind === "tcp") {
    return {
      ...head,
      connectTimeout: d(l.connectMs),
      idleTimeout: d(l.idleMs),
      maxAttempts: l.maxAttempts,
      maxConnections: l.maxConnections,
      proxyProtocol: l.proxyProtocol,
      drainDelay: d(l.drainDelayMs ?? 0),
      ...(l.tls === undefined ? {} : { tls: serverTls(l.tls) }),
      ...(l.upstreamTls === undefined ? {} : { upstreamTls: upstreamTls(l.upstreamTls) }),
      limits: perClient(l.perClient),
    };
  }
  return {
    ...head,
    flowIdle: d(l.flowIdleMs),
    maxFlows: l.maxFlows,
    limits: perClient(l.perClient),
  };
}

/** Per-client limits, written out even when off (0), so that every key shows. */
function perClient(p: PerClientLimits | undefined): Record<string, unknown> {
  if (p === undefined) return { perClientConnections: 0, perClientRate: "0" };
  return {
    perClientConnections: p.connections,
    perClientRate: formatRate(p.ratePerSec),
    ...(p.ratePerSec > 0 ? { perClientBurst: p.burst } : {}),
  };
}

function cluster(c: ClusterSpec, kind: ListenerSpec["kind"]): Record<string, unknown> {
  const h = fullHealth(c.health, kind);
  const dns = c.dns ?? DEFAULT_DNS;
  const sites = c.srv !== undefined && c.sites.length === 0 ? undefined : c.sites.map((s) => ({
    name: s.name,
    endpoints: s.endpoints.map((e) =>
      e.disabled || (e.weight ?? 1) !== 1
        ? {
          address: endpointText(e),
          ...(e.disabled ? { disabled: true } : {}),
          ...((e.weight ?? 1) !== 1 ? { weight: e.weight } : {}),
        }
        : endpointText(e)
    ),
    ...(s.healthPath === undefined ? {} : { healthPath: s.healthPath }),
    maxConnections: s.maxConnections ?? 0,
    forcePromotionAfter: d(s.forcePromotionAfterMs ?? 0),
  }));
  return {
    policy: c.policy === "hash"
      ? {
        name: "hash",
        key: (c.hash ?? DEFAULT_HASH).key,
        fallback: (c.hash ?? DEFAULT_HASH).fallback,
      }
      : c.policy,
    ...(sites === undefined ? {} : { [kind === "http" ? "sites" : "tiers"]: sites }),
    ...(c.srv === undefined ? {} : { discovery: { srv: srvText(c.srv) } }),
    health: {
      active: h.active,
      kind: h.kind,
      path: h.path,
      port: h.port,
      interval: d(h.intervalMs),
      timeout: d(h.timeoutMs),
      rise: h.rise,
      fall: h.fall,
      eject: d(h.ejectMs),
      statuses: (h.statuses ?? []).map(([lo, hi]) => lo === hi ? `${lo}` : `${lo}-${hi}`).join(","),
      optimistic: h.optimistic,
      udpPayload: h.udpPayload,
      ...(h.grpcService === undefined ? {} : { grpcService: h.grpcService }),
      ...formatResilience(h, d),
    },
    failbackDelay: d(c.failbackDelayMs ?? 0),
    dns: { perAddress: dns.perAddress, ttl: d(dns.ttlMs) },
  };
}

function http(l: HttpListenerSpec): Record<string, unknown> {
  const t = l.timeouts;
  const m = l.limits;
  return {
    timeouts: {
      headerRead: d(t.headerReadMs),
      idle: d(t.idleMs),
      connect: d(t.connectMs),
      responseHeader: d(t.responseHeaderMs),
      requestBody: d(t.requestBodyMs),
      responseWrite: d(t.responseWriteMs),
      request: d(t.requestMs),
    },
    limits: {
      maxHeadBytes: m.maxHeadBytes,
      maxHeaders: m.maxHeaders,
      maxTargetBytes: m.maxTargetBytes,
      maxConnections: m.maxConnections,
      maxAttempts: m.maxAttempts,
      poolIdlePerEndpoint: m.poolIdlePerEndpoint,
      poolIdle: d(m.poolIdleMs),
      ...perClient(l.perClient),
    },
    ...(l.tls === undefined ? {} : { tls: serverTls(l.tls) }),
    upstreamTls: upstreamTls(l.upstreamTls ?? { insecure: false }),
    ...(l.proxyHeaders === false ? { proxyHeaders: false } : {}),
    ...(l.metrics === false ? { metrics: false } : {}),
    ...(l.http2 === false ? { http2: false } : {}),
    ...(l.h2c === true ? { h2c: true } : {}),
  };
}

function serverTls(tls: ServerTlsSpec): Record<string, unknown> {
  return {
    cert: tls.certFile,
    key: tls.keyFile,
    ...(tls.keyPassword === undefined ? {} : { keyPassword: tls.keyPassword }),
  };
}

function upstreamTls(up: UpstreamTlsSpec): Record<string, unknown> {
  return {
    ...(up.caFile === undefined ? {} : { ca: up.caFile }),
    ...(up.certFile === undefined ? {} : { cert: up.certFile }),
    ...(up.keyFile === undefined ? {} : { key: up.keyFile }),
    ...(up.serverName === undefined ? {} : { serverName: up.serverName }),
    insecure: up.insecure,
  };
}

/** What {@linkcode checkConfigText} returns. */
export type CheckResult =
  | {
    readonly ok: true;
    /** The normalised config (sidekick schema, every default filled in), ending in a newline. */
    readonly normalized: string;
    /** Warnings, one `file:line:col: path: message` line each. */
    readonly warnings: readonly string[];
  }
  | {
    readonly ok: false;
    /** Every problem, one `file:line:col: path: message` line each. */
    readonly report: string;
  };

/**
 * `sidekick check`: validates a config file's text and gives the normalised
 * config (with a comment line naming the file and its schema), or every
 * problem, one per line.
 *
 * @param text The file's YAML text.
 * @param file The file name for the report.
 * @returns The normalised YAML with warnings, or the report.
 *
 * @example Usage
 * ```ts
 * import { checkConfigText } from "./format.ts";
 * import assert from "node:assert/strict";
 * const bad = checkConfigText("listeners:\n  - kind: tcp\n    policy: fast\n", "s.yaml");
 * assert.ok(!bad.ok);
 * assert.equal(
 *   bad.report,
 *   "s.yaml:2:5: listeners[0].tiers: is missing; list the tiers in failover order, each with endpoints: [HOST:PORT]\n" +
 *     "s.yaml:3:13: listeners[0].policy: 'fast' is not a policy; use least, random, round-robin, p2c or hash",
 * );
 * ```
 */
export function checkConfigText(text: string, file: string): CheckResult {
  const result = validateConfig(text, file);
  if ("problems" in result) {
    return { ok: false, report: result.problems.map(formatProblem).join("\n") };
  }
  const schema = result.format === "iaido" ? " (written in iaido's schema)" : "";
  return {
    ok: true,
    normalized: `# ${file}${schema}, normalised by sidekick check: every default is filled in.\n` +
      formatConfig(result.config),
    warnings: result.warnings.map(formatProblem),
  };
}

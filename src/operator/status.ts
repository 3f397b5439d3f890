/**
 * The admin listener's `GET /status` document: a pure function of
 * {@linkcode SidecarStats}, the configuration and a clock, so that the page,
 * the JSON and iaido's `/statusz` all say the same thing.
 *
 * @module
 */

import type { ListenerSpec, SidecarConfig } from "../config/schema.ts";
import type { LatencyHistogram } from "../observe/stats.ts";
import type { EndpointStats, ListenerStats, SidecarStats } from "../sidecar.ts";
import { VERSION } from "../observe/build_info.ts";

/**
 * One endpoint in {@linkcode StatusDocument}.
 *
 * @example Usage
 * ```ts
 * import type { EndpointStatus } from "./status.ts";
 * const e: EndpointStatus = {
 *   endpoint: "http://127.0.0.1:9000", status: "up", inFlight: 0, requests: 1, errors: 0,
 *   failures: 0, rxBytes: 10, txBytes: 20, latencyMs: { p50: 1, p99: 2 }, downtimeSeconds: 0,
 *   statusSince: null, lastProbe: null,
 * };
 * ```
 */
export interface EndpointStatus {
  /** `scheme://host:port`. */
  readonly endpoint: string;
  /** `up`, `down`, or `draining` (takes no new work). */
  readonly status: "up" | "down" | "draining";
  /** Requests, connections or flows in flight. */
  readonly inFlight: number;
  /** Requests (connections, flows) sent to it. */
  readonly requests: number;
  /** Answered with a status >= 400 or failed in transport. */
  readonly errors: number;
  /** Transport failures on real traffic. */
  readonly failures: number;
  /** Bytes from clients. */
  readonly rxBytes: number;
  /** Bytes to clients. */
  readonly txBytes: number;
  /** Latency quantiles estimated from the histogram, in ms; null before any request. */
  readonly latencyMs: { readonly p50: number; readonly p99: number } | null;
  /** Total time down, the current downtime included. */
  readonly downtimeSeconds: number;
  /** When the status last changed (ISO 8601), or null when unknown. */
  readonly statusSince: string | null;
  /** The last active probe: passed, what it saw, when (ISO 8601). */
  readonly lastProbe:
    | { readonly passed: boolean; readonly detail: string; readonly at: string }
    | null;
  /** Outlier ejections over its life; present once there was one. */
  readonly ejections?: number;
}

/**
 * One listener in {@linkcode StatusDocument}.
 *
 * @example Usage
 * ```ts
 * import type { ListenerStatus } from "./status.ts";
 * const l: ListenerStatus = {
 *   name: "db", kind: "tcp", address: "127.0.0.1:26257", policy: "least", connections: 0,
 *   servingSite: null, failovers: 0, failbacks: 0, retries: 0, ownResponses: {}, check: "tcp connect",
 *   checkIntervalMs: 5000, sites: [],
 * };
 * ```
 */
export interface ListenerStatus {
  /** Its name. */
  readonly name: string;
  /** `http`, `tcp` or `udp`. */
  readonly kind: string;
  /** `host:port` it listens on, or null when not bound. */
  readonly address: string | null;
  /** Endpoint choice inside a site. */
  readonly policy: string;
  /** Client connections (UDP: flows) open now. */
  readonly connections: number;
  /** The site that takes new work, or null when none is available. */
  readonly servingSite: string | null;
  /** Times work moved to a later site. */
  readonly failovers: number;
  /** Times work moved back to an earlier site. */
  readonly failbacks: number;
  /** Attempts on another endpoint after one failed (HTTP). */
  readonly retries: number;
  /** Responses sidekick wrote itself, by status. */
  readonly ownResponses: Readonly<Record<string, number>>;
  /** How endpoints are checked: `http GET /path`, `tcp connect`, `udp`, or `off` (passive only). */
  readonly check: string;
  /** Base interval of the active checks, in ms (0 when off). */
  readonly checkIntervalMs: number;
  /** Sites (tiers) in failover order. */
  readonly sites: readonly {
    readonly name: string;
    readonly serving: boolean;
    readonly endpoints: readonly EndpointStatus[];
  }[];
}

/**
 * What `GET /status` answers.
 *
 * @example Usage
 * ```ts
 * import type { StatusDocument } from "./status.ts";
 * const d: StatusDocument = {
 *   version: "0.1.0", state: "running", time: new Date(0).toISOString(), uptimeSeconds: 0,
 *   reloads: { succeeded: 0, failed: 0, last: null, lastError: null }, listeners: [],
 * };
 * ```
 */
export interface StatusDocument {
  /** sidekick's version. */
  readonly version: string;
  /** `starting`, `running`, `draining`, ... */
  readonly state: string;
  /** When the document was made (ISO 8601). */
  readonly time: string;
  /** Since the sidecar was created. */
  readonly uptimeSeconds: number;
  /** Reloads so far. */
  readonly reloads: {
    readonly succeeded: number;
    readonly failed: number;
    readonly last: string | null;
    readonly lastError: string | null;
  };
  /** Every listener, in config order. */
  readonly listeners: readonly ListenerStatus[];
}

/**
 * Estimates a quantile from a histogram the way Prometheus'
 * `histogram_quantile` does: linear inside the bucket that holds the rank;
 * ranks above the last bound give the last bound.
 *
 * @param q The quantile, 0..1.
 * @param h The histogram.
 * @returns The estimate in seconds, or null for an empty histogram.
 *
 * @example Usage
 * ```ts
 * import { histogramQuantile } from "./status.ts";
 * import assert from "node:assert/strict";
 * assert.equal(histogramQuantile(0.5, { bounds: [1, 2], counts: [0, 4, 0], sum: 6 }), 1.5);
 * ```
 */
export function histogramQuantile(q: number, h: LatencyHistogram): number | null {
  let total = 0;
  for (let i = 0; i < h.counts.length; i++) total += h.counts[i];
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    const n = h.counts[i];
    if (seen + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : h.bounds[i - 1];
      return lower + (h.bounds[i] - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return h.bounds.at(-1) ?? null;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

function endpointStatus(e: EndpointStats): EndpointStatus {
  const p50 = e.latency === undefined ? null : histogramQuantile(0.5, e.latency);
  const p99 = e.latency === undefined ? null : histogramQuantile(0.99, e.latency);
  const probe = e.lastProbe ?? null;
  return {
    endpoint: e.endpoint,
    status: e.draining ? "draining" : e.status,
    inFlight: e.inFlight,
    requests: e.requests,
    errors: e.errors ?? 0,
    failures: e.failures,
    rxBytes: e.rxBytes ?? 0,
    txBytes: e.txBytes ?? 0,
    latencyMs: p50 === null || p99 === null
      ? null
      : { p50: round(p50 * 1000, 3), p99: round(p99 * 1000, 3) },
    downtimeSeconds: round((e.downtimeMs ?? 0) / 1000, 3),
    statusSince: e.wentUp || e.wentDown ? iso(e.since) : null,
    lastProbe: probe === null
      ? null
      : { passed: probe.passed, detail: probe.detail, at: iso(probe.at)! },
    ...((e.ejections ?? 0) > 0 ? { ejections: e.ejections } : {}),
  };
}

function describeCheck(spec: ListenerSpec | undefined): [string, number] {
  if (spec === undefined) return ["unknown", 0];
  const h = spec.cluster.health;
  if (!h.active) return ["off (passive ejection only)", 0];
  const kind = h.kind ?? spec.kind;
  const port = h.port > 0 ? ` on port ${h.port}` : "";
  if (kind === "http") return [`http GET ${h.path}${port}`, h.intervalMs];
  if (kind === "grpc") return [`grpc Health/Check '${h.grpcService ?? ""}'${port}`, h.intervalMs];
  return [kind === "tcp" ? `tcp connect${port}` : `udp datagram${port}`, h.intervalMs];
}

function listenerStatus(l: ListenerStats, spec: ListenerSpec | undefined): ListenerStatus {
  const [check, checkIntervalMs] = describeCheck(spec);
  const names = l.sites ?? [];
  const siteCount = Math.max(names.length, ...l.endpoints.map((e) => e.site + 1));
  const serving = l.servingSite ?? -1;
  const address = l.address === null
    ? null
    : `${
      l.address.hostname.includes(":") ? `[${l.address.hostname}]` : l.address.hostname
    }:${l.address.port}`;
  return {
    name: l.name,
    kind: l.kind,
    address,
    policy: l.policy ?? "least",
    connections: l.connections,
    servingSite: serving >= 0 ? names[serving] ?? `site${serving + 1}` : null,
    failovers: l.failovers ?? 0,
    failbacks: l.failbacks ?? 0,
    retries: l.retries ?? 0,
    ownResponses: Object.fromEntries([...(l.ownResponses ?? [])].map(([s, n]) => [String(s), n])),
    check,
    checkIntervalMs,
    sites: Array.from({ length: siteCount }, (_, i) => ({
      name: names[i] ?? `site${i + 1}`,
      serving: i === serving,
      endpoints: l.endpoints.filter((e) => e.site === i).map(endpointStatus),
    })),
  };
}

/**
 * Builds the `GET /status` document.
 *
 * @param stats The sidecar's stats.
 * @param config The configuration in force (how endpoints are checked).
 * @param now The current time (ms since the epoch).
 * @returns The document, ready for `JSON.stringify`.
 *
 * @example Usage
 * ```ts
 * import { statusDocument } from "./status.ts";
 * import assert from "node:assert/strict";
 * const doc = statusDocument({ state: "running", listeners: [], createdAt: 0 }, { listeners: [] }, 5000);
 * assert.equal(doc.uptimeSeconds, 5);
 * ```
 */
export function statusDocument(
  stats: SidecarStats,
  config: SidecarConfig,
  now: number,
): StatusDocument {
  const r = stats.reloads;
  return {
    version: VERSION,
    state: stats.state,
    time: new Date(now).toISOString(),
    uptimeSeconds: round((now - (stats.createdAt ?? now)) / 1000, 3),
    reloads: {
      succeeded: r?.succeeded ?? 0,
      failed: r?.failed ?? 0,
      last: iso(r?.lastAt),
      lastError: r?.lastError ?? null,
    },
    listeners: stats.listeners.map((l) =>
      listenerStatus(l, config.listeners.find((s) => s.name === l.name))
    ),
  };
}

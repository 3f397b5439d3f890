/**
 * The stats types: what `Sidecar.stats()` returns, in one low place so that
 * every observer (metrics, the admin listener, the terminal table) and the
 * composition root name them without importing each other.
 *
 * @module
 */

import type { ListenerSpec } from "../config/schema.ts";
import type { ProbeOutcome } from "../health/checker.ts";

export type { ProbeOutcome };

/**
 * A request (connection) duration histogram: per-bucket counts, not
 * cumulative, with one more count for `+Inf` after the last bound.
 *
 * @example Usage
 * ```ts
 * import type { LatencyHistogram } from "./stats.ts";
 * const h: LatencyHistogram = { bounds: [0.1, 1], counts: [3, 1, 0], sum: 0.9 };
 * ```
 */
export interface LatencyHistogram {
  /** Upper bounds in seconds, ascending. */
  readonly bounds: readonly number[];
  /** `bounds.length + 1` counts; the last is above every bound. */
  readonly counts: ArrayLike<number>;
  /** Sum of the observed durations (seconds). */
  readonly sum: number;
}

/**
 * Reloads of a running sidecar (SIGHUP, a changed file), successful or not.
 *
 * @example Usage
 * ```ts
 * import type { ReloadStats } from "./stats.ts";
 * const r: ReloadStats = { succeeded: 1, failed: 0, lastAt: Date.now(), lastError: null };
 * ```
 */
export interface ReloadStats {
  /** Reloads that took effect. */
  readonly succeeded: number;
  /** Reloads that failed (bad file, bind error); the previous config kept serving. */
  readonly failed: number;
  /** When the last reload (either outcome) finished, ms since the epoch; null before any. */
  readonly lastAt: number | null;
  /** Why the last reload failed, or null when it succeeded (or none ran). */
  readonly lastError: string | null;
}

/**
 * What {@linkcode EndpointStats} reports beyond load and status: counters,
 * downtime, the last probe and latency.
 *
 * @example Usage
 * ```ts
 * import type { EndpointDetails } from "./stats.ts";
 * const d: EndpointDetails = { errors: 0, rxBytes: 10, txBytes: 20, downtimeMs: 0 };
 * ```
 */
export interface EndpointDetails {
  /** Requests answered with a status >= 400, or failed in transport. */
  readonly errors?: number;
  /** Bytes from clients for work sent here. */
  readonly rxBytes?: number;
  /** Bytes to clients for work sent here. */
  readonly txBytes?: number;
  /** When the health status last changed (ms, the runtime's clock). */
  readonly since?: number;
  /** Time spent down after having been up (ms), the current outage included. */
  readonly downtimeMs?: number;
  /** The last completed outage (ms). @default 0 */
  readonly lastDowntimeMs?: number;
  /** Shortest request duration (ms); undefined before the first. */
  readonly minLatencyMs?: number;
  /** Longest request duration (ms); undefined before the first. */
  readonly maxLatencyMs?: number;
  /** Changes of health status to up. */
  readonly wentUp?: number;
  /** Changes of health status to down. */
  readonly wentDown?: number;
  /** The last active probe's outcome (null before the first, or with probes off). */
  readonly lastProbe?: ProbeOutcome | null;
  /** Durations of the work it served. */
  readonly latency?: LatencyHistogram;
  /** Outlier ejections over its life. @default 0 */
  readonly ejections?: number;
}

/**
 * What {@linkcode ListenerStats} reports beyond connections and endpoints:
 * policy, sites, failovers and sidekick's own responses.
 *
 * @example Usage
 * ```ts
 * import type { ListenerDetails } from "./stats.ts";
 * const d: ListenerDetails = { policy: "least", sites: ["site1"], servingSite: 0 };
 * ```
 */
export interface ListenerDetails {
  /** The balancing policy inside a site. */
  readonly policy?: string;
  /** Site (tier) names, by index. */
  readonly sites?: readonly string[];
  /** The site that takes new work (-1: none available). */
  readonly servingSite?: number;
  /** Times the serving site moved to a later site. */
  readonly failovers?: number;
  /** Times the serving site moved back to an earlier site. */
  readonly failbacks?: number;
  /** Attempts on another endpoint after one failed (HTTP). */
  readonly retries?: number;
  /** Responses sidekick wrote itself (HTTP: 502, 504, 400, 414, 431, its own paths), by status. */
  readonly ownResponses?: ReadonlyMap<number, number>;
}

/**
 * Where a sidecar is in its life: `created` (nothing runs), `starting`
 * (first probes, binding), `running`, `draining` (listeners closed, work in
 * flight finishing, `/v1/health` answers 503), `closed`.
 */
export type SidecarState = "created" | "starting" | "running" | "draining" | "closed";

/**
 * A point-in-time view of one endpoint.
 *
 * @example Usage
 * ```ts
 * import type { EndpointStats } from "./stats.ts";
 * const s: EndpointStats = { endpoint: "http://127.0.0.1:9000", site: 0, status: "up", inFlight: 0, requests: 1, failures: 0 };
 * ```
 */
export interface EndpointStats extends EndpointDetails {
  /** `scheme://host:port`. */
  readonly endpoint: string;
  /** Index of its site. */
  readonly site: number;
  /**
   * "down" while probes fail, and also while the endpoint is ejected after a
   * transport error on real traffic (probes off); "up" when it takes traffic.
   */
  readonly status: "up" | "down";
  /** In flight now (requests, connections or UDP flows). */
  readonly inFlight: number;
  /** Requests (connections, flows) sent to it. */
  readonly requests: number;
  /** Transport failures seen. */
  readonly failures: number;
  /** Takes no new work (`disabled` in the config). @default false */
  readonly draining?: boolean;
}

/**
 * A point-in-time view of one listener.
 *
 * @example Usage
 * ```ts
 * import type { ListenerStats } from "./stats.ts";
 * const s: ListenerStats = { name: "db", kind: "tcp", address: null, connections: 0, endpoints: [] };
 * ```
 */
export interface ListenerStats extends ListenerDetails {
  /** The listener's name. */
  readonly name: string;
  /** Its kind. */
  readonly kind: ListenerSpec["kind"];
  /** The bound address (null before `start`). */
  readonly address: Deno.NetAddr | null;
  /** Client connections open now (UDP: flows). */
  readonly connections: number;
  /** Its cluster's endpoints, site by site. */
  readonly endpoints: readonly EndpointStats[];
}

/**
 * A point-in-time view of the sidecar.
 *
 * @example Usage
 * ```ts
 * import type { SidecarStats } from "./stats.ts";
 * const s: SidecarStats = { state: "running", listeners: [] };
 * ```
 */
export interface SidecarStats {
  /** The lifecycle state. */
  readonly state: SidecarState;
  /** One entry per listener, in config order. */
  readonly listeners: readonly ListenerStats[];
  /** When the sidecar was created (ms since the epoch). */
  readonly createdAt?: number;
  /** Reloads so far. */
  readonly reloads?: ReloadStats;
}

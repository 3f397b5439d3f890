/**
 * Point-in-time views of a listener unit's live state, built for
 * `Sidecar.stats()`: the one place where observers (metrics, the
 * admin listener, the terminal) read endpoints, sites and listeners from.
 *
 * @module
 */

import type { ProbeOutcome } from "../pool/endpoint.ts";
import { DURATION_BUCKETS } from "../pool/endpoint.ts";
import { HttpProxy } from "../proxy/http/server.ts";
import type { EndpointStats, ListenerStats } from "../sidecar.ts";
import type { ListenerUnit } from "./unit.ts";

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
  /** Total time down (ms), the current downtime included. */
  readonly downtimeMs?: number;
  /** Changes of health status to up. */
  readonly wentUp?: number;
  /** Changes of health status to down. */
  readonly wentDown?: number;
  /** The last active probe's outcome (null before the first, or with probes off). */
  readonly lastProbe?: ProbeOutcome | null;
  /** Durations of the work it served. */
  readonly latency?: LatencyHistogram;
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
 * A listener unit as `Sidecar.stats()` reports it.
 *
 * @param unit The unit.
 * @param now The current time (ms, the runtime's clock).
 * @returns Its stats.
 *
 * @example Usage
 * ```ts ignore
 * const listeners = units.map((u) => unitStats(u, runtime.now()));
 * ```
 */
export function unitStats(unit: ListenerUnit, now: number): ListenerStats {
  const cluster = unit.cluster;
  const serving = cluster.servingSite();
  return {
    name: unit.spec.name,
    kind: unit.spec.kind,
    address: unit.address,
    connections: unit.proxy.connections,
    policy: cluster.spec.policy,
    sites: cluster.sites.map((_, i) => cluster.spec.sites[i]?.name ?? `site${i + 1}`),
    servingSite: serving,
    failovers: cluster.failovers,
    failbacks: cluster.failbacks,
    retries: cluster.retries,
    ownResponses: unit.proxy instanceof HttpProxy ? new Map(unit.proxy.ownResponses) : new Map(),
    endpoints: cluster.sites.flatMap((site, i) =>
      site.map((e): EndpointStats => {
        const down = e.health.status === "down";
        // Down since start without a failed probe yet is "not known", not downtime.
        const current = down && (e.wentDown > 0 || e.lastProbe?.passed === false)
          ? now - e.health.since
          : 0;
        return {
          endpoint: e.key,
          site: i,
          status: e.health.status === "up" && e.ejectedUntil <= now ? "up" : "down",
          inFlight: e.inFlight,
          requests: e.requests,
          failures: e.failures,
          draining: e.draining,
          errors: e.errors,
          rxBytes: e.rxBytes,
          txBytes: e.txBytes,
          since: e.health.since,
          downtimeMs: e.downtimeMs + current,
          wentUp: e.wentUp,
          wentDown: e.wentDown,
          lastProbe: e.lastProbe,
          latency: { bounds: DURATION_BUCKETS, counts: [...e.durationCounts], sum: e.durationSum },
        };
      })
    ),
  };
}

/**
 * Point-in-time views of a listener unit's live state, built for
 * `Sidecar.stats()`: the one place where observers (metrics, the
 * admin listener, the terminal) read endpoints, sites and listeners from.
 *
 * @module
 */

import { DURATION_BUCKETS } from "../balance/endpoint.ts";
import type { EndpointStats, ListenerStats } from "../observe/stats.ts";
import type { ListenerUnit } from "./unit.ts";

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
  const core = unit.proxy.stats();
  const serving = cluster.servingSite();
  return {
    name: unit.spec.name,
    kind: unit.spec.kind,
    address: unit.address,
    connections: core.connections,
    policy: cluster.spec.policy,
    sites: cluster.sites.map((_, i) => cluster.spec.sites[i]?.name ?? `site${i + 1}`),
    servingSite: serving,
    failovers: cluster.failovers,
    failbacks: cluster.failbacks,
    retries: cluster.retries,
    ownResponses: new Map(core.ownResponses),
    endpoints: cluster.sites.flatMap((site, i) =>
      site.map((e): EndpointStats => {
        const down = e.health.status === "down";
        // An outage in progress counts once the endpoint had been up: starting down is not one.
        const current = down && e.wentDown > 0 ? now - e.health.since : 0;
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
          lastDowntimeMs: e.lastDowntimeMs,
          ...(e.minSeconds === Infinity
            ? {}
            : { minLatencyMs: e.minSeconds * 1000, maxLatencyMs: e.maxSeconds * 1000 }),
          wentUp: e.wentUp,
          wentDown: e.wentDown,
          lastProbe: e.lastProbe,
          latency: { bounds: DURATION_BUCKETS, counts: [...e.durationCounts], sum: e.durationSum },
          ejections: e.ejections,
        };
      })
    ),
  };
}

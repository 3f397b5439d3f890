/**
 * The settings of an HTTP listener ({@linkcode HttpProxy}'s options) and
 * what its parts are made with, derived from its spec: the upstream
 * keep-alive pool, the HTTP/2 upstream sessions, the working-memory pool
 * and the sweeper's period.
 *
 * @module
 */

import type { Clock } from "../../pool/clock.ts";
import type { HttpListenerSpec, LogSpec } from "../../config/schema.ts";
import type { TraceRecord } from "../../observe/log.ts";
import type { UpstreamTls } from "../../pool/dial.ts";
import type { UpstreamPoolOptions } from "./upstream_pool.ts";
import type { H2UpstreamOptions } from "./h2_upstream.ts";
import { ScratchPool } from "./scratch.ts";
import type { CertificatePair } from "../tls_listener.ts";
import { renderMetrics } from "../../observe/metrics.ts";
import type { Cluster } from "../../balance/cluster.ts";
import type { TimeoutCounts } from "./stall.ts";

/**
 * Options of `HttpProxy` (`server.ts`).
 *
 * @example Usage
 * ```ts
 * import type { HttpProxyOptions } from "./server_options.ts";
 * import { DEFAULT_LOG } from "../../config/defaults.ts";
 * const options: HttpProxyOptions = {
 *   log: { ...DEFAULT_LOG, trace: "all" },
 *   onTrace: (r) => console.log(r.method, r.path, r.status),
 * };
 * ```
 */
export interface HttpProxyOptions {
  /**
   * Log settings: tracing is on when `trace` is not "off" (and not `quiet`),
   * filtered and formatted as they say. @default no tracing
   */
  readonly log?: LogSpec | undefined;
  /**
   * Takes each traced request. @default each record formatted as `log` says
   * and written with `console.log`
   */
  readonly onTrace?: ((record: TraceRecord) => void) | undefined;
  /**
   * Renders `/.prometheus/metrics` (e.g. every listener of a sidecar).
   * @default this listener's cluster
   */
  readonly metrics?: (() => string) | undefined;
  /**
   * Upstream TLS material for https endpoints; also installed as the
   * cluster's `tls`, so health probes use it. @default loaded once, now,
   * from `spec.upstreamTls`
   */
  readonly upstreamTls?: UpstreamTls;
  /**
   * A certificate to serve instead of `spec.tls`'s files (e.g. a generated
   * one); it is also served at `/v1/certificates`.
   */
  readonly certificate?: CertificatePair | undefined;
  /** How often the `spec.tls` files are checked for changes (ms). @default 5000 */
  readonly certCheckMs?: number;
  /** Hears of certificate reloads and of reloads that failed. */
  readonly onNotice?: ((message: string) => void) | undefined;
  /** Time and timers: deadlines, the sweeper, the grace period. @default SYSTEM_CLOCK */
  readonly clock?: Clock | undefined;
}

/**
 * The upstream pool's settings from a spec.
 *
 * @param spec The listener's spec.
 * @param tls Upstream TLS material for https endpoints.
 * @param fixed What the pool keeps across reloads.
 * @returns The pool's options.
 *
 * @example Usage
 * ```ts ignore
 * import { poolOptions } from "./server_options.ts";
 * pool.configure(poolOptions(spec, tls, { onNotice: undefined, addresses: cluster.addresses }));
 * ```
 */
export function poolOptions(
  spec: HttpListenerSpec,
  tls: UpstreamTls | undefined,
  fixed: Pick<UpstreamPoolOptions, "onNotice" | "addresses">,
): UpstreamPoolOptions {
  return {
    maxIdlePerEndpoint: spec.limits.poolIdlePerEndpoint,
    idleMs: spec.limits.poolIdleMs,
    connectMs: spec.timeouts.connectMs,
    tls,
    ...fixed,
  };
}

/**
 * The HTTP/2 upstream sessions' settings from a spec (idle like the keep-alive pool).
 *
 * @param spec The listener's spec.
 * @param tls Upstream TLS material for h2 endpoints.
 * @param clock The listener's clock.
 * @param addresses Stale-on-error addresses, shared with the cluster.
 * @returns The sessions' options.
 *
 * @example Usage
 * ```ts ignore
 * import { h2Options } from "./server_options.ts";
 * const h2 = new H2Upstream(h2Options(spec, tls, clock, cluster.addresses));
 * ```
 */
export function h2Options(
  spec: HttpListenerSpec,
  tls: UpstreamTls | undefined,
  clock: Clock,
  addresses: H2UpstreamOptions["addresses"],
): H2UpstreamOptions {
  return {
    connectMs: spec.timeouts.connectMs,
    idleMs: spec.limits.poolIdleMs,
    clock,
    tls,
    addresses,
  };
}

/** Bytes of working memory a listener keeps for reuse (about 150 scratches at the default limits). */
const SCRATCH_POOL_BYTES = 4 * 1024 * 1024;

/**
 * Request head buffers sized for a spec's limits.
 *
 * @param spec The listener's spec.
 * @returns A new pool of per-connection working memory.
 *
 * @example Usage
 * ```ts ignore
 * import { scratchFor } from "./server_options.ts";
 * const scratch = scratchFor(spec);
 * ```
 */
export function scratchFor(spec: HttpListenerSpec): ScratchPool {
  return new ScratchPool(
    spec.limits.maxHeadBytes + 4096,
    spec.limits.maxHeaders,
    SCRATCH_POOL_BYTES,
  );
}

/**
 * How often the listener's sweeper runs (ms): a quarter of the shortest
 * timeout (idle timeouts capped at 4 s), between 25 ms and 1 s.
 *
 * @param spec The listener's spec.
 * @returns The sweeper's period.
 *
 * @example Usage
 * ```ts ignore
 * import { sweepPeriod } from "./server_options.ts";
 * clock.setInterval(sweep, sweepPeriod(spec));
 * ```
 */
export function sweepPeriod(spec: HttpListenerSpec): number {
  const t = spec.timeouts;
  const shortest = Math.min(
    ...[t.headerReadMs, t.idleMs, t.responseHeaderMs, spec.limits.poolIdleMs, 4000].filter((
      x,
    ) => x > 0),
    ...[t.requestBodyMs, t.responseWriteMs, t.requestMs].filter((x) => x > 0),
  );
  return Math.max(25, Math.min(1000, shortest / 4));
}

/**
 * Renders a listener's own `/.prometheus/metrics` (when no sidecar renders
 * every listener's): its cluster, its open connections and its timeouts.
 *
 * @param name The listener's name (the `listener` label).
 * @param cluster Its cluster.
 * @param clock Its clock (the render's time).
 * @param counts Its open connections and timeout counts, read at each render.
 * @returns The renderer.
 *
 * @example Usage
 * ```ts ignore
 * import { listenerMetrics } from "./server_options.ts";
 * const metrics = listenerMetrics(spec.name, cluster, clock, proxy);
 * metrics(); // the Prometheus text
 * ```
 */
export function listenerMetrics(
  name: string,
  cluster: Cluster,
  clock: Clock,
  counts: { readonly connections: number; readonly timeouts: TimeoutCounts },
): () => string {
  return () =>
    renderMetrics(
      [{
        listener: name,
        cluster,
        connections: () => counts.connections,
        timeouts: () => counts.timeouts,
      }],
      clock.now(),
    );
}

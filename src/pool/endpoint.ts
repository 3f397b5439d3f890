/**
 * Endpoints with live state. Configuration ({@linkcode EndpointSpec}) and
 * live state (load, health, ejection) are apart: live state is keyed by
 * address so that it can survive a reload.
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";
import { type HealthState, initialHealthState } from "../health/state.ts";

/**
 * Upper bounds (seconds) of the request duration histogram kept per
 * endpoint; one more bucket, `+Inf`, counts everything.
 */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/**
 * The outcome of one active probe, as kept for status pages.
 *
 * @example Usage
 * ```ts
 * import type { ProbeOutcome } from "./endpoint.ts";
 * const p: ProbeOutcome = { passed: false, detail: "connection refused", at: 0 };
 * ```
 */
export interface ProbeOutcome {
  /** Whether it passed. */
  readonly passed: boolean;
  /** The status seen or the error (e.g. "status 503", "connection refused"). */
  readonly detail: string;
  /** When it finished (ms, the runtime's clock). */
  readonly at: number;
}

/**
 * What a balancing policy may read of an endpoint.
 *
 * @example Usage
 * ```ts
 * import type { EndpointLoad } from "./endpoint.ts";
 * const load: EndpointLoad = { inFlight: 0 };
 * ```
 */
export interface EndpointLoad {
  /** Requests or connections in flight on this endpoint now. */
  readonly inFlight: number;
}

/**
 * One dialable endpoint and its live state.
 *
 * @example Usage
 * ```ts
 * import { Endpoint } from "./endpoint.ts";
 * const e = new Endpoint({ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }, true, 0);
 * e.isAvailable(0); // true: started up, not ejected
 * ```
 */
export class Endpoint implements EndpointLoad {
  /** The configured endpoint (replaced by a reload that keeps the address). */
  spec: EndpointSpec;
  /** `scheme://host:port`, the identity that live state is keyed by. */
  readonly key: string;
  /** The base path as bytes, put before every proxied HTTP target. */
  basePath: Uint8Array = new Uint8Array(0);
  /** In-flight requests or connections. */
  inFlight = 0;
  /** Health as last decided by the state machine. */
  health: HealthState;
  /** Passive ejection: unavailable until this time (ms, injected clock). */
  ejectedUntil = 0;
  /** Most in flight at once; 0 = unlimited. At the cap the endpoint is full and its tier spills. */
  maxInFlight = 0;
  /** Draining: takes nothing new (disabled in config, or removed by a reload or DNS). */
  draining = false;
  /** The request serial that last tried this endpoint (so a retry goes elsewhere). */
  triedSerial = 0;
  /** Requests that reached this endpoint, for stats. */
  requests = 0;
  /** Transport failures seen on this endpoint, for stats. */
  failures = 0;
  /** Requests answered with a status >= 400, and attempts that failed in transport. */
  errors = 0;
  /** Bytes received from clients for requests sent here (heads and bodies). */
  rxBytes = 0;
  /** Bytes sent to clients for requests sent here (heads and bodies). */
  txBytes = 0;
  /** Times the health status went from down to up. */
  wentUp = 0;
  /** Times the health status went from up to down. */
  wentDown = 0;
  /** Request durations: counts per {@linkcode DURATION_BUCKETS} bound (not cumulative), then +Inf. */
  readonly durationCounts: Float64Array = new Float64Array(DURATION_BUCKETS.length + 1);
  /** Sum of the request durations (seconds). */
  durationSum = 0;
  /** The health check path of this endpoint's site (base path not included). */
  healthPath = "/";
  /** The last active probe's outcome, or null before the first. */
  lastProbe: ProbeOutcome | null = null;
  /** Time spent down (ms) in downtimes that ended; the first up after start is not a downtime. */
  downtimeMs = 0;

  /**
   * Creates an endpoint with fresh live state.
   *
   * @param spec The configured endpoint.
   * @param startUp Whether it is available before any probe passed.
   * @param now The current time (ms).
   */
  constructor(spec: EndpointSpec, startUp: boolean, now: number) {
    this.spec = spec;
    this.key = endpointKey(spec);
    this.health = initialHealthState(startUp, now);
    this.configure(spec, 0);
  }

  /**
   * Takes the settings of a (re)loaded spec with the same address.
   *
   * @param spec The endpoint as configured now.
   * @param maxInFlight Its tier's cap (0 = unlimited).
   */
  configure(spec: EndpointSpec, maxInFlight: number): void {
    this.spec = spec;
    this.basePath = new TextEncoder().encode(spec.basePath);
    this.maxInFlight = maxInFlight;
    this.draining = spec.disabled === true;
  }

  /**
   * Replaces the health state, counting a change of status.
   *
   * @param next The new state.
   * @returns Whether the status (up or down) changed.
   */
  setHealth(next: HealthState): boolean {
    const changed = next.status !== this.health.status;
    if (changed && next.status === "up" && this.wentDown > 0) {
      this.downtimeMs += next.since - this.health.since;
    }
    this.health = next;
    if (changed) {
      if (next.status === "up") this.wentUp++;
      else this.wentDown++;
    }
    return changed;
  }

  /**
   * Records the duration of one request in the histogram.
   *
   * @param seconds How long the request took.
   */
  observe(seconds: number): void {
    const b = DURATION_BUCKETS;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    this.durationCounts[i]++;
    this.durationSum += seconds;
  }

  /**
   * Whether the endpoint is up as far as health goes: probes pass, not
   * ejected, not draining (its tier cap not considered).
   *
   * @param now The current time (ms).
   * @returns True when it would take traffic if it had room.
   */
  isUp(now: number): boolean {
    return this.health.status === "up" && this.ejectedUntil <= now && !this.draining;
  }

  /**
   * The one predicate every policy consults: healthy, not ejected, not
   * draining and not full.
   *
   * @param now The current time (ms).
   * @returns Whether new traffic may go here.
   */
  isAvailable(now: number): boolean {
    return this.health.status === "up" && this.ejectedUntil <= now && !this.draining &&
      (this.maxInFlight === 0 || this.inFlight < this.maxInFlight);
  }
}

/**
 * The identity of an endpoint: `scheme://host:port` (IPv6 in brackets).
 *
 * @param spec The endpoint.
 * @returns Its key.
 *
 * @example Usage
 * ```ts
 * import { endpointKey } from "./endpoint.ts";
 * import assert from "node:assert/strict";
 * assert.equal(endpointKey({ scheme: "http", host: "::1", port: 80, basePath: "" }), "http://[::1]:80");
 * ```
 */
export function endpointKey(spec: EndpointSpec): string {
  const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  return `${spec.scheme}://${host}:${spec.port}`;
}

/**
 * Endpoints with live state. Configuration ({@linkcode EndpointSpec}) and
 * live state (load, health, ejection) are apart: live state is keyed by
 * address so that it can survive a reload.
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";
import type { ProbeOutcome } from "../health/checker.ts";
import { type HealthState, initialHealthState } from "../health/state.ts";
import { DEFAULT_LATENCY_MS, observeLatency } from "./ewma.ts";
import { hashString } from "./key_hash.ts";
import type { OutlierSpec, PassiveSpec } from "../config/schema.ts";
import { countFailure, eject, noteOutcome, outlierTripped, PassiveRecord } from "./outlier.ts";

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
  /** Relative share of traffic. @default 1 */
  readonly weight?: number;
  /** Peak-EWMA latency estimate (ms) as of {@linkcode latencyAt} (`p2c`); unknown when absent. */
  readonly latencyMs?: number;
  /** When {@linkcode latencyMs} was estimated (ms, injected clock). */
  readonly latencyAt?: number;
  /** A stable 32-bit identity for rendezvous hashing (`hash`); by position when absent. */
  readonly hashId?: number;
}

/**
 * What a lease reports when it is released: the bytes it moved, the status
 * class it ended with and the transport error, if any.
 *
 * @example Usage
 * ```ts
 * import type { LeaseOutcome } from "./endpoint.ts";
 * const o: LeaseOutcome = { rx: 120, tx: 2048, status: 200, error: "none" };
 * ```
 */
export interface LeaseOutcome {
  /** Bytes received from the client for this endpoint. */
  readonly rx: number;
  /** Bytes sent to the client from this endpoint. */
  readonly tx: number;
  /** The HTTP status relayed (0 for TCP, UDP and failed attempts); >= 400 counts as an error. */
  readonly status: number;
  /** The transport error that ended the attempt, or `none`. */
  readonly error: TransportError;
  /**
   * When the final response head arrived (`performance.now()`), or 0 when
   * none did or the cluster does not track latency: an HTTP exchange's
   * latency ends there, not with its body.
   */
  readonly answeredAt?: number;
}

/**
 * How an attempt on an endpoint failed in transport: `connect` (refused,
 * unreachable, TLS), `timeout`, `reset` (closed or reset after sending),
 * `stale` (a pooled connection the endpoint had closed: not its fault),
 * `local` (sidekick's own resources, e.g. out of file descriptors: never the
 * endpoint's), or `none`.
 */
export type TransportError = "none" | "connect" | "timeout" | "reset" | "stale" | "local";

/**
 * One dialable endpoint and its live state. The state is private: the
 * cluster that owns the endpoint changes it (configure, health,
 * ejection, draining) and its leases account load and outcomes through
 * {@linkcode Endpoint.acquire} and {@linkcode Endpoint.settle}; everyone else
 * reads the getters. {@linkcode Endpoint.isAvailable} is the one availability
 * predicate.
 *
 * @example Usage
 * ```ts
 * import { Endpoint } from "./endpoint.ts";
 * const e = new Endpoint({ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }, true, 0);
 * e.isAvailable(0); // true: started up, not ejected
 * ```
 */
export class Endpoint implements EndpointLoad {
  /** `scheme://host:port`, the identity that live state is keyed by. */
  readonly key: string;
  /** The hash of {@linkcode key}: its identity for rendezvous hashing. */
  readonly hashId: number;
  #weight = 1;
  #latencyMs: number;
  #latencyAt: number;
  /** Whether a latency was observed yet (until then the estimate is a neutral placeholder). */
  #latencyKnown = false;
  #spec: EndpointSpec;
  #basePath: Uint8Array = new Uint8Array(0);
  #inFlight = 0;
  #health: HealthState;
  #ejectedUntil = 0;
  #maxInFlight = 0;
  #draining = false;
  #requests = 0;
  #failures = 0;
  #errors = 0;
  #rxBytes = 0;
  #txBytes = 0;
  #wentUp = 0;
  #wentDown = 0;
  readonly #durationCounts: Float64Array = new Float64Array(DURATION_BUCKETS.length + 1);
  #durationSum = 0;
  #minSeconds = Infinity;
  #maxSeconds = 0;
  #downtimeMs = 0;
  #lastDowntimeMs = 0;
  #healthErrors = 0;
  #lastProbe: ProbeOutcome | null = null;
  #healthPath = "/";
  readonly #passive = new PassiveRecord();

  /**
   * Creates an endpoint with fresh live state.
   *
   * @param spec The configured endpoint.
   * @param startUp Whether it is available before any probe passed.
   * @param now The current time (ms).
   */
  constructor(spec: EndpointSpec, startUp: boolean, now: number) {
    this.#spec = spec;
    this.key = endpointKey(spec);
    this.hashId = hashString(this.key);
    this.#latencyMs = DEFAULT_LATENCY_MS;
    this.#latencyAt = now;
    this.#health = initialHealthState(startUp, now);
    this.configure(spec, 0, "/");
  }

  /** The configured endpoint (replaced by a reload that keeps the address). */
  get spec(): EndpointSpec {
    return this.#spec;
  }
  /** The base path as bytes, put before every proxied HTTP target. */
  get basePath(): Uint8Array {
    return this.#basePath;
  }
  /** Requests or connections in flight: counted from the pick (a connect in progress included). */
  get inFlight(): number {
    return this.#inFlight;
  }
  /** Relative share of traffic (the spec's `weight`, 1 by default). */
  get weight(): number {
    return this.#weight;
  }
  /** Peak-EWMA latency estimate (ms) as of {@linkcode latencyAt}. */
  get latencyMs(): number {
    return this.#latencyMs;
  }
  /** When {@linkcode latencyMs} was estimated (ms, injected clock). */
  get latencyAt(): number {
    return this.#latencyAt;
  }
  /** Health as last decided by the state machine. */
  get health(): HealthState {
    return this.#health;
  }
  /** Passive ejection: unavailable until this time (ms, injected clock). */
  get ejectedUntil(): number {
    return this.#ejectedUntil;
  }
  /** Most in flight at once; 0 = unlimited. At the cap the endpoint is full and its tier spills. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }
  /** Draining: takes nothing new (disabled in config, or removed by a reload or DNS). */
  get draining(): boolean {
    return this.#draining;
  }
  /** Requests (or connections, flows) that reached this endpoint. */
  get requests(): number {
    return this.#requests;
  }
  /** Transport failures blamed on this endpoint. */
  get failures(): number {
    return this.#failures;
  }
  /** Requests answered with a status >= 400, and attempts that failed in transport. */
  get errors(): number {
    return this.#errors;
  }
  /** Bytes received from clients for this endpoint (heads and bodies, or the TCP/UDP payload). */
  get rxBytes(): number {
    return this.#rxBytes;
  }
  /** Bytes sent to clients from this endpoint. */
  get txBytes(): number {
    return this.#txBytes;
  }
  /** Times the health status went from down to up. */
  get wentUp(): number {
    return this.#wentUp;
  }
  /** Times the health status went from up to down. */
  get wentDown(): number {
    return this.#wentDown;
  }
  /** Request durations: counts per {@linkcode DURATION_BUCKETS} bound (not cumulative), then +Inf. */
  get durationCounts(): Readonly<Float64Array> {
    return this.#durationCounts;
  }
  /** Sum of the request durations (seconds). */
  get durationSum(): number {
    return this.#durationSum;
  }
  /** Shortest request duration seen (seconds); Infinity before the first. */
  get minSeconds(): number {
    return this.#minSeconds;
  }
  /** Longest request duration seen (seconds). */
  get maxSeconds(): number {
    return this.#maxSeconds;
  }
  /** Time spent down after having been up, over its life (ms); starting down does not count. */
  get downtimeMs(): number {
    return this.#downtimeMs;
  }
  /** The last completed down period (ms); 0 when it never came back from one. */
  get lastDowntimeMs(): number {
    return this.#lastDowntimeMs;
  }
  /** Health checks of this endpoint that failed (`sidekick_health_error_counts`). */
  get healthErrors(): number {
    return this.#healthErrors;
  }
  /** The last active probe's outcome, or null before the first. */
  get lastProbe(): ProbeOutcome | null {
    return this.#lastProbe;
  }
  /** The health check path of this endpoint's site (base path not included). */
  get healthPath(): string {
    return this.#healthPath;
  }
  /** Outlier ejections over its life (`sidekick_endpoint_ejections_total`). */
  get ejections(): number {
    return this.#passive.ejections;
  }
  /** Failures in a row after a connection was made, in the current passive window. */
  get passiveFailures(): number {
    return this.#passive.failures;
  }

  /**
   * Counts a failure seen after a connection was made (owner: the cluster).
   *
   * @param now The current time (ms).
   * @param threshold The passive failure threshold.
   * @returns Whether the threshold is reached.
   */
  countPassiveFailure(now: number, threshold: PassiveSpec): boolean {
    return countFailure(this.#passive, now, threshold);
  }

  /**
   * Notes how an attempt ended, for the passive counts (owner: the cluster, at a lease's release).
   *
   * @param status The HTTP status relayed (0 for none).
   * @param failed Whether it ended in a transport failure blamed on the endpoint.
   * @param rules Outlier ejection, when on.
   * @returns Whether a run of 5xx or gateway errors now calls for an outlier ejection.
   */
  noteOutcome(status: number, failed: boolean, rules: OutlierSpec | undefined): boolean {
    noteOutcome(this.#passive, status, failed);
    return rules !== undefined && outlierTripped(this.#passive, rules);
  }

  /**
   * Ejects the endpoint as an outlier (owner: the cluster).
   *
   * @param now The current time (ms).
   * @param rules Outlier ejection settings.
   * @returns When the ejection ends (ms).
   */
  ejectOutlier(now: number, rules: OutlierSpec): number {
    this.#ejectedUntil = eject(this.#passive, now, rules);
    return this.#ejectedUntil;
  }

  /**
   * Takes the settings of a (re)loaded spec with the same address (owner: the cluster).
   *
   * @param spec The endpoint as configured now.
   * @param maxInFlight Its tier's cap (0 = unlimited).
   * @param healthPath Its site's health check path.
   */
  configure(spec: EndpointSpec, maxInFlight: number, healthPath: string): void {
    this.#spec = spec;
    this.#basePath = new TextEncoder().encode(spec.basePath);
    this.#maxInFlight = maxInFlight;
    this.#draining = spec.disabled === true;
    this.#healthPath = healthPath;
    this.#weight = spec.weight ?? 1;
  }

  /**
   * Folds one observed latency into the peak-EWMA estimate (owner: the
   * cluster, when a lease reaches a TCP/UDP endpoint or an HTTP exchange
   * ends); the first one replaces the neutral estimate it started with.
   *
   * @param ms The latency observed (ms).
   * @param now The current time (ms, injected clock).
   */
  observeLatency(ms: number, now: number): void {
    // The first observation replaces the neutral placeholder outright.
    this.#latencyMs = this.#latencyKnown
      ? observeLatency(this.#latencyMs, this.#latencyAt, now, ms)
      : ms;
    this.#latencyKnown = true;
    this.#latencyAt = now;
  }

  /**
   * Sets the estimate of an endpoint nothing is known about yet, e.g. the
   * median of its site's (owner: the cluster, for endpoints a reload adds).
   *
   * @param ms The neutral estimate (ms).
   * @param now The current time (ms).
   */
  seedLatency(ms: number, now: number): void {
    this.#latencyMs = ms;
    this.#latencyAt = now;
  }

  /** Takes nothing new from now on (owner: the cluster, for removed endpoints). */
  drain(): void {
    this.#draining = true;
  }

  /**
   * Replaces the health state, counting a change of status (owner: the cluster).
   *
   * @param next The new state.
   * @returns Whether the status (up or down) changed.
   */
  setHealth(next: HealthState): boolean {
    const changed = next.status !== this.#health.status;
    // Coming back after having been up: a real outage (starting down is not one).
    if (changed && next.status === "up" && this.#wentDown > 0) {
      this.#lastDowntimeMs = next.since - this.#health.since;
      this.#downtimeMs += this.#lastDowntimeMs;
    }
    this.#health = next;
    if (changed) {
      if (next.status === "up") this.#wentUp++;
      else this.#wentDown++;
    }
    return changed;
  }

  /**
   * Records what one health probe saw (owner: the health checker).
   *
   * @param outcome Whether it passed, what it saw ("status 503", "connection refused", ...), when.
   */
  recordProbe(outcome: ProbeOutcome): void {
    this.#lastProbe = outcome;
    if (!outcome.passed) this.#healthErrors++;
  }

  /**
   * Counts a transport failure blamed on this endpoint; with `until` > 0 it
   * is also ejected until then (owner: the cluster).
   *
   * @param until Unavailable until this time (ms), or 0 to leave ejection alone.
   */
  blame(until: number): void {
    this.#failures++;
    if (until > 0) this.#ejectedUntil = until;
  }

  /** One more in flight (owner: a lease, at the pick). */
  acquire(): void {
    this.#inFlight++;
  }

  /** A request (connection, flow) reached the endpoint (owner: a lease, once connected). */
  reach(): void {
    this.#requests++;
  }

  /**
   * One fewer in flight, and the outcome accounted (owner: a lease, at its release).
   *
   * @param outcome Bytes, status and transport error.
   * @param reached Whether a connection to the endpoint was made (then bytes, errors and the duration count).
   * @param seconds How long the lease was held.
   */
  settle(outcome: LeaseOutcome, reached: boolean, seconds: number): void {
    this.#inFlight--;
    const e = outcome.error;
    // A failed connect counts too (sidekick_errors_total's HELP says so); a stale
    // pooled connection or a local shortage is not the endpoint's error.
    if (outcome.status >= 400 || e === "connect" || e === "timeout" || e === "reset") {
      this.#errors++;
    }
    if (!reached) return;
    this.#rxBytes += outcome.rx;
    this.#txBytes += outcome.tx;
    this.observe(seconds);
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
    this.#durationCounts[i]++;
    this.#durationSum += seconds;
    if (seconds < this.#minSeconds) this.#minSeconds = seconds;
    if (seconds > this.#maxSeconds) this.#maxSeconds = seconds;
  }

  /**
   * Whether the endpoint is up as far as health goes: probes pass, not
   * ejected, not draining (its tier cap not considered).
   *
   * @param now The current time (ms).
   * @returns True when it would take traffic if it had room.
   */
  isUp(now: number): boolean {
    return this.#health.status === "up" && this.#ejectedUntil <= now && !this.#draining;
  }

  /**
   * The one predicate every policy consults: healthy, not ejected, not
   * draining and not full.
   *
   * @param now The current time (ms).
   * @returns Whether new traffic may go here.
   */
  isAvailable(now: number): boolean {
    return this.isUp(now) && (this.#maxInFlight === 0 || this.#inFlight < this.#maxInFlight);
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

/**
 * The active health loop of a cluster: every endpoint is probed at once, then
 * every `interval + random[0, interval)`, and each result goes through the
 * state machine. With optimistic checks (minio's `--health-optimistic`) an
 * endpoint that is up is not probed any more until real traffic sees a
 * transport error on it. Every timer is owned and stopped by
 * {@linkcode HealthChecker.stop}.
 *
 * @module
 */

import type { HealthSpec } from "../config/schema.ts";
import type { HostAddresses } from "../discovery/host_addresses.ts";
import type { UpstreamTls } from "../pool/dial.ts";
import type { Runtime } from "../pool/runtime.ts";
import { failedProbe, type ProbeResult } from "./http_probe.ts";
import { createProbe, type Probe, type ProbeTarget } from "./probes.ts";
import { type HealthState, nextHealthState, thresholdsNow } from "./state.ts";
import { type Clock, SYSTEM_CLOCK, type Timer } from "../pool/clock.ts";

/**
 * A health transition, for logs and metrics.
 *
 * @example Usage
 * ```ts
 * import type { HealthEvent } from "./checker.ts";
 * const e: HealthEvent = { endpoint: "http://127.0.0.1:9000", status: "up", detail: "status 200", downtimeMs: 1200 };
 * ```
 */
export interface HealthEvent {
  /** The endpoint's key. */
  readonly endpoint: string;
  /** The new status. */
  readonly status: "up" | "down";
  /** What the probe saw. */
  readonly detail: string;
  /** How long it was down (when it comes up). */
  readonly downtimeMs: number;
}

/**
 * The outcome of one active probe, as kept for status pages.
 *
 * @example Usage
 * ```ts
 * import type { ProbeOutcome } from "./checker.ts";
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
 * What the checker reads of an endpoint.
 *
 * @example Usage
 * ```ts
 * import type { CheckedEndpoint } from "./checker.ts";
 * import { initialHealthState } from "./state.ts";
 * const e: CheckedEndpoint = {
 *   key: "http://127.0.0.1:9000",
 *   spec: { scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" },
 *   healthPath: "/",
 *   health: initialHealthState(false, 0),
 *   lastDowntimeMs: 0,
 *   recordProbe: () => {},
 * };
 * ```
 */
export interface CheckedEndpoint extends ProbeTarget {
  /** The endpoint's identity, for events. */
  readonly key: string;
  /** Its health now. */
  readonly health: HealthState;
  /** The last completed down period (ms); 0 when it never came back from one. */
  readonly lastDowntimeMs: number;
  /** Times it went up; 0 means its first passing probe brings it up whatever the rise. @default 1 */
  readonly wentUp?: number;
  /**
   * Records what one probe saw (for status pages and `sidekick_health_error_counts`).
   *
   * @param outcome The probe's outcome.
   */
  recordProbe(outcome: ProbeOutcome): void;
}

/**
 * The endpoints a checker probes and the owner of their health (a
 * `Cluster` from `balance/` is one; the checker knows it only by this shape,
 * so health stays below the balancer).
 *
 * @example Usage
 * ```ts ignore
 * const checked: CheckedCluster = cluster;
 * ```
 */
export interface CheckedCluster {
  /** The spec in force (its health settings). */
  readonly spec: { readonly health: HealthSpec };
  /** TLS toward https endpoints. */
  readonly tls: UpstreamTls | undefined;
  /** Resolves host names with stale-on-error. */
  readonly addresses?: HostAddresses;
  /** Every endpoint. */
  readonly endpoints: readonly CheckedEndpoint[];
  /**
   * Sets an endpoint's health.
   *
   * @param endpoint One of {@linkcode CheckedCluster.endpoints}.
   * @param next Its new state.
   * @returns Whether the status changed.
   */
  setHealth(endpoint: CheckedEndpoint, next: HealthState): boolean;
  /**
   * Subscribes to endpoints that real traffic takes down.
   *
   * @param listener Called with the endpoint and what failed.
   * @returns Unsubscribes when disposed.
   */
  onEndpointDown(listener: (endpoint: CheckedEndpoint, reason: string) => void): Disposable;
  /**
   * Subscribes to endpoints that real traffic makes suspect but leaves in
   * (below the passive threshold, or the last up endpoint of a site): an
   * optimistic checker probes them again.
   *
   * @param listener Called with the endpoint and what failed.
   * @returns Unsubscribes when disposed.
   */
  onEndpointSuspect?(listener: (endpoint: CheckedEndpoint, reason: string) => void): Disposable;
}

/**
 * Runs the probes of one cluster.
 *
 * @example Usage
 * ```ts ignore
 * import { HealthChecker } from "./checker.ts";
 * const checker = new HealthChecker(cluster, SYSTEM_RUNTIME, (e) => console.log(e));
 * await checker.start(); // resolves once every endpoint was probed once
 * checker.stop();
 * ```
 */
export class HealthChecker {
  readonly #cluster: CheckedCluster;
  readonly #runtime: Runtime;
  readonly #onEvent: (event: HealthEvent) => void;
  readonly #probe: Probe;
  readonly #timers = new Map<CheckedEndpoint, Timer>();
  readonly #clock: Clock;
  readonly #running = new Set<Promise<void>>();
  /** Endpoints with a probe in flight. */
  readonly #probing = new Set<CheckedEndpoint>();
  /** Endpoints that optimistic checking stopped probing (up). */
  readonly #resting = new Set<CheckedEndpoint>();
  readonly #ac = new AbortController();
  readonly #subscription: Disposable;
  readonly #suspicion: Disposable | undefined;

  /**
   * @param cluster The cluster whose endpoints are probed.
   * @param runtime Clock and randomness (for the jitter).
   * @param onEvent Called on every up/down transition.
   * @param probe The probe. @default the HTTP probe of {@linkcode createProbe}
   * @param clock Times the rounds (the time of a result is `runtime.now`). @default SYSTEM_CLOCK
   */
  constructor(
    cluster: CheckedCluster,
    runtime: Runtime,
    onEvent: (event: HealthEvent) => void,
    probe?: Probe,
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.#clock = clock;
    this.#cluster = cluster;
    this.#runtime = runtime;
    this.#onEvent = onEvent;
    this.#probe = probe ?? createProbe("http", cluster);
    this.#subscription = cluster.onEndpointDown((e, reason) => this.#trafficDown(e, reason));
    this.#suspicion = cluster.onEndpointSuspect?.((e) => this.#confirm(e));
  }

  /**
   * Real traffic made an endpoint suspect without taking it out: when
   * optimistic checking rests it, probe it now (a probe that passes lets it
   * rest again); otherwise the regular probes decide.
   */
  #confirm(endpoint: CheckedEndpoint): void {
    if (this.#ac.signal.aborted || !this.#resting.delete(endpoint)) return;
    this.#check(endpoint);
  }

  /** Real traffic took an endpoint down: log it, and probe it again if probing had stopped. */
  #trafficDown(endpoint: CheckedEndpoint, reason: string): void {
    if (this.#ac.signal.aborted) return;
    this.#emit({ endpoint: endpoint.key, status: "down", detail: reason, downtimeMs: 0 });
    if (this.#resting.delete(endpoint)) this.#schedule(endpoint);
  }

  #emit(event: HealthEvent): void {
    try {
      this.#onEvent(event);
    } catch {
      // a hook cannot break the loop
    }
  }

  #schedule(endpoint: CheckedEndpoint): void {
    if (this.#ac.signal.aborted || this.#timers.has(endpoint) || this.#probing.has(endpoint)) {
      return;
    }
    const h = this.#cluster.spec.health;
    const delay = h.intervalMs + this.#runtime.random() * h.intervalMs;
    this.#timers.set(endpoint, this.#clock.setTimeout(() => this.#check(endpoint), delay));
  }

  /**
   * Probes every endpoint once now and schedules the next rounds.
   *
   * @returns Resolves when the first round has finished.
   */
  async start(): Promise<void> {
    await Promise.all(this.#cluster.endpoints.map((e) => this.#check(e)));
  }

  /** Reconciles timers with the cluster's endpoints after a reload: new ones are probed at once. */
  sync(): void {
    const live = new Set(this.#cluster.endpoints);
    for (const [e, t] of this.#timers) {
      if (!live.has(e)) {
        t.cancel();
        this.#timers.delete(e);
      }
    }
    for (const e of this.#resting) if (!live.has(e)) this.#resting.delete(e);
    for (const e of live) {
      if (!this.#timers.has(e) && !this.#probing.has(e) && !this.#resting.has(e)) this.#check(e);
    }
  }

  /**
   * Whether an endpoint is being probed (a probe in flight or scheduled);
   * false for an up endpoint that optimistic checking rests.
   *
   * @param endpoint The endpoint.
   * @returns True while probes go on for it.
   */
  isProbing(endpoint: CheckedEndpoint): boolean {
    return this.#timers.has(endpoint) || this.#probing.has(endpoint);
  }

  async #check(endpoint: CheckedEndpoint): Promise<void> {
    this.#timers.delete(endpoint);
    if (this.#ac.signal.aborted || this.#probing.has(endpoint)) return;
    this.#probing.add(endpoint);
    const run = this.#probeOnce(endpoint);
    this.#running.add(run);
    try {
      await run;
    } finally {
      this.#running.delete(run);
    }
  }

  async #probeOnce(endpoint: CheckedEndpoint): Promise<void> {
    let result: ProbeResult;
    try {
      result = await this.#probe(endpoint, this.#ac.signal);
    } catch (e) {
      result = failedProbe(e);
    } finally {
      this.#probing.delete(endpoint);
    }
    if (this.#ac.signal.aborted) return;
    if (result.local === true) {
      // sidekick's own shortage (out of file descriptors): no evidence either way
      this.#schedule(endpoint);
      return;
    }
    const h = this.#cluster.spec.health;
    const now = this.#runtime.now();
    endpoint.recordProbe({ passed: result.passed, detail: result.detail, at: now });
    const before = endpoint.health;
    const thresholds = thresholdsNow(h, (endpoint.wentUp ?? 1) > 0);
    if (
      this.#cluster.setHealth(endpoint, nextHealthState(before, result.passed, thresholds, now))
    ) {
      this.#emit({
        endpoint: endpoint.key,
        status: endpoint.health.status,
        detail: result.detail,
        // Starting down is not an outage: the first up reports no downtime.
        downtimeMs: endpoint.health.status === "up" ? endpoint.lastDowntimeMs : 0,
      });
    }
    // Optimistic: an endpoint that is up rests until traffic fails on it.
    if (h.optimistic === true && endpoint.health.status === "up") {
      this.#resting.add(endpoint);
      return;
    }
    this.#schedule(endpoint);
  }

  /**
   * Stops every timer and cancels probes in flight.
   *
   * @returns Resolves when no probe is running.
   */
  async stop(): Promise<void> {
    this.#subscription[Symbol.dispose]();
    this.#suspicion?.[Symbol.dispose]();
    this.#ac.abort();
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    await Promise.all([...this.#running]);
  }
}

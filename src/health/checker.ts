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

import { type Clock, SYSTEM_CLOCK, type Timer } from "../clock.ts";
import type { Cluster, Runtime } from "../pool/cluster.ts";
import type { Endpoint } from "../pool/endpoint.ts";
import { probeHttp, type ProbeResult } from "./http_probe.ts";
import { nextHealthState } from "./state.ts";

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

/** Probes one endpoint; injectable so that other probe kinds (TCP, UDP) plug in. */
export type Probe = (endpoint: Endpoint, signal: AbortSignal) => Promise<ProbeResult>;

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
  readonly #cluster: Cluster;
  readonly #runtime: Runtime;
  readonly #onEvent: (event: HealthEvent) => void;
  readonly #probe: Probe;
  readonly #timers = new Map<Endpoint, Timer>();
  readonly #clock: Clock;
  readonly #running = new Set<Promise<void>>();
  /** Endpoints with a probe in flight. */
  readonly #probing = new Set<Endpoint>();
  /** Endpoints that optimistic checking stopped probing (up). */
  readonly #resting = new Set<Endpoint>();
  readonly #ac = new AbortController();
  readonly #subscription: Disposable;

  /**
   * @param cluster The cluster whose endpoints are probed.
   * @param runtime Clock and randomness (for the jitter).
   * @param onEvent Called on every up/down transition.
   * @param probe The probe; defaults to the HTTP probe of the cluster's health spec.
   * @param clock Times the rounds (the time of a result is `runtime.now`). @default SYSTEM_CLOCK
   */
  constructor(
    cluster: Cluster,
    runtime: Runtime,
    onEvent: (event: HealthEvent) => void,
    probe?: Probe,
    clock: Clock = SYSTEM_CLOCK,
  ) {
    this.#clock = clock;
    this.#cluster = cluster;
    this.#runtime = runtime;
    this.#onEvent = onEvent;
    this.#probe = probe ?? ((endpoint, signal) => {
      const h = cluster.spec.health;
      return probeHttp(endpoint.spec, {
        path: endpoint.spec.basePath + endpoint.healthPath,
        port: h.port,
        timeoutMs: h.timeoutMs,
        signal,
        tls: cluster.tls,
        statuses: h.statuses,
      });
    });
    this.#subscription = cluster.onEndpointDown((e, reason) => this.#trafficDown(e, reason));
  }

  /** Real traffic took an endpoint down: log it, and probe it again if probing had stopped. */
  #trafficDown(endpoint: Endpoint, reason: string): void {
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

  #schedule(endpoint: Endpoint): void {
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
  isProbing(endpoint: Endpoint): boolean {
    return this.#timers.has(endpoint) || this.#probing.has(endpoint);
  }

  async #check(endpoint: Endpoint): Promise<void> {
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

  async #probeOnce(endpoint: Endpoint): Promise<void> {
    let result;
    try {
      result = await this.#probe(endpoint, this.#ac.signal);
    } catch (e) {
      result = { passed: false, detail: e instanceof Error ? e.message : String(e) };
    } finally {
      this.#probing.delete(endpoint);
    }
    if (this.#ac.signal.aborted) return;
    const h = this.#cluster.spec.health;
    const now = this.#runtime.now();
    const before = endpoint.health;
    if (this.#cluster.setHealth(endpoint, nextHealthState(before, result.passed, h, now))) {
      this.#emit({
        endpoint: endpoint.key,
        status: endpoint.health.status,
        detail: result.detail,
        downtimeMs: endpoint.health.status === "up" ? now - before.since : 0,
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
    this.#ac.abort();
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    await Promise.all([...this.#running]);
  }
}

/**
 * The active health loop of a cluster: every endpoint is probed at once, then
 * every `interval + random[0, interval)`, and each result goes through the
 * state machine. Every timer is owned and stopped by {@linkcode HealthChecker.stop}.
 *
 * @module
 */

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
  readonly #timers = new Map<Endpoint, ReturnType<typeof setTimeout>>();
  readonly #running = new Set<Promise<void>>();
  readonly #ac = new AbortController();

  /**
   * @param cluster The cluster whose endpoints are probed.
   * @param runtime Clock and randomness (for the jitter).
   * @param onEvent Called on every up/down transition.
   * @param probe The probe; defaults to the HTTP probe of the cluster's health spec.
   */
  constructor(
    cluster: Cluster,
    runtime: Runtime,
    onEvent: (event: HealthEvent) => void,
    probe?: Probe,
  ) {
    this.#cluster = cluster;
    this.#runtime = runtime;
    this.#onEvent = onEvent;
    this.#probe = probe ?? ((endpoint, signal) => {
      const h = cluster.spec.health;
      const site = cluster.spec.sites.find((s) => s.endpoints.some((e) => e === endpoint.spec));
      const path = endpoint.spec.basePath + (site?.healthPath ?? h.path);
      return probeHttp(endpoint.spec, { path, port: h.port, timeoutMs: h.timeoutMs, signal });
    });
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
        clearTimeout(t);
        this.#timers.delete(e);
      }
    }
    for (const e of live) if (!this.#timers.has(e)) this.#check(e);
  }

  async #check(endpoint: Endpoint): Promise<void> {
    if (this.#ac.signal.aborted) return;
    const run = this.#probeOnce(endpoint);
    this.#running.add(run);
    try {
      await run;
    } finally {
      this.#running.delete(run);
    }
  }

  async #probeOnce(endpoint: Endpoint): Promise<void> {
    const result = await this.#probe(endpoint, this.#ac.signal);
    if (this.#ac.signal.aborted) return;
    const h = this.#cluster.spec.health;
    const now = this.#runtime.now();
    const before = endpoint.health;
    endpoint.health = nextHealthState(before, result.passed, h, now);
    if (endpoint.health.status !== before.status) {
      this.#onEvent({
        endpoint: endpoint.key,
        status: endpoint.health.status,
        detail: result.detail,
        downtimeMs: endpoint.health.status === "up" ? now - before.since : 0,
      });
    }
    const delay = h.intervalMs + this.#runtime.random() * h.intervalMs;
    this.#timers.set(endpoint, setTimeout(() => this.#check(endpoint), delay));
  }

  /**
   * Stops every timer and cancels probes in flight.
   *
   * @returns Resolves when no probe is running.
   */
  async stop(): Promise<void> {
    this.#ac.abort();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#running]);
  }
}

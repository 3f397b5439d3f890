/**
 * Watches a sidecar through its stats and reports operator events:
 * failover, fail-back, tier promotion, drain-by-removal and loud warnings
 * while a listener has no available endpoint. It owns one interval (and
 * checks again at once when told of a health event); decisions are the pure
 * functions of `events.ts`.
 *
 * @module
 */

import type { SidecarStats } from "../sidecar.ts";
import { diffStats, type ObservedEvent, type OutageState, outageWarnings } from "./events.ts";

/**
 * Options of {@linkcode Monitor}.
 *
 * @example Usage
 * ```ts
 * import type { MonitorOptions } from "./monitor.ts";
 * const options: MonitorOptions = {
 *   stats: () => ({ state: "running", listeners: [] }),
 *   report: (e) => console.error(e.message),
 * };
 * ```
 */
export interface MonitorOptions {
  /** Reads the sidecar's state (`Sidecar.stats`). */
  readonly stats: () => SidecarStats;
  /** Takes each event. */
  readonly report: (event: ObservedEvent) => void;
  /** How often the stats are read (ms). @default 1000 */
  readonly intervalMs?: number;
  /** How often an outage warning repeats while it lasts (ms). @default 30000 */
  readonly repeatMs?: number | undefined;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * The event watcher.
 *
 * @example Usage
 * ```ts
 * import { Monitor } from "./monitor.ts";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * using monitor = new Monitor({
 *   stats: () => ({ state: "running", listeners: [] }),
 *   report: (e) => seen.push(e.message),
 * });
 * monitor.start();
 * monitor.check();
 * assert.deepEqual(seen, []);
 * ```
 */
export class Monitor implements Disposable {
  readonly #options: MonitorOptions;
  readonly #outages: OutageState = new Map();
  #last: SidecarStats | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param options Where stats come from and where events go. */
  constructor(options: MonitorOptions) {
    this.#options = options;
  }

  /** Checks now and then every interval. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.check();
    this.#timer = setInterval(() => this.check(), this.#options.intervalMs ?? 1000);
  }

  /** Reads the stats once and reports what changed since the last check. */
  check(): void {
    const now = (this.#options.now ?? Date.now)();
    const stats = this.#options.stats();
    const events = [
      ...(this.#last === null ? [] : diffStats(this.#last, stats)),
      ...outageWarnings(this.#outages, stats, { now, repeatMs: this.#options.repeatMs ?? 30_000 }),
    ];
    this.#last = stats;
    for (const e of events) {
      try {
        this.#options.report(e);
      } catch {
        // a sink's failure is its own
      }
    }
  }

  /** Stops the interval. Idempotent. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Same as {@linkcode Monitor.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * A garbage-collection hint for when many connections have just closed.
 * V8 collects when JavaScript allocates; a proxy whose connections all went
 * away allocates almost nothing, and V8's memory reducer, which would shrink
 * the heap of an idle process, runs only once after a busy period. So the
 * objects of thousands of closed connections can stay in RSS indefinitely.
 * A listener's sweeper reports its connection count; after a large drop the
 * heap is collected once, at most every {@linkcode GC_HINT_MIN_GAP_MS}.
 *
 * Deno exposes no `gc()` without `--v8-flags=--expose-gc`, but V8 gives it
 * to contexts created after that flag is set, and `node:v8` can set it at
 * run time: {@linkcode collector} does that once, on first use.
 *
 * @module
 */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Connections that must have gone (from the peak since the last hint) before a collection. */
export const GC_HINT_MIN_DROP = 512;

/** Least time between two collections, process-wide (ms). */
export const GC_HINT_MIN_GAP_MS = 10_000;

let collect: (() => void) | null | undefined;

/**
 * V8's full collection, reached without `--expose-gc`, or null where the
 * runtime refuses (flags frozen).
 *
 * @returns A function that runs a full, synchronous collection, or null.
 *
 * @example Usage
 * ```ts
 * import { collector } from "./gc_hint.ts";
 * collector()?.(); // one full collection, if the runtime allows it
 * ```
 */
export function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("typeof gc === 'function' ? gc : null");
    collect = typeof gc === "function" ? () => gc() : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** When the last hint ran, process-wide (listeners share the heap). */
const last = { at: -Infinity };

/**
 * Watches one listener's connection count and collects once it fell by
 * {@linkcode GC_HINT_MIN_DROP} or more from its peak.
 *
 * @example Usage
 * ```ts
 * import { GcHint } from "./gc_hint.ts";
 * let runs = 0;
 * const hint = new GcHint(() => runs++, { at: -Infinity });
 * hint.sweep(0, 2000);
 * hint.sweep(1000, 10); // 1990 connections went: one collection
 * runs; // 1
 * ```
 */
export class GcHint {
  readonly #collect: (() => void) | null;
  readonly #last: { at: number };
  #peak = 0;

  /**
   * @param collect The collection to run (default: {@linkcode collector}, resolved on first need).
   * @param lastRun When a hint last ran; shared by all listeners by default.
   */
  constructor(collect?: (() => void) | null, lastRun: { at: number } = last) {
    this.#collect = collect === undefined ? lazyCollector : collect;
    this.#last = lastRun;
  }

  /**
   * Called by the sweeper.
   *
   * @param now The current time (ms).
   * @param connections The listener's open connections now.
   * @returns Whether a collection ran.
   */
  sweep(now: number, connections: number): boolean {
    if (connections > this.#peak) this.#peak = connections;
    if (this.#peak - connections < GC_HINT_MIN_DROP) return false;
    if (this.#collect === null || now - this.#last.at < GC_HINT_MIN_GAP_MS) return false;
    this.#last.at = now;
    this.#peak = connections;
    this.#collect();
    return true;
  }
}

function lazyCollector(): void {
  collector()?.();
}

/**
 * The peak-EWMA latency estimate of an endpoint (linkerd2-proxy's and
 * Finagle's): a slower answer than the estimate replaces it at once (peak),
 * a faster one pulls it down with a time-based weight, and between answers
 * it decays towards zero with a 10 s time constant, so an endpoint that was
 * slow is tried again after a while. Pure: the caller gives the time.
 *
 * @module
 */

/** Time constant of the decay (ms). */
export const LATENCY_DECAY_MS = 10_000;

/** The smallest latency a cost is computed with (ms), so that in-flight load always counts. */
export const LATENCY_FLOOR_MS = 1;

/** The estimate of an endpoint nothing is known about yet (ms) when no other endpoint is known either. */
export const DEFAULT_LATENCY_MS = 30;

/**
 * The estimate `ms` made at `at`, decayed to `now`.
 *
 * @param ms The estimate (ms).
 * @param at When it was made (ms, injected clock).
 * @param now The current time (ms).
 * @returns The decayed estimate (ms).
 *
 * @example Usage
 * ```ts
 * import { decayedLatency, LATENCY_DECAY_MS } from "./ewma.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decayedLatency(100, 0, 0), 100);
 * assert.ok(Math.abs(decayedLatency(100, 0, LATENCY_DECAY_MS) - 100 / Math.E) < 1e-9);
 * ```
 */
export function decayedLatency(ms: number, at: number, now: number): number {
  const elapsed = now - at;
  return elapsed > 0 ? ms * Math.exp(-elapsed / LATENCY_DECAY_MS) : ms;
}

/**
 * The estimate after one more observed latency.
 *
 * @param ms The estimate (ms).
 * @param at When it was made (ms).
 * @param now The current time (ms).
 * @param sample The latency just observed (ms).
 * @returns The new estimate, made at `now`.
 *
 * @example Usage
 * ```ts
 * import { observeLatency } from "./ewma.ts";
 * import assert from "node:assert/strict";
 * assert.equal(observeLatency(5, 0, 10, 200), 200); // peak: at once
 * assert.ok(observeLatency(200, 0, 10, 5) > 190); // a fast answer pulls it down slowly
 * ```
 */
export function observeLatency(ms: number, at: number, now: number, sample: number): number {
  const current = decayedLatency(ms, at, now);
  if (sample >= current) return sample;
  const elapsed = now - at;
  const keep = elapsed > 0 ? Math.exp(-elapsed / LATENCY_DECAY_MS) : 1;
  return sample + (current - sample) * keep;
}

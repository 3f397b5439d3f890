/**
 * Injected time and randomness, read by the balancer (fail-back delay,
 * ejection, tie-breaking) and the health checker (jitter).
 *
 * @module
 */

/**
 * Injected time and randomness.
 *
 * @example Usage
 * ```ts
 * import type { Runtime } from "./runtime.ts";
 * const rt: Runtime = { now: Date.now, random: Math.random };
 * ```
 */
export interface Runtime {
  /** The current time in ms. */
  readonly now: () => number;
  /** Uniform random numbers in [0, 1). */
  readonly random: () => number;
}

/** The real clock and randomness. */
export const SYSTEM_RUNTIME: Runtime = { now: Date.now, random: Math.random };

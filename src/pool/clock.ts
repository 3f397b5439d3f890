/**
 * Injected time: the current time and owned, cancellable timers. Everything
 * that decides by time (sweepers, health checkers, fail-back, promotion)
 * takes a {@linkcode Clock}, so that tests drive it with a fake one.
 *
 * @module
 */

/**
 * A timer that can be cancelled (cancelling twice, or after it fired, does nothing).
 *
 * @example Usage
 * ```ts
 * import { SYSTEM_CLOCK } from "./clock.ts";
 * const timer = SYSTEM_CLOCK.setTimeout(() => {}, 1_000);
 * timer.cancel();
 * ```
 */
export interface Timer {
  /** Stops the timer. */
  cancel(): void;
}

/**
 * The current time and timers.
 *
 * @example Usage
 * ```ts
 * import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
 * const clock: Clock = SYSTEM_CLOCK;
 * const tick = clock.setInterval(() => console.log(clock.now()), 1_000);
 * tick.cancel();
 * ```
 */
export interface Clock {
  /** The current time in ms (the epoch of `Date.now`). */
  now(): number;
  /**
   * Calls `fn` once after `ms`.
   *
   * @param fn What to call.
   * @param ms The delay.
   * @returns The timer.
   */
  setTimeout(fn: () => void, ms: number): Timer;
  /**
   * Calls `fn` every `ms`.
   *
   * @param fn What to call.
   * @param ms The period.
   * @returns The timer.
   */
  setInterval(fn: () => void, ms: number): Timer;
}

/** The real clock: `Date.now` and the runtime's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): Timer {
    const id = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(id) };
  },
  setInterval(fn: () => void, ms: number): Timer {
    const id = setInterval(fn, ms);
    return { cancel: () => clearInterval(id) };
  },
};

/**
 * Resolves after `ms` on `clock`, or at once when `signal` aborts.
 *
 * @param clock The clock.
 * @param ms How long.
 * @param signal Ends the wait early.
 * @returns Resolves when the time passed or the signal aborted.
 *
 * @example Usage
 * ```ts
 * import { sleep, SYSTEM_CLOCK } from "./clock.ts";
 * await sleep(SYSTEM_CLOCK, 1);
 * ```
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      timer.cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

/**
 * Time and randomness as the cluster takes them (`Runtime`), with the time of `clock`.
 *
 * @param clock The clock.
 * @param random Uniform random numbers in [0, 1). @default Math.random
 * @returns `{ now, random }`.
 *
 * @example Usage
 * ```ts
 * import { runtimeOf, SYSTEM_CLOCK } from "./clock.ts";
 * const runtime = runtimeOf(SYSTEM_CLOCK);
 * runtime.now() > 0; // true
 * ```
 */
export function runtimeOf(
  clock: Clock,
  random: () => number = Math.random,
): { readonly now: () => number; readonly random: () => number } {
  return { now: () => clock.now(), random };
}

/**
 * A grace period that starts now: `over` resolves when it ends (never when
 * `ms` is 0), and `cancel` stops its timer. Listeners use it on close, so
 * the period counts from the call, not from when accepting has stopped.
 *
 * @param clock The clock.
 * @param ms The grace period (ms); 0 = none.
 * @returns The period's end and its cancel.
 *
 * @example Usage
 * ```ts
 * import { gracePeriod, SYSTEM_CLOCK } from "./clock.ts";
 * const grace = gracePeriod(SYSTEM_CLOCK, 10);
 * await grace.over;
 * grace.cancel();
 * ```
 */
export function gracePeriod(
  clock: Clock,
  ms: number,
): { readonly active: boolean; readonly over: Promise<void>; cancel(): void } {
  let timer: Timer | undefined;
  const over = new Promise<void>((resolve) => {
    timer = ms > 0 ? clock.setTimeout(resolve, ms) : undefined;
  });
  return { active: timer !== undefined, over, cancel: () => timer?.cancel() };
}

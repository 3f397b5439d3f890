/**
 * The health state machine: pure, with an injected clock. One probe result
 * in, the next state out. Thresholds damp flapping: `rise` consecutive passes
 * bring an endpoint up, `fall` consecutive failures take it down.
 *
 * @module
 */

/**
 * The health of one endpoint.
 *
 * `streak` counts consecutive results that disagree with `status` (passes
 * while down, failures while up); `since` is when `status` last changed.
 *
 * @example Usage
 * ```ts
 * import type { HealthState } from "./state.ts";
 * const s: HealthState = { status: "down", streak: 0, since: 0 };
 * ```
 */
export type HealthState =
  | { readonly status: "up"; readonly streak: number; readonly since: number }
  | { readonly status: "down"; readonly streak: number; readonly since: number };

/**
 * Consecutive results needed to change state.
 *
 * @example Usage
 * ```ts
 * import type { HealthThresholds } from "./state.ts";
 * const t: HealthThresholds = { rise: 2, fall: 3 };
 * ```
 */
export interface HealthThresholds {
  /** Passes that bring a down endpoint up (>= 1). */
  readonly rise: number;
  /** Failures that take an up endpoint down (>= 1). */
  readonly fall: number;
}

/**
 * The state an endpoint starts in.
 *
 * @param up Whether it starts up (no active probes) or down (until a probe passes).
 * @param now The current time (ms).
 * @returns The initial state.
 *
 * @example Usage
 * ```ts
 * import { initialHealthState } from "./state.ts";
 * import assert from "node:assert/strict";
 * assert.equal(initialHealthState(false, 0).status, "down");
 * ```
 */
export function initialHealthState(up: boolean, now: number): HealthState {
  return { status: up ? "up" : "down", streak: 0, since: now };
}

/**
 * Applies one probe result.
 *
 * @param state The current state.
 * @param passed Whether the probe passed.
 * @param thresholds Rise and fall.
 * @param now The current time (ms).
 * @returns The next state (the same object when nothing changed).
 *
 * @example Usage
 * ```ts
 * import { initialHealthState, nextHealthState } from "./state.ts";
 * import assert from "node:assert/strict";
 * const t = { rise: 2, fall: 1 };
 * let s = initialHealthState(false, 0);
 * s = nextHealthState(s, true, t, 10);
 * assert.equal(s.status, "down");
 * s = nextHealthState(s, true, t, 20);
 * assert.equal(s.status, "up");
 * assert.equal(s.since, 20);
 * ```
 */
export function nextHealthState(
  state: HealthState,
  passed: boolean,
  thresholds: HealthThresholds,
  now: number,
): HealthState {
  const agrees = passed === (state.status === "up");
  if (agrees) {
    return state.streak === 0 ? state : { status: state.status, streak: 0, since: state.since };
  }
  const streak = state.streak + 1;
  const needed = state.status === "up" ? thresholds.fall : thresholds.rise;
  if (streak >= needed) {
    return { status: state.status === "up" ? "down" : "up", streak: 0, since: now };
  }
  return { status: state.status, streak, since: state.since };
}

/**
 * Marks an endpoint down at once, as a transport error on real traffic does.
 *
 * @param state The current state.
 * @param now The current time (ms).
 * @returns A down state with no rise streak (the same object when nothing changed).
 *
 * @example Usage
 * ```ts
 * import { initialHealthState, markDown } from "./state.ts";
 * import assert from "node:assert/strict";
 * assert.equal(markDown(initialHealthState(true, 0), 5).status, "down");
 * ```
 */
export function markDown(state: HealthState, now: number): HealthState {
  if (state.status === "down") {
    // A failure also resets a half-finished rise streak.
    return state.streak === 0 ? state : { status: "down", streak: 0, since: state.since };
  }
  return { status: "down", streak: 0, since: now };
}

/**
 * The thresholds that apply to an endpoint now: rise guards a recovery, so
 * an endpoint that was never up (at start, or added by a reload) comes up on
 * its first passing probe, as Envoy adds hosts; fall always applies.
 *
 * @param thresholds The configured rise and fall.
 * @param everUp Whether the endpoint has been up before.
 * @returns The thresholds to apply.
 *
 * @example Usage
 * ```ts
 * import { thresholdsNow } from "./state.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(thresholdsNow({ rise: 3, fall: 2 }, false), { rise: 1, fall: 2 });
 * assert.deepEqual(thresholdsNow({ rise: 3, fall: 2 }, true), { rise: 3, fall: 2 });
 * ```
 */
export function thresholdsNow(thresholds: HealthThresholds, everUp: boolean): HealthThresholds {
  return everUp || thresholds.rise === 1 ? thresholds : { rise: 1, fall: thresholds.fall };
}

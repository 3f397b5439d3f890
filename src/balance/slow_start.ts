/**
 * Slow start (HAProxy's `slowstart`, Envoy's slow start mode): an endpoint
 * that has just recovered takes a share of traffic that grows over a window,
 * so a backend that says it is ready too early (a MinIO node answering its
 * readiness check while it still misses recent objects) sees a trickle, not
 * its full share, while it settles.
 *
 * It composes with every policy without touching them: inside its window an
 * endpoint is *eligible* only with probability `elapsed / window` (at least
 * {@linkcode SLOW_START_FLOOR}), drawn from the injected random source; a
 * site whose only available endpoints are warming still uses them (see
 * `select.ts`), so slow start never turns a request away. Pure, with
 * injected time and randomness.
 *
 * @module
 */

import type { RandomSource } from "./policy.ts";

/** The smallest share a warming endpoint gets (10%): it is never starved. */
export const SLOW_START_FLOOR = 0.1;

/**
 * The share of its full traffic an endpoint takes `elapsedMs` after it
 * recovered.
 *
 * @param elapsedMs Time since it recovered (ms).
 * @param windowMs The slow-start window (ms); 0 = off.
 * @returns A share in [{@linkcode SLOW_START_FLOOR}, 1].
 *
 * @example Usage
 * ```ts
 * import { slowStartShare } from "./slow_start.ts";
 * import assert from "node:assert/strict";
 * assert.equal(slowStartShare(0, 10_000), 0.1);
 * assert.equal(slowStartShare(5_000, 10_000), 0.5);
 * assert.equal(slowStartShare(20_000, 10_000), 1);
 * assert.equal(slowStartShare(0, 0), 1);
 * ```
 */
export function slowStartShare(elapsedMs: number, windowMs: number): number {
  if (windowMs <= 0 || elapsedMs >= windowMs) return 1;
  const share = elapsedMs / windowMs;
  return share > SLOW_START_FLOOR ? share : SLOW_START_FLOOR;
}

/**
 * Whether a warming endpoint is eligible for this pick: true with
 * probability {@linkcode slowStartShare}; no draw once the window is over.
 *
 * @param elapsedMs Time since it recovered (ms).
 * @param windowMs The slow-start window (ms).
 * @param random Uniform random source.
 * @returns Whether it may be chosen now.
 *
 * @example Usage
 * ```ts
 * import { slowStartAdmits } from "./slow_start.ts";
 * import assert from "node:assert/strict";
 * assert.equal(slowStartAdmits(2_000, 10_000, () => 0.19), true); // share 0.2
 * assert.equal(slowStartAdmits(2_000, 10_000, () => 0.21), false);
 * ```
 */
export function slowStartAdmits(
  elapsedMs: number,
  windowMs: number,
  random: RandomSource,
): boolean {
  const share = slowStartShare(elapsedMs, windowMs);
  return share >= 1 || random() < share;
}

/**
 * What slow start reads of an endpoint.
 *
 * @example Usage
 * ```ts
 * import type { Recovering } from "./slow_start.ts";
 * const r: Recovering = { wentDown: 1, health: { status: "up", since: 500 }, ejectedUntil: 0 };
 * ```
 */
export interface Recovering {
  /** Times it went down (0: it never recovered from anything). */
  readonly wentDown: number;
  /** Its health status and since when. */
  readonly health: { readonly status: "up" | "down"; readonly since: number };
  /** The end of its last ejection (ms), 0 when never ejected. */
  readonly ejectedUntil: number;
}

/**
 * When an endpoint last recovered: the later of coming up after having been
 * down, and the end of its last ejection. Coming up for the first time (at
 * start, or when added by a reload) is not a recovery.
 *
 * @param e The endpoint.
 * @returns The time (ms), or -Infinity when it never recovered.
 *
 * @example Usage
 * ```ts
 * import { recoveredAt } from "./slow_start.ts";
 * import assert from "node:assert/strict";
 * assert.equal(recoveredAt({ wentDown: 1, health: { status: "up", since: 500 }, ejectedUntil: 0 }), 500);
 * assert.equal(recoveredAt({ wentDown: 0, health: { status: "up", since: 500 }, ejectedUntil: 0 }), -Infinity);
 * ```
 */
export function recoveredAt(e: Recovering): number {
  const up = e.wentDown > 0 && e.health.status === "up" ? e.health.since : -Infinity;
  const ejected = e.ejectedUntil > 0 ? e.ejectedUntil : -Infinity;
  return up > ejected ? up : ejected;
}

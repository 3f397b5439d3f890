/**
 * Moving long-lived connections back to a better tier (iaido's
 * `forcePromotionAfter`) and shedding the connections of draining endpoints,
 * as pure decisions over a snapshot with an injected clock.
 *
 * Both are smeared: each connection draws one number in [0, 1) when it
 * starts, and its close is due `draw * smearMs` after the condition became
 * due, so a thousand connections do not all reconnect in the same tick.
 *
 * Unlike iaido, checking has no side effect (no slot is reserved) and the
 * "available since" time is reset as soon as the better tier is seen
 * unavailable (full, down or draining).
 *
 * @module
 */

/**
 * For each tier, since when it has been continuously available (as sampled),
 * or `null` when it was not available at the last sample.
 */
export type TierSince = readonly (number | null)[];

/**
 * Folds one availability sample into the history.
 *
 * @param previous The history before this sample (may be shorter than `availableNow` after a reload).
 * @param availableNow Whether each tier has an available endpoint now.
 * @param now The sample time (ms).
 * @returns The new history: a tier keeps its start time while it stays available.
 *
 * @example Usage
 * ```ts
 * import { nextTierSince } from "./promotion.ts";
 * import assert from "node:assert/strict";
 * let h = nextTierSince([], [false, true], 0);
 * h = nextTierSince(h, [true, true], 100);
 * h = nextTierSince(h, [true, true], 200);
 * assert.deepEqual(h, [100, 0]);
 * ```
 */
export function nextTierSince(
  previous: TierSince,
  availableNow: readonly boolean[],
  now: number,
): (number | null)[] {
  return availableNow.map((up, i) => up ? (previous[i] ?? now) : null);
}

/**
 * What {@linkcode shouldPromote} decides on.
 *
 * @example Usage
 * ```ts
 * import type { PromotionInput } from "./promotion.ts";
 * const input: PromotionInput = {
 *   tier: 1, tierSince: [0, 0], afterMs: 1000, smearMs: 500, now: 1200, random: 0.5,
 * };
 * ```
 */
export interface PromotionInput {
  /** The tier of the connection's endpoint (0 = best). */
  readonly tier: number;
  /** The availability history from {@linkcode nextTierSince}. */
  readonly tierSince: TierSince;
  /** The connection tier's `forcePromotionAfterMs`; 0 turns promotion off. */
  readonly afterMs: number;
  /** Closes are spread over this window after they become due. */
  readonly smearMs: number;
  /** The current time (ms). */
  readonly now: number;
  /** The connection's own draw in [0, 1), fixed for its life. */
  readonly random: number;
}

/**
 * Whether a connection should be closed so that its client reconnects to a
 * better tier: some better tier has been continuously available for
 * `afterMs`, plus this connection's share of the smear window.
 *
 * @param input The connection and the snapshot.
 * @returns True to close the connection now.
 *
 * @example Usage
 * ```ts
 * import { shouldPromote } from "./promotion.ts";
 * import assert from "node:assert/strict";
 * const base = { tier: 1, tierSince: [1000, 0], afterMs: 500, smearMs: 200, random: 0.5 };
 * assert.equal(shouldPromote({ ...base, now: 1550 }), false); // due at 1000 + 500 + 100
 * assert.equal(shouldPromote({ ...base, now: 1600 }), true);
 * ```
 */
export function shouldPromote(input: PromotionInput): boolean {
  const { tier, tierSince, afterMs } = input;
  if (tier <= 0 || afterMs <= 0) return false;
  let since = Infinity;
  for (let t = 0; t < tier && t < tierSince.length; t++) {
    const s = tierSince[t];
    if (s !== null && s < since) since = s;
  }
  if (since === Infinity) return false;
  return input.now >= since + afterMs + input.random * input.smearMs;
}

/**
 * Whether a connection to a draining endpoint (disabled, or removed by a
 * reload or by DNS) should be closed now.
 *
 * @param drainingSince When the connection was first seen on a draining endpoint (ms).
 * @param now The current time (ms).
 * @param smearMs Closes are spread over this window.
 * @param random The connection's own draw in [0, 1).
 * @returns True to close the connection now.
 *
 * @example Usage
 * ```ts
 * import { shouldShed } from "./promotion.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shouldShed(1000, 1100, 1000, 0.25), false); // due at 1250
 * assert.equal(shouldShed(1000, 1250, 1000, 0.25), true);
 * ```
 */
export function shouldShed(
  drainingSince: number,
  now: number,
  smearMs: number,
  random: number,
): boolean {
  return now >= drainingSince + random * smearMs;
}

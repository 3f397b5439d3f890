/**
 * Power of two choices over peak-EWMA latency (linkerd2-proxy's balancer):
 * two distinct eligible endpoints are drawn at random (in proportion to
 * weight) and the cheaper one wins, where cost = latency estimate (at least 1 ms) x (in flight + 1) /
 * weight. A slow endpoint's estimate jumps at its first slow answer, so it
 * gets few requests until its estimate has decayed and it is tried again.
 *
 * @module
 */

import type { EndpointLoad } from "./endpoint.ts";
import { decayedLatency, DEFAULT_LATENCY_MS, LATENCY_FLOOR_MS } from "./ewma.ts";
import { NO_PICK, type PickContext, type Policy, type RandomSource, weightOf } from "./pick.ts";

/**
 * The p2c cost of a candidate at `now`.
 *
 * @param c The candidate (its latency estimate, in flight and weight).
 * @param now The current time (ms).
 * @returns The cost (lower is better).
 *
 * @example Usage
 * ```ts
 * import { p2cCost } from "./p2c.ts";
 * import assert from "node:assert/strict";
 * assert.equal(p2cCost({ inFlight: 1, latencyMs: 10, latencyAt: 0 }, 0), 20);
 * ```
 */
export function p2cCost(c: EndpointLoad, now: number): number {
  const ms = c.latencyMs === undefined
    ? DEFAULT_LATENCY_MS
    : decayedLatency(c.latencyMs, c.latencyAt ?? now, now);
  return (ms > LATENCY_FLOOR_MS ? ms : LATENCY_FLOOR_MS) * (c.inFlight + 1) / weightOf(c);
}

/**
 * Two random choices, the cheaper wins (ties: by weight, at random).
 *
 * @example Usage
 * ```ts
 * import { P2cPolicy } from "./p2c.ts";
 * import assert from "node:assert/strict";
 * const fast = { inFlight: 0, latencyMs: 2, latencyAt: 0 };
 * const slow = { inFlight: 0, latencyMs: 200, latencyAt: 0 };
 * assert.equal(new P2cPolicy().select([slow, fast], () => true, Math.random), 1);
 * ```
 */
export class P2cPolicy implements Policy {
  /** The policy's name. */
  readonly name = "p2c";
  /** Picks the cheaper of two random eligible candidates. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
    pick: PickContext = NO_PICK,
  ): number {
    let n = 0;
    let total = 0;
    let only = -1;
    for (let i = 0; i < candidates.length; i++) {
      if (eligible(candidates[i])) {
        n++;
        total += weightOf(candidates[i]);
        only = i;
      }
    }
    if (n <= 1) return only;
    const a = draw(candidates, eligible, random() * total, -1);
    const b = draw(candidates, eligible, random() * (total - weightOf(candidates[a])), a);
    const ca = p2cCost(candidates[a], pick.now);
    const cb = p2cCost(candidates[b], pick.now);
    if (ca < cb) return a;
    if (cb < ca) return b;
    const wa = weightOf(candidates[a]);
    return random() * (wa + weightOf(candidates[b])) < wa ? a : b;
  }
}

/**
 * The eligible candidate (other than `skip`) at position `at` of the line of
 * their weights laid end to end: a draw in proportion to weight.
 */
function draw<T extends EndpointLoad>(
  candidates: readonly T[],
  eligible: (candidate: T) => boolean,
  at: number,
  skip: number,
): number {
  let last = -1;
  for (let i = 0; i < candidates.length; i++) {
    if (i === skip || !eligible(candidates[i])) continue;
    last = i;
    at -= weightOf(candidates[i]);
    if (at < 0) return i;
  }
  return last; // rounding at the very end of the line
}

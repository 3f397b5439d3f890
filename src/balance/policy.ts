/**
 * The policies that need no latency or key: least in flight, random and
 * round robin, each weighted; and {@linkcode createPolicy}, which makes any
 * policy by name (`p2c` is in `p2c.ts`, `hash` in `rendezvous.ts`).
 *
 * @module
 */

import type { HashSpec, PolicyName } from "../config/schema.ts";
import type { EndpointLoad } from "./endpoint.ts";
import { P2cPolicy } from "./p2c.ts";
import { type Policy, type RandomSource, weightOf } from "./pick.ts";
import { HashPolicy } from "./rendezvous.ts";

export { NO_PICK, type PickContext, type Policy, type RandomSource } from "./pick.ts";

/**
 * Fewest in flight per unit of weight; ties broken at random in proportion
 * to weight (reservoir sampling over the tied candidates, so with equal
 * weights each has exactly 1/k chance).
 *
 * @example Usage
 * ```ts
 * import { LeastInFlightPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new LeastInFlightPolicy().select([{ inFlight: 2 }, { inFlight: 0 }], () => true, Math.random), 1);
 * ```
 */
export class LeastInFlightPolicy implements Policy {
  /** The policy's name. */
  readonly name = "least";
  /** Picks the least loaded eligible candidate. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
  ): number {
    let best = -1;
    let bestLoad = 0;
    let bestWeight = 1;
    let tied = 0;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      if (!eligible(c)) continue;
      const w = weightOf(c);
      // inFlight / w against bestLoad / bestWeight, without dividing.
      const d = best < 0 ? -1 : c.inFlight * bestWeight - bestLoad * w;
      if (d < 0) {
        best = i;
        bestLoad = c.inFlight;
        bestWeight = w;
        tied = w;
      } else if (d === 0) {
        tied += w;
        if (random() * tied < w) best = i;
      }
    }
    return best;
  }
}

/**
 * Random among the eligible candidates, in proportion to weight.
 *
 * @example Usage
 * ```ts
 * import { RandomPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new RandomPolicy().select([{ inFlight: 0 }], () => true, Math.random), 0);
 * ```
 */
export class RandomPolicy implements Policy {
  /** The policy's name. */
  readonly name = "random";
  /** Picks a random eligible candidate, weighted. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
  ): number {
    let chosen = -1;
    let seen = 0;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      if (!eligible(c)) continue;
      const w = weightOf(c);
      seen += w;
      if (random() * seen < w) chosen = i;
    }
    return chosen;
  }
}

/**
 * Smooth weighted round robin (nginx's): each pick adds every eligible
 * candidate's weight to its running score, takes the highest and subtracts
 * the total from it. With equal weights this is plain round robin in list
 * order; with weights 5, 1, 1 the order is a a b a c a a, never five in a
 * row. Ineligible candidates are skipped, and a list of another length
 * starts the scores afresh (so a shrinking list never stalls it, the SideLB
 * bug).
 *
 * @example Usage
 * ```ts
 * import { RoundRobinPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const p = new RoundRobinPolicy();
 * const c = [{ inFlight: 0 }, { inFlight: 0 }];
 * assert.deepEqual([0, 1, 2].map(() => p.select(c, () => true, Math.random)), [0, 1, 0]);
 * ```
 */
export class RoundRobinPolicy implements Policy {
  /** The policy's name. */
  readonly name = "round-robin";
  #scores = new Float64Array(0);
  /** Picks the eligible candidate whose turn it is. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    _random: RandomSource,
  ): number {
    const n = candidates.length;
    if (this.#scores.length !== n) this.#scores = new Float64Array(n);
    const scores = this.#scores;
    let best = -1;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = candidates[i];
      if (!eligible(c)) continue;
      const w = weightOf(c);
      scores[i] += w;
      total += w;
      if (best < 0 || scores[i] > scores[best]) best = i;
    }
    if (best >= 0) scores[best] -= total;
    return best;
  }
}

/**
 * Makes a fresh policy instance by name.
 *
 * @param name The policy name.
 * @param hash The `hash` policy's settings (its fallback). @default DEFAULT_HASH
 * @returns A policy with its own state.
 *
 * @example Usage
 * ```ts
 * import { createPolicy } from "./policy.ts";
 * createPolicy("round-robin").name; // "round-robin"
 * createPolicy("hash", { key: "cookie:session", fallback: "random" }).name; // "hash"
 * ```
 */
export function createPolicy(name: PolicyName, hash?: HashSpec): Policy {
  switch (name) {
    case "least":
      return new LeastInFlightPolicy();
    case "random":
      return new RandomPolicy();
    case "round-robin":
      return new RoundRobinPolicy();
    case "p2c":
      return new P2cPolicy();
    case "hash":
      return new HashPolicy(createPolicy(hash?.fallback ?? "least"));
  }
}

/**
 * The balancing interface: a policy picks one endpoint among the eligible
 * candidates of a site. Policies are pure apart from their own cursor state
 * (round-robin) and an injected random source.
 *
 * @module
 */

import type { PolicyName } from "../config/schema.ts";
import type { EndpointLoad } from "./endpoint.ts";

/** A source of uniform random numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * Picks one endpoint.
 *
 * @example Usage
 * ```ts
 * import { createPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const p = createPolicy("least");
 * const i = p.select([{ inFlight: 3 }, { inFlight: 1 }], () => true, Math.random);
 * assert.equal(i, 1);
 * ```
 */
export interface Policy {
  /** The policy's name. */
  readonly name: PolicyName;
  /**
   * Picks one of the eligible candidates.
   *
   * @param candidates The site's endpoints.
   * @param eligible Whether a candidate may be chosen (available and not tried yet).
   * @param random Uniform random source.
   * @returns The chosen index, or -1 when no candidate is eligible.
   */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
  ): number;
}

/**
 * Fewest in-flight; ties broken uniformly at random (reservoir sampling over
 * the tied candidates, so each has exactly 1/k chance).
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
    let bestLoad = Infinity;
    let ties = 0;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i];
      if (!eligible(c)) continue;
      if (c.inFlight < bestLoad) {
        best = i;
        bestLoad = c.inFlight;
        ties = 1;
      } else if (c.inFlight === bestLoad) {
        ties++;
        if (random() * ties < 1) best = i;
      }
    }
    return best;
  }
}

/**
 * Uniformly random among the eligible candidates.
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
  /** Picks a uniformly random eligible candidate. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
  ): number {
    let chosen = -1;
    let seen = 0;
    for (let i = 0; i < candidates.length; i++) {
      if (!eligible(candidates[i])) continue;
      seen++;
      if (random() * seen < 1) chosen = i;
    }
    return chosen;
  }
}

/**
 * Round robin over the eligible candidates. The cursor is taken modulo the
 * current length on every call, so a shrinking list never stalls it (the
 * SideLB bug), and ineligible candidates are skipped.
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
  #next = 0;
  /** Picks the next eligible candidate after the previous pick. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    _random: RandomSource,
  ): number {
    const n = candidates.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (eligible(candidates[i])) {
        this.#next = (i + 1) % n;
        return i;
      }
    }
    return -1;
  }
}

/**
 * Makes a fresh policy instance by name.
 *
 * @param name The policy name.
 * @returns A policy with its own state.
 *
 * @example Usage
 * ```ts
 * import { createPolicy } from "./policy.ts";
 * createPolicy("round-robin").name; // "round-robin"
 * ```
 */
export function createPolicy(name: PolicyName): Policy {
  switch (name) {
    case "least":
      return new LeastInFlightPolicy();
    case "random":
      return new RandomPolicy();
    case "round-robin":
      return new RoundRobinPolicy();
  }
}

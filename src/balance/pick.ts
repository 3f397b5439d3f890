/**
 * The balancing interface: a policy picks one endpoint among the eligible
 * candidates of a site, from what it may read of them
 * ({@linkcode EndpointLoad}) and the request's {@linkcode PickContext}.
 * Policies are pure apart from their own cursor state and an injected
 * random source.
 *
 * @module
 */

import type { PolicyName } from "../config/schema.ts";
import type { EndpointLoad } from "./endpoint.ts";

/** A source of uniform random numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * What a pick knows of the request: the time (for latency decay) and the
 * request's hash key. One object is reused by its cluster for every pick.
 *
 * @example Usage
 * ```ts
 * import type { PickContext } from "./pick.ts";
 * const pick: PickContext = { now: 0, key: -1 };
 * ```
 */
export interface PickContext {
  /** The current time (ms, injected clock). */
  readonly now: number;
  /** The request's key hash (unsigned 32-bit), or -1 when it has none. */
  readonly key: number;
}

/** A pick without time or key (tests, and callers that need neither). */
export const NO_PICK: PickContext = { now: 0, key: -1 };

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
   * @param pick The time and the request's key. @default NO_PICK
   * @returns The chosen index, or -1 when no candidate is eligible.
   */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
    pick?: PickContext,
  ): number;
}

/**
 * A candidate's weight: its own when positive, else 1.
 *
 * @param c The candidate.
 * @returns The weight.
 *
 * @example Usage
 * ```ts
 * import { weightOf } from "./pick.ts";
 * import assert from "node:assert/strict";
 * assert.equal(weightOf({ inFlight: 0 }), 1);
 * assert.equal(weightOf({ inFlight: 0, weight: 3 }), 3);
 * ```
 */
export function weightOf(c: EndpointLoad): number {
  const w = c.weight;
  return w !== undefined && w > 0 ? w : 1;
}

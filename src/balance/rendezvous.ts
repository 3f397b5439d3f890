/**
 * The `hash` policy: rendezvous (highest random weight) hashing of the
 * request's key over the site's endpoints, weighted. The endpoint with the
 * highest score owns the key (sticky); when it is not available (down,
 * draining, full, or tried already by this request) or the request has no
 * key, the fallback policy picks. When an endpoint leaves, only the keys it
 * owned move.
 *
 * @module
 */

import type { EndpointLoad } from "./endpoint.ts";
import { rendezvousScore } from "./key_hash.ts";
import { NO_PICK, type PickContext, type Policy, type RandomSource, weightOf } from "./pick.ts";

/**
 * Rendezvous hashing with a fallback policy.
 *
 * @example Usage
 * ```ts
 * import { HashPolicy } from "./rendezvous.ts";
 * import { createPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const p = new HashPolicy(createPolicy("least"));
 * const list = [{ inFlight: 0, hashId: 1 }, { inFlight: 0, hashId: 2 }];
 * const pick = { now: 0, key: 12345 };
 * const first = p.select(list, () => true, Math.random, pick);
 * assert.equal(p.select(list, () => true, Math.random, pick), first); // sticky
 * ```
 */
export class HashPolicy implements Policy {
  /** The policy's name. */
  readonly name = "hash";
  readonly #fallback: Policy;

  /**
   * @param fallback Picks when the key's endpoint is not available, or without a key.
   */
  constructor(fallback: Policy) {
    this.#fallback = fallback;
  }

  /** Picks the key's endpoint, or lets the fallback pick. */
  select<T extends EndpointLoad>(
    candidates: readonly T[],
    eligible: (candidate: T) => boolean,
    random: RandomSource,
    pick: PickContext = NO_PICK,
  ): number {
    const i = pick.key < 0 ? -1 : rendezvousOwner(candidates, pick.key);
    if (i >= 0 && eligible(candidates[i])) return i;
    return this.#fallback.select(candidates, eligible, random, pick);
  }
}

/**
 * The endpoint that owns a key among all the candidates, available or not.
 *
 * @param candidates The site's endpoints (their `hashId`, else their position, and their weight).
 * @param key The key hash (unsigned 32-bit).
 * @returns The owner's index, or -1 for an empty list.
 *
 * @example Usage
 * ```ts
 * import { rendezvousOwner } from "./rendezvous.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rendezvousOwner([{ inFlight: 0, hashId: 9 }], 42), 0);
 * ```
 */
export function rendezvousOwner(candidates: readonly EndpointLoad[], key: number): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    const score = rendezvousScore(key, c.hashId ?? Math.imul(i + 1, 0x9e3779b1) >>> 0, weightOf(c));
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Site (tier) failover: the first site that has an eligible endpoint serves,
 * and the policy picks inside it; with a fail-back delay, a better site that
 * recovered serves again only once it has stayed available that long. Pure
 * over a snapshot of the sites and an injected time.
 *
 * @module
 */

import type { EndpointLoad } from "./endpoint.ts";
import { NO_PICK, type PickContext, type Policy, type RandomSource } from "./pick.ts";

/**
 * What {@linkcode selectEndpoint} chooses from: built once by its owner (a
 * cluster) and kept, so a pick allocates nothing.
 *
 * @example Usage
 * ```ts
 * import type { SiteChoice } from "./failover.ts";
 * import { createPolicy } from "./policy.ts";
 * const choice: SiteChoice<{ inFlight: number }> = {
 *   sites: [[{ inFlight: 0 }]],
 *   policies: [createPolicy("least")],
 *   eligible: () => true,
 *   random: Math.random,
 * };
 * ```
 */
export interface SiteChoice<T extends EndpointLoad> {
  /** Endpoints per site, best site first. */
  sites: readonly (readonly T[])[];
  /** The policy of each site (one instance per site, so each keeps its own cursor). */
  policies: readonly Policy[];
  /** Whether an endpoint may be chosen (available, not tried yet). */
  eligible: (endpoint: T) => boolean;
  /** Uniform random source. */
  random: RandomSource;
}

/**
 * Chooses an endpoint from ordered sites.
 *
 * @param choice The sites, their policies, the eligibility predicate and the random source.
 * @param from The first site to consider (see {@linkcode failbackFloor}). @default 0
 * @param pick The time and the request's key, for the policies that use them. @default NO_PICK
 * @returns The endpoint, or `undefined` when no site has an eligible one.
 *
 * @example Usage
 * ```ts
 * import { selectEndpoint } from "./failover.ts";
 * import { createPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const a = { inFlight: 0, up: false };
 * const b = { inFlight: 0, up: true };
 * const policies = [createPolicy("least"), createPolicy("least")];
 * const chosen = selectEndpoint({ sites: [[a], [b]], policies, eligible: (e) => e.up, random: Math.random });
 * assert.equal(chosen, b);
 * ```
 */
export function selectEndpoint<T extends EndpointLoad>(
  choice: SiteChoice<T>,
  from = 0,
  pick: PickContext = NO_PICK,
): T | undefined {
  const { sites, policies, eligible, random } = choice;
  for (let s = from; s < sites.length; s++) {
    const site = sites[s];
    const i = policies[s].select(site, eligible, random, pick);
    if (i >= 0) return site[i];
  }
  return undefined;
}

/**
 * The best site allowed to serve under a fail-back delay.
 *
 * Failing over is immediate: the site that served last (`current`) and every
 * worse one may serve as soon as it is available. Failing back is not: a site
 * better than `current` may serve only once it has been available for
 * `delayMs` without a break. With no `current` (-1, at startup or after a
 * reload) the first available site serves at once. With `delayMs` 0 this is
 * simply the first available site, as in minio/sidekick.
 *
 * The result is the new `current`: sites before it are skipped, and sites
 * after it still take the requests it cannot (full tier, retry).
 *
 * @param availableSince Per site: since when (ms) it has been available without a break, or -1 when it is not.
 * @param current The site that served last, or -1.
 * @param now The current time (ms).
 * @param delayMs The fail-back delay (ms).
 * @returns The index of the best site allowed to serve, or -1 when none is available.
 *
 * @example Usage
 * ```ts
 * import { failbackFloor } from "./failover.ts";
 * import assert from "node:assert/strict";
 * // Site 0 came back at t=1000 while site 1 serves; 5 s delay.
 * assert.equal(failbackFloor([1000, 0], 1, 3000, 5000), 1);
 * assert.equal(failbackFloor([1000, 0], 1, 6000, 5000), 0);
 * // Failing over is immediate.
 * assert.equal(failbackFloor([-1, 0], 0, 6000, 5000), 1);
 * ```
 */
export function failbackFloor(
  availableSince: readonly number[],
  current: number,
  now: number,
  delayMs: number,
): number {
  for (let s = 0; s < availableSince.length; s++) {
    const since = availableSince[s];
    if (since < 0) continue;
    if (current < 0 || s >= current || now - since >= delayMs) return s;
  }
  return -1;
}

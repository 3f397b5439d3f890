/**
 * Site (tier) failover: the first site that has an eligible endpoint serves,
 * and the policy picks inside it. Pure over a snapshot of the sites.
 *
 * @module
 */

import type { EndpointLoad } from "../pool/endpoint.ts";
import type { Policy, RandomSource } from "./policy.ts";

/**
 * Chooses an endpoint from ordered sites.
 *
 * @param sites Endpoints per site, best site first.
 * @param policies The policy of each site (one instance per site, so each keeps its own cursor).
 * @param eligible Whether an endpoint may be chosen (available, not tried yet).
 * @param random Uniform random source.
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
 * const chosen = selectEndpoint([[a], [b]], policies, (e) => e.up, Math.random);
 * assert.equal(chosen, b);
 * ```
 */
export function selectEndpoint<T extends EndpointLoad>(
  sites: readonly (readonly T[])[],
  policies: readonly Policy[],
  eligible: (endpoint: T) => boolean,
  random: RandomSource,
): T | undefined {
  for (let s = 0; s < sites.length; s++) {
    const site = sites[s];
    const i = policies[s].select(site, eligible, random);
    if (i >= 0) return site[i];
  }
  return undefined;
}

/**
 * Site failover with the two guards that sit around every policy: slow
 * start (a warming endpoint is eligible only part of the time, but a site
 * whose only available endpoints are warming still uses them) and the panic
 * threshold (when too small a share of a site is available and no later
 * site can serve, every endpoint of the site is used, healthy or not). Pure
 * over a snapshot with injected randomness; allocation-free (the cluster
 * keeps one {@linkcode Selection} and refills it).
 *
 * Panic and failover: failover wins. A site below the threshold that still
 * has an available endpoint serves normally while a later site could serve;
 * panic applies to it only when no later site has an available endpoint.
 * When no site has any, panic uses every endpoint of the first site allowed
 * to serve (the first one with an endpoint that is not draining).
 *
 * @module
 */

import type { EndpointLoad } from "./endpoint.ts";
import type { PickContext, Policy, RandomSource } from "./policy.ts";

/**
 * One pick's inputs (mutable, reused by its owner).
 *
 * @example Usage
 * ```ts
 * import type { Selection } from "./select.ts";
 * import { createPolicy } from "./policy.ts";
 * const sel: Selection<{ inFlight: number }> = {
 *   sites: [[{ inFlight: 0 }]], policies: [createPolicy("least")],
 *   eligible: () => true, warm: null, up: () => true, usable: () => true,
 *   panicShare: 0, random: Math.random, from: 0, pick: { now: 0, key: -1 },
 * };
 * ```
 */
export interface Selection<T extends EndpointLoad> {
  /** Endpoints per site, best site first. */
  sites: readonly (readonly T[])[];
  /** The policy of each site. */
  policies: readonly Policy[];
  /** Available and not tried by this request. */
  eligible: (e: T) => boolean;
  /** `eligible` and admitted by slow start; null when slow start is off. */
  warm: ((e: T) => boolean) | null;
  /** Healthy (the share's numerator). */
  up: (e: T) => boolean;
  /** May take traffic in panic: not draining, not full, not tried (the share's denominator when not tried). */
  usable: (e: T) => boolean;
  /** The panic threshold as a share in (0, 1]; 0 = off. */
  panicShare: number;
  /** Uniform random source. */
  random: RandomSource;
  /** The first site allowed to serve (the fail-back floor), or -1 when none is available. */
  from: number;
  /** The time and the request's key, for the policies that use them (p2c, hash). */
  pick: PickContext;
}

/**
 * Chooses an endpoint: the first site with an eligible endpoint serves
 * (warming ones only part of the time), in panic every usable endpoint of it.
 *
 * @param sel The inputs.
 * @returns The endpoint, or undefined.
 *
 * @example Usage
 * ```ts
 * import { selectGuarded } from "./select.ts";
 * import { createPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const down = { inFlight: 0, up: false };
 * // One site, nothing up, panic on: its endpoint is used anyway.
 * const chosen = selectGuarded({
 *   sites: [[down]], policies: [createPolicy("least")],
 *   eligible: (e) => e.up, warm: null, up: (e) => e.up, usable: () => true,
 *   panicShare: 0.5, random: Math.random, from: -1, pick: { now: 0, key: -1 },
 * });
 * assert.equal(chosen, down);
 * ```
 */
export function selectGuarded<T extends EndpointLoad>(sel: Selection<T>): T | undefined {
  const { sites, policies } = sel;
  for (let s = sel.from < 0 ? sites.length : sel.from; s < sites.length; s++) {
    const site = sites[s];
    const policy = policies[s];
    let i = sel.warm === null ? -1 : policy.select(site, sel.warm, sel.random, sel.pick);
    if (i < 0) i = policy.select(site, sel.eligible, sel.random, sel.pick);
    if (i < 0) continue;
    if (sel.panicShare > 0 && belowShare(site, sel) && !laterCanServe(s, sel)) {
      const p = policy.select(site, sel.usable, sel.random, sel.pick);
      if (p >= 0) i = p;
    }
    return site[i];
  }
  if (sel.panicShare <= 0) return undefined;
  // Nothing available anywhere: panic in the first site that has a usable endpoint.
  for (let s = 0; s < sites.length; s++) {
    const i = policies[s].select(sites[s], sel.usable, sel.random, sel.pick);
    if (i >= 0) return sites[s][i];
  }
  return undefined;
}

/** Whether the healthy share of a site is under the panic threshold. */
function belowShare<T extends EndpointLoad>(site: readonly T[], sel: Selection<T>): boolean {
  let up = 0;
  for (let i = 0; i < site.length; i++) if (sel.up(site[i])) up++;
  return up < sel.panicShare * site.length;
}

function laterCanServe<T extends EndpointLoad>(s: number, sel: Selection<T>): boolean {
  for (let t = s + 1; t < sel.sites.length; t++) {
    const site = sel.sites[t];
    for (let i = 0; i < site.length; i++) if (sel.eligible(site[i])) return true;
  }
  return false;
}

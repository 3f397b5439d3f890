/**
 * Passive health of a cluster: what real traffic says about its endpoints,
 * applied with the rules of `outlier.ts`. The cluster owns one and hands it
 * every blamed failure and every lease outcome; it decides whether a
 * failure after a connection was made is absorbed (counted only), and when
 * an endpoint is ejected as an outlier. Both never take out the last up
 * endpoint of a site while its probes pass.
 *
 * @module
 */

import type { HealthSpec } from "../config/schema.ts";
import { DEFAULT_PASSIVE } from "../config/defaults.ts";
import type { Endpoint, LeaseOutcome, TransportError } from "./endpoint.ts";
import { mayEject } from "./outlier.ts";

/**
 * What passive health reads of its cluster.
 *
 * @example Usage
 * ```ts
 * import type { PassiveCluster } from "./passive.ts";
 * const c: PassiveCluster = { sites: [], spec: { health: { active: true } as never } };
 * ```
 */
export interface PassiveCluster {
  /** Endpoints per site. */
  readonly sites: readonly (readonly Endpoint[])[];
  /** The spec in force. */
  readonly spec: { readonly health: HealthSpec };
}

/** Hears of an endpoint that real traffic made suspect but left in. */
export type SuspectListener = (endpoint: Endpoint, reason: string) => void;

/**
 * The passive health of one cluster.
 *
 * @example Usage
 * ```ts ignore
 * const passive = new PassiveHealth(cluster);
 * if (!passive.absorbs(endpoint, "reset", "connection reset", now)) markDown(endpoint);
 * ```
 */
export class PassiveHealth {
  readonly #cluster: PassiveCluster;
  readonly #suspects = new Set<SuspectListener>();

  /** @param cluster The cluster whose endpoints it judges. */
  constructor(cluster: PassiveCluster) {
    this.#cluster = cluster;
  }

  /**
   * Judges a blamed transport failure. A refused connect is never absorbed;
   * a failure after the connection was made is absorbed (counted, and the
   * suspect listeners told) below the threshold, or when the endpoint is the
   * last up one of its site while its probes pass.
   *
   * @param endpoint The endpoint blamed.
   * @param kind The kind of failure.
   * @param reason What failed, for the listeners.
   * @param now The current time (ms).
   * @returns Whether the endpoint stays in.
   */
  absorbs(endpoint: Endpoint, kind: TransportError, reason: string, now: number): boolean {
    if (kind === "connect") return false;
    const h = this.#cluster.spec.health;
    if (
      endpoint.countPassiveFailure(now, h.passive ?? DEFAULT_PASSIVE) &&
      !this.#lastUpWithProbes(endpoint, now)
    ) {
      return false;
    }
    for (const listener of this.#suspects) {
      try {
        listener(endpoint, reason);
      } catch {
        // a listener's failure is its own
      }
    }
    return true;
  }

  /**
   * Notes how a lease ended and ejects the endpoint as an outlier when a run
   * of 5xx or gateway errors calls for it (outlier ejection on), within the
   * cluster's share.
   *
   * @param endpoint The endpoint.
   * @param outcome What the attempt did.
   * @param reached Whether a connection to the endpoint was made.
   * @param clock The current time (ms), read only when an ejection is called for.
   * @returns Whether the endpoint was ejected now.
   */
  settled(
    endpoint: Endpoint,
    outcome: LeaseOutcome,
    reached: boolean,
    clock: () => number,
  ): boolean {
    const e = outcome.error;
    if (e === "stale" || e === "local") return false;
    const failed = e !== "none";
    if (!failed && !reached) return false; // nothing was learned of the endpoint
    const rules = this.#cluster.spec.health.outlier;
    // The happy path ends here: a few integer operations on the endpoint's record.
    if (!endpoint.noteOutcome(outcome.status, failed, rules) || rules === undefined) return false;
    const now = clock();
    if (endpoint.ejectedUntil > now) return false;
    let ejected = 0, total = 0;
    for (const site of this.#cluster.sites) {
      for (const x of site) {
        total++;
        if (x.ejectedUntil > now) ejected++;
      }
    }
    if (!mayEject(ejected, total, rules.maxEjectedPercent)) return false;
    if (this.#lastUpWithProbes(endpoint, now)) return false;
    endpoint.ejectOutlier(now, rules);
    return true;
  }

  /**
   * Subscribes to endpoints that real traffic makes suspect but leaves in.
   *
   * @param listener Called with the endpoint and what failed.
   * @returns Unsubscribes when disposed.
   */
  onSuspect(listener: SuspectListener): Disposable {
    this.#suspects.add(listener);
    return { [Symbol.dispose]: () => this.#suspects.delete(listener) };
  }

  /** Probes are on, its last probe passed, and no other endpoint of its site is up. */
  #lastUpWithProbes(endpoint: Endpoint, now: number): boolean {
    if (!this.#cluster.spec.health.active || endpoint.lastProbe?.passed === false) return false;
    if (!endpoint.isUp(now)) return false;
    const site = this.#cluster.sites.find((s) => s.includes(endpoint));
    return site !== undefined && !site.some((e) => e !== endpoint && e.isUp(now));
  }
}

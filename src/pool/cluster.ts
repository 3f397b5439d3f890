/**
 * A cluster's live endpoints, grouped in ordered sites. The cores ask it for
 * an endpoint and report transport failures back; health probes update the
 * endpoints' state. Endpoint objects are keyed by address, so a reload keeps
 * the load and health of endpoints that stay.
 *
 * @module
 */

import type { ClusterSpec } from "../config/schema.ts";
import { selectEndpoint } from "../balance/failover.ts";
import { createPolicy, type Policy, type RandomSource } from "../balance/policy.ts";
import { markDown } from "../health/state.ts";
import { Endpoint, endpointKey } from "./endpoint.ts";

/**
 * Injected time and randomness.
 *
 * @example Usage
 * ```ts
 * import type { Runtime } from "./cluster.ts";
 * const rt: Runtime = { now: Date.now, random: Math.random };
 * ```
 */
export interface Runtime {
  /** The current time in ms. */
  readonly now: () => number;
  /** Uniform random numbers in [0, 1). */
  readonly random: RandomSource;
}

/** The real clock and randomness. */
export const SYSTEM_RUNTIME: Runtime = { now: Date.now, random: Math.random };

/**
 * Live endpoints of one cluster.
 *
 * @example Usage
 * ```ts
 * import { Cluster, SYSTEM_RUNTIME } from "./cluster.ts";
 * import { DEFAULT_HEALTH } from "../config/schema.ts";
 * const cluster = new Cluster({
 *   policy: "least",
 *   health: { ...DEFAULT_HEALTH, active: false },
 *   sites: [{ name: "a", endpoints: [{ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }] }],
 * }, SYSTEM_RUNTIME);
 * cluster.pick(1)?.key; // "http://127.0.0.1:9000"
 * ```
 */
export class Cluster {
  /** Endpoints per site, best site first. */
  sites: Endpoint[][] = [];
  /** The spec in force. */
  spec: ClusterSpec;
  readonly #runtime: Runtime;
  #policies: Policy[] = [];
  #now = 0;
  #serials = 0;
  #serial = 0;
  readonly #eligible = (e: Endpoint): boolean =>
    e.triedSerial !== this.#serial && e.isAvailable(this.#now);

  /**
   * Creates the live endpoints of a cluster.
   *
   * @param spec The cluster configuration.
   * @param runtime Clock and randomness.
   */
  constructor(spec: ClusterSpec, runtime: Runtime) {
    this.spec = spec;
    this.#runtime = runtime;
    this.update(spec);
  }

  /** Every endpoint, site by site. */
  get endpoints(): Endpoint[] {
    return this.sites.flat();
  }

  /**
   * Applies a new spec: endpoints whose address stays keep their live state
   * (load, health, counters) and take the new settings (tier cap, disabled);
   * new ones start down when active probes are on; removed ones are marked
   * draining.
   *
   * @param spec The new configuration.
   * @returns The endpoints that were removed (to drain).
   */
  update(spec: ClusterSpec): Endpoint[] {
    const old = new Map(this.endpoints.map((e) => [e.key, e]));
    const now = this.#runtime.now();
    if (spec.policy !== this.spec.policy) this.#policies = [];
    this.spec = spec;
    const seen = new Set<string>();
    this.sites = spec.sites.map((site) =>
      site.endpoints.flatMap((e) => {
        const key = endpointKey(e);
        if (seen.has(key)) return [];
        seen.add(key);
        const endpoint = old.get(key) ?? new Endpoint(e, !spec.health.active, now);
        endpoint.configure(e, site.maxConnections ?? 0);
        return [endpoint];
      })
    );
    while (this.#policies.length < this.sites.length) {
      this.#policies.push(createPolicy(spec.policy));
    }
    const removed = [...old.values()].filter((e) => !seen.has(e.key));
    for (const e of removed) e.draining = true;
    return removed;
  }

  /**
   * Starts a new request: endpoints tried under an earlier serial become eligible again.
   *
   * @returns A serial to pass to {@linkcode pick}.
   */
  nextAttemptSerial(): number {
    return ++this.#serials;
  }

  /**
   * Picks an available endpoint not yet tried for this request, from the first site that has one.
   *
   * @param serial From {@linkcode nextAttemptSerial}.
   * @returns The endpoint, marked as tried, or undefined.
   */
  pick(serial: number): Endpoint | undefined {
    this.#serial = serial;
    this.#now = this.#runtime.now();
    const e = selectEndpoint(this.sites, this.#policies, this.#eligible, this.#runtime.random);
    if (e !== undefined) e.triedSerial = serial;
    return e;
  }

  /**
   * Whether any site has an available endpoint.
   *
   * @returns True when a request could be served.
   */
  anyAvailable(): boolean {
    const now = this.#runtime.now();
    return this.sites.some((site) => site.some((e) => e.isAvailable(now)));
  }

  /**
   * A transport error on real traffic (refused, reset, timeout): down until
   * a probe passes, or ejected for a while when probes are off.
   *
   * @param endpoint The endpoint that failed.
   */
  reportTransportFailure(endpoint: Endpoint): void {
    const now = this.#runtime.now();
    endpoint.failures++;
    if (this.spec.health.active) endpoint.health = markDown(endpoint.health, now);
    else endpoint.ejectedUntil = now + this.spec.health.ejectMs;
  }
}

/**
 * A cluster's live endpoints, grouped in ordered sites. The cluster owns the
 * endpoints' live state and is the {@linkcode Balancer} of the cores: they
 * lease an endpoint per attempt and release it with the outcome; health
 * probes update the endpoints' health through it. Endpoint objects are keyed by address, so a reload keeps
 * the load and health of endpoints that stay.
 *
 * @module
 */

import type { ClusterSpec } from "../config/schema.ts";
import { failbackFloor, selectEndpoint, type SiteChoice } from "./failover.ts";
import { createPolicy, type Policy } from "./policy.ts";
import { siteHealthPath } from "../health/probes.ts";
import { type HealthState, markDown } from "../health/state.ts";
import type { UpstreamTls } from "../pool/dial.ts";
import type { Runtime } from "../pool/runtime.ts";
import { type HostAddresses, SYSTEM_ADDRESSES } from "../discovery/host_addresses.ts";
import { Endpoint, endpointKey, type LeaseOutcome, type TransportError } from "./endpoint.ts";
import { decayedLatency } from "./ewma.ts";
import type { Attempt, Balancer, Lease, LeaseOwner } from "./lease.ts";
import { PassiveHealth } from "./passive.ts";
import { recoveredAt, slowStartAdmits } from "./slow_start.ts";
import { selectGuarded, type Selection } from "./select.ts";

/**
 * Called when real traffic takes an endpoint down (a transport error while
 * it was up).
 *
 * @example Usage
 * ```ts
 * import type { EndpointDownListener } from "./cluster.ts";
 * const onDown: EndpointDownListener = (endpoint, reason) => console.error(endpoint.key, reason);
 * ```
 */
export type EndpointDownListener = (endpoint: Endpoint, reason: string) => void;

/**
 * Called when sidekick itself runs out of a resource (file descriptors,
 * memory) while serving: the client was shed, no endpoint was blamed.
 *
 * @example Usage
 * ```ts
 * import type { LocalFailureListener } from "./cluster.ts";
 * const onLocal: LocalFailureListener = (reason) => console.error("sidekick:", reason);
 * ```
 */
export type LocalFailureListener = (reason: string) => void;

/**
 * Live endpoints of one cluster.
 *
 * @example Usage
 * ```ts
 * import { Cluster } from "./cluster.ts";
 * import { Attempt } from "./lease.ts";
 * import { SYSTEM_RUNTIME } from "../pool/runtime.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * const cluster = new Cluster({
 *   policy: "least",
 *   health: { ...DEFAULT_HEALTH, active: false },
 *   sites: [{ name: "a", endpoints: [{ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }] }],
 * }, SYSTEM_RUNTIME);
 * using lease = cluster.lease(new Attempt());
 * lease?.endpoint.key; // "http://127.0.0.1:9000"
 * ```
 */
export class Cluster implements Balancer, LeaseOwner {
  /** Endpoints per site, best site first. */
  sites: Endpoint[][] = [];
  /** The spec in force. */
  spec: ClusterSpec;
  /**
   * TLS toward the https endpoints, for the proxy and the health probes alike
   * (set by whoever loads the listener's upstream TLS files).
   */
  tls: UpstreamTls | undefined = undefined;
  /** Last good addresses of host-name endpoints, for every dial and probe (stale-on-error). */
  addresses: HostAddresses = SYSTEM_ADDRESSES;
  readonly #runtime: Runtime;
  #policies: Policy[] = [];
  #now = 0;
  #attempt: Attempt | null = null;
  /** The time and key of the pick in progress (one object, reused). */
  readonly #pick = { now: 0, key: -1 };
  readonly #downListeners = new Set<EndpointDownListener>();
  readonly #localListeners = new Set<LocalFailureListener>();
  #localFailures = 0;
  #localToldAt = -Infinity;
  /** Per site: since when it has been available without a break (ms), or -1 (fail-back delay only). */
  #since: number[] = [];
  /** The best site allowed to serve last time (fail-back delay only). */
  #floor = -1;
  /** The last serving site seen (-1 before any), for counting failovers. */
  #serving = -1;
  #failovers = 0;
  #failbacks = 0;
  #retries = 0;
  #tracksLatency = false;
  readonly #eligible = (e: Endpoint): boolean =>
    e.isAvailable(this.#now) && !this.#attempt!.hasTried(e);
  /** What a pick chooses from, kept so a pick allocates nothing (sites and policies set per pick). */
  readonly #choice: SiteChoice<Endpoint>;
  /** Slow start: eligible, and admitted with the share of its warm-up elapsed. */
  readonly #warm = (e: Endpoint): boolean =>
    this.#eligible(e) &&
    slowStartAdmits(
      this.#now - recoveredAt(e),
      this.spec.health.slowStartMs ?? 0,
      this.#runtime.random,
    );
  readonly #passive = new PassiveHealth(this);
  /** The guarded pick's inputs, refilled per pick (slow start or panic on). */
  readonly #sel: Selection<Endpoint>;

  /**
   * Creates the live endpoints of a cluster.
   *
   * @param spec The cluster configuration.
   * @param runtime Clock and randomness.
   */
  constructor(spec: ClusterSpec, runtime: Runtime) {
    this.spec = spec;
    this.#runtime = runtime;
    this.#choice = { sites: [], policies: [], eligible: this.#eligible, random: runtime.random };
    this.#sel = {
      sites: [],
      policies: [],
      eligible: this.#eligible,
      warm: null,
      up: (e) => e.isUp(this.#now),
      usable: (e) =>
        !e.draining && (e.maxInFlight === 0 || e.inFlight < e.maxInFlight) &&
        !this.#attempt!.hasTried(e),
      panicShare: 0,
      random: runtime.random,
      from: 0,
      pick: this.#pick,
    };
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
    if (spec.policy !== this.spec.policy || !sameHash(spec, this.spec)) this.#policies = [];
    this.spec = spec;
    this.#tracksLatency = spec.policy === "p2c" ||
      (spec.policy === "hash" && spec.hash?.fallback === "p2c");
    const seen = new Set<string>();
    this.sites = spec.sites.map((site) =>
      site.endpoints.flatMap((e) => {
        const key = endpointKey(e);
        if (seen.has(key)) return [];
        seen.add(key);
        const endpoint = old.get(key) ?? new Endpoint(e, !spec.health.active, now);
        endpoint.configure(e, site.maxConnections ?? 0, siteHealthPath(site, spec.health));
        return [endpoint];
      })
    );
    seedLatencies(this.sites, old, now);
    // A reload is not a recovery: sites available now count as settled.
    this.#since = this.sites.map((site) => site.some((e) => e.isUp(now)) ? now - 1e12 : -1);
    this.#floor = -1;
    // A reload is not a failover either.
    this.#serving = this.#servingNow();
    while (this.#policies.length < this.sites.length) {
      this.#policies.push(createPolicy(spec.policy, spec.hash));
    }
    const removed = [...old.values()].filter((e) => !seen.has(e.key));
    for (const e of removed) e.drain();
    return removed;
  }

  /**
   * Leases an available endpoint this attempt has not tried yet, from the
   * first site that has one: it counts in flight from now until the lease is
   * released.
   *
   * @param attempt The request's attempt state (the endpoint is noted on it).
   * @returns The lease, or undefined when no endpoint is available.
   */
  lease(attempt: Attempt): Lease | undefined {
    const e = this.#select(attempt);
    if (e === undefined) return undefined;
    const lease = attempt.lease;
    lease.hold(this, e, attempt.startAt >= 0 ? attempt.startAt : performance.now());
    if (attempt.count > 0) this.#retries++;
    attempt.taken(e);
    return lease;
  }

  #select(attempt: Attempt): Endpoint | undefined {
    this.#attempt = attempt;
    const now = this.#now = this.#runtime.now();
    let from = 0;
    const delay = this.spec.failbackDelayMs ?? 0;
    if (delay > 0) {
      this.#trackSites(now);
      from = this.#floor = failbackFloor(this.#since, this.#floor, now, delay);
    }
    this.#pick.now = now;
    this.#pick.key = attempt.key;
    const h = this.spec.health;
    const slow = (h.slowStartMs ?? 0) > 0;
    const panic = (h.panicPercent ?? 0) > 0;
    if (slow || panic) {
      const sel = this.#sel;
      sel.sites = this.sites;
      sel.policies = this.#policies;
      sel.warm = slow ? this.#warm : null;
      sel.panicShare = panic ? h.panicPercent! / 100 : 0;
      sel.from = from;
      const picked = selectGuarded(sel);
      this.#attempt = null;
      return picked;
    }
    if (from < 0) return undefined;
    const choice = this.#choice;
    choice.sites = this.sites;
    choice.policies = this.#policies;
    const e = selectEndpoint(choice, from, this.#pick);
    this.#attempt = null;
    return e;
  }

  /** Times the serving site moved to a later site (noted on health changes and reads). */
  get failovers(): number {
    return this.#failovers;
  }
  /** Times the serving site moved back to an earlier site. */
  get failbacks(): number {
    return this.#failbacks;
  }
  /** Leases taken after the first for one request or connection: retries on another endpoint. */
  get retries(): number {
    return this.#retries;
  }

  /**
   * Whether the policy reads latency estimates (`p2c`, or `hash` falling
   * back to it): only then are latencies measured and fed to the endpoints.
   */
  get tracksLatency(): boolean {
    return this.#tracksLatency;
  }

  /**
   * The site that serves new requests first: the first available one, or
   * with a fail-back delay the one {@linkcode failbackFloor} allows.
   *
   * @returns Its index, or -1 when no site is available.
   */
  servingSite(): number {
    const s = this.#servingNow();
    if (s >= 0 && this.#serving >= 0 && s !== this.#serving) {
      if (s > this.#serving) this.#failovers++;
      // A site that comes up for the first time (at start) is not recovering.
      else if (this.sites[s].some((e) => e.wentDown > 0)) this.#failbacks++;
    }
    if (s >= 0) this.#serving = s;
    return s;
  }

  #servingNow(): number {
    const now = this.#runtime.now();
    const delay = this.spec.failbackDelayMs ?? 0;
    if (delay > 0) {
      this.#trackSites(now);
      return failbackFloor(this.#since, this.#floor, now, delay);
    }
    return this.sites.findIndex((site) => site.some((e) => e.isUp(now)));
  }

  /** Notes which sites became available or stopped being so. */
  #trackSites(now: number): void {
    const since = this.#since;
    for (let s = 0; s < this.sites.length; s++) {
      const site = this.sites[s];
      let up = false;
      for (let i = 0; i < site.length && !up; i++) up = site[i].isUp(now);
      if (!up) since[s] = -1;
      else if (since[s] < 0) since[s] = now;
    }
  }

  /**
   * Sets an endpoint's health, as probes decide it; a change of status is
   * counted on the endpoint and noted for the fail-back delay.
   *
   * @param endpoint The endpoint.
   * @param next Its new health state.
   * @returns Whether the status changed.
   */
  setHealth(endpoint: Endpoint, next: HealthState): boolean {
    const changed = endpoint.setHealth(next);
    if (changed) this.servingSite(); // tracks sites and counts a failover
    return changed;
  }

  /**
   * Subscribes to endpoints that real traffic takes down. A listener that
   * throws does not stop the others.
   *
   * @param listener Called with the endpoint and what failed.
   * @returns Unsubscribes when disposed.
   */
  onEndpointDown(listener: EndpointDownListener): Disposable {
    this.#downListeners.add(listener);
    return { [Symbol.dispose]: () => this.#downListeners.delete(listener) };
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
   * a probe passes, or ejected for a while when probes are off. When probes
   * are on and the endpoint was up, the down listeners hear of it (the health
   * checker then logs it, and with optimistic checks starts probing again).
   *
   * @param endpoint The endpoint that failed.
   * @param reason What failed, for logs. @default "transport error"
   */
  reportTransportFailure(
    endpoint: Endpoint,
    reason = "transport error",
    kind: TransportError = "connect",
  ): void {
    const now = this.#runtime.now();
    if (this.#passive.absorbs(endpoint, kind, reason, now)) {
      endpoint.blame(0); // counted; evidence after a connection was made, not proof
      return;
    }
    if (!this.spec.health.active) {
      endpoint.blame(now + this.spec.health.ejectMs);
      this.servingSite(); // tracks sites and counts a failover
      return;
    }
    endpoint.blame(0);
    if (!this.setHealth(endpoint, markDown(endpoint.health, now))) return;
    for (const listener of this.#downListeners) {
      try {
        listener(endpoint, reason);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /**
   * Feeds one observed latency to an endpoint's peak-EWMA estimate (the
   * `p2c` cost), stamped with the cluster's clock.
   *
   * @param endpoint The endpoint.
   * @param ms The latency (ms).
   */
  reportLatency(endpoint: Endpoint, ms: number): void {
    endpoint.observeLatency(ms, this.#runtime.now());
  }

  /**
   * Subscribes to endpoints that real traffic makes suspect but that stay in
   * (below the passive threshold, or the last up endpoint of a site while its
   * probes pass): a health checker that had stopped probing them
   * (optimistic) probes them again.
   *
   * @param listener Called with the endpoint and what failed.
   * @returns Unsubscribes when disposed.
   */
  onEndpointSuspect(listener: EndpointDownListener): Disposable {
    return this.#passive.onSuspect(listener);
  }

  /**
   * Hears how a lease ended: passive health notes it, and ejects the
   * endpoint as an outlier when that is on and called for.
   *
   * @param endpoint The endpoint.
   * @param outcome What the attempt did.
   * @param reached Whether a connection to the endpoint was made.
   */
  settled(endpoint: Endpoint, outcome: LeaseOutcome, reached: boolean): void {
    if (this.#passive.settled(endpoint, outcome, reached, this.#runtime.now)) {
      this.servingSite(); // tracks sites and counts a failover
    }
  }

  /** Outlier ejections in this cluster so far. */
  get ejections(): number {
    let n = 0;
    for (const site of this.sites) for (const e of site) n += e.ejections;
    return n;
  }

  /**
   * Subscribes to sidekick's own resource failures (the client was shed).
   * A listener that throws does not stop the others.
   *
   * @param listener Called with what ran out.
   * @returns Unsubscribes when disposed.
   */
  onLocalFailure(listener: LocalFailureListener): Disposable {
    this.#localListeners.add(listener);
    return { [Symbol.dispose]: () => this.#localListeners.delete(listener) };
  }

  /** Local resource failures seen so far (out of file descriptors and the like). */
  get localFailures(): number {
    return this.#localFailures;
  }

  /**
   * A local resource error (EMFILE, ENFILE, ENOMEM) while serving: counted,
   * and told to the listeners at most once a second (a shortage comes in
   * bursts); never counted against an endpoint.
   *
   * @param reason What ran out, for logs.
   */
  reportLocalFailure(reason: string): void {
    this.#localFailures++;
    const now = this.#runtime.now();
    if (now - this.#localToldAt < 1000) return;
    this.#localToldAt = now;
    for (const listener of this.#localListeners) {
      try {
        listener(reason);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

/** Whether two specs hash alike (the `hash` policy's key and fallback). */
function sameHash(a: ClusterSpec, b: ClusterSpec): boolean {
  return a.hash?.key === b.hash?.key && a.hash?.fallback === b.hash?.fallback;
}

/**
 * Gives the endpoints a reload added a neutral latency estimate: the median
 * of their site's known ones (so `p2c` neither floods nor starves them), or
 * the default when the site has none.
 */
function seedLatencies(sites: Endpoint[][], old: Map<string, Endpoint>, now: number): void {
  if (old.size === 0) return;
  for (const site of sites) {
    const known = site.filter((e) => old.has(e.key))
      .map((e) => decayedLatency(e.latencyMs, e.latencyAt, now))
      .sort((a, b) => a - b);
    if (known.length === 0) continue;
    const median = known[known.length >> 1];
    for (const e of site) if (!old.has(e.key)) e.seedLatency(median, now);
  }
}

/**
 * Leases and attempts. A {@linkcode Balancer} picks an endpoint for one
 * attempt and hands out a {@linkcode Lease}: the endpoint counts it in flight
 * from that moment (a connect in progress included) until the lease is
 * released with the attempt's outcome. What one request has tried lives in
 * its {@linkcode Attempt}, never on the shared endpoint, so interleaved
 * requests cannot undo each other's "tried" marks.
 *
 * Each attempt carries one lease object, reused for each endpoint it holds
 * in turn, and attempts are reused by their connection, so the per-request
 * path allocates nothing (and a `using` that disposes a lease released
 * already can never release someone else's).
 *
 * @module
 */

import type { Endpoint, LeaseOutcome, TransportError } from "./endpoint.ts";

/**
 * The per-request (or per-connection, per-flow) retry state: which
 * endpoints were tried, how many leases were taken. Reuse one per client
 * connection and {@linkcode Attempt.reset} it for each request.
 *
 * @example Usage
 * ```ts
 * import { Attempt } from "./lease.ts";
 * const attempt = new Attempt();
 * attempt.reset();
 * attempt.count; // 0
 * ```
 */
export class Attempt {
  /** Leases taken for this request so far. */
  count = 0;
  /**
   * The request's key hash for the `hash` policy (unsigned 32-bit), or -1
   * when it has none. Set by the core after {@linkcode Attempt.reset}.
   */
  key: number = -1;
  /** Whether the current connection came from the idle pool (HTTP). */
  reused = false;
  /** The next connection to the same endpoint must be a new one (after a stale pooled one). */
  fresh = false;
  /**
   * When the next lease is taken (`performance.now()`), when the core has
   * read the time already (the request's start); -1 to read it at the pick.
   * Each pick clears it.
   */
  startAt: number = -1;
  /** The one lease of this attempt, held on one endpoint at a time. */
  readonly lease: Lease = new Lease();
  /** The endpoints tried, in its first {@linkcode Attempt.count} slots (kept, not shrunk: no allocation per request). */
  readonly #tried: (Endpoint | null)[] = [];

  /**
   * Starts a new request: nothing tried yet.
   *
   * @param startAt When the request started (`performance.now()`), the start
   *   of its first lease; -1 to read the time at the pick. @default -1
   */
  reset(startAt: number = -1): void {
    const t = this.#tried;
    for (let i = 0; i < this.count; i++) t[i] = null;
    this.count = 0;
    this.reused = false;
    this.fresh = false;
    this.key = -1;
    this.startAt = startAt;
  }

  /**
   * Whether this request already tried `endpoint`.
   *
   * @param endpoint The endpoint.
   * @returns True when a lease on it was taken for this request.
   */
  hasTried(endpoint: Endpoint): boolean {
    const t = this.#tried;
    for (let i = 0; i < this.count; i++) if (t[i] === endpoint) return true;
    return false;
  }

  /** The endpoint of the last lease taken, or undefined. */
  get last(): Endpoint | undefined {
    return this.count > 0 ? this.#tried[this.count - 1] ?? undefined : undefined;
  }

  /**
   * Notes a lease taken on `endpoint` (called by the balancer).
   *
   * @param endpoint The endpoint picked.
   */
  taken(endpoint: Endpoint): void {
    this.#tried[this.count++] = endpoint;
    this.reused = false;
    this.fresh = false;
    this.startAt = -1;
  }
}

/**
 * Picks an endpoint for an attempt and leases it.
 *
 * @example Usage
 * ```ts
 * import type { Balancer } from "./lease.ts";
 * import { Attempt } from "./lease.ts";
 * function once(balancer: Balancer): string | undefined {
 *   using lease = balancer.lease(new Attempt());
 *   return lease?.endpoint.key;
 * }
 * ```
 */
export interface Balancer {
  /**
   * Picks an available endpoint this attempt has not tried, from the first
   * site that has one, and leases it.
   *
   * @param attempt The request's attempt state (marked with the endpoint).
   * @returns The lease, or undefined when no endpoint is available.
   */
  lease(attempt: Attempt): Lease | undefined;
}

/** What a lease needs from the balancer that issued it. */
export interface LeaseOwner {
  /**
   * Whether the owner's policy reads latency estimates (`p2c`): only then do
   * leases measure and report latencies.
   */
  readonly tracksLatency: boolean;
  /**
   * Blames a transport failure on an endpoint (down or ejected).
   *
   * @param endpoint The endpoint.
   * @param reason What failed, for logs.
   * @param kind The kind of failure: `connect` takes the endpoint out at once,
   *   a failure after the connection was made counts toward a threshold.
   */
  reportTransportFailure(endpoint: Endpoint, reason: string, kind?: TransportError): void;
  /**
   * Feeds one observed latency to an endpoint's estimate (the `p2c` cost),
   * stamped with the owner's clock.
   *
   * @param endpoint The endpoint.
   * @param ms The latency (ms).
   */
  reportLatency(endpoint: Endpoint, ms: number): void;
  /**
   * Hears how a lease ended (passive health and outlier ejection).
   *
   * @param endpoint The endpoint.
   * @param outcome What the attempt did.
   * @param reached Whether a connection to the endpoint was made.
   */
  settled?(endpoint: Endpoint, outcome: LeaseOutcome, reached: boolean): void;
}

/** An outcome with nothing to account (a lease dropped by `using`). */
const NOTHING: LeaseOutcome = { rx: 0, tx: 0, status: 0, error: "none" };

/**
 * One endpoint held for one attempt. Release it with the outcome; `using`
 * releases it with no outcome if it was not released already. The object
 * belongs to its {@linkcode Attempt} and holds the attempt's next endpoint
 * after the release.
 *
 * @example Usage
 * ```ts ignore
 * using lease = cluster.lease(attempt);
 * if (lease === undefined) return;
 * const conn = await dial(lease.endpoint);
 * lease.reached();
 * lease.release({ rx: 10, tx: 20, status: 200, error: "none" });
 * ```
 */
export class Lease implements Disposable {
  #owner: LeaseOwner | null = null;
  #endpoint: Endpoint | null = null;
  #start = 0;
  #reached = false;
  #live = false;

  /** The endpoint held (or held last). */
  get endpoint(): Endpoint {
    if (this.#endpoint === null) throw new Error("the lease was never held");
    return this.#endpoint;
  }

  /** Whether it is held (not released yet). */
  get live(): boolean {
    return this.#live;
  }

  /**
   * Holds `endpoint` (called by the balancer at the pick): in flight from now.
   *
   * @param owner The balancer.
   * @param endpoint The endpoint picked.
   * @param start The time of the pick (`performance.now()`). @default now
   * @throws {Error} When the lease is still held (release it first).
   */
  hold(owner: LeaseOwner, endpoint: Endpoint, start: number = performance.now()): void {
    if (this.#live) throw new Error(`the lease on ${this.#endpoint?.key} is still held`);
    this.#owner = owner;
    this.#endpoint = endpoint;
    this.#reached = false;
    this.#live = true;
    this.#start = start;
    endpoint.acquire();
  }

  /**
   * A connection to the endpoint was made: the request counts on it. For a
   * TCP or UDP endpoint the time to here is the latency its `p2c` cost is
   * fed with (an HTTP endpoint's is the time to the response head, at the
   * release).
   */
  reached(): void {
    if (this.#reached || !this.#live) return;
    this.#reached = true;
    const e = this.#endpoint!, owner = this.#owner;
    e.reach();
    if (owner?.tracksLatency && (e.spec.scheme === "tcp" || e.spec.scheme === "udp")) {
      owner.reportLatency(e, performance.now() - this.#start);
    }
  }

  /**
   * Blames a transport failure on the endpoint: counted, and the endpoint
   * goes down (or is ejected when probes are off).
   *
   * @param reason What failed, for logs.
   * @param kind The kind of failure (see {@linkcode LeaseOwner.reportTransportFailure}). @default "connect"
   */
  blame(reason: string, kind: TransportError = "connect"): void {
    if (this.#owner !== null && this.#endpoint !== null) {
      this.#owner.reportTransportFailure(this.#endpoint, reason, kind);
    }
  }

  /**
   * Gives the endpoint back and accounts the outcome: bytes, status class,
   * and (when a connection was made) the request and its duration.
   *
   * @param outcome What the attempt did.
   */
  release(outcome: LeaseOutcome): void {
    if (!this.#live) return;
    this.#live = false;
    // One read of the time: the duration, and the latency when the owner tracks it.
    const end = performance.now();
    const e = this.#endpoint!, owner = this.#owner;
    e.settle(outcome, this.#reached, (end - this.#start) / 1000);
    const error = outcome.error;
    if (
      owner?.tracksLatency && this.#reached && e.spec.scheme !== "tcp" &&
      e.spec.scheme !== "udp" &&
      error !== "stale" && error !== "local"
    ) {
      // Time to the response head; without one (timeout, reset), the whole wait.
      const answered = outcome.answeredAt ?? 0;
      owner.reportLatency(e, (answered > 0 ? answered : end) - this.#start);
    }
    owner?.settled?.(e, outcome, this.#reached);
  }

  /** Releases with no outcome, unless released already. */
  [Symbol.dispose](): void {
    this.release(NOTHING);
  }
}

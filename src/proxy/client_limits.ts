/**
 * Per-client limits, by client IP: a token bucket of the request (or new
 * connection) rate, and a count of open connections, in one bounded map.
 * The decisions are pure functions of the bucket and the time
 * ({@linkcode tokensAt}, {@linkcode retryAfterMs}); {@linkcode ClientLimiter}
 * keeps the state, and its owner (a listener) passes the time in and sweeps
 * idle clients out from its sweeper.
 *
 * Cost: a listener without limits has no limiter at all. With limits, one
 * map lookup per accepted connection (or new UDP flow); a request on an
 * admitted HTTP connection uses the state the connection holds, no lookup.
 *
 * @module
 */

import type { PerClientLimits } from "../config/schema.ts";

/** Most clients tracked at once by default; past it, idle ones are evicted first. */
export const DEFAULT_MAX_CLIENTS = 65_536;

/**
 * The live state of one client IP. Owned by its {@linkcode ClientLimiter};
 * others only hold it to pass it back.
 *
 * @example Usage
 * ```ts
 * import type { ClientState } from "./client_limits.ts";
 * const s: ClientState = { tokens: 10, at: 0, open: 0 };
 * ```
 */
export interface ClientState {
  /** Tokens in the bucket at time `at`. */
  tokens: number;
  /** When `tokens` was last brought up to date (ms, the listener's clock). */
  at: number;
  /** Connections (or flows) open now. */
  open: number;
}

/**
 * The tokens of a bucket at `now`: refilled at `ratePerSec` since `at`, at
 * most `burst`.
 *
 * @param bucket Its tokens, and when they were counted (ms).
 * @param now Now (ms).
 * @param rate Refill rate (tokens per second) and the bucket's size.
 * @returns The tokens now.
 *
 * @example Usage
 * ```ts
 * import { tokensAt } from "./client_limits.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tokensAt({ tokens: 0, at: 1_000 }, 1_500, { ratePerSec: 10, burst: 20 }), 5);
 * assert.equal(tokensAt({ tokens: 0, at: 0 }, 60_000, { ratePerSec: 10, burst: 20 }), 20);
 * ```
 */
export function tokensAt(
  bucket: { readonly tokens: number; readonly at: number },
  now: number,
  rate: { readonly ratePerSec: number; readonly burst: number },
): number {
  const elapsed = now - bucket.at;
  return elapsed <= 0
    ? bucket.tokens
    : Math.min(rate.burst, bucket.tokens + (elapsed * rate.ratePerSec) / 1000);
}

/**
 * How long until a bucket holding `tokens` (< 1) has a whole token.
 *
 * @param tokens Tokens now.
 * @param ratePerSec Refill rate, tokens per second.
 * @returns Milliseconds, at least 1.
 *
 * @example Usage
 * ```ts
 * import { retryAfterMs } from "./client_limits.ts";
 * import assert from "node:assert/strict";
 * assert.equal(retryAfterMs(0.5, 10), 50);
 * ```
 */
export function retryAfterMs(tokens: number, ratePerSec: number): number {
  return Math.max(1, Math.ceil(((1 - tokens) * 1000) / ratePerSec));
}

/**
 * Whether limits are on at all.
 *
 * @param limits A listener's per-client limits.
 * @returns True when a connection cap or a rate is set.
 *
 * @example Usage
 * ```ts
 * import { limitsOn } from "./client_limits.ts";
 * import assert from "node:assert/strict";
 * assert.equal(limitsOn({ connections: 0, ratePerSec: 0, burst: 1 }), false);
 * assert.equal(limitsOn(undefined), false);
 * ```
 */
export function limitsOn(limits: PerClientLimits | undefined): limits is PerClientLimits {
  return limits !== undefined && (limits.connections > 0 || limits.ratePerSec > 0);
}

/**
 * The per-client state of one listener: a bounded map from client IP to
 * {@linkcode ClientState}. Every method takes the time, so tests drive it
 * with a fake clock.
 *
 * @example Usage
 * ```ts
 * import { ClientLimiter } from "./client_limits.ts";
 * import assert from "node:assert/strict";
 * const limiter = new ClientLimiter({ connections: 1, ratePerSec: 0, burst: 1 });
 * const first = limiter.connect("10.0.0.1", 0, false);
 * assert.ok(first !== null);
 * assert.equal(limiter.connect("10.0.0.1", 0, false), null); // a second connection is refused
 * assert.ok(limiter.connect("10.0.0.2", 0, false) !== null); // another client is not
 * limiter.release(first);
 * ```
 */
export class ClientLimiter {
  #limits: PerClientLimits;
  readonly #clients = new Map<string, ClientState>();
  readonly #maxClients: number;
  /** Milliseconds a client refused by {@linkcode ClientLimiter.connect} should wait (for `Retry-After`). */
  refusedMs = 0;
  /** Connections, flows and requests refused so far. */
  refused = 0;

  /**
   * @param limits The limits.
   * @param maxClients Most clients tracked at once. @default DEFAULT_MAX_CLIENTS
   */
  constructor(limits: PerClientLimits, maxClients: number = DEFAULT_MAX_CLIENTS) {
    this.#limits = limits;
    this.#maxClients = maxClients;
  }

  /** The limits now. */
  get limits(): PerClientLimits {
    return this.#limits;
  }

  /** Takes new limits (a reload); clients keep their state. */
  set limits(limits: PerClientLimits) {
    this.#limits = limits;
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * A new connection (or UDP flow) from `ip`: admitted when the client is
   * under its connection cap and, with `rated`, has a token.
   *
   * @param ip The client's IP.
   * @param now Now (ms).
   * @param rated Whether the connection itself takes a token (TCP, UDP; HTTP rates requests).
   * @returns The client's state to hold and give back to {@linkcode ClientLimiter.release}, or null when refused
   *   ({@linkcode ClientLimiter.refusedMs} then says how long to wait).
   */
  connect(ip: string, now: number, rated: boolean): ClientState | null {
    const { connections, ratePerSec, burst } = this.#limits;
    let s = this.#clients.get(ip);
    if (s === undefined) {
      if (this.#clients.size >= this.#maxClients && !this.#evictOne()) {
        // Every tracked client holds connections: admit untracked rather than refuse a stranger.
        return { tokens: burst, at: now, open: 1 };
      }
      s = { tokens: burst, at: now, open: 0 };
      this.#clients.set(ip, s);
    }
    if (connections > 0 && s.open >= connections) {
      this.refused++;
      this.refusedMs = 1_000;
      return null;
    }
    if (rated && ratePerSec > 0) {
      const wait = this.#take(s, now);
      if (wait > 0) {
        this.refused++;
        this.refusedMs = wait;
        return null;
      }
    }
    s.open++;
    return s;
  }

  /**
   * One request of an admitted client (HTTP).
   *
   * @param s The state {@linkcode ClientLimiter.connect} returned.
   * @param now Now (ms).
   * @returns 0 when admitted, else milliseconds until a token is there.
   */
  request(s: ClientState, now: number): number {
    if (this.#limits.ratePerSec <= 0) return 0;
    const wait = this.#take(s, now);
    if (wait > 0) this.refused++;
    return wait;
  }

  /**
   * A connection (or flow) of the client ended.
   *
   * @param s The state {@linkcode ClientLimiter.connect} returned.
   */
  release(s: ClientState): void {
    if (s.open > 0) s.open--;
  }

  /**
   * Forgets clients with nothing open whose bucket is full again (they
   * would start from the same state). Called by the listener's sweeper.
   *
   * @param now Now (ms).
   */
  sweep(now: number): void {
    const { ratePerSec, burst } = this.#limits;
    for (const [ip, s] of this.#clients) {
      if (
        s.open === 0 &&
        (ratePerSec <= 0 || tokensAt(s, now, this.#limits) >= burst)
      ) {
        this.#clients.delete(ip);
      }
    }
  }

  #take(s: ClientState, now: number): number {
    const { ratePerSec } = this.#limits;
    const tokens = tokensAt(s, now, this.#limits);
    s.at = now;
    if (tokens >= 1) {
      s.tokens = tokens - 1;
      return 0;
    }
    s.tokens = tokens;
    return retryAfterMs(tokens, ratePerSec);
  }

  /**
   * Makes room: the longest-known client with nothing open goes (the sweeper
   * forgets idle ones regularly, so this is rare and finds one early).
   */
  #evictOne(): boolean {
    for (const [ip, s] of this.#clients) {
      if (s.open === 0) {
        this.#clients.delete(ip);
        return true;
      }
    }
    return false;
  }
}

/**
 * The limiter a listener keeps after its spec changed: none when limits are
 * off, else the one it had (clients keep their state) with the new limits.
 *
 * @param previous The listener's limiter now, or null.
 * @param limits The per-client limits of the new spec.
 * @returns The limiter to keep, or null.
 *
 * @example Usage
 * ```ts
 * import { nextLimiter } from "./client_limits.ts";
 * import assert from "node:assert/strict";
 * const on = nextLimiter(null, { connections: 4, ratePerSec: 0, burst: 1 });
 * assert.ok(on !== null);
 * assert.equal(nextLimiter(on, { connections: 8, ratePerSec: 0, burst: 1 }), on);
 * assert.equal(nextLimiter(on, undefined), null);
 * ```
 */
export function nextLimiter(
  previous: ClientLimiter | null,
  limits: PerClientLimits | undefined,
): ClientLimiter | null {
  if (!limitsOn(limits)) return null;
  if (previous === null) return new ClientLimiter(limits);
  previous.limits = limits;
  return previous;
}

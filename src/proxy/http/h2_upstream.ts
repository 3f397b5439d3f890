/**
 * Client sessions to the endpoints that speak HTTP/2 (`h2c://`, `h2://`):
 * per endpoint a few multiplexed connections, each an {@linkcode H2Session}
 * in the client role. A stream goes on the first session that can open one;
 * another session is dialled only when none can (the peer's concurrent
 * stream limit, a GOAWAY), up to a cap per endpoint. A session leaves the
 * registry when it closes or the endpoint sends GOAWAY (its streams finish
 * on it); idle ones are closed by the listener's sweeper after the pool idle
 * timeout, and every one on listener close.
 *
 * @module
 */

import type { Endpoint } from "../../balance/endpoint.ts";
import type { HostAddresses } from "../../discovery/host_addresses.ts";
import type { Clock } from "../../pool/clock.ts";
import { dialEndpoint, type UpstreamTls } from "../../pool/dial.ts";
import { H2Session, type H2Stream } from "../../h2/session.ts";

/** Sessions per endpoint at most, by default: one serves until the peer's stream limit. */
export const DEFAULT_MAX_SESSIONS = 4;

/**
 * Options of {@linkcode H2Upstream}.
 *
 * @example Usage
 * ```ts
 * import type { H2UpstreamOptions } from "./h2_upstream.ts";
 * import { SYSTEM_CLOCK } from "../../pool/clock.ts";
 * const o: H2UpstreamOptions = { connectMs: 5_000, idleMs: 30_000, clock: SYSTEM_CLOCK };
 * ```
 */
export interface H2UpstreamOptions {
  /** Connect timeout (TCP connect and TLS handshake together). */
  readonly connectMs: number;
  /** A session without streams for this long is closed by {@linkcode H2Upstream.sweep}. */
  readonly idleMs: number;
  /** The sessions' clock. */
  readonly clock: Clock;
  /** TLS settings for `h2` endpoints. @default the built-in roots, host name checked */
  readonly tls?: UpstreamTls | undefined;
  /** Resolves host names with stale-on-error. @default SYSTEM_ADDRESSES */
  readonly addresses?: HostAddresses | undefined;
  /** Sessions per endpoint at most. @default DEFAULT_MAX_SESSIONS */
  readonly maxSessionsPerEndpoint?: number;
}

/**
 * Every session to every endpoint is busy: the peer's concurrent stream
 * limit is reached on as many sessions as the cap allows. Nothing was sent;
 * the request may go to another endpoint.
 *
 * @example Usage
 * ```ts
 * import { H2BusyError } from "./h2_upstream.ts";
 * const e = new H2BusyError("h2c://127.0.0.1:50051", 4);
 * ```
 */
export class H2BusyError extends Error {
  /**
   * @param key The endpoint.
   * @param sessions How many sessions it has, all at the peer's stream limit.
   */
  constructor(key: string, sessions: number) {
    super(`every one of the ${sessions} HTTP/2 sessions to ${key} is at its stream limit`);
    this.name = "H2BusyError";
  }
}

/** One session and when it last had a stream. */
interface Held {
  readonly session: H2Session;
  usedAt: number;
}

/** The sessions to one endpoint. */
interface EndpointSessions {
  /** Sessions that take new streams (not after GOAWAY). */
  readonly open: Held[];
  /** A dial in progress, shared by the streams that wait for it. */
  dialing: Promise<Held> | null;
}

/** What {@linkcode H2Upstream.open} hands back. */
export interface OpenedStream {
  /** The upstream stream, its request HEADERS sent. */
  readonly stream: H2Stream;
  /** Whether it went on a session that existed before (a failure there may be the session's, not the endpoint's). */
  readonly reused: boolean;
}

/**
 * The client sessions of one listener to its HTTP/2 endpoints.
 *
 * @example Usage
 * ```ts ignore
 * import { H2Upstream } from "./h2_upstream.ts";
 * const h2 = new H2Upstream({ connectMs: 5_000, idleMs: 30_000, clock: SYSTEM_CLOCK });
 * const { stream } = await h2.open(endpoint, fields, true, false);
 * console.log(await stream.response());
 * await h2.closeAll();
 * ```
 */
export class H2Upstream {
  #options: H2UpstreamOptions;
  readonly #by = new Map<string, EndpointSessions>();
  /** Every session not yet closed, also those past GOAWAY, and how each run ends. */
  readonly #all = new Map<H2Session, Promise<void>>();
  /** Sessions out of the choice (GOAWAY either way) that stay until their streams end. */
  readonly #left = new Set<H2Session>();
  #closed = false;

  /** @param options Timeouts, TLS, clock, cap. */
  constructor(options: H2UpstreamOptions) {
    this.#options = options;
  }

  /** Sessions open (or draining after GOAWAY), for tests and stats. */
  get sessions(): number {
    return this.#all.size;
  }

  /**
   * Applies new timeouts and TLS material to what comes next (a reload).
   *
   * @param options The new settings.
   */
  configure(options: H2UpstreamOptions): void {
    this.#options = options;
  }

  /**
   * Opens a stream to `endpoint` and sends its request HEADERS: on a session
   * that can take it, else on a new one (dialled, or the one being dialled).
   *
   * @param endpoint An `h2c` or `h2` endpoint.
   * @param fields The request fields (pseudo-headers first).
   * @param endStream Whether the request ends with its HEADERS.
   * @param fresh Skip the existing sessions (a stream refused on one of them).
   * @returns The stream, and whether its session existed before.
   * @throws The dial's error (refused, timeout, TLS, ALPN), {@linkcode H2BusyError},
   *   or an Error when the registry is closed.
   */
  async open(
    endpoint: Endpoint,
    fields: readonly string[],
    endStream: boolean,
    fresh: boolean,
  ): Promise<OpenedStream> {
    const now = this.#options.clock.now();
    let entry = this.#by.get(endpoint.key);
    if (!fresh && entry !== undefined) {
      const held = pick(entry.open);
      if (held !== undefined) {
        held.usedAt = now;
        return { stream: held.session.request(fields, endStream), reused: true };
      }
    }
    // Two tries: a shared dial can be filled by the streams that waited for it first.
    for (let tries = 0; tries < 2; tries++) {
      if (this.#closed) throw new Error("the listener is closing");
      entry = this.#entry(endpoint.key);
      const cap = this.#options.maxSessionsPerEndpoint ?? DEFAULT_MAX_SESSIONS;
      if (entry.dialing === null && entry.open.length >= cap) {
        throw new H2BusyError(endpoint.key, entry.open.length);
      }
      const dial = entry.dialing ??= this.#dial(endpoint, entry);
      const held = await dial;
      if (held.session.canOpen) {
        held.usedAt = this.#options.clock.now();
        return { stream: held.session.request(fields, endStream), reused: false };
      }
      const other = pick(entry.open);
      if (other !== undefined) {
        other.usedAt = this.#options.clock.now();
        return { stream: other.session.request(fields, endStream), reused: true };
      }
    }
    throw new H2BusyError(endpoint.key, entry?.open.length ?? 0);
  }

  #entry(key: string): EndpointSessions {
    let entry = this.#by.get(key);
    if (entry === undefined) this.#by.set(key, entry = { open: [], dialing: null });
    return entry;
  }

  /** Dials one session and enters it; the dial slot is freed whatever the result. */
  async #dial(endpoint: Endpoint, entry: EndpointSessions): Promise<Held> {
    const o = this.#options;
    try {
      const conn = await dialEndpoint(endpoint.spec, {
        timeoutMs: o.connectMs,
        tls: o.tls,
        addresses: o.addresses,
      });
      if (this.#closed) {
        conn.close();
        throw new Error("the listener is closing");
      }
      const session = new H2Session(conn, {
        role: "client",
        clock: o.clock,
        onGoaway: () => this.#leave(entry, held),
      });
      const held: Held = { session, usedAt: o.clock.now() };
      entry.open.push(held);
      this.#all.set(
        session,
        session.run().finally(() => {
          this.#leave(entry, held);
          this.#left.delete(session);
          this.#all.delete(session);
        }),
      );
      return held;
    } finally {
      entry.dialing = null;
    }
  }

  /** A session takes no more streams: out of the choice (the sweep closes it once its streams end). */
  #leave(entry: EndpointSessions, held: Held): void {
    const i = entry.open.indexOf(held);
    if (i >= 0) entry.open.splice(i, 1);
    if (!held.session.closed) this.#left.add(held.session);
  }

  /**
   * Closes sessions without a stream for the idle timeout, and those out of
   * the choice (after GOAWAY) whose streams have ended.
   *
   * @param now The current time (ms, the clock's).
   */
  sweep(now: number): void {
    for (const session of this.#left) if (session.activeStreams === 0) session.close();
    for (const entry of this.#by.values()) {
      for (const held of entry.open.slice()) {
        if (held.session.activeStreams > 0) held.usedAt = now;
        else if (now - held.usedAt >= this.#options.idleMs) held.session.close();
      }
    }
  }

  /**
   * Lets the sessions to endpoints no longer in `keys` go: GOAWAY, then they
   * close when their streams end.
   *
   * @param keys The keys of the endpoints that remain.
   */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, entry] of this.#by) {
      if (keys.has(key)) continue;
      for (const held of entry.open.slice()) {
        this.#leave(entry, held);
        if (held.session.activeStreams === 0) held.session.close();
        else held.session.goaway();
      }
      if (entry.dialing === null) this.#by.delete(key);
    }
  }

  /**
   * Closes every session now (their streams end reset) and refuses new
   * streams.
   *
   * @returns Resolves when every session's run has ended.
   */
  async closeAll(): Promise<void> {
    this.#closed = true;
    for (const entry of this.#by.values()) entry.open.length = 0;
    this.#by.clear();
    for (const session of this.#all.keys()) session.close();
    await Promise.all(this.#all.values());
  }
}

/** The session with the fewest streams among those that can open one. */
function pick(open: readonly Held[]): Held | undefined {
  let best: Held | undefined;
  for (let i = 0; i < open.length; i++) {
    const h = open[i];
    if (!h.session.canOpen) continue;
    if (best === undefined || h.session.activeStreams < best.session.activeStreams) best = h;
  }
  return best;
}

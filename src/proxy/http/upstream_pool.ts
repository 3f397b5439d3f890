/**
 * Upstream keep-alive connections, pooled per endpoint and bounded by an idle
 * count and an idle timeout. A pooled connection always has a read in flight,
 * so a backend that closes it is noticed (and the connection dropped) before
 * it is handed out again.
 *
 * @module
 */

import { dialEndpoint, type UpstreamTls } from "../../pool/dial.ts";
import type { HostAddresses } from "../../discovery/host_addresses.ts";
import type { Endpoint } from "../../balance/endpoint.ts";
import { BufferedSocket } from "../socket.ts";
import { BufferPool } from "../buffers.ts";
import { ReuseGuard } from "./reuse_guard.ts";

/** Read buffer of an upstream connection. */
export const UPSTREAM_BUFFER = 64 * 1024;

/** Bytes of upstream read buffers kept for the next connections (per listener). */
const UPSTREAM_BUFFER_POOL = 4 * 1024 * 1024;

/**
 * One connection to an endpoint.
 *
 * @example Usage
 * ```ts ignore
 * import { UpstreamConn } from "./upstream_pool.ts";
 * ```
 */
export class UpstreamConn extends BufferedSocket {
  /** The endpoint it is connected to. */
  readonly endpoint: Endpoint;
  /** Whether it served a request before (came from the pool). */
  reused = false;
  /** When it went idle (ms). */
  idleSince = 0;
  /** Whether it sits in the pool. */
  pooled = false;

  readonly #buffers: BufferPool | null;

  /**
   * @param conn The connection.
   * @param endpoint Its endpoint.
   * @param onIdleRead Called when a read started while pooled settles.
   * @param buffers Where its read buffer comes from and goes back to once
   *   it is closed and no read writes into it (null: its own).
   */
  constructor(
    conn: Deno.Conn,
    endpoint: Endpoint,
    onIdleRead: (n: number | null) => void,
    buffers: BufferPool | null = null,
  ) {
    super(conn, buffers?.acquire() ?? UPSTREAM_BUFFER, onIdleRead);
    this.endpoint = endpoint;
    this.#buffers = buffers;
  }

  /**
   * Closes the connection; its buffer goes back to the pool once no read
   * writes into it (dropped buffers would wait for a GC that an idle
   * process may not run for minutes).
   */
  override close(): void {
    if (this.closed) return;
    super.close();
    const pool = this.#buffers, buf = this.buf;
    if (pool === null) return;
    if (this.reading) this.settle().then(() => pool.release(buf));
    else pool.release(buf);
  }
}

/**
 * Options of {@linkcode UpstreamPool}.
 *
 * @example Usage
 * ```ts
 * import type { UpstreamPoolOptions } from "./upstream_pool.ts";
 * const o: UpstreamPoolOptions = { maxIdlePerEndpoint: 64, idleMs: 30_000, connectMs: 5_000 };
 * ```
 */
export interface UpstreamPoolOptions {
  /** Idle connections kept per endpoint. */
  readonly maxIdlePerEndpoint: number;
  /** Idle connections older than this are closed by {@linkcode UpstreamPool.sweep}. */
  readonly idleMs: number;
  /** Connect timeout (TCP connect and TLS handshake together). */
  readonly connectMs: number;
  /** TLS settings for https endpoints. @default the built-in roots, host name checked */
  readonly tls?: UpstreamTls | undefined;
  /** Resolves host names with stale-on-error. @default SYSTEM_ADDRESSES */
  readonly addresses?: HostAddresses;
  /** Hears of an endpoint that sent stray bytes (once per cool-down). @default console.error */
  readonly onNotice?: ((message: string) => void) | undefined;
}

/**
 * Idle upstream connections per endpoint, and the dialer.
 *
 * @example Usage
 * ```ts ignore
 * import { UpstreamPool } from "./upstream_pool.ts";
 * const pool = new UpstreamPool({ maxIdlePerEndpoint: 64, idleMs: 30_000, connectMs: 5_000 });
 * const conn = pool.take(endpoint) ?? await pool.connect(endpoint);
 * pool.give(conn, Date.now());
 * pool.closeAll();
 * ```
 */
export class UpstreamPool {
  #idle = new Map<string, UpstreamConn[]>();
  #options: UpstreamPoolOptions;
  #closed = false;
  readonly #guard: ReuseGuard;
  readonly #buffers = new BufferPool(UPSTREAM_BUFFER, UPSTREAM_BUFFER_POOL);

  /** @param options Bounds and timeouts. */
  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
    this.#guard = new ReuseGuard(options.onNotice ?? ((m) => console.error(m)));
  }

  /**
   * Applies new bounds, timeouts and TLS material to what comes next (a
   * reload); idle connections over the new per-endpoint bound close now.
   *
   * @param options The new settings.
   */
  configure(options: UpstreamPoolOptions): void {
    this.#options = options;
    for (const list of this.#idle.values()) {
      while (list.length > options.maxIdlePerEndpoint) {
        const c = list.shift()!;
        c.pooled = false;
        c.close();
      }
    }
  }

  /**
   * Takes an idle connection to `endpoint`, if any.
   *
   * @param endpoint The endpoint.
   * @returns A connection (its pending read carries the next response) or undefined.
   */
  take(endpoint: Endpoint): UpstreamConn | undefined {
    const list = this.#idle.get(endpoint.key);
    if (list === undefined) return undefined;
    for (;;) {
      const c = list.pop();
      if (c === undefined) return undefined;
      c.pooled = false;
      if (!c.closed && !c.eof) return c;
    }
  }

  /**
   * Dials `endpoint` with the connect timeout (and TLS for https endpoints).
   *
   * @param endpoint The endpoint.
   * @returns A fresh connection.
   * @throws When the connection cannot be made in time.
   */
  async connect(endpoint: Endpoint): Promise<UpstreamConn> {
    const conn = await dialEndpoint(endpoint.spec, {
      timeoutMs: this.#options.connectMs,
      tls: this.#options.tls,
      addresses: this.#options.addresses,
    });
    const upstream: UpstreamConn = new UpstreamConn(conn, endpoint, (n) => {
      if (!upstream.pooled) return;
      this.#drop(upstream);
      // Bytes (not an end of stream) on an idle connection: the backend is out of step.
      if (n !== null && n > 0) this.#stray(upstream, "idle", Date.now());
    }, this.#buffers);
    return upstream;
  }

  /**
   * Returns a connection whose exchange completed cleanly to the pool.
   *
   * @param conn The connection (no unconsumed bytes).
   * @param now The current time (ms).
   */
  give(conn: UpstreamConn, now: number): void {
    const max = this.#options.maxIdlePerEndpoint;
    if (conn.available > 0) this.#stray(conn, "past-end", now);
    if (
      this.#closed || max === 0 || conn.closed || conn.eof || conn.available > 0 ||
      !this.#guard.reusable(conn.endpoint.key, now)
    ) {
      conn.close();
      return;
    }
    let list = this.#idle.get(conn.endpoint.key);
    if (list === undefined) this.#idle.set(conn.endpoint.key, list = []);
    if (list.length >= max) {
      conn.close();
      return;
    }
    conn.start = conn.end = 0;
    conn.reused = true;
    conn.idleSince = now;
    conn.pooled = true;
    list.push(conn);
    conn.readAhead();
  }

  /** Closes `conn` and every idle connection to its endpoint, which is not reused for a while. */
  #stray(conn: UpstreamConn, place: "idle" | "past-end", now: number): void {
    conn.close();
    const key = conn.endpoint.key;
    this.#guard.stray(key, place, now);
    const list = this.#idle.get(key);
    if (list === undefined) return;
    for (const c of list.splice(0)) {
      c.pooled = false;
      c.close();
    }
  }

  #drop(conn: UpstreamConn): void {
    conn.pooled = false;
    const list = this.#idle.get(conn.endpoint.key);
    if (list !== undefined) {
      const i = list.indexOf(conn);
      if (i >= 0) list.splice(i, 1);
    }
    conn.close();
  }

  /**
   * Closes idle connections older than the idle timeout (and drops kept
   * read buffers once none was taken for a while).
   *
   * @param now The current time (ms).
   */
  sweep(now: number): void {
    this.#buffers.trimIdle(now);
    for (const list of this.#idle.values()) {
      while (list.length > 0 && now - list[0].idleSince >= this.#options.idleMs) {
        const c = list.shift()!;
        c.pooled = false;
        c.close();
      }
    }
  }

  /**
   * Closes idle connections to endpoints no longer in `keys`.
   *
   * @param keys The keys of the endpoints that remain.
   */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, list] of this.#idle) {
      if (keys.has(key)) continue;
      for (const c of list) {
        c.pooled = false;
        c.close();
      }
      this.#idle.delete(key);
    }
  }

  /** Closes every idle connection and refuses new ones. */
  closeAll(): void {
    this.#closed = true;
    this.retain(new Set());
  }
}

/**
 * The HTTP/2 accept side of an HTTP listener: TLS clients whose handshake
 * (ALPN) is not done yet, and the clients that speak HTTP/2 (by ALPN `h2`,
 * or handed over by an HTTP/1.1 connection whose first bytes were the h2c
 * preface). The listener's sweeper, drain and close visit them here.
 *
 * @module
 */

import type { Clock } from "../../pool/clock.ts";
import type { HttpConnectionContext } from "./context.ts";
import { H2ClientConnection } from "./h2_connection.ts";
import type { H2UpstreamSlot } from "./h2_forward_h2.ts";
import type { TimeoutCounts } from "./stall.ts";

/**
 * The HTTP/2 clients of one listener and the TLS handshakes in progress.
 *
 * @example Usage
 * ```ts ignore
 * import { Http2Clients } from "./http2_clients.ts";
 * const h2 = new Http2Clients(ctx, clock);
 * const alpn = await h2.handshake(tlsConn, spec.timeouts.headerReadMs);
 * if (alpn === "h2") await h2.serve(tlsConn);
 * ```
 */
export class Http2Clients {
  readonly #ctx: HttpConnectionContext;
  readonly #clock: Clock;
  /** Clients speaking HTTP/2. */
  readonly #sessions = new Set<H2ClientConnection>();
  /** TLS clients whose handshake (ALPN) is not done yet, with its deadline. */
  readonly #handshaking = new Map<Deno.Conn, number>();
  /** Sessions to h2 endpoints (h2-up's registry), closed with the listener. */
  readonly #upstream: H2UpstreamSlot = { current: null };

  /**
   * @param ctx What each connection sees of the listener.
   * @param clock The listener's clock.
   */
  constructor(ctx: HttpConnectionContext, clock: Clock) {
    this.#ctx = ctx;
    this.#clock = clock;
  }

  /** HTTP/2 clients and TLS handshakes in progress. */
  get size(): number {
    return this.#sessions.size + this.#handshaking.size;
  }

  /**
   * Serves a client that speaks HTTP/2 (told to go away at once when the listener drains).
   *
   * @param conn The client connection.
   * @param initial Bytes already read from it (the h2c preface), if any.
   * @returns Resolves when the connection is done (it is then forgotten).
   */
  serve(conn: Deno.Conn, initial?: Uint8Array): Promise<void> {
    const h = new H2ClientConnection(this.#ctx, conn, this.#clock, this.#upstream);
    this.#sessions.add(h);
    if (this.#ctx.draining) h.goaway();
    return h.serve(initial).finally(() => this.#sessions.delete(h));
  }

  /**
   * Finishes a TLS client's handshake, bounded by the header-read timeout
   * (enforced by {@linkcode Http2Clients.sweep}).
   *
   * @param conn The TLS client connection.
   * @param headerReadMs The listener's header-read timeout (ms; 0 = off, then 10 s).
   * @returns The ALPN choice (null when none), or undefined when the handshake failed (closed).
   */
  async handshake(conn: Deno.TlsConn, headerReadMs: number): Promise<string | null | undefined> {
    this.#handshaking.set(conn, this.#clock.now() + (headerReadMs > 0 ? headerReadMs : 10_000));
    try {
      return (await conn.handshake()).alpnProtocol;
    } catch {
      closeQuietly(conn); // (the handshake fails at once when the sweeper or close() closed it)
      return undefined;
    } finally {
      this.#handshaking.delete(conn);
    }
  }

  /** Sends GOAWAY to every HTTP/2 client (streams in flight finish; an idle one closes). */
  goaway(): void {
    for (const h of this.#sessions) h.goaway();
  }

  /**
   * Called by the listener's sweeper: response-header deadlines, stalls and
   * idleness of each HTTP/2 client, and handshakes past their deadline.
   *
   * @param now The current time (ms, the listener's clock).
   * @param timeouts Where cuts are counted.
   */
  sweep(now: number, timeouts: TimeoutCounts): void {
    for (const h of this.#sessions) h.sweep(now, timeouts);
    for (const [conn, deadline] of this.#handshaking) if (deadline <= now) closeQuietly(conn);
  }

  /** Closes the connections whose TLS handshake is not done. */
  closeHandshakes(): void {
    for (const conn of this.#handshaking.keys()) closeQuietly(conn);
  }

  /** Closes every HTTP/2 client at once (the grace period is over). */
  close(): void {
    for (const h of this.#sessions) h.close();
  }

  /** Closes the sessions to h2 endpoints (with the listener, once its clients are gone). */
  closeUpstream(): void {
    this.#upstream.current?.close();
    this.#upstream.current = null;
  }
}

/** Closes a connection that may be closed already. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

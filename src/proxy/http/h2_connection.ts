/**
 * One client connection speaking HTTP/2 (ALPN `h2` on a TLS listener, or h2c
 * prior knowledge on a plain one): an `H2Session` in the server role whose
 * streams are served by `h2_serve.ts`. The listener's sweeper calls
 * {@linkcode H2ClientConnection.sweep}: response-header deadlines, stalled
 * bodies and readers (`stall.ts`), and the idle timeout of a connection
 * without streams.
 *
 * @module
 */

import { hashString } from "../../balance/key_hash.ts";
import { H2_ERROR, H2Session, type H2Stream } from "../../h2/session.ts";
import type { Clock } from "../../pool/clock.ts";
import { bytes } from "./ascii.ts";
import { admitClient, type ClientLimit } from "./client_limit.ts";
import type { HttpConnectionContext } from "./context.ts";
import type { H2StreamContext, H2UpstreamSlot } from "./h2_forward_h2.ts";
import { type H2ClientFacts, serveStream } from "./h2_serve.ts";
import { H2_WAITING, H2Exchange } from "./h2_state.ts";
import { checkStall, STALL_DEADLINE, STALL_NONE, type TimeoutCounts } from "./stall.ts";
import { NO_BASE_PATH } from "./writer.ts";

/**
 * Exchanges kept for reuse per busy connection (about 8 KiB each); more
 * concurrent streams allocate, and an idle connection keeps none.
 */
const FREE_EXCHANGES = 8;

/** Our receive windows: sized for throughput (a 64 KiB default window halves a fast upload). */
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 4 * 1024 * 1024;

/**
 * Serves one HTTP/2 client connection.
 *
 * @example Usage
 * ```ts ignore
 * const c = new H2ClientConnection(ctx, conn, clock, { current: null });
 * await c.serve(); // or c.serve(prefaceBytesAlreadyRead)
 * ```
 */
export class H2ClientConnection implements H2ClientFacts {
  /** The client socket. */
  readonly conn: Deno.Conn;
  /** The HTTP/2 connection. */
  readonly session: H2Session;
  /** The client IP's hash. */
  readonly clientIpHash: number;
  /** Per-client limits: this connection's standing, or null when off. */
  readonly limit: ClientLimit | null;
  readonly #ctx: HttpConnectionContext;
  readonly #sctx: H2StreamContext;
  readonly #active = new Set<H2Exchange>();
  /** The stream handlers running (awaited before the connection counts as ended). */
  readonly #handlers = new Set<Promise<void>>();
  readonly #free: H2Exchange[] = [];
  readonly #clientIpBytes: Uint8Array;
  #idleSince: number;
  /** The idle timeout sent GOAWAY. */
  #idleGoaway = false;

  /**
   * Wraps an accepted connection in a server-role session (not running until {@linkcode serve}).
   *
   * @param ctx The listener.
   * @param conn The accepted (and, for TLS, handshaken) connection.
   * @param clock The listener's clock.
   * @param upstreamH2 The listener's upstream h2 sessions.
   */
  constructor(
    ctx: HttpConnectionContext,
    conn: Deno.Conn,
    clock: Clock,
    upstreamH2: H2UpstreamSlot,
  ) {
    this.#ctx = ctx;
    this.conn = conn;
    const ip = (conn.remoteAddr as Deno.NetAddr).hostname ?? "unknown";
    this.clientIpHash = hashString(ip);
    this.#clientIpBytes = bytes(ip);
    this.#sctx = { listener: ctx, clientIp: ip, tls: ctx.tls, clock, upstreamH2 };
    this.limit = admitClient(ctx.limiter, ip, ctx.now());
    this.#idleSince = ctx.now();
    this.session = new H2Session(conn, {
      role: "server",
      clock,
      maxHeaderListSize: ctx.spec.limits.maxHeadBytes,
      initialWindowSize: STREAM_WINDOW,
      connectionWindowSize: CONNECTION_WINDOW,
      onStream: (stream) => this.#onStream(stream),
    });
  }

  /** Whether no stream is being served (may be closed at once when draining). */
  get idle(): boolean {
    return this.#active.size === 0;
  }

  /** Streams being served now. */
  get streams(): number {
    return this.#active.size;
  }

  /**
   * Runs the connection until it closes. Never rejects.
   *
   * @param initial Bytes already read from the connection (the h2c preface).
   */
  async serve(initial?: Uint8Array): Promise<void> {
    try {
      await this.session.run(initial);
    } finally {
      for (const x of this.#active) {
        x.clientGone = true;
        x.upstream?.close();
      }
      while (this.#handlers.size > 0) await Promise.all([...this.#handlers]);
      this.limit?.release();
    }
  }

  #onStream(stream: H2Stream): void {
    const x = this.#free.pop() ??
      new H2Exchange(this.#ctx.now, {
        clientIp: this.#clientIpBytes,
        tls: this.#ctx.tls,
        basePath: NO_BASE_PATH,
      });
    x.begin(stream);
    stream.onReset = x.onReset;
    this.#active.add(x);
    const handler = serveStream(this.#sctx, this, x, stream.remoteEnded).finally(() => {
      this.#handlers.delete(handler);
      this.#active.delete(x);
      x.stream = null;
      x.upstream = null;
      if (this.#active.size === 0) this.#idleSince = this.#ctx.now();
      if (this.#free.length < FREE_EXCHANGES) this.#free.push(x);
      // A client over its connection cap gets its 429 and then the connection ends.
      if (this.limit?.admitted === false) this.session.goaway(H2_ERROR.ENHANCE_YOUR_CALM);
    });
    this.#handlers.add(handler);
  }

  /**
   * The sweeper's visit: response-header deadlines (504), stalled request
   * bodies and readers and the whole-request deadline (stream reset), and
   * the idle timeout of a connection without streams (GOAWAY, close).
   *
   * @param now The listener's clock.
   * @param timeouts Where cuts are counted.
   */
  sweep(now: number, timeouts: TimeoutCounts): void {
    const t = this.#ctx.spec.timeouts;
    if (this.#active.size === 0) {
      this.#free.length = 0; // an idle connection holds no per-stream memory
      if (t.idleMs > 0 && now - this.#idleSince >= t.idleMs) {
        // GOAWAY closes the socket once it is written; one idle period later, close anyway.
        if (this.#idleGoaway) this.session.close();
        else this.session.goaway();
        this.#idleGoaway = true;
        this.#idleSince = now;
      }
      return;
    }
    for (const x of this.#active) {
      if (x.deadline !== 0 && x.deadline <= now && x.phase === H2_WAITING) {
        x.deadline = 0;
        x.timedOut = true;
        x.upstream?.close();
        continue;
      }
      if (x.timedOut || x.clientGone) continue;
      const verdict = checkStall(
        x.stall,
        {
          waitingBody: x.pumpReading,
          waitingWrite: x.writing,
          progress: x.rx + x.tx,
          startedAt: x.startedAt,
        },
        now,
        t,
      );
      if (verdict === STALL_NONE) continue;
      timeouts.count(verdict);
      if (verdict === STALL_DEADLINE && x.phase === H2_WAITING && !x.pumpReading) {
        x.timedOut = true; // nothing relayed yet: the client gets a 504
        x.upstream?.close();
      } else {
        x.clientGone = true;
        x.upstream?.close();
        x.stream?.reset(H2_ERROR.CANCEL);
      }
    }
  }

  /** Sends GOAWAY: streams in flight finish, no new ones are taken; without streams the socket closes once it is written. */
  goaway(): void {
    this.session.goaway();
  }

  /** Closes the connection now (a GOAWAY not written yet is lost); streams in flight end as reset. */
  close(): void {
    this.session.close();
  }
}

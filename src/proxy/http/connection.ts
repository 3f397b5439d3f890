/**
 * One client connection of the HTTP proxy: reads request heads, serves each
 * request (`exchange.ts`: it goes to an endpoint and the response streams
 * back), in order, until either side closes. Heads are parsed in place;
 * bodies stream chunk by chunk (see `relay.ts`). Between requests the
 * connection reads into a small buffer and gives its working memory back;
 * the listener's sweeper enforces its deadlines and stalls. A trace record
 * is built only when tracing is on.
 *
 * @module
 */

import type { Attempt } from "../../balance/lease.ts";
import { hashString } from "../../balance/key_hash.ts";
import { BufferedSocket, writeAll } from "../socket.ts";
import type { ConnectionScratch } from "./scratch.ts";
import { HttpParseError } from "./errors.ts";
import { findHeadEnd, parseRequestHead } from "./head.ts";
import { H1ToH2 } from "./h2_upstream_h1.ts";
import type { ExchangeOutcome } from "./retry.ts";
import { ExchangeState, HEAD, IDLE, WAITING } from "./relay.ts";
import { textResponse } from "./responses.ts";
import { countOwn } from "./own_reply.ts";
import { clientIpBytes, endsWithHttpVersion, isPreface } from "./request_bytes.ts";
import { emitTrace, type HttpTracer } from "./trace.ts";
import { checkStall, STALL_DEADLINE, STALL_NONE, StallClock } from "./stall.ts";
import type { HttpConnectionContext } from "./context.ts";
import { type ForwardInfo, NO_BASE_PATH } from "./writer.ts";
import { admitClient, type ClientLimit } from "./client_limit.ts";
import { type ExchangeHost, serveExchange } from "./exchange.ts";

export type { HttpConnectionContext } from "./context.ts";

/**
 * The read buffer of a connection between requests, in bytes: the heads of
 * simple clients fit, and a bigger one moves on into the pooled working
 * memory (one more read).
 */
const IDLE_READ_BUFFER = 256;

/** The idle read buffer of a connection whose client once filled the small one: most heads fit. */
const IDLE_READ_BUFFER_BIG = 1024;

/**
 * Serves one accepted client connection.
 *
 * @example Usage
 * ```ts ignore
 * const c = new HttpConnection(ctx, conn);
 * await c.serve();
 * ```
 */
export class HttpConnection implements ExchangeHost {
  /** The client side. */
  readonly client: BufferedSocket;
  readonly #ctx: HttpConnectionContext;
  /**
   * Working memory: taken when a request's first bytes arrive; given back
   * when the connection waits for its next request, unless requests come
   * back to back (then {@linkcode HttpConnection.park} gives it back once
   * the listener's sweeper finds the connection waiting). Null while parked.
   */
  #scratch: ConnectionScratch | null = null;
  /** Waiting for the next request with nothing buffered (the sweeper may park it). */
  #waiting = false;
  /** Requests since the last sweep: from the second on, the scratch is kept between requests. */
  #sinceSweep = 0;
  /** The small buffer an idle connection reads into. */
  #small: Uint8Array;
  /** Made on the first forwarded request (an idle connection that never sent one holds none). */
  #info: ForwardInfo | null = null;
  readonly #clientIp: string;
  readonly #clientIpHash: number;
  readonly #x: ExchangeState;
  #stall: StallClock | null = null;
  /** Per-client limits: this connection's standing, or null when they are off. */
  readonly #limit: ClientLimit | null;
  /** Relays requests to endpoints that speak HTTP/2 (made on the first such request). */
  #h2: H1ToH2 | null = null;

  /**
   * @param ctx The listener.
   * @param conn The accepted connection.
   */
  constructor(ctx: HttpConnectionContext, conn: Deno.Conn) {
    this.#ctx = ctx;
    this.#x = new ExchangeState(ctx.now);
    this.#small = new Uint8Array(IDLE_READ_BUFFER);
    this.client = new BufferedSocket(conn, this.#small, this.#onClientEarlyRead);
    this.client.idleBuffer = this.#small;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.#clientIp = addr.hostname ?? "unknown";
    this.#clientIpHash = hashString(this.#clientIp);
    this.#limit = admitClient(ctx.limiter, this.#clientIp, ctx.now());
  }

  /** The listener (for this connection's exchanges). */
  get ctx(): HttpConnectionContext {
    return this.#ctx;
  }

  /** The state of the current exchange (for this connection's exchanges). */
  get exchange(): ExchangeState {
    return this.#x;
  }

  /** The client's per-client limits, or null when they are off. */
  get limit(): ClientLimit | null {
    return this.#limit;
  }

  /** The hash of the client's address (the `hash` policy's default key). */
  get clientIpHash(): number {
    return this.#clientIpHash;
  }

  readonly #onClientEarlyRead = (n: number | null): void => {
    if ((n === null || n < 0) && this.#x.phase >= WAITING) {
      this.#x.clientGone = true;
      this.#x.upstream?.close();
      this.#h2?.cancel(); // a stream to an HTTP/2 endpoint, if that is what is waiting
    }
  };

  /** When the current phase must end (ms since epoch; 0 = none); enforced by the listener's sweeper. */
  get deadline(): number {
    return this.#x.deadline;
  }

  /** Called by the sweeper when {@linkcode deadline} has passed. */
  expire(): void {
    this.#x.deadline = 0;
    if (this.#x.phase === WAITING) {
      this.#x.timedOut = true;
      this.#x.upstream?.close();
      this.#h2?.cancel();
    } else if (this.#x.phase <= HEAD) {
      this.client.close();
    }
  }

  /**
   * Called by the sweeper: cuts a request body that paused too long, a
   * client that does not read, or a request past its deadline.
   *
   * @param now The current time (ms, the listener's clock).
   * @returns The verdict (a `STALL_*` constant of `stall.ts`), to be counted.
   */
  stalled(now: number): number {
    const x = this.#x;
    if (x.phase < WAITING || x.timedOut || this.client.closed) {
      if (this.#stall !== null) this.#stall.seen = -1;
      return STALL_NONE;
    }
    const verdict = checkStall(
      this.#stall ??= new StallClock(),
      {
        waitingBody: x.pumpReading,
        waitingWrite: x.writing,
        progress: x.rx + x.tx,
        startedAt: x.startedOnClock,
      },
      now,
      this.#ctx.spec.timeouts,
    );
    if (verdict === STALL_DEADLINE && x.phase === WAITING && !x.pumpReading) {
      this.expire(); // nothing relayed yet: the client gets a 504
    } else if (verdict !== STALL_NONE) {
      this.client.close();
    }
    return verdict;
  }

  /** Whether the connection is between requests (may be closed at once when draining). */
  get idle(): boolean {
    return this.#x.phase === IDLE;
  }

  /** Serves requests until the connection ends. Never rejects. */
  async serve(): Promise<void> {
    let handedOver = false;
    try {
      for (let first = true;; first = false) {
        const c = this.client;
        if (c.available === 0) {
          // Idle: only the read itself is pending (no async frame of ours around it).
          if (!this.#goIdle()) break;
          const n = c.filled(await c.readRaw());
          if (n === null) break;
        }
        const end = await this.#readHead();
        if (end < 0) break;
        const headStart = c.start;
        const h2c = this.#ctx.h2c;
        if (
          first && h2c !== null && c.buf[headStart] === 80 /* P */ &&
          isPreface(c.buf, headStart, end)
        ) {
          // h2c prior knowledge: the connection and what was read of it go to an HTTP/2 session.
          handedOver = true;
          h2c(c.conn, c.buf.slice(headStart, c.end));
          break;
        }
        try {
          parseRequestHead(c, end, this.#scratch!.head, this.#ctx.spec.limits);
        } catch (e) {
          if (!(e instanceof HttpParseError)) throw e;
          // On a port that also speaks h2c, a first line that is neither HTTP/1.x nor the
          // HTTP/2 preface is a bad preface (RFC 9113 3.4): the connection ends without an answer.
          if (first && h2c !== null && !endsWithHttpVersion(c.buf, headStart, end)) break;
          countOwn(this.#ctx.ownResponses, e.status);
          await writeAll(c.conn, textResponse(e.status, e.message, true));
          break;
        }
        this.#sinceSweep++;
        const tracer = this.#ctx.tracer;
        const x = this.#x;
        x.begin(end - headStart, tracer !== null);
        // The request deadline counts on the listener's clock (read only when it is on).
        if (this.#ctx.spec.timeouts.requestMs > 0) x.startedOnClock = x.now();
        let keep = false;
        try {
          keep = await serveExchange(this, this.#scratch!);
        } finally {
          this.#finish(tracer);
        }
        if (!keep) break;
      }
    } catch {
      // the client went away or was cut by a deadline
    } finally {
      this.#x.deadline = 0;
      this.#x.upstream?.close();
      this.#limit?.release();
      if (!handedOver) this.client.close();
      await this.client.settle();
      if (this.#scratch !== null) this.#ctx.scratch.release(this.#scratch);
      this.#scratch = null;
      this.#ctx.forget(this);
    }
  }

  /**
   * Going idle with nothing buffered: reads go into the small buffer. The
   * working memory goes back to the pool after a connection's first request
   * since the last sweep (many connections with one request each share a
   * few scratches); from its second on it stays, so that requests that come
   * back to back do not take and return it each time, and the sweeper parks
   * the connection. Then `serve` awaits the read directly, so that an idle
   * connection costs little more than Deno's own pending read.
   *
   * @returns False when draining (the connection ends).
   */
  #goIdle(): boolean {
    if (this.#ctx.draining) return false;
    const c = this.client;
    if (!c.reading && c.buf !== this.#small) c.swapBuffer(this.#small);
    this.#waiting = true;
    if (this.#sinceSweep < 2) this.#park();
    this.#x.phase = IDLE;
    // A connection over its client's cap is only waited for briefly (it holds a descriptor).
    const idleMs = this.#limit?.admitted === false
      ? REFUSED_WAIT_MS
      : this.#ctx.spec.timeouts.idleMs;
    this.#x.deadline = idleMs > 0 ? this.#x.now() + idleMs : 0;
    return true;
  }

  /**
   * Called by the listener's sweeper: a connection waiting for its next
   * request (reading into its small buffer) gives its working memory back
   * to the pool, so an idle connection holds none after one sweep period.
   */
  park(): void {
    this.#sinceSweep = 0;
    this.#park();
  }

  #park(): void {
    if (!this.#waiting || this.#scratch === null || this.client.buf !== this.#small) return;
    this.#ctx.scratch.release(this.#scratch);
    this.#scratch = null;
  }

  /** Bytes arrived in the small buffer: take working memory and move them into its buffer. */
  #unpark(): void {
    const s = this.#scratch ??= this.#ctx.scratch.acquire();
    const c = this.client, small = this.#small;
    c.swapBuffer(s.buf);
    // The head filled the small buffer: this client sends big ones; wait in a bigger buffer from now on.
    if (c.end === small.length && small.length < IDLE_READ_BUFFER_BIG) {
      this.#small = c.idleBuffer = new Uint8Array(IDLE_READ_BUFFER_BIG);
    }
  }

  /** Traces a finished exchange (its leases accounted it on the endpoints). */
  #finish(tracer: HttpTracer | null): void {
    const x = this.#x;
    if (tracer !== null && x.tracing) emitTrace(tracer, x, this.#clientIp);
  }

  /**
   * The client's forwarding facts (made on the first forwarded request).
   *
   * @returns The connection's one record, shared by its requests.
   */
  forwardInfo(): ForwardInfo {
    return this.#info ??= {
      clientIp: clientIpBytes(this.#clientIp),
      tls: this.#ctx.tls,
      basePath: NO_BASE_PATH,
    };
  }

  /**
   * One try on an endpoint that speaks HTTP/2: the request goes out as one stream.
   *
   * @param attempt The request's attempt.
   * @returns How the try ended.
   */
  async forwardH2(attempt: Attempt): Promise<ExchangeOutcome> {
    const x = this.#x;
    this.#h2 ??= new H1ToH2(this.#ctx, this.client, this.#clientIp);
    try {
      return await this.#h2.forward(this.#scratch!, x, attempt);
    } finally {
      x.phase = IDLE;
    }
  }

  /** Reads until a whole head is buffered (some bytes are); returns its end, or -1 when the connection ends. */
  async #readHead(): Promise<number> {
    const c = this.client;
    const limits = this.#ctx.spec.limits;
    let scanned = 0, clocked = false;
    for (;;) {
      if (c.available > 0) {
        this.#waiting = false;
        if (c.buf === this.#small) this.#unpark();
        const e = findHeadEnd(c.buf, c.start, c.start + scanned, c.end);
        if (e >= 0) {
          this.#x.phase = HEAD;
          this.#x.deadline = 0;
          return e;
        }
        // Incomplete: the header deadline runs from the first bytes (a head that
        // came whole never needed one, nor a read of the clock).
        if (!clocked) {
          clocked = true;
          this.#startHeadClock();
        }
        scanned = c.available;
        if (scanned > limits.maxHeadBytes) {
          countOwn(this.#ctx.ownResponses, 431);
          await writeAll(
            c.conn,
            textResponse(431, `request head is larger than ${limits.maxHeadBytes} bytes`, true),
          );
          return -1;
        }
      }
      if (c.available === c.buf.length) {
        // A head larger than the first scratch buffer: move it to a full-size one.
        const big = this.#scratch!.grow();
        if (big !== null) c.swapBuffer(big);
      }
      const n = await c.fill();
      if (n === null) return -1;
    }
  }

  #startHeadClock(): void {
    this.#x.phase = HEAD;
    const ms = this.#ctx.spec.timeouts.headerReadMs;
    this.#x.deadline = ms > 0 ? this.#x.now() + ms : 0;
  }
}

/** How long a connection over its client's cap may take to send the request its 429 answers. */
const REFUSED_WAIT_MS = 1_000;

/** What a shed client is told when sidekick itself is out of resources (shared with the h2 paths). */
export { SHED } from "./own_reply.ts";

/** The words for a failed connect to an endpoint, as the 502 says them (shared with the h2 paths). */
export { errorText } from "./h2_upstream_attempt.ts";

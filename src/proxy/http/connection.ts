/**
 * One client connection of the HTTP proxy: reads request heads, forwards each
 * request to an endpoint and streams the response back, in order, until
 * either side closes. Heads are parsed in place; bodies stream chunk by chunk
 * (see `relay.ts`). Each attempt leases an endpoint from the cluster (in
 * flight from the pick), `shouldRetry` decides what follows a failed one,
 * and the lease is released with the exchange's bytes, status and error.
 * A trace record is built only when tracing is on.
 *
 * @module
 */

import type { Attempt } from "../../balance/lease.ts";
import type { Endpoint } from "../../balance/endpoint.ts";
import type { UpstreamConn } from "./upstream_pool.ts";
import { hashString } from "../../balance/key_hash.ts";
import { requestHashKey } from "./hash_key.ts";
import { isLocalResourceError } from "../../pool/dial.ts";
import { BufferedSocket, writeAll } from "../socket.ts";
import { bytes, latin1 } from "./ascii.ts";
import type { ConnectionScratch } from "./scratch.ts";
import { HttpParseError } from "./errors.ts";
import { findHeadEnd, type MessageHead, parseRequestHead } from "./head.ts";
import { forward } from "./forward.ts";
import { speaksH2 } from "./h2_forward_h2.ts";
import { H1ToH2 } from "./h2_upstream_h1.ts";
import { errorText } from "./h2_upstream_attempt.ts";
import {
  attemptError,
  BLAME,
  CONNECT_FAILED,
  DONE_CLOSE,
  DONE_KEEP,
  type ExchangeOutcome,
  FRESH,
  LOCAL_FAILED,
  RESPONSE_CUT,
  RETRY,
  shouldRetry,
  transportError,
} from "./retry.ts";
import { ExchangeState, HEAD, IDLE, sendToClient, WAITING } from "./relay.ts";
import {
  backendDownMessage,
  backendDownResponse,
  bodyResponse,
  certificatesResponse,
  healthResponse,
  ownRoute,
  ROUTE_HEALTH,
  ROUTE_METRICS,
  ROUTE_PROXY,
  textResponse,
} from "./responses.ts";
import { captureRequest, emitTrace, type HttpTracer } from "./trace.ts";
import { checkStall, STALL_DEADLINE, STALL_NONE, StallClock } from "./stall.ts";
import type { HttpConnectionContext } from "./context.ts";
import { type ForwardInfo, NO_BASE_PATH, writeUpstreamRequestHead } from "./writer.ts";
import { admitClient, type ClientLimit, tooManyRequests } from "./client_limit.ts";

export type { HttpConnectionContext } from "./context.ts";

/**
 * The read buffer of a connection between requests, in bytes: the heads of
 * simple clients fit, and a bigger one moves on into the pooled working
 * memory (one more read).
 */
const IDLE_READ_BUFFER = 256;

/** The idle read buffer of a connection whose client once filled the small one: most heads fit. */
const IDLE_READ_BUFFER_BIG = 1024;

/** Counts one response that sidekick wrote itself (never a relayed one). */
function countOwn(counts: Map<number, number>, status: number): void {
  counts.set(status, (counts.get(status) ?? 0) + 1);
}

/**
 * Serves one accepted client connection.
 *
 * @example Usage
 * ```ts ignore
 * const c = new HttpConnection(ctx, conn);
 * await c.serve();
 * ```
 */
export class HttpConnection {
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
          keep = await this.#exchange();
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
   * Writes the request head for `endpoint` and takes a pooled connection to
   * it, unless the attempt wants a fresh one.
   *
   * @returns The pooled connection, or undefined when one must be dialled.
   */
  #prepare(endpoint: Endpoint, attempt: Attempt): UpstreamConn | undefined {
    // The head is read from the scratch buffer: the client may read ahead into its small one.
    const x = this.#x, s = this.#scratch!, w = s.out, buf = s.buf;
    w.pos = 0;
    const info = this.#info ??= {
      clientIp: clientIpBytes(this.#clientIp),
      tls: this.#ctx.tls,
      basePath: NO_BASE_PATH,
    };
    info.basePath = endpoint.basePath;
    writeUpstreamRequestHead(w, buf, s.head, info);
    const bodyStart = s.head.end;
    if (x.bodyBuffered > 0) w.range(buf, bodyStart, bodyStart + x.bodyBuffered);
    const up = attempt.fresh ? undefined : this.#ctx.pool.take(endpoint);
    attempt.reused = up !== undefined;
    return up;
  }

  /** One try on an endpoint that speaks HTTP/2: the request goes out as one stream. */
  async #forwardH2(attempt: Attempt): Promise<ExchangeOutcome> {
    const x = this.#x;
    this.#h2 ??= new H1ToH2(this.#ctx, this.client, this.#clientIp);
    try {
      return await this.#h2.forward(this.#scratch!, x, attempt);
    } finally {
      x.phase = IDLE;
    }
  }

  /** Dials `endpoint`: the new connection, or how the connect failed. */
  async #dial(endpoint: Endpoint): Promise<UpstreamConn | ExchangeOutcome> {
    try {
      return await this.#ctx.pool.connect(endpoint);
    } catch (e) {
      this.#x.upstreamError = errorText(e);
      return isLocalResourceError(e) ? LOCAL_FAILED : CONNECT_FAILED;
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

  /** Writes a response sidekick made itself. */
  #reply(status: number, data: Uint8Array): Promise<void> {
    this.#x.status = status;
    countOwn(this.#ctx.ownResponses, status);
    return sendToClient(this.#x, this.client.conn, data);
  }

  /** Handles one parsed request; returns whether the client connection stays open. */
  async #exchange(): Promise<boolean> {
    const c = this.client, buf = c.buf, s = this.#scratch!, head = s.head, x = this.#x;
    const ms = head.methodStart, ml = head.methodEnd - ms;
    const isHead = ml === 4 && buf[ms] === 72 && buf[ms + 1] === 69 && buf[ms + 2] === 65 &&
      buf[ms + 3] === 68;
    const idempotent = isHead ||
      (ml === 3 && buf[ms] === 71 && buf[ms + 1] === 69 && buf[ms + 2] === 84) ||
      isIdempotentRare(buf, ms, ml);
    let keepAlive = (head.minorVersion === 1 ? !head.connectionClose : head.connectionKeepAlive) &&
      !this.#ctx.draining;
    const bodyStart = head.end;
    c.start = bodyStart;
    // Is the whole body already here? Then it can be sent with the head and replayed on retry.
    let bodyBuffered = -1;
    if (!head.chunked) {
      const len = head.contentLength > 0 ? head.contentLength : 0;
      if (len <= c.available) bodyBuffered = len;
    } else {
      s.reqChunks.reset();
      let n: number;
      try {
        n = s.reqChunks.feed(buf, bodyStart, c.end);
      } catch (e) {
        if (!(e instanceof HttpParseError)) throw e;
        await this.#reply(e.status, textResponse(e.status, e.message, true));
        return false;
      }
      if (s.reqChunks.done) bodyBuffered = n;
    }
    const hasBody = head.chunked || head.contentLength > 0;

    const route = ownRoute(buf, head.pathStart, head.targetEnd, this.#ctx.spec.metrics !== false);
    if (route !== ROUTE_PROXY) {
      x.tracing = false; // sidekick's own paths are not traced
      c.start = bodyStart + Math.max(bodyBuffered, 0);
      keepAlive &&= bodyBuffered >= 0;
      await this.#ownResponse(route, isHead, !keepAlive);
      return keepAlive;
    }
    if (x.tracing) captureRequest(x, buf, head, this.#ctx.tracer!.spec.debug);
    const limit = this.#limit;
    if (limit !== null) {
      const wait = limit.check(this.#ctx.now());
      if (wait > 0) {
        keepAlive &&= bodyBuffered >= 0 && limit.admitted;
        if (bodyBuffered >= 0) c.start = bodyStart + bodyBuffered;
        await this.#reply(429, tooManyRequests(wait, !keepAlive));
        return keepAlive;
      }
    }
    if (bodyBuffered >= 0) {
      c.start = bodyStart + bodyBuffered;
      x.rx += bodyBuffered;
    }
    x.isHead = isHead;
    x.replaySafe = idempotent && !hasBody;
    x.bodyBuffered = bodyBuffered;
    x.keepAlive = keepAlive;
    const attempt = s.attempt;
    attempt.reset(x.start); // the first lease counts from the request's start: one read of the time
    const cluster = this.#ctx.cluster.spec;
    if (cluster.policy === "hash") {
      attempt.key = requestHashKey(buf, head, cluster.hash?.key ?? "client-ip", this.#clientIpHash);
    }
    let lastError = "";
    let decision = RETRY;
    while ((decision & RETRY) !== 0) {
      const lease = this.#ctx.cluster.lease(attempt);
      if (lease === undefined) break;
      x.tried = lease.endpoint;
      x.error = "none";
      let outcome: ExchangeOutcome;
      try {
        for (;;) {
          // One try: a pooled connection unless the attempt wants a fresh one, else a new one.
          // (Inline, not an async method: no promise of its own per request.)
          if (speaksH2(lease.endpoint.spec.scheme)) outcome = await this.#forwardH2(attempt);
          else {
            const up = this.#prepare(lease.endpoint, attempt) ?? await this.#dial(lease.endpoint);
            if (typeof up === "number") outcome = up;
            else {
              lease.reached();
              x.upstream = up;
              try {
                outcome = await forward(this.#ctx, this.client, this.#scratch!, x);
              } finally {
                x.upstream = null;
                x.phase = IDLE;
              }
            }
          }
          decision = shouldRetry(outcome, attempt, x, this.#ctx.spec.limits);
          if ((decision & FRESH) === 0) break;
          attempt.fresh = true; // the pooled connection was stale: once more, on a new one
        }
        if (outcome === DONE_KEEP || outcome === DONE_CLOSE) return outcome === DONE_KEEP;
        lastError = attemptError(outcome, x);
        x.error = transportError(outcome, attempt.reused);
        if ((decision & BLAME) !== 0) lease.blame(lastError, x.error);
      } finally {
        lease.release(x);
      }
      if (outcome === RESPONSE_CUT) return false;
      if (outcome === LOCAL_FAILED) {
        this.#ctx.cluster.reportLocalFailure(lastError);
        if (!this.client.closed) await this.#reply(503, textResponse(503, SHED, true));
        return false;
      }
      if (x.bodyError !== null) {
        // The client's body was malformed: tell it why (nothing of the response was sent).
        const e = x.bodyError;
        x.bodyError = null;
        if (!this.client.closed) {
          await this.#reply(e.status, textResponse(e.status, e.message, true));
        }
        return false;
      }
      if (x.clientGone) return false;
    }
    if (x.clientGone || this.client.closed) return false;
    keepAlive &&= bodyBuffered >= 0 && !x.pumpError;
    const message = backendDownMessage(lastError);
    const status = x.timedOut ? 504 : 502;
    await this.#reply(
      status,
      backendDownResponse(message, requestPath(buf, head), {
        status,
        close: !keepAlive,
        identify: this.#ctx.spec.proxyHeaders !== false,
      }),
    );
    return keepAlive;
  }

  /** Answers `/v1/health`, `/.prometheus/metrics` or `/v1/certificates`. */
  #ownResponse(route: number, isHead: boolean, close: boolean): Promise<void> {
    const ctx = this.#ctx;
    if (route === ROUTE_HEALTH) {
      const state = ctx.draining ? "draining" : ctx.cluster.anyAvailable() ? "up" : "down";
      const identify = ctx.spec.proxyHeaders !== false;
      return this.#reply(state === "up" ? 200 : 502, healthResponse(state, close, identify));
    }
    if (route === ROUTE_METRICS) {
      const m = ctx.metrics();
      return this.#reply(200, bodyResponse(m.contentType, m.body, isHead, close));
    }
    const pem = ctx.certificates;
    return this.#reply(pem === null ? 404 : 200, certificatesResponse(pem, isHead, close));
  }
}

/** The HTTP/2 preface up to the end of its head-like first part (`PRI * HTTP/2.0\r\n\r\n`). */
const PREFACE_HEAD = bytes("PRI * HTTP/2.0\r\n\r\n");

/** Whether the head in `buf[start, end)` is the HTTP/2 preface's first part. */
function isPreface(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== PREFACE_HEAD.length) return false;
  for (let i = 0; i < PREFACE_HEAD.length; i++) {
    if (buf[start + i] !== PREFACE_HEAD[i]) return false;
  }
  return true;
}

const HTTP_VERSION_PREFIX = bytes("HTTP/");

/** Whether the first line of the head in `buf[start, end)` ends with an `HTTP/x.y` version. */
function endsWithHttpVersion(buf: Uint8Array, start: number, end: number): boolean {
  let eol = start;
  while (eol < end && buf[eol] !== 10 /* LF */) eol++;
  if (eol > start && buf[eol - 1] === 13 /* CR */) eol--;
  const at = eol - 8; // "HTTP/1.1"
  if (at < start) return false;
  for (let i = 0; i < HTTP_VERSION_PREFIX.length; i++) {
    if (buf[at + i] !== HTTP_VERSION_PREFIX[i]) return false;
  }
  return true;
}

const RARE_IDEMPOTENT = [bytes("PUT"), bytes("DELETE"), bytes("OPTIONS"), bytes("TRACE")];

/** PUT, DELETE, OPTIONS and TRACE (GET and HEAD are tested inline), without making a string. */
function isIdempotentRare(buf: Uint8Array, start: number, length: number): boolean {
  for (const m of RARE_IDEMPOTENT) {
    if (m.length !== length) continue;
    let same = true;
    for (let i = 0; i < length && same; i++) same = buf[start + i] === m[i];
    if (same) return true;
  }
  return false;
}

function requestPath(buf: Uint8Array, head: MessageHead): string {
  const t = latin1(buf, head.pathStart, head.targetEnd);
  const q = t.indexOf("?");
  return q >= 0 ? t.slice(0, q) : t;
}

/** Client addresses as bytes, shared by their connections (most come from a few addresses). */
const CLIENT_IP_BYTES = new Map<string, Uint8Array>();

/** `ip` as bytes, from {@linkcode CLIENT_IP_BYTES} (emptied when it reaches 1024 entries). */
function clientIpBytes(ip: string): Uint8Array {
  let b = CLIENT_IP_BYTES.get(ip);
  if (b === undefined) {
    if (CLIENT_IP_BYTES.size >= 1024) CLIENT_IP_BYTES.clear();
    CLIENT_IP_BYTES.set(ip, b = bytes(ip));
  }
  return b;
}

/** How long a connection over its client's cap may take to send the request its 429 answers. */
const REFUSED_WAIT_MS = 1_000;

/** What a shed client is told when sidekick itself is out of resources. */
export const SHED = "sidekick is out of file descriptors or memory; try again shortly";

/** The words for a failed connect to an endpoint, as the 502 says them (shared with the h2 paths). */
export { errorText } from "./h2_upstream_attempt.ts";

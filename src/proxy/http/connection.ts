/**
 * One client connection of the HTTP proxy: reads request heads, forwards each
 * request to an endpoint and streams the response back, in order, until
 * either side closes. Heads are parsed in place; bodies stream chunk by chunk
 * (see `relay.ts`). Per request it counts bytes and time on the endpoint
 * (a few adds), and builds a trace record only when tracing is on.
 *
 * @module
 */

import type { HttpListenerSpec } from "../../config/schema.ts";
import type { Cluster } from "../../pool/cluster.ts";
import { BufferedSocket, writeAll } from "../socket.ts";
import { bytes, latin1 } from "./ascii.ts";
import type { ChunkedParser } from "./chunked.ts";
import type { ConnectionScratch, ScratchPool } from "./scratch.ts";
import { HttpParseError } from "./errors.ts";
import { findHeadEnd, type MessageHead, parseRequestHead } from "./head.ts";
import {
  DONE_CLOSE,
  DONE_KEEP,
  FAILED,
  FAILED_BLAMELESS,
  forward,
  RETRY,
  RETRY_BLAMELESS,
} from "./forward.ts";
import { ExchangeState, HEAD, IDLE, sendToClient, WAITING } from "./relay.ts";
import {
  ALL_OFFLINE,
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
import type { UpstreamPool } from "./upstream_pool.ts";
import { type ByteWriter, type ForwardInfo, writeUpstreamRequestHead } from "./writer.ts";

/** What a connection needs from its listener. */
export interface HttpConnectionContext {
  /** The listener's spec. */
  readonly spec: HttpListenerSpec;
  /** Where requests go. */
  readonly cluster: Cluster;
  /** Upstream keep-alive connections. */
  readonly pool: UpstreamPool;
  /** Per-connection working memory, reused across connections. */
  readonly scratch: ScratchPool;
  /** Whether the listener is draining (answer, then close). */
  readonly draining: boolean;
  /** Whether clients connect over TLS (X-Forwarded-Proto). */
  readonly tls: boolean;
  /** Request tracing, or null when off. */
  readonly tracer: HttpTracer | null;
  /** Renders `/.prometheus/metrics`. */
  readonly metrics: () => { readonly contentType: string; readonly body: string };
  /** The PEM served at `/v1/certificates`, or null. */
  readonly certificates: string | null;
  /** The time deadlines are set and enforced on. */
  readonly now: () => number;
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
  readonly #scratch: ConnectionScratch;
  readonly #head: MessageHead;
  readonly #out: ByteWriter;
  readonly #reqChunks: ChunkedParser;
  readonly #info: ForwardInfo;
  readonly #clientIp: string;
  readonly #x: ExchangeState;

  /**
   * @param ctx The listener.
   * @param conn The accepted connection.
   */
  constructor(ctx: HttpConnectionContext, conn: Deno.Conn) {
    this.#ctx = ctx;
    this.#x = new ExchangeState(ctx.now);
    const s = this.#scratch = ctx.scratch.acquire();
    this.client = new BufferedSocket(conn, s.buf, this.#onClientEarlyRead);
    this.#head = s.head;
    this.#out = s.out;
    this.#reqChunks = s.reqChunks;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.#clientIp = addr.hostname ?? "unknown";
    this.#info = { clientIp: bytes(this.#clientIp), tls: ctx.tls };
  }

  readonly #onClientEarlyRead = (n: number | null): void => {
    if ((n === null || n < 0) && this.#x.phase >= WAITING) {
      this.#x.clientGone = true;
      this.#x.upstream?.close();
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
    } else if (this.#x.phase <= HEAD) {
      this.client.close();
    }
  }

  /** Whether the connection is between requests (may be closed at once when draining). */
  get idle(): boolean {
    return this.#x.phase === IDLE;
  }

  /** Serves requests until the connection ends. Never rejects. */
  async serve(): Promise<void> {
    try {
      for (;;) {
        const end = await this.#readHead();
        if (end < 0) break;
        const c = this.client;
        const headStart = c.start;
        try {
          parseRequestHead(c.buf, c.start, end, this.#head, this.#ctx.spec.limits);
        } catch (e) {
          if (!(e instanceof HttpParseError)) throw e;
          await writeAll(c.conn, textResponse(e.status, e.message, true));
          break;
        }
        const tracer = this.#ctx.tracer;
        this.#x.begin(end - headStart, tracer !== null);
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
      this.client.close();
      await this.client.settle();
      this.#ctx.scratch.release(this.#scratch);
    }
  }

  /** Accounts a finished exchange on its endpoint, and traces it. */
  #finish(tracer: HttpTracer | null): void {
    const x = this.#x, e = x.endpoint;
    if (e !== null) {
      e.rxBytes += x.rx;
      e.txBytes += x.tx;
      if (x.relayed && x.status >= 400) e.errors++;
      e.observe((performance.now() - x.start) / 1000);
    }
    if (tracer !== null && x.tracing) emitTrace(tracer, x, this.#clientIp);
  }

  /** Reads until a whole head is buffered; returns its end, or -1 when the connection ends. */
  async #readHead(): Promise<number> {
    const c = this.client;
    const limits = this.#ctx.spec.limits;
    const timeouts = this.#ctx.spec.timeouts;
    if (c.available === 0) {
      if (this.#ctx.draining) return -1;
      this.#x.phase = IDLE;
      this.#x.deadline = timeouts.idleMs > 0 ? this.#x.now() + timeouts.idleMs : 0;
    } else {
      this.#startHeadClock();
    }
    let scanned = 0;
    for (;;) {
      if (c.available > 0) {
        const e = findHeadEnd(c.buf, c.start, c.start + scanned, c.end);
        if (e >= 0) {
          this.#x.deadline = 0;
          return e;
        }
        scanned = c.available;
        if (scanned > limits.maxHeadBytes) {
          await writeAll(
            c.conn,
            textResponse(431, `request head is larger than ${limits.maxHeadBytes} bytes`, true),
          );
          return -1;
        }
      }
      const n = await c.fill();
      if (n === null) return -1;
      if (this.#x.phase === IDLE) this.#startHeadClock();
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
    return sendToClient(this.#x, this.client.conn, data);
  }

  /** Handles one parsed request; returns whether the client connection stays open. */
  async #exchange(): Promise<boolean> {
    const c = this.client, buf = c.buf, head = this.#head, x = this.#x;
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
      this.#reqChunks.reset();
      let n: number;
      try {
        n = this.#reqChunks.feed(buf, bodyStart, c.end);
      } catch (e) {
        if (!(e instanceof HttpParseError)) throw e;
        await this.#reply(e.status, textResponse(e.status, e.message, true));
        return false;
      }
      if (this.#reqChunks.done) bodyBuffered = n;
    }
    const hasBody = head.chunked || head.contentLength > 0;

    const route = ownRoute(buf, head.pathStart, head.targetEnd);
    if (route !== ROUTE_PROXY) {
      x.tracing = false; // sidekick's own paths are not traced
      c.start = bodyStart + Math.max(bodyBuffered, 0);
      keepAlive &&= bodyBuffered >= 0;
      await this.#ownResponse(route, isHead, !keepAlive);
      return keepAlive;
    }
    if (x.tracing) captureRequest(x, buf, head, this.#ctx.tracer!.spec.debug);
    if (bodyBuffered >= 0) {
      c.start = bodyStart + bodyBuffered;
      x.rx += bodyBuffered;
    }
    const cluster = this.#ctx.cluster;
    const serial = cluster.nextAttemptSerial();
    const attempts = this.#ctx.spec.limits.maxAttempts;
    let lastError = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      const endpoint = cluster.pick(serial);
      if (endpoint === undefined) break;
      x.tried = endpoint;
      const w = this.#out;
      w.pos = 0;
      writeUpstreamRequestHead(w, buf, head, endpoint.basePath, this.#info);
      if (bodyBuffered > 0) w.range(buf, bodyStart, bodyStart + bodyBuffered);
      let up = this.#ctx.pool.take(endpoint);
      if (up === undefined) {
        try {
          up = await this.#ctx.pool.connect(endpoint);
        } catch (e) {
          lastError = errorText(e);
          cluster.reportTransportFailure(endpoint, lastError);
          continue;
        }
      }
      endpoint.inFlight++;
      endpoint.requests++;
      x.endpoint = endpoint;
      let outcome: number;
      try {
        outcome = await forward(
          this.#ctx,
          c,
          this.#scratch,
          x,
          up,
          isHead,
          idempotent && !hasBody,
          bodyBuffered,
          keepAlive,
        );
      } finally {
        endpoint.inFlight--;
        this.#x.upstream = null;
        this.#x.phase = IDLE;
      }
      if (outcome === DONE_KEEP) return true;
      if (outcome === DONE_CLOSE) return false;
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
      if (outcome === RETRY_BLAMELESS) endpoint.triedSerial = 0;
      lastError = x.timedOut
        ? "response header timeout"
        : x.upstreamError || "connection to the endpoint failed";
      if (outcome === RETRY || outcome === FAILED) {
        endpoint.errors++;
        cluster.reportTransportFailure(endpoint, lastError);
      }
      if (outcome === FAILED || outcome === FAILED_BLAMELESS) break;
    }
    if (x.clientGone || this.client.closed) return false;
    keepAlive &&= bodyBuffered >= 0 && !x.pumpError;
    const message = lastError === ""
      ? ALL_OFFLINE
      : `The remote server returned an error (${lastError})`;
    const status = x.timedOut ? 504 : 502;
    await this.#reply(
      status,
      backendDownResponse(message, requestPath(buf, head), !keepAlive, status),
    );
    return keepAlive;
  }

  /** Answers `/v1/health`, `/.prometheus/metrics` or `/v1/certificates`. */
  #ownResponse(route: number, isHead: boolean, close: boolean): Promise<void> {
    const ctx = this.#ctx;
    if (route === ROUTE_HEALTH) {
      const state = ctx.draining ? "draining" : ctx.cluster.anyAvailable() ? "up" : "down";
      return this.#reply(state === "up" ? 200 : 502, healthResponse(state, close));
    }
    if (route === ROUTE_METRICS) {
      const m = ctx.metrics();
      return this.#reply(200, bodyResponse(m.contentType, m.body, isHead, close));
    }
    const pem = ctx.certificates;
    return this.#reply(pem === null ? 404 : 200, certificatesResponse(pem, isHead, close));
  }
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

function errorText(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (e instanceof Deno.errors.TimedOut) return "connect timed out";
  return e instanceof Error ? e.message : String(e);
}

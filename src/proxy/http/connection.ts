/**
 * One client connection of the HTTP proxy: reads request heads, forwards each
 * request to an endpoint and streams the response back, in order, until
 * either side closes. Heads are parsed in place; bodies stream chunk by chunk.
 *
 * @module
 */

import type { HttpListenerSpec } from "../../config/schema.ts";
import type { Cluster } from "../../pool/cluster.ts";
import { BufferedSocket, pipe, writeAll } from "../socket.ts";
import { bytes, latin1 } from "./ascii.ts";
import type { ChunkedParser } from "./chunked.ts";
import { type ConnectionScratch, MAX_RESPONSE_HEADERS, type ScratchPool } from "./scratch.ts";
import { HttpParseError } from "./errors.ts";
import {
  findHeadEnd,
  MessageHead,
  parseRequestHead,
  parseResponseHead,
  responseHasNoBody,
} from "./head.ts";
import { ALL_OFFLINE, backendDownResponse, healthResponse, textResponse } from "./responses.ts";
import { type UpstreamConn, type UpstreamPool } from "./upstream_pool.ts";
import {
  ByteWriter,
  type ForwardInfo,
  type ResponseFraming,
  writeClientResponseHead,
  writeUpstreamRequestHead,
} from "./writer.ts";

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
}

const IDLE = 0, HEAD = 1, TUNNEL = 2, WAITING = 3, STREAMING = 4;
/** Largest response head accepted from an endpoint. */
const MAX_RESPONSE_HEAD = 64 * 1024;
const HEALTH_PATH = bytes("/v1/health");

/**
 * Outcomes of forwarding one request to one endpoint. RETRY and FAILED count
 * against the endpoint (a transport error); the _BLAMELESS ones do not (a
 * stale pooled connection, a client that went away, a malformed response).
 */
const DONE_KEEP = 0,
  DONE_CLOSE = 1,
  RETRY = 2,
  RETRY_BLAMELESS = 3,
  FAILED = 4,
  FAILED_BLAMELESS = 5;

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
  /** When the current phase must end (ms since epoch; 0 = none); enforced by the listener's sweeper. */
  deadline = 0;
  #phase = IDLE;
  readonly #ctx: HttpConnectionContext;
  readonly #scratch: ConnectionScratch;
  readonly #head: MessageHead;
  readonly #res: MessageHead;
  readonly #out: ByteWriter;
  readonly #reqChunks: ChunkedParser;
  readonly #resChunks: ChunkedParser;
  readonly #info: ForwardInfo;
  #upstream: UpstreamConn | null = null;
  #clientGone = false;
  #timedOut = false;
  #pumpError = false;

  /**
   * @param ctx The listener.
   * @param conn The accepted connection.
   */
  constructor(ctx: HttpConnectionContext, conn: Deno.Conn) {
    this.#ctx = ctx;
    const s = this.#scratch = ctx.scratch.acquire();
    this.client = new BufferedSocket(conn, s.buf, this.#onClientEarlyRead);
    this.#head = s.head;
    this.#res = s.res;
    this.#out = s.out;
    this.#reqChunks = s.reqChunks;
    this.#resChunks = s.resChunks;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.#info = { clientIp: bytes(addr.hostname ?? "unknown"), tls: false };
  }

  readonly #onClientEarlyRead = (n: number | null): void => {
    if ((n === null || n < 0) && this.#phase >= WAITING) {
      this.#clientGone = true;
      this.#upstream?.close();
    }
  };

  /** Called by the sweeper when {@linkcode deadline} has passed. */
  expire(): void {
    this.deadline = 0;
    if (this.#phase === WAITING) {
      this.#timedOut = true;
      this.#upstream?.close();
    } else if (this.#phase <= HEAD) {
      this.client.close();
    }
  }

  /** Whether the connection is between requests (may be closed at once when draining). */
  get idle(): boolean {
    return this.#phase === IDLE;
  }

  /** Serves requests until the connection ends. Never rejects. */
  async serve(): Promise<void> {
    try {
      for (;;) {
        const end = await this.#readHead();
        if (end < 0) break;
        const c = this.client;
        try {
          parseRequestHead(c.buf, c.start, end, this.#head, this.#ctx.spec.limits);
        } catch (e) {
          if (!(e instanceof HttpParseError)) throw e;
          await writeAll(c.conn, textResponse(e.status, e.message, true));
          break;
        }
        if (!(await this.#exchange())) break;
      }
    } catch {
      // the client went away or was cut by a deadline
    } finally {
      this.deadline = 0;
      this.#upstream?.close();
      this.client.close();
      await this.client.settle();
      this.#ctx.scratch.release(this.#scratch);
    }
  }

  /** Reads until a whole head is buffered; returns its end, or -1 when the connection ends. */
  async #readHead(): Promise<number> {
    const c = this.client;
    const limits = this.#ctx.spec.limits;
    const timeouts = this.#ctx.spec.timeouts;
    if (c.available === 0) {
      if (this.#ctx.draining) return -1;
      this.#phase = IDLE;
      this.deadline = timeouts.idleMs > 0 ? Date.now() + timeouts.idleMs : 0;
    } else {
      this.#startHeadClock();
    }
    let scanned = 0;
    for (;;) {
      if (c.available > 0) {
        const e = findHeadEnd(c.buf, c.start, c.start + scanned, c.end);
        if (e >= 0) {
          this.deadline = 0;
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
      if (this.#phase === IDLE) this.#startHeadClock();
    }
  }

  #startHeadClock(): void {
    this.#phase = HEAD;
    const ms = this.#ctx.spec.timeouts.headerReadMs;
    this.deadline = ms > 0 ? Date.now() + ms : 0;
  }

  /** Handles one parsed request; returns whether the client connection stays open. */
  async #exchange(): Promise<boolean> {
    const c = this.client, buf = c.buf, head = this.#head;
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
        await writeAll(c.conn, textResponse(e.status, e.message, true));
        return false;
      }
      if (this.#reqChunks.done) bodyBuffered = n;
    }
    const hasBody = head.chunked || head.contentLength > 0;

    if (
      head.targetEnd - head.pathStart >= 10 && isHealthTarget(buf, head.pathStart, head.targetEnd)
    ) {
      c.start = bodyStart + Math.max(bodyBuffered, 0);
      const state = this.#ctx.draining
        ? "draining"
        : this.#ctx.cluster.anyAvailable()
        ? "up"
        : "down";
      keepAlive &&= bodyBuffered >= 0;
      await writeAll(c.conn, healthResponse(state, !keepAlive));
      return keepAlive;
    }

    if (bodyBuffered >= 0) c.start = bodyStart + bodyBuffered;
    const cluster = this.#ctx.cluster;
    const serial = cluster.nextAttemptSerial();
    const attempts = this.#ctx.spec.limits.maxAttempts;
    let lastError = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      const endpoint = cluster.pick(serial);
      if (endpoint === undefined) break;
      const w = this.#out;
      w.pos = 0;
      writeUpstreamRequestHead(w, buf, head, endpoint.basePath, this.#info);
      if (bodyBuffered > 0) w.range(buf, bodyStart, bodyStart + bodyBuffered);
      let up = this.#ctx.pool.take(endpoint);
      if (up === undefined) {
        try {
          up = await this.#ctx.pool.connect(endpoint);
        } catch (e) {
          cluster.reportTransportFailure(endpoint);
          lastError = errorText(e);
          continue;
        }
      }
      endpoint.inFlight++;
      endpoint.requests++;
      let outcome: number;
      try {
        outcome = await this.#forward(up, isHead, idempotent && !hasBody, bodyBuffered, keepAlive);
      } finally {
        endpoint.inFlight--;
        this.#upstream = null;
        this.#phase = IDLE;
      }
      if (outcome === DONE_KEEP) return true;
      if (outcome === DONE_CLOSE) return false;
      if (this.#bodyError !== null) {
        // The client's body was malformed: tell it why (nothing of the response was sent).
        const e = this.#bodyError;
        this.#bodyError = null;
        if (!this.client.closed) await writeAll(c.conn, textResponse(e.status, e.message, true));
        return false;
      }
      if (this.#clientGone) return false;
      if (outcome === RETRY_BLAMELESS) endpoint.triedSerial = 0;
      if (outcome === RETRY || outcome === FAILED) cluster.reportTransportFailure(endpoint);
      lastError = this.#timedOut ? "response header timeout" : "connection to the endpoint failed";
      if (outcome === FAILED || outcome === FAILED_BLAMELESS) break;
    }
    if (this.#clientGone || this.client.closed) return false;
    keepAlive &&= bodyBuffered >= 0 && !this.#pumpError;
    const message = lastError === ""
      ? ALL_OFFLINE
      : `The remote server returned an error (${lastError})`;
    const status = this.#timedOut ? 504 : 502;
    await writeAll(
      c.conn,
      backendDownResponse(message, requestPath(buf, head), !keepAlive, status),
    );
    return keepAlive;
  }

  /** Sends the request on `up` and relays the response. */
  async #forward(
    up: UpstreamConn,
    isHead: boolean,
    replaySafe: boolean,
    bodyBuffered: number,
    keepAlive: boolean,
  ): Promise<number> {
    const c = this.client;
    this.#upstream = up;
    this.#timedOut = false;
    this.#pumpError = false;
    const reused = up.reused;
    try {
      await writeAll(up.conn, this.#out.view());
    } catch {
      // Nothing of the client's was consumed beyond the buffer, so it can go elsewhere.
      up.close();
      return reused ? RETRY_BLAMELESS : RETRY;
    }
    let pump: Promise<void> | null = null;
    if (bodyBuffered >= 0) {
      c.readAhead();
    } else {
      pump = this.#pumpRequestBody(up);
    }
    const rt = this.#ctx.spec.timeouts.responseHeaderMs;
    this.#phase = WAITING;
    // The response-header clock starts once the whole request is sent (the pump restarts it).
    this.deadline = rt > 0 && pump === null ? Date.now() + rt : 0;
    const res = this.#res;
    let headEnd = -1;
    for (;;) {
      // Read one response head (1xx heads are relayed and another follows).
      let scanned = 0;
      for (;;) {
        if (up.available > 0) {
          headEnd = findHeadEnd(up.buf, up.start, up.start + scanned, up.end);
          if (headEnd >= 0) break;
          scanned = up.available;
          // (a full buffer cannot be filled further: stop before fill() would throw)
          if (scanned >= MAX_RESPONSE_HEAD || scanned === up.buf.length) {
            return await this.#failUpstream(up, pump, FAILED_BLAMELESS);
          }
        }
        let n: number | null;
        try {
          n = await up.fill();
        } catch {
          n = null;
        }
        if (n === null) {
          this.deadline = 0;
          if (this.#clientGone) return await this.#failUpstream(up, pump, FAILED_BLAMELESS);
          if (this.#timedOut || up.available > 0 || scanned > 0) {
            return await this.#failUpstream(up, pump, FAILED);
          }
          // Nothing came back: a request may go again only when replaying it is safe.
          if (replaySafe) {
            return await this.#failUpstream(up, pump, reused ? RETRY_BLAMELESS : RETRY);
          }
          return await this.#failUpstream(up, pump, reused ? FAILED_BLAMELESS : FAILED);
        }
      }
      try {
        parseResponseHead(up.buf, up.start, headEnd, res, MAX_RESPONSE_HEADERS);
      } catch {
        return await this.#failUpstream(up, pump, FAILED_BLAMELESS);
      }
      if (res.status >= 200 || res.status === 101) break;
      if (this.#head.minorVersion === 1) {
        this.#out.pos = 0;
        writeClientResponseHead(this.#out, up.buf, res, "none", "none");
        await writeAll(c.conn, this.#out.view());
      }
      up.start = headEnd;
    }
    this.deadline = 0;
    this.#phase = STREAMING;
    up.start = headEnd;
    if (res.status === 101) {
      if (!this.#head.upgrade) return await this.#failUpstream(up, pump, FAILED_BLAMELESS);
      return await this.#tunnel(up, pump);
    }

    let framing: ResponseFraming;
    if (responseHasNoBody(isHead, res.status)) framing = "none";
    else if (res.chunked) framing = this.#head.minorVersion === 1 ? "chunked" : "dechunk";
    else if (res.contentLength >= 0) framing = "length";
    else framing = "close";
    // A listener that started draining while this request was in flight says so now.
    if (framing === "close" || framing === "dechunk" || this.#ctx.draining) keepAlive = false;
    const w = this.#out;
    w.pos = 0;
    writeClientResponseHead(
      w,
      up.buf,
      res,
      framing,
      !keepAlive ? "close" : this.#head.minorVersion === 0 ? "keep-alive" : "none",
    );
    const complete = await this.#relayResponseBody(up, framing, res.contentLength);
    if (pump !== null && !this.#pumpDone) {
      // The endpoint answered before reading the whole request body: neither side can be reused.
      up.close();
      this.client.close();
      await pump;
      return DONE_CLOSE;
    }
    if (!complete) {
      up.close();
      // An endpoint that dies mid-response is a transport failure; a client that left is not.
      if (!this.#clientGone) this.#ctx.cluster.reportTransportFailure(up.endpoint);
      return DONE_CLOSE;
    }
    // An HTTP/1.0 endpoint closes after the response unless it said keep-alive.
    const upstreamKeeps = !res.connectionClose &&
      (res.minorVersion === 1 || res.connectionKeepAlive);
    if (framing !== "close" && upstreamKeeps && !this.#pumpError && !up.closed) {
      this.#upstream = null;
      this.#ctx.pool.give(up, Date.now());
    } else {
      up.close();
    }
    return keepAlive && !this.#pumpError ? DONE_KEEP : DONE_CLOSE;
  }

  #pumpDone = false;
  #pumpReading = false;
  /** Set when the pump found the client's chunked framing malformed. */
  #bodyError: HttpParseError | null = null;

  /** Streams the request body from the client to `up`; never rejects. */
  async #pumpRequestBody(up: UpstreamConn): Promise<void> {
    const c = this.client, head = this.#head;
    this.#pumpDone = false;
    this.#pumpReading = false;
    this.#bodyError = null;
    try {
      if (head.chunked) {
        const parser = this.#reqChunks;
        parser.reset();
        for (;;) {
          if (c.available > 0) {
            this.#pumpReading = true;
            const n = parser.feed(c.buf, c.start, c.end);
            this.#pumpReading = false;
            await writeAll(up.conn, c.buf.subarray(c.start, c.start + n));
            c.start += n;
            if (parser.done) break;
          }
          this.#pumpReading = true;
          if ((await c.fill()) === null) throw new Error("client ended the body early");
          this.#pumpReading = false;
        }
      } else {
        let left = head.contentLength;
        for (;;) {
          if (c.available > 0) {
            const n = Math.min(left, c.available);
            await writeAll(up.conn, c.buf.subarray(c.start, c.start + n));
            c.start += n;
            left -= n;
          }
          if (left === 0) break;
          this.#pumpReading = true;
          if ((await c.fill()) === null) throw new Error("client ended the body early");
          this.#pumpReading = false;
        }
      }
      this.#pumpDone = true;
      const rt = this.#ctx.spec.timeouts.responseHeaderMs;
      if (rt > 0 && this.#phase === WAITING) this.deadline = Date.now() + rt;
      c.readAhead();
    } catch (e) {
      this.#pumpError = true;
      if (e instanceof HttpParseError) this.#bodyError = e;
      if (this.#pumpReading) {
        // The client went away or sent bad framing: abandon the upstream exchange.
        this.#clientGone = true;
        up.close();
      }
      // Otherwise the endpoint stopped reading; its response may still come.
    }
  }

  /**
   * Writes the response head (already in #out) with whatever body bytes are
   * buffered, then relays the rest as it arrives. Returns whether the body
   * was complete.
   */
  async #relayResponseBody(
    up: UpstreamConn,
    framing: ResponseFraming,
    length: number,
  ): Promise<boolean> {
    const c = this.client, w = this.#out, parser = this.#resChunks;
    let left = framing === "length" ? length : 0;
    parser.reset();
    let first = true;
    try {
      for (;;) {
        // Take what is buffered.
        let done = framing === "none";
        if (!done && up.available > 0) {
          if (framing === "length") {
            const n = Math.min(left, up.available);
            w.range(up.buf, up.start, up.start + n);
            up.start += n;
            left -= n;
          } else if (framing === "chunked") {
            const n = parser.feed(up.buf, up.start, up.end);
            w.range(up.buf, up.start, up.start + n);
            up.start += n;
          } else if (framing === "dechunk") {
            while (up.available > 0 && !parser.done) {
              up.start += parser.feedFraming(up.buf, up.start, up.end);
              const n = Math.min(parser.dataLeft, up.available);
              if (n > 0) {
                w.range(up.buf, up.start, up.start + n);
                up.start += n;
                parser.skipData(n);
              }
            }
          } else {
            w.range(up.buf, up.start, up.end);
            up.start = up.end;
          }
        }
        if (framing === "length") done = left === 0;
        else if (framing === "chunked" || framing === "dechunk") done = parser.done;
        if (w.pos > 0 || first) {
          try {
            await writeAll(c.conn, w.view());
          } catch {
            this.#clientGone = true;
            return false;
          }
          w.pos = 0;
          first = false;
        }
        if (done) return true;
        let n: number | null;
        try {
          n = await up.fill();
        } catch {
          n = null;
        }
        if (n === null) return framing === "close" && !this.#clientGone;
      }
    } catch (e) {
      if (e instanceof HttpParseError) return false;
      throw e;
    }
  }

  /** After a 101: relays the head, then joins both sockets until both directions end. */
  async #tunnel(up: UpstreamConn, pump: Promise<void> | null): Promise<number> {
    this.#phase = TUNNEL;
    if (pump !== null) await pump;
    const w = this.#out;
    w.pos = 0;
    writeClientResponseHead(w, up.buf, this.#res, "none", this.#head.upgrade ? "upgrade" : "none");
    await writeAll(this.client.conn, w.view());
    await Promise.all([pipe(this.client, up.conn), pipe(up, this.client.conn)]);
    up.close();
    return DONE_CLOSE;
  }

  /** Ends an attempt that failed: closes the upstream side and settles the body pump. */
  async #failUpstream(
    up: UpstreamConn,
    pump: Promise<void> | null,
    outcome: number,
  ): Promise<number> {
    up.close();
    if (pump !== null) {
      // A pump still waiting for the client's body can never finish usefully now.
      // (unless it already stopped at a malformed body, which is answered with 400)
      if (!this.#pumpDone && this.#bodyError === null) this.client.close();
      await pump;
    }
    return outcome;
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

function isHealthTarget(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = 0; i < HEALTH_PATH.length; i++) if (buf[start + i] !== HEALTH_PATH[i]) return false;
  return end - start === HEALTH_PATH.length || buf[start + HEALTH_PATH.length] === 63;
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

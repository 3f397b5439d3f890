/**
 * The byte-moving parts of one HTTP exchange: the request body pump (client
 * to endpoint), the response body relay (endpoint to client, re-framed) and
 * the tunnel after a 101. They share one {@linkcode ExchangeState} with the
 * connection, which also counts the bytes each way for metrics and traces.
 *
 * @module
 */

import type { Endpoint, LeaseOutcome, TransportError } from "../../balance/endpoint.ts";
import { type BufferedSocket, pipe, writeAll } from "../socket.ts";
import { HttpParseError } from "./errors.ts";
import type { ConnectionScratch } from "./scratch.ts";
import type { UpstreamConn } from "./upstream_pool.ts";
import {
  AS_SENT,
  AS_SENT_UPGRADE,
  type ResponseFraming,
  writeClientResponseHead,
} from "./writer.ts";

/** Between requests. */
export const IDLE = 0;
/** Reading a request head. */
export const HEAD = 1;
/** Joined to an endpoint after a 101. */
export const TUNNEL = 2;
/** Waiting for the endpoint's response head. */
export const WAITING = 3;
/** Relaying a response body. */
export const STREAMING = 4;

/**
 * What one request/response exchange has done so far. One instance per
 * client connection, reset for every request.
 *
 * @example Usage
 * ```ts
 * import { ExchangeState } from "./relay.ts";
 * const x = new ExchangeState();
 * x.begin(120, false);
 * x.rx; // 120
 * ```
 */
export class ExchangeState implements LeaseOutcome {
  /** The listener's clock (deadlines are on it). */
  readonly now: () => number;
  /** What the connection is doing: {@linkcode IDLE}, {@linkcode HEAD}, ... */
  phase = IDLE;
  /** When the current phase must end (ms since epoch; 0 = none); enforced by the listener's sweeper. */
  deadline = 0;
  /** The endpoint connection of the current attempt, if any. */
  upstream: UpstreamConn | null = null;
  /** The client went away (or sent a body that cannot be relayed). */
  clientGone = false;
  /** The response-header deadline passed for the current attempt. */
  timedOut = false;
  /** Why reading the current attempt's response failed ("" for a plain close). */
  upstreamError = "";
  /** The request body was completely sent to the endpoint. */
  pumpDone = false;
  /** The pump is waiting for the client (so a failure is the client's). */
  pumpReading = false;
  /** The pump failed (either side). */
  pumpError = false;
  /** A response body write to the client is in flight (the sweeper's write idle timeout watches it). */
  writing = false;
  /** The client's chunked framing was malformed (answered with its status). */
  bodyError: HttpParseError | null = null;
  /** Bytes received from the client: head and body (and tunnel bytes). */
  rx = 0;
  /** Bytes sent to the client: heads and bodies (and tunnel bytes). */
  tx = 0;
  /** When the exchange started (`performance.now()`). */
  start = 0;
  /** When the exchange started on the listener's clock, for the request deadline; 0 when that is off. */
  startedOnClock = 0;
  /** When the first byte went to the client (`performance.now()`, tracing only). */
  firstByteAt = 0;
  /** When the current attempt's final response head arrived (`performance.now()`), or 0. */
  answeredAt = 0;
  /** The status sent to the client (0 before any). */
  status = 0;
  /** How the current attempt failed in transport (for its lease), or `none`. */
  error: TransportError = "none";
  /** Whether the method is HEAD. */
  isHead = false;
  /** Whether the request may be sent again when nothing came back. */
  replaySafe = false;
  /** The body length when it is all buffered (sent with the head), else -1. */
  bodyBuffered = -1;
  /** Whether the client connection is to stay open. */
  keepAlive = false;
  /** The last endpoint picked for the request, even if connecting to it failed (for traces). */
  tried: Endpoint | null = null;
  /** Whether the response came from the endpoint (not written by sidekick). */
  relayed = false;
  /** Whether this exchange is traced (then the fields below are filled). */
  tracing = false;
  /** Wall clock at the start (ms since epoch; tracing only). */
  wallStart = 0;
  /** Method (tracing only). */
  method = "";
  /** Request target (tracing only). */
  target = "";
  /** Request header lines (debug tracing only). */
  requestHeaders: [string, string][] | undefined = undefined;
  /** Response header lines (debug tracing only). */
  responseHeaders: [string, string][] | undefined = undefined;

  /** @param now The listener's clock. @default Date.now */
  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * Starts a new exchange.
   *
   * @param headBytes Size of the request head.
   * @param tracing Whether it is traced.
   */
  begin(headBytes: number, tracing: boolean): void {
    this.rx = headBytes;
    this.tx = 0;
    this.start = performance.now();
    this.startedOnClock = 0;
    this.firstByteAt = 0;
    this.answeredAt = 0;
    this.status = 0;
    this.tried = null;
    this.error = "none";
    this.relayed = false;
    this.tracing = tracing;
    if (tracing) {
      this.wallStart = Date.now();
      this.requestHeaders = this.responseHeaders = undefined;
    }
  }
}

/**
 * Writes bytes to the client, counting them (and the first byte's time when tracing).
 *
 * @param x The exchange.
 * @param conn The client connection.
 * @param data The bytes.
 * @returns Resolves when written.
 * @throws When the client connection fails.
 *
 * @example Usage
 * ```ts ignore
 * await sendToClient(x, client.conn, textResponse(400, "bad", true));
 * ```
 */
export function sendToClient(x: ExchangeState, conn: Deno.Conn, data: Uint8Array): Promise<void> {
  if (x.tracing && x.firstByteAt === 0) x.firstByteAt = performance.now();
  x.tx += data.length;
  return writeAll(conn, data);
}

/**
 * Streams the request body from the client to `up` (verbatim: chunked
 * framing is checked, not re-done). Never rejects: failures are recorded in
 * `x` (`pumpError`; `clientGone` and `bodyError` when the client is to blame,
 * in which case `up` is closed to abandon the exchange).
 *
 * @param x The exchange (its `upstream` is the endpoint connection).
 * @param c The client.
 * @param s The connection's working memory: the request head and its chunk parser (reset here).
 * @param responseHeaderMs The response-header timeout, whose clock starts once the body is sent (0 = off).
 * @returns Resolves when the body is sent or the pump gave up.
 *
 * @example Usage
 * ```ts ignore
 * const pump = pumpRequestBody(x, client, scratch, 0);
 * ```
 */
export async function pumpRequestBody(
  x: ExchangeState,
  c: BufferedSocket,
  s: ConnectionScratch,
  responseHeaderMs: number,
): Promise<void> {
  const up = x.upstream!, head = s.head, parser = s.reqChunks;
  x.pumpDone = false;
  x.pumpReading = false;
  x.bodyError = null;
  try {
    if (head.chunked) {
      parser.reset();
      for (;;) {
        if (c.available > 0) {
          x.pumpReading = true;
          const n = parser.feed(c.buf, c.start, c.end);
          x.pumpReading = false;
          await writeAll(up.conn, c.buf.subarray(c.start, c.start + n));
          c.start += n;
          x.rx += n;
          if (parser.done) break;
        }
        x.pumpReading = true;
        if ((await c.fill()) === null) throw new Error("client ended the body early");
        x.pumpReading = false;
      }
    } else {
      let left = head.contentLength;
      for (;;) {
        if (c.available > 0) {
          const n = Math.min(left, c.available);
          await writeAll(up.conn, c.buf.subarray(c.start, c.start + n));
          c.start += n;
          x.rx += n;
          left -= n;
        }
        if (left === 0) break;
        x.pumpReading = true;
        if ((await c.fill()) === null) throw new Error("client ended the body early");
        x.pumpReading = false;
      }
    }
    x.pumpDone = true;
    if (responseHeaderMs > 0 && x.phase === WAITING) x.deadline = x.now() + responseHeaderMs;
    c.readAhead();
  } catch (e) {
    x.pumpError = true;
    if (e instanceof HttpParseError) x.bodyError = e;
    if (x.pumpReading) {
      // The client went away or sent bad framing: abandon the upstream exchange.
      x.clientGone = true;
      up.close();
    }
    // Otherwise the endpoint stopped reading; its response may still come.
  }
}

/**
 * Writes the response head (already in `w`) with whatever body bytes are
 * buffered, then relays the rest as it arrives, re-framed as `framing` says.
 *
 * @param x The exchange (its `upstream` is positioned after the response head).
 * @param c The client.
 * @param s The connection's working memory: `out` holds the response head and
 *   is reused as the write buffer, `res` is the response head (its length
 *   for "length" framing), `resChunks` the chunk parser (reset here).
 * @param framing How the body is framed toward the client.
 * @returns Whether the body was complete.
 *
 * @example Usage
 * ```ts ignore
 * const complete = await relayResponseBody(x, client, scratch, "length");
 * ```
 */
export async function relayResponseBody(
  x: ExchangeState,
  c: BufferedSocket,
  s: ConnectionScratch,
  framing: ResponseFraming,
): Promise<boolean> {
  const up = x.upstream!, w = s.out, parser = s.resChunks;
  let left = framing === "length" ? s.res.contentLength : 0;
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
        x.writing = true; // watched by the sweeper's response-write timeout
        try {
          await sendToClient(x, c.conn, w.view());
        } catch {
          x.clientGone = true;
          return false;
        } finally {
          x.writing = false;
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
      if (n === null) return framing === "close" && !x.clientGone;
    }
  } catch (e) {
    if (e instanceof HttpParseError) return false;
    throw e;
  }
}

/**
 * After a 101: relays the response head, then joins both sockets until both
 * directions end (half-close kept).
 *
 * @param x The exchange (its `upstream` is positioned after the response head).
 * @param c The client.
 * @param s The connection's working memory: `out` as the head writer, `res`
 *   the 101 head, `head` the request (whether it asked to upgrade).
 * @param pump The request body pump, awaited first.
 * @returns Resolves when both directions ended.
 *
 * @example Usage
 * ```ts ignore
 * await tunnel(x, client, scratch, null);
 * ```
 */
export async function tunnel(
  x: ExchangeState,
  c: BufferedSocket,
  s: ConnectionScratch,
  pump: Promise<void> | null,
): Promise<void> {
  const up = x.upstream!, w = s.out, res = s.res, upgrade = s.head.upgrade;
  if (pump !== null) await pump;
  w.pos = 0;
  writeClientResponseHead(w, up.buf, res, upgrade ? AS_SENT_UPGRADE : AS_SENT);
  await sendToClient(x, c.conn, w.view());
  const [sent, received] = await Promise.all([pipe(c, up.conn), pipe(up, c.conn)]);
  x.rx += sent;
  x.tx += received;
  up.close();
}

/**
 * One attempt of an HTTP exchange: the request goes to one endpoint and the
 * response comes back (1xx heads relayed, then the final head re-framed and
 * the body streamed, or a tunnel after 101). The outcome tells the
 * connection how it ended (see `retry.ts`, which decides retries and
 * blame).
 *
 * @module
 */

import type { BufferedSocket } from "../socket.ts";
import { writeAll } from "../socket.ts";
import type { HttpConnectionContext } from "./context.ts";
import { findHeadEnd, parseResponseHead, responseHasNoBody } from "./head.ts";
import {
  type ExchangeState,
  pumpRequestBody,
  relayResponseBody,
  sendToClient,
  STREAMING,
  TUNNEL,
  tunnel,
  WAITING,
} from "./relay.ts";
import { type ConnectionScratch, MAX_RESPONSE_HEADERS } from "./scratch.ts";
import { headerPairs } from "./trace.ts";
import {
  BAD_RESPONSE,
  CLIENT_GONE,
  DONE_CLOSE,
  DONE_KEEP,
  type ExchangeOutcome,
  NO_RESPONSE,
  PARTIAL_RESPONSE,
  RESPONSE_CUT,
  SEND_FAILED,
  TIMED_OUT,
} from "./retry.ts";
import {
  AS_SENT,
  type ClientHeadOptions,
  type ResponseFraming,
  writeClientResponseHead,
} from "./writer.ts";
import { X_PROXY_TRUE } from "./responses.ts";
import type { UpstreamConn } from "./upstream_pool.ts";

/** Largest response head accepted from an endpoint. */
const MAX_RESPONSE_HEAD = 64 * 1024;

/** How the final head is re-done, set just before each (synchronous) write: no allocation. */
const FINAL_HEAD: ClientHeadOptions = { framing: "none", connection: "none", extra: null };

/**
 * Sends the request (head in `s.out`) on `x.upstream` and relays the response.
 * The request's properties are on the exchange: `isHead`, `replaySafe`,
 * `bodyBuffered` (the body length when it is all buffered and sent with the
 * head, else -1) and `keepAlive`.
 *
 * @param ctx The listener.
 * @param c The client.
 * @param s The connection's working memory (heads, writer, chunk parsers).
 * @param x The exchange, with its upstream connection set.
 * @returns How the attempt ended (see `retry.ts`).
 *
 * @example Usage
 * ```ts ignore
 * x.upstream = up;
 * const outcome = await forward(ctx, client, scratch, x);
 * ```
 */
export async function forward(
  ctx: HttpConnectionContext,
  c: BufferedSocket,
  s: ConnectionScratch,
  x: ExchangeState,
): Promise<ExchangeOutcome> {
  const up = x.upstream!;
  const isHead = x.isHead, bodyBuffered = x.bodyBuffered;
  let keepAlive = x.keepAlive;
  x.timedOut = false;
  x.answeredAt = 0;
  x.upstreamError = "";
  x.pumpError = false;
  try {
    await writeAll(up.conn, s.out.view());
  } catch {
    // Nothing of the client's was consumed beyond the buffer, so it can go elsewhere.
    up.close();
    return SEND_FAILED;
  }
  let pump: Promise<void> | null = null;
  if (bodyBuffered >= 0) {
    c.readAhead();
  } else {
    pump = pumpRequestBody(x, c, s, ctx.spec.timeouts.responseHeaderMs);
  }
  const rt = ctx.spec.timeouts.responseHeaderMs;
  x.phase = WAITING;
  // The response-header clock starts once the whole request is sent (the pump restarts it).
  x.deadline = rt > 0 && pump === null ? x.now() + rt : 0;
  const res = s.res;
  let headEnd = -1;
  for (;;) {
    // Read one response head (1xx heads are relayed and another follows).
    headEnd = await readResponseHeadEnd(up, x);
    if (headEnd < 0) return await failUpstream(c, x, pump, -headEnd as ExchangeOutcome);
    try {
      parseResponseHead(up, headEnd, res, MAX_RESPONSE_HEADERS);
    } catch {
      return await failUpstream(c, x, pump, BAD_RESPONSE);
    }
    if (res.status >= 200 || res.status === 101) {
      // The p2c latency ends at the response head (read only when the policy uses it).
      if (ctx.cluster.tracksLatency) x.answeredAt = performance.now();
      break;
    }
    if (s.head.minorVersion === 1) {
      s.out.pos = 0;
      writeClientResponseHead(s.out, up.buf, res, AS_SENT);
      await sendToClient(x, c.conn, s.out.view());
    }
    up.start = headEnd;
  }
  x.deadline = 0;
  x.phase = STREAMING;
  up.start = headEnd;
  x.status = res.status;
  x.relayed = true;
  if (x.tracing && ctx.tracer!.spec.debug) x.responseHeaders = headerPairs(up.buf, res);
  if (res.status === 101) {
    if (!s.head.upgrade) return await failUpstream(c, x, pump, BAD_RESPONSE);
    x.phase = TUNNEL;
    await tunnel(x, c, s, pump);
    return DONE_CLOSE;
  }

  let framing: ResponseFraming;
  if (responseHasNoBody(isHead, res.status)) framing = "none";
  else if (res.chunked) framing = s.head.minorVersion === 1 ? "chunked" : "dechunk";
  else if (res.contentLength >= 0) framing = "length";
  else framing = "close";
  // A listener that started draining while this request was in flight says so now.
  if (framing === "close" || framing === "dechunk" || ctx.draining) keepAlive = false;
  const w = s.out;
  w.pos = 0;
  const options = FINAL_HEAD;
  options.framing = framing;
  options.connection = !keepAlive ? "close" : s.head.minorVersion === 0 ? "keep-alive" : "none";
  options.extra = ctx.spec.proxyHeaders === false ? null : X_PROXY_TRUE;
  writeClientResponseHead(w, up.buf, res, options);
  const complete = await relayResponseBody(x, c, s, framing);
  if (pump !== null && !x.pumpDone) {
    // The endpoint answered before reading the whole request body: neither side can be reused.
    up.close();
    c.close();
    await pump;
    return DONE_CLOSE;
  }
  if (!complete) {
    up.close();
    // An endpoint that dies mid-response is a transport failure; a client that left is not.
    return x.clientGone ? DONE_CLOSE : RESPONSE_CUT;
  }
  // An HTTP/1.0 endpoint closes after the response unless it said keep-alive.
  const upstreamKeeps = !res.connectionClose &&
    (res.minorVersion === 1 || res.connectionKeepAlive);
  if (framing !== "close" && upstreamKeeps && !x.pumpError && !up.closed) {
    x.upstream = null;
    ctx.pool.give(up, x.now());
  } else {
    up.close();
  }
  return keepAlive && !x.pumpError ? DONE_KEEP : DONE_CLOSE;
}

/**
 * What {@linkcode readResponseHeadEnd} reads and sets of an exchange.
 *
 * @example Usage
 * ```ts
 * import type { HeadWait } from "./forward.ts";
 * const x: HeadWait = { clientGone: false, timedOut: false, upstreamError: "", deadline: 0 };
 * ```
 */
export interface HeadWait {
  /** The client went away (the upstream side was closed for it). */
  readonly clientGone: boolean;
  /** The response-header deadline passed (the upstream side was closed for it). */
  readonly timedOut: boolean;
  /** Set to why a read failed. */
  upstreamError: string;
  /** Cleared when the connection ends. */
  deadline: number;
}

/**
 * Reads from an endpoint until one whole response head is buffered.
 *
 * @param up The endpoint connection (the head starts at `up.start`).
 * @param x Why a read may have ended (client gone, timed out); the read error goes there.
 * @returns The end of the head, or minus the outcome when none came: `BAD_RESPONSE`
 *   (too large), `CLIENT_GONE`, `TIMED_OUT`, `PARTIAL_RESPONSE` or `NO_RESPONSE`.
 *
 * @example Usage
 * ```ts ignore
 * const end = await readResponseHeadEnd(up, x);
 * if (end < 0) return -end as ExchangeOutcome;
 * ```
 */
export async function readResponseHeadEnd(up: UpstreamConn, x: HeadWait): Promise<number> {
  let scanned = 0;
  for (;;) {
    if (up.available > 0) {
      const headEnd = findHeadEnd(up.buf, up.start, up.start + scanned, up.end);
      if (headEnd >= 0) return headEnd;
      scanned = up.available;
      // (a full buffer cannot be filled further: stop before fill() would throw)
      if (scanned >= MAX_RESPONSE_HEAD || scanned === up.buf.length) return -BAD_RESPONSE;
    }
    let n: number | null;
    try {
      n = await up.fill();
    } catch (e) {
      n = null;
      if (!up.closed) x.upstreamError = e instanceof Error ? e.message : String(e);
    }
    if (n === null) {
      x.deadline = 0;
      if (x.clientGone) return -CLIENT_GONE;
      if (x.timedOut) return -TIMED_OUT;
      if (up.available > 0 || scanned > 0) return -PARTIAL_RESPONSE;
      // Nothing came back (whether it may go again is shouldRetry's call).
      return -NO_RESPONSE;
    }
  }
}

/** Ends an attempt that failed: closes the upstream side and settles the body pump. */
async function failUpstream(
  c: BufferedSocket,
  x: ExchangeState,
  pump: Promise<void> | null,
  outcome: ExchangeOutcome,
): Promise<ExchangeOutcome> {
  x.upstream?.close();
  if (pump !== null) {
    // A pump still waiting for the client's body can never finish usefully now.
    // (unless it already stopped at a malformed body, which is answered with 400)
    if (!x.pumpDone && x.bodyError === null) c.close();
    await pump;
  }
  return outcome;
}

/**
 * One attempt of an HTTP exchange: the request goes to one endpoint and the
 * response comes back (1xx heads relayed, then the final head re-framed and
 * the body streamed, or a tunnel after 101). The outcome tells the
 * connection whether it is done, may retry elsewhere, and whether the
 * endpoint is to blame.
 *
 * @module
 */

import type { BufferedSocket } from "../socket.ts";
import { writeAll } from "../socket.ts";
import type { HttpConnectionContext } from "./connection.ts";
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
import type { UpstreamConn } from "./upstream_pool.ts";
import { type ResponseFraming, writeClientResponseHead } from "./writer.ts";

/** Largest response head accepted from an endpoint. */
const MAX_RESPONSE_HEAD = 64 * 1024;

/** Done; the client connection stays open. */
export const DONE_KEEP = 0;
/** Done; the client connection closes. */
export const DONE_CLOSE = 1;
/** Failed before anything was relayed; may go elsewhere; a transport error of the endpoint. */
export const RETRY = 2;
/** Failed before anything was relayed; may go elsewhere; not the endpoint's fault (a stale pooled connection). */
export const RETRY_BLAMELESS = 3;
/** Failed; no retry; a transport error of the endpoint. */
export const FAILED = 4;
/** Failed; no retry; not the endpoint's fault (client gone, malformed response). */
export const FAILED_BLAMELESS = 5;

/**
 * Sends the request (head in `s.out`) on `up` and relays the response.
 *
 * @param ctx The listener.
 * @param c The client.
 * @param s The connection's working memory (heads, writer, chunk parsers).
 * @param x The exchange.
 * @param up The endpoint connection.
 * @param isHead Whether the method is HEAD.
 * @param replaySafe Whether the request may go again when nothing came back.
 * @param bodyBuffered The body length when it is all buffered (sent with the head), else -1.
 * @param keepAlive Whether the client connection is to stay open.
 * @returns One of the outcome constants.
 *
 * @example Usage
 * ```ts ignore
 * const outcome = await forward(ctx, client, scratch, x, up, false, true, 0, true);
 * ```
 */
export async function forward(
  ctx: HttpConnectionContext,
  c: BufferedSocket,
  s: ConnectionScratch,
  x: ExchangeState,
  up: UpstreamConn,
  isHead: boolean,
  replaySafe: boolean,
  bodyBuffered: number,
  keepAlive: boolean,
): Promise<number> {
  x.upstream = up;
  x.timedOut = false;
  x.upstreamError = "";
  x.pumpError = false;
  const reused = up.reused;
  try {
    await writeAll(up.conn, s.out.view());
  } catch {
    // Nothing of the client's was consumed beyond the buffer, so it can go elsewhere.
    up.close();
    return reused ? RETRY_BLAMELESS : RETRY;
  }
  let pump: Promise<void> | null = null;
  if (bodyBuffered >= 0) {
    c.readAhead();
  } else {
    pump = pumpRequestBody(x, c, up, s.head, s.reqChunks, ctx.spec.timeouts.responseHeaderMs);
  }
  const rt = ctx.spec.timeouts.responseHeaderMs;
  x.phase = WAITING;
  // The response-header clock starts once the whole request is sent (the pump restarts it).
  x.deadline = rt > 0 && pump === null ? x.now() + rt : 0;
  const res = s.res;
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
          return await failUpstream(c, x, up, pump, FAILED_BLAMELESS);
        }
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
        if (x.clientGone) return await failUpstream(c, x, up, pump, FAILED_BLAMELESS);
        if (x.timedOut || up.available > 0 || scanned > 0) {
          return await failUpstream(c, x, up, pump, FAILED);
        }
        // Nothing came back: a request may go again only when replaying it is safe.
        if (replaySafe) {
          return await failUpstream(c, x, up, pump, reused ? RETRY_BLAMELESS : RETRY);
        }
        return await failUpstream(c, x, up, pump, reused ? FAILED_BLAMELESS : FAILED);
      }
    }
    try {
      parseResponseHead(up.buf, up.start, headEnd, res, MAX_RESPONSE_HEADERS);
    } catch {
      return await failUpstream(c, x, up, pump, FAILED_BLAMELESS);
    }
    if (res.status >= 200 || res.status === 101) break;
    if (s.head.minorVersion === 1) {
      s.out.pos = 0;
      writeClientResponseHead(s.out, up.buf, res, "none", "none");
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
    if (!s.head.upgrade) return await failUpstream(c, x, up, pump, FAILED_BLAMELESS);
    x.phase = TUNNEL;
    await tunnel(x, c, up, s.out, res, s.head.upgrade, pump);
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
  writeClientResponseHead(
    w,
    up.buf,
    res,
    framing,
    !keepAlive ? "close" : s.head.minorVersion === 0 ? "keep-alive" : "none",
  );
  const complete = await relayResponseBody(
    x,
    c,
    up,
    w,
    s.resChunks,
    framing,
    res.contentLength,
  );
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
    if (!x.clientGone) {
      up.endpoint.errors++;
      ctx.cluster.reportTransportFailure(up.endpoint, "the response ended early");
    }
    return DONE_CLOSE;
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

/** Ends an attempt that failed: closes the upstream side and settles the body pump. */
async function failUpstream(
  c: BufferedSocket,
  x: ExchangeState,
  up: UpstreamConn,
  pump: Promise<void> | null,
  outcome: number,
): Promise<number> {
  up.close();
  if (pump !== null) {
    // A pump still waiting for the client's body can never finish usefully now.
    // (unless it already stopped at a malformed body, which is answered with 400)
    if (!x.pumpDone && x.bodyError === null) c.close();
    await pump;
  }
  return outcome;
}

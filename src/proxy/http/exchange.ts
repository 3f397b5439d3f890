/**
 * One parsed HTTP/1.1 request of a client connection, served: sidekick's own
 * routes, per-client limits, then the lease and retry loop (each attempt
 * leases an endpoint from the cluster, in flight from the pick;
 * `shouldRetry` decides what follows a failed one; the lease is released
 * with the exchange's bytes, status and error), and the answer sidekick
 * writes itself when no endpoint served it.
 *
 * @module
 */

import type { Attempt } from "../../balance/lease.ts";
import type { ConnectionScratch } from "./scratch.ts";
import { HttpParseError } from "./errors.ts";
import { requestHashKey } from "./hash_key.ts";
import { dialUpstream, forward, takePooled, writeUpstreamHead } from "./forward.ts";
import { speaksH2 } from "./h2_forward_h2.ts";
import {
  attemptError,
  BLAME,
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
import { IDLE } from "./relay.ts";
import { ownRoute, ROUTE_PROXY, textResponse } from "./responses.ts";
import { answerNoBackend, ownResponse, reply, type ReplyTarget, SHED } from "./own_reply.ts";
import { isIdempotentRare, requestPath } from "./request_bytes.ts";
import { captureRequest } from "./trace.ts";
import type { ForwardInfo } from "./writer.ts";
import { type ClientLimit, tooManyRequests } from "./client_limit.ts";

/**
 * What an exchange needs of its connection, which keeps it across requests
 * (an `HttpConnection` is one): the listener, the client socket, the
 * exchange's state, the client's standing and address hash, the facts for
 * the forwarding headers, and the relay to endpoints that speak HTTP/2.
 *
 * @example Usage
 * ```ts ignore
 * import type { ExchangeHost } from "./exchange.ts";
 * const host: ExchangeHost = connection; // an HttpConnection
 * ```
 */
export interface ExchangeHost extends ReplyTarget {
  /** The client's per-client limits, or null when they are off. */
  readonly limit: ClientLimit | null;
  /** The hash of the client's address (the `hash` policy's default key). */
  readonly clientIpHash: number;
  /** The client's forwarding facts (made on the first forwarded request). */
  forwardInfo(): ForwardInfo;
  /** One try on an endpoint that speaks HTTP/2: the request goes out as one stream. */
  forwardH2(attempt: Attempt): Promise<ExchangeOutcome>;
}

/**
 * Handles one parsed request (its head in `s.head`, the client's buffer
 * starting at it; the exchange begun for it).
 *
 * @param host The connection.
 * @param s The connection's working memory.
 * @returns Whether the client connection stays open.
 *
 * @example Usage
 * ```ts ignore
 * import { serveExchange } from "./exchange.ts";
 * const keep = await serveExchange(connection, scratch);
 * ```
 */
export async function serveExchange(host: ExchangeHost, s: ConnectionScratch): Promise<boolean> {
  const ctx = host.ctx, c = host.client, x = host.exchange, buf = c.buf, head = s.head;
  const ms = head.methodStart, ml = head.methodEnd - ms;
  const isHead = ml === 4 && buf[ms] === 72 && buf[ms + 1] === 69 && buf[ms + 2] === 65 &&
    buf[ms + 3] === 68;
  const idempotent = isHead ||
    (ml === 3 && buf[ms] === 71 && buf[ms + 1] === 69 && buf[ms + 2] === 84) ||
    isIdempotentRare(buf, ms, ml);
  let keepAlive = (head.minorVersion === 1 ? !head.connectionClose : head.connectionKeepAlive) &&
    !ctx.draining;
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
      await reply(host, e.status, textResponse(e.status, e.message, true));
      return false;
    }
    if (s.reqChunks.done) bodyBuffered = n;
  }
  const hasBody = head.chunked || head.contentLength > 0;

  const route = ownRoute(buf, head.pathStart, head.targetEnd, ctx.spec.metrics !== false);
  if (route !== ROUTE_PROXY) {
    x.tracing = false; // sidekick's own paths are not traced
    c.start = bodyStart + Math.max(bodyBuffered, 0);
    keepAlive &&= bodyBuffered >= 0;
    await ownResponse(host, route, isHead, !keepAlive);
    return keepAlive;
  }
  if (x.tracing) captureRequest(x, buf, head, ctx.tracer!.spec.debug);
  const limit = host.limit;
  if (limit !== null) {
    const wait = limit.check(ctx.now());
    if (wait > 0) {
      keepAlive &&= bodyBuffered >= 0 && limit.admitted;
      if (bodyBuffered >= 0) c.start = bodyStart + bodyBuffered;
      await reply(host, 429, tooManyRequests(wait, !keepAlive));
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
  const cluster = ctx.cluster.spec;
  if (cluster.policy === "hash") {
    attempt.key = requestHashKey(buf, head, cluster.hash?.key ?? "client-ip", host.clientIpHash);
  }
  let lastError = "";
  let decision = RETRY;
  while ((decision & RETRY) !== 0) {
    const lease = ctx.cluster.lease(attempt);
    if (lease === undefined) break;
    x.tried = lease.endpoint;
    x.error = "none";
    let outcome: ExchangeOutcome;
    try {
      for (;;) {
        // One try: a pooled connection unless the attempt wants a fresh one, else a new one.
        // (Inline, not an async method: no promise of its own per request.)
        if (speaksH2(lease.endpoint.spec.scheme)) outcome = await host.forwardH2(attempt);
        else {
          writeUpstreamHead(s, x, host.forwardInfo(), lease.endpoint);
          const up = takePooled(ctx, lease.endpoint, attempt) ??
            await dialUpstream(ctx, x, lease.endpoint);
          if (typeof up === "number") outcome = up;
          else {
            lease.reached();
            x.upstream = up;
            try {
              outcome = await forward(ctx, c, s, x);
            } finally {
              x.upstream = null;
              x.phase = IDLE;
            }
          }
        }
        decision = shouldRetry(outcome, attempt, x, ctx.spec.limits);
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
      ctx.cluster.reportLocalFailure(lastError);
      if (!c.closed) {
        await reply(host, 503, textResponse(503, SHED, true));
      }
      return false;
    }
    if (x.bodyError !== null) {
      // The client's body was malformed: tell it why (nothing of the response was sent).
      const e = x.bodyError;
      x.bodyError = null;
      if (!c.closed) {
        await reply(host, e.status, textResponse(e.status, e.message, true));
      }
      return false;
    }
    if (x.clientGone) return false;
  }
  if (x.clientGone || c.closed) return false;
  keepAlive &&= bodyBuffered >= 0 && !x.pumpError;
  await answerNoBackend(host, requestPath(buf, head), lastError, !keepAlive);
  return keepAlive;
}

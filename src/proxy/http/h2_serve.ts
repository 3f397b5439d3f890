/**
 * Serves one h2 stream: sidekick's own routes answered as h2 (bodies from
 * `responses.ts`), per-client rate limits, then leases and attempts as the
 * HTTP/1.1 connection does (`Attempt`, `Lease`, `shouldRetry`): HTTP/1.1
 * endpoints through `h2_to_h1.ts`, h2 endpoints through
 * `h2_forward_h2.ts`. When nothing answers, minio/sidekick's 502 (504 on a
 * response-header timeout).
 *
 * @module
 */

import type { Lease } from "../../balance/lease.ts";
import { isLocalResourceError } from "../../pool/dial.ts";
import { H2_ERROR } from "../../h2/session.ts";
import type { ClientLimit } from "./client_limit.ts";
import { tooManyRequests } from "./client_limit.ts";
import { errorText, SHED } from "./connection.ts";
import { forwardStreamToH2, type H2StreamContext, speaksH2 } from "./h2_forward_h2.ts";
import { readH2Request, writeH1RequestHead } from "./h2_request_head.ts";
import { ownResponseToH2 } from "./h2_response_head.ts";
import type { H2Exchange } from "./h2_state.ts";
import { exchangeH1 } from "./h2_to_h1.ts";
import { requestHashKey } from "./hash_key.ts";
import { emitTrace } from "./trace.ts";
import { MAX_RESPONSE_HEADERS } from "./scratch.ts";
import { parseRequestHead } from "./head.ts";
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

/**
 * What a stream's connection knows of its client, beside the stream context.
 *
 * @example Usage
 * ```ts
 * import type { H2ClientFacts } from "./h2_serve.ts";
 * const facts: H2ClientFacts = { clientIpHash: 1, limit: null };
 * ```
 */
export interface H2ClientFacts {
  /** The client IP's hash (the `hash` policy's client-ip key). */
  readonly clientIpHash: number;
  /** Per-client limits: the connection's standing, or null when off. */
  readonly limit: ClientLimit | null;
}

/**
 * Serves the stream in `x` until it ends. Never rejects.
 *
 * @param sctx The stream's context.
 * @param facts The client's hash and limits.
 * @param x The exchange, begun with the stream.
 * @param endStream Whether the request HEADERS ended the stream (no body).
 * @returns Resolves when the stream is answered (or reset).
 *
 * @example Usage
 * ```ts ignore
 * x.begin(stream);
 * await serveStream(sctx, facts, x, stream.endStream);
 * ```
 */
export async function serveStream(
  sctx: H2StreamContext,
  facts: H2ClientFacts,
  x: H2Exchange,
  endStream: boolean,
): Promise<void> {
  const ctx = sctx.listener, stream = x.stream!, req = x.req;
  try {
    readH2Request(stream.head, endStream, req, ctx.spec.limits);
    if (stream.headTooLarge) {
      const max = ctx.spec.limits.maxHeadBytes;
      return await answer(
        sctx,
        x,
        textResponse(431, `request head is larger than ${max} bytes`, false),
      );
    }
    if (req.error !== "") return await answer(sctx, x, textResponse(req.status, req.error, false));
    // The path, as bytes, for the route check; and the head once, to refuse what HTTP/1.1 cannot carry.
    const w = x.out;
    w.pos = 0;
    x.info.basePath = NO_PATH;
    if (!writeH1RequestHead(w, stream.head, req, x.info)) {
      const bad = "a header field or the target holds a byte HTTP/1.1 cannot carry";
      return await answer(sctx, x, textResponse(400, bad, false));
    }
    const pathStart = req.method.length + 1, pathEnd = pathStart + req.path.length;
    const route = ownRoute(w.buf, pathStart, pathEnd, ctx.spec.metrics !== false);
    if (route !== ROUTE_PROXY) {
      return await answer(sctx, x, ownRouteResponse(sctx, route, req.isHead));
    }
    const tracer = ctx.tracer;
    if (tracer !== null) startTrace(x, tracer.spec.debug);
    const limit = facts.limit;
    if (limit !== null) {
      const wait = limit.check(ctx.now());
      if (wait > 0) return await answer(sctx, x, tooManyRequests(wait, false));
    }
    await proxy(sctx, facts, x);
  } catch {
    // the stream or the session ended under us
  } finally {
    // The client may still be sending a body nobody will read: ask it to stop.
    if (req.hasBody && !x.pumpDone) stream.reset(H2_ERROR.NO_ERROR);
    if (x.pump !== null) await x.pump;
    const tracer = ctx.tracer;
    if (x.tracing && tracer !== null) emitTrace(tracer, x, sctx.clientIp);
  }
}

/** A traced stream keeps its method, target and (debug) request fields. */
function startTrace(x: H2Exchange, debug: boolean): void {
  x.tracing = true;
  x.wallStart = Date.now();
  x.method = x.req.method;
  x.target = x.req.path;
  x.requestHeaders = x.responseHeaders = undefined;
  if (!debug) return;
  const head = x.stream!.head, pairs: [string, string][] = [];
  for (let i = 0; i < head.length; i += 2) pairs.push([head[i], head[i + 1]]);
  x.requestHeaders = pairs;
}

const NO_PATH = new Uint8Array(0);

/** The leases and attempts of a proxied stream, then the 502/504 when nothing answered. */
async function proxy(sctx: H2StreamContext, facts: H2ClientFacts, x: H2Exchange): Promise<void> {
  const ctx = sctx.listener, req = x.req, attempt = x.attempt;
  attempt.reset();
  x.replaySafe = req.idempotent && !req.hasBody;
  const cluster = ctx.cluster.spec;
  if (cluster.policy === "hash") {
    // The key is read from the HTTP/1.1 head just written (res is free until a response).
    parseRequestHead({ buf: x.out.buf, start: 0 }, x.out.pos, x.res, UNLIMITED);
    attempt.key = requestHashKey(
      x.out.buf,
      x.res,
      cluster.hash?.key ?? "client-ip",
      facts.clientIpHash,
    );
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
        outcome = await attemptOn(sctx, x, lease);
        decision = shouldRetry(outcome, attempt, x, ctx.spec.limits);
        if ((decision & FRESH) === 0) break;
        attempt.fresh = true; // the pooled connection was stale: once more, on a new one
      }
      if (outcome === DONE_KEEP || outcome === DONE_CLOSE) return;
      lastError = attemptError(outcome, x);
      x.error = transportError(outcome, attempt.reused);
      if ((decision & BLAME) !== 0) lease.blame(lastError, x.error);
    } finally {
      lease.release(x);
    }
    if (outcome === RESPONSE_CUT || x.clientGone) return;
    if (outcome === LOCAL_FAILED) {
      ctx.cluster.reportLocalFailure(lastError);
      return await answer(sctx, x, textResponse(503, SHED, false));
    }
  }
  if (x.clientGone) return;
  const message = backendDownMessage(lastError);
  const status = x.timedOut ? 504 : 502;
  const identify = ctx.spec.proxyHeaders !== false;
  const path = req.path, q = path.indexOf("?");
  await answer(
    sctx,
    x,
    backendDownResponse(message, q >= 0 ? path.slice(0, q) : path, {
      status,
      close: false,
      identify,
    }),
  );
}

/** Head limits that never refuse (the head was built by us). */
const UNLIMITED = {
  maxHeadBytes: 1 << 30,
  maxHeaders: MAX_RESPONSE_HEADERS,
  maxTargetBytes: 1 << 30,
};

/** One try on the leased endpoint. */
async function attemptOn(
  sctx: H2StreamContext,
  x: H2Exchange,
  lease: Lease,
): Promise<ExchangeOutcome> {
  const ctx = sctx.listener, endpoint = lease.endpoint, attempt = x.attempt;
  if (speaksH2(endpoint.spec.scheme)) return await forwardStreamToH2(sctx, x, lease);
  const w = x.out;
  w.pos = 0;
  x.info.basePath = endpoint.basePath;
  writeH1RequestHead(w, x.stream!.head, x.req, x.info);
  let up = attempt.fresh ? undefined : ctx.pool.take(endpoint);
  attempt.reused = up !== undefined;
  if (up === undefined) {
    try {
      up = await ctx.pool.connect(endpoint);
    } catch (e) {
      x.upstreamError = errorText(e);
      return isLocalResourceError(e) ? LOCAL_FAILED : CONNECT_FAILED;
    }
    if (x.clientGone) {
      up.close();
      return DONE_CLOSE;
    }
  }
  lease.reached();
  x.upstream = up;
  try {
    return await exchangeH1(ctx, x);
  } finally {
    x.upstream = null;
    x.phase = 0;
    x.deadline = 0;
  }
}

/** `/v1/health`, `/.prometheus/metrics` or `/v1/certificates`, as HTTP/1.1 bytes. */
function ownRouteResponse(sctx: H2StreamContext, route: number, isHead: boolean): Uint8Array {
  const ctx = sctx.listener;
  if (route === ROUTE_HEALTH) {
    const state = ctx.draining ? "draining" : ctx.cluster.anyAvailable() ? "up" : "down";
    return healthResponse(state, false, ctx.spec.proxyHeaders !== false);
  }
  if (route === ROUTE_METRICS) {
    const m = ctx.metrics();
    return bodyResponse(m.contentType, m.body, isHead, false);
  }
  return certificatesResponse(ctx.certificates, isHead, false);
}

/** Sends one of sidekick's own answers on the stream, counted by status. */
async function answer(sctx: H2StreamContext, x: H2Exchange, response: Uint8Array): Promise<void> {
  const r = ownResponseToH2(response), stream = x.stream!;
  const counts = sctx.listener.ownResponses;
  counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  x.status = r.status;
  const body = x.req.isHead ? NO_PATH : r.body;
  stream.sendHeaders(r.fields, body.length === 0);
  if (body.length === 0) return;
  x.writing = true;
  try {
    await stream.write(body);
    x.tx += body.length;
    await stream.end();
  } finally {
    x.writing = false;
  }
}

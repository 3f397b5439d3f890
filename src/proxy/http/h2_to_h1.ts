/**
 * One attempt of an h2 stream on an HTTP/1.1 endpoint: the request head
 * (`h2_request_head.ts`) and body (`h2_body.ts`) go out on an upstream
 * connection, the response head comes back (`forward.ts`'s head reader,
 * `head.ts`'s parser), 1xx heads are skipped, and the body is streamed to the
 * client as DATA, de-chunked, with chunked trailers sent as h2 trailers. The
 * outcome is the HTTP/1.1 path's union (`retry.ts`), so `shouldRetry`
 * decides what follows.
 *
 * @module
 */

import { H2_ERROR } from "../../h2/session.ts";
import { writeAll } from "../socket.ts";
import type { HttpConnectionContext } from "./context.ts";
import { readResponseHeadEnd } from "./forward.ts";
import { pumpH2RequestBody } from "./h2_body.ts";
import { responseFields, trailerFields } from "./h2_response_head.ts";
import { H2_STREAMING, H2_WAITING, type H2Exchange } from "./h2_state.ts";
import { parseResponseHead, responseHasNoBody } from "./head.ts";
import {
  BAD_RESPONSE,
  CLIENT_GONE,
  DONE_CLOSE,
  DONE_KEEP,
  type ExchangeOutcome,
  RESPONSE_CUT,
  SEND_FAILED,
} from "./retry.ts";
import { MAX_RESPONSE_HEADERS } from "./scratch.ts";
import { headerPairs } from "./trace.ts";

/**
 * Sends the request (head in `x.out`) and its body on `x.upstream` and
 * relays the response to the stream.
 *
 * @param ctx The listener.
 * @param x The exchange, with its upstream connection set.
 * @returns How the attempt ended.
 *
 * @example Usage
 * ```ts ignore
 * x.upstream = up;
 * const outcome = await exchangeH1(ctx, x);
 * ```
 */
export async function exchangeH1(
  ctx: HttpConnectionContext,
  x: H2Exchange,
): Promise<ExchangeOutcome> {
  const up = x.upstream!, stream = x.stream!, req = x.req, res = x.res;
  x.timedOut = false;
  x.answeredAt = 0;
  x.upstreamError = "";
  x.pumpError = false;
  x.pumpDone = !req.hasBody;
  try {
    await writeAll(up.conn, x.out.view());
  } catch {
    up.close();
    return SEND_FAILED;
  }
  const rt = ctx.spec.timeouts.responseHeaderMs;
  x.phase = H2_WAITING;
  const pump = req.hasBody ? pumpH2RequestBody(x, rt) : null;
  x.deadline = rt > 0 && pump === null ? x.now() + rt : 0;
  let headEnd: number;
  for (;;) {
    headEnd = await readResponseHeadEnd(up, x);
    if (headEnd < 0) return await fail(x, pump, -headEnd as ExchangeOutcome);
    try {
      parseResponseHead(up, headEnd, res, MAX_RESPONSE_HEADERS);
    } catch {
      return await fail(x, pump, BAD_RESPONSE);
    }
    up.start = headEnd;
    // 1xx heads are not relayed (h2 clients do not need 100 Continue from a proxy); 101 is refused.
    if (res.status >= 200) break;
    if (res.status === 101) return await fail(x, pump, BAD_RESPONSE);
  }
  x.answeredAt = performance.now();
  x.deadline = 0;
  x.phase = H2_STREAMING;
  x.status = res.status;
  const noBody = responseHasNoBody(req.isHead, res.status);
  const length = !res.chunked && res.contentLength >= 0;
  const fields = x.fields;
  fields.length = 0;
  responseFields(up.buf, res, noBody || length, fields);
  if (ctx.spec.proxyHeaders !== false) fields.push("x-proxy", "true");
  const empty = noBody || (length && res.contentLength === 0);
  if (x.tracing) {
    x.firstByteAt = performance.now();
    if (ctx.tracer?.spec.debug === true) x.responseHeaders = headerPairs(up.buf, res);
  }
  try {
    stream.sendHeaders(fields, empty);
  } catch {
    x.clientGone = true;
  }
  let complete = empty;
  if (!empty && !x.clientGone) complete = await relayBody(x, length);
  if (!complete) {
    up.close();
    if (!x.clientGone) stream.reset(H2_ERROR.INTERNAL_ERROR);
    if (pump !== null) await pump;
    return x.clientGone ? DONE_CLOSE : RESPONSE_CUT;
  }
  if (pump !== null && !x.pumpDone) {
    // The endpoint answered before taking the whole body: the connection cannot be
    // reused, and the client is asked to stop sending (RFC 9113 8.1).
    up.close();
    stream.reset(H2_ERROR.NO_ERROR);
    await pump;
    return DONE_KEEP;
  }
  if (pump !== null) await pump;
  const framed = length || res.chunked || noBody;
  const keeps = !res.connectionClose && (res.minorVersion === 1 || res.connectionKeepAlive);
  if (framed && keeps && !x.pumpError && !up.closed && !x.clientGone) {
    x.upstream = null;
    ctx.pool.give(up, x.now());
  } else {
    up.close();
  }
  return DONE_KEEP;
}

/**
 * Ends an attempt that failed before a response: closes the upstream side.
 * A pump still waiting for the client's body is left to the stream handler,
 * which answers first and then stops the body with RST_STREAM(NO_ERROR)
 * (`x.pump`); a pump that was writing ends with the upstream side.
 */
async function fail(
  x: H2Exchange,
  pump: Promise<void> | null,
  outcome: ExchangeOutcome,
): Promise<ExchangeOutcome> {
  x.upstream?.close();
  if (pump !== null) {
    if (x.pumpReading) x.pump = pump;
    else await pump;
  }
  return x.clientGone ? CLIENT_GONE : outcome;
}

/** Writes a DATA payload, watched by the sweeper's write timeout; false when the client is gone. */
async function send(x: H2Exchange, data: Uint8Array): Promise<boolean> {
  x.writing = true;
  try {
    await x.stream!.write(data);
    x.tx += data.length;
    return true;
  } catch {
    x.clientGone = true;
    return false;
  } finally {
    x.writing = false;
  }
}

/**
 * Relays the response body: `length` bytes, chunks (de-chunked, trailers
 * kept) or everything until the endpoint closes; then ends the stream.
 *
 * @returns Whether the body was complete and the stream ended.
 */
async function relayBody(x: H2Exchange, length: boolean): Promise<boolean> {
  const up = x.upstream!, res = x.res, parser = x.chunks, tb = x.trailerBytes;
  const chunked = res.chunked;
  let left = length ? res.contentLength : 0;
  parser.reset();
  tb.pos = 0;
  try {
    for (;;) {
      while (up.available > 0) {
        let n = 0;
        if (length) {
          n = Math.min(left, up.available);
          left -= n;
        } else if (chunked) {
          if (parser.done) break;
          if (parser.inTrailers) {
            const k = parser.feedFraming(up.buf, up.start, up.end);
            tb.range(up.buf, up.start, up.start + k);
            up.start += k;
            continue;
          }
          up.start += parser.feedFraming(up.buf, up.start, up.end, true);
          n = Math.min(parser.dataLeft, up.available);
          if (n > 0) parser.skipData(n);
        } else {
          n = up.available;
        }
        if (n > 0) {
          const data = up.buf.subarray(up.start, up.start + n);
          up.start += n;
          if (!await send(x, data)) return false;
        }
        if (length && left === 0) break;
      }
      if ((length && left === 0) || (chunked && parser.done)) break;
      let r: number | null;
      try {
        r = await up.fill();
      } catch {
        r = null;
      }
      if (r === null) {
        if (length || chunked || x.clientGone) return false;
        break; // a body delimited by the close
      }
    }
  } catch {
    return false; // malformed chunks
  }
  let trailers: string[] | undefined;
  if (chunked && tb.pos > 2) {
    trailers = [];
    trailerFields(tb.buf, 0, tb.pos, trailers);
    if (trailers.length === 0) trailers = undefined;
  }
  try {
    await x.stream!.end(trailers);
    return true;
  } catch {
    x.clientGone = true;
    return false;
  }
}

/**
 * HTTP/1.1 clients to endpoints that speak HTTP/2: one attempt of an
 * exchange relayed as one stream on the endpoint's multiplexed session. The
 * request head becomes HTTP/2 fields (Host as `:authority`, names
 * lowercased, the same hop-by-hop and forwarding rules as every other path),
 * the body streams as DATA (chunked framing removed), and the response comes
 * back as an HTTP/1.1 head with its body re-framed (Content-Length kept,
 * else chunked, with the endpoint's trailers as chunked trailers, or close
 * for an HTTP/1.0 client).
 *
 * @module
 */

import type { Attempt } from "../../balance/lease.ts";
import { H2_ERROR, H2Stream } from "../../h2/session.ts";
import { field } from "../../health/h2_probe.ts";
import type { BufferedSocket } from "../socket.ts";
import { bytes, latin1 } from "./ascii.ts";
import type { HttpConnectionContext } from "./context.ts";
import {
  F_KIND,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  H_HOST,
  H_NAMED_HOP,
  type MessageHead,
  responseHasNoBody,
} from "./head.ts";
import { type H2ClientInfo, upstreamRequestFields } from "./h2_upstream_fields.ts";
import { failedBeforeHead, HeadClock, openUpstream } from "./h2_upstream_attempt.ts";
import { type ExchangeState, sendToClient, STREAMING, WAITING } from "./relay.ts";
import { REASONS, X_PROXY_TRUE } from "./responses.ts";
import {
  CLIENT_GONE,
  DONE_CLOSE,
  DONE_KEEP,
  type ExchangeOutcome,
  RESPONSE_CUT,
  TIMED_OUT,
} from "./retry.ts";
import type { ConnectionScratch } from "./scratch.ts";
import type { ByteWriter } from "./writer.ts";

const CONTINUE_100 = bytes("HTTP/1.1 100 Continue\r\n\r\n");
const CRLF = bytes("\r\n");
const LAST_CHUNK = bytes("0\r\n");
const TE_CHUNKED = bytes("Transfer-Encoding: chunked\r\n");
const CONN_CLOSE = bytes("Connection: close\r\n");
const CONN_KEEP_ALIVE = bytes("Connection: keep-alive\r\n");

/**
 * Relays the HTTP/1.1 exchanges of one client connection to HTTP/2
 * endpoints. A connection makes one when its first request leases such an
 * endpoint.
 *
 * @example Usage
 * ```ts ignore
 * const bridge = new H1ToH2(ctx, client, "127.0.0.1");
 * const outcome = await bridge.forward(scratch, exchange, attempt);
 * ```
 */
export class H1ToH2 {
  readonly #ctx: HttpConnectionContext;
  readonly #client: BufferedSocket;
  readonly #info: H2ClientInfo;
  /** The upstream stream of the exchange in progress, or null. */
  #up: H2Stream | null = null;

  /**
   * @param ctx The listener.
   * @param client The client connection.
   * @param clientIp The client's address (forwarding fields).
   */
  constructor(ctx: HttpConnectionContext, client: BufferedSocket, clientIp: string) {
    this.#ctx = ctx;
    this.#client = client;
    this.#info = { clientIp, tls: ctx.tls };
  }

  /** The client went away: the endpoint's stream of the exchange in progress is reset. */
  cancel(): void {
    this.#up?.reset(H2_ERROR.CANCEL);
  }

  /**
   * One attempt on the HTTP/2 endpoint leased by `attempt`: the request (head
   * parsed in `s`, its body buffered when `x.bodyBuffered >= 0`, else still
   * coming from the client) goes out as one stream, and the response comes
   * back to the client.
   *
   * @param s The connection's working memory (request head and buffer; `out` is used to write).
   * @param x The exchange (`isHead`, `bodyBuffered`, `keepAlive`; outcome fields are set).
   * @param attempt The attempt, its lease held.
   * @returns How the attempt ended (see `retry.ts`).
   */
  async forward(
    s: ConnectionScratch,
    x: ExchangeState,
    attempt: Attempt,
  ): Promise<ExchangeOutcome> {
    const ctx = this.#ctx, head = s.head;
    x.timedOut = false;
    x.answeredAt = 0;
    x.upstreamError = "";
    x.pumpError = false;
    const raw = requestFields(s.buf, head, ctx.tls);
    const fields = upstreamRequestFields(raw, this.#info, attempt.lease.endpoint.spec.basePath);
    const hasBody = head.chunked || head.contentLength > 0;
    const up = await openUpstream(ctx.h2, attempt, fields, !hasBody);
    if (!(up instanceof H2Stream)) {
      x.upstreamError = up.error;
      return up.outcome;
    }
    this.#up = up;
    try {
      return await this.#exchange(s, x, attempt, up);
    } finally {
      this.#up = null;
    }
  }

  /** The stream is open: the body goes out, the response comes back. */
  async #exchange(
    s: ConnectionScratch,
    x: ExchangeState,
    attempt: Attempt,
    up: H2Stream,
  ): Promise<ExchangeOutcome> {
    const ctx = this.#ctx, head = s.head;
    const hasBody = head.chunked || head.contentLength > 0;
    const clock = new HeadClock(ctx.clock, ctx.spec.timeouts.responseHeaderMs, () => {
      x.timedOut = true;
      up.reset(H2_ERROR.CANCEL);
    });
    x.phase = WAITING;
    const body = { sent: false };
    const pump = hasBody ? this.#pump(s, x, up, { clock, body }) : null;
    if (!hasBody) {
      clock.arm();
      this.#client.readAhead(); // the client's next bytes (or its close) are read meanwhile
    }
    let res: string[];
    try {
      res = await up.response();
    } catch (e) {
      clock.answered();
      if (pump !== null) await pump;
      if (x.clientGone) return CLIENT_GONE;
      if (x.timedOut) return TIMED_OUT;
      const failure = failedBeforeHead(e, body.sent, attempt);
      x.upstreamError = failure.error;
      return failure.outcome;
    } finally {
      clock.answered();
    }
    x.answeredAt = performance.now();
    x.phase = STREAMING;
    x.status = Number(field(res, ":status") ?? 502);
    x.relayed = true;
    const outcome = await this.#respond(s, x, up, res);
    if (pump !== null) {
      if (!x.pumpDone) {
        // The endpoint answered before the whole body came: the client connection cannot go on.
        up.reset(H2_ERROR.CANCEL);
        this.#client.close();
        await pump;
        return outcome === DONE_KEEP ? DONE_CLOSE : outcome;
      }
      await pump;
    }
    return outcome;
  }

  /** Sends the request body (buffered or still coming, chunked framing removed), then ends the stream. */
  async #pump(
    s: ConnectionScratch,
    x: ExchangeState,
    up: H2Stream,
    run: { readonly clock: HeadClock; readonly body: { sent: boolean } },
  ): Promise<void> {
    const c = this.#client, head = s.head, parser = s.reqChunks;
    x.pumpDone = false;
    parser.reset();
    // A buffered body is in the scratch buffer after the head; else it comes through the client socket.
    const buffered = x.bodyBuffered >= 0;
    let buf = buffered ? s.buf : c.buf;
    let start = buffered ? head.end : c.start;
    let end = buffered ? head.end + x.bodyBuffered : c.end;
    let left = head.chunked ? -1 : head.contentLength;
    try {
      if (!buffered && head.expectContinue && head.minorVersion === 1) {
        await sendToClient(x, c.conn, CONTINUE_100); // the endpoint's own 100 never reaches us
      }
      for (;;) {
        while (start < end && left !== 0) {
          let n: number;
          if (head.chunked) {
            start += parser.feedFraming(buf, start, end);
            if (parser.done) break;
            n = Math.min(parser.dataLeft, end - start);
            parser.skipData(n);
          } else {
            n = Math.min(left, end - start);
            left -= n;
          }
          if (n > 0) {
            run.body.sent = true;
            await up.write(buf.subarray(start, start + n));
            if (!buffered) x.rx += n; // (a buffered body was counted with the head)
          }
          start += n;
        }
        if (left === 0 || parser.done) break;
        if (buffered) throw new Error("the buffered body is incomplete");
        c.start = c.end;
        x.pumpReading = true;
        const got = await c.fill();
        x.pumpReading = false;
        if (got === null) throw new Error("client ended the body early");
        buf = c.buf;
        start = c.start;
        end = c.end;
      }
      if (!buffered) c.start = start;
      await up.end();
      x.pumpDone = true;
      run.clock.arm();
      if (!buffered) c.readAhead();
    } catch {
      x.pumpError = true;
      if (x.pumpReading) {
        x.pumpReading = false;
        x.clientGone = true; // the client left or sent bad framing: abandon the stream
      }
      up.reset(H2_ERROR.CANCEL);
    }
  }

  /** Writes the HTTP/1.1 response head, then the body re-framed, then the trailers. */
  async #respond(
    s: ConnectionScratch,
    x: ExchangeState,
    up: H2Stream,
    res: readonly string[],
  ): Promise<ExchangeOutcome> {
    const c = this.#client, w = s.out;
    const noBody = responseHasNoBody(x.isHead, x.status);
    const length = field(res, "content-length");
    const chunked = !noBody && length === undefined && s.head.minorVersion === 1;
    const keepAlive = x.keepAlive && !this.#ctx.draining &&
      (noBody || length !== undefined || chunked);
    w.pos = 0;
    writeStatusLine(w, x.status);
    for (let i = 0; i + 1 < res.length; i += 2) {
      if (res[i].charCodeAt(0) === 58 /* : */) continue;
      writeField(w, res[i], res[i + 1]);
    }
    if (chunked) w.put(TE_CHUNKED);
    if (!keepAlive) w.put(CONN_CLOSE);
    else if (s.head.minorVersion === 0) w.put(CONN_KEEP_ALIVE);
    if (this.#ctx.spec.proxyHeaders !== false) w.put(X_PROXY_TRUE);
    w.put(CRLF);
    try {
      if (noBody) {
        await sendToClient(x, c.conn, w.view());
        up.reset(H2_ERROR.NO_ERROR); // nothing of a body is relayed (HEAD, 204, 304)
        return keepAlive ? DONE_KEEP : DONE_CLOSE;
      }
      for (let chunk = await up.read(); chunk !== null; chunk = await up.read()) {
        if (chunked) {
          w.put(bytes(chunk.length.toString(16)));
          w.put(CRLF);
        }
        w.put(chunk);
        if (chunked) w.put(CRLF);
        x.writing = true;
        await sendToClient(x, c.conn, w.view());
        x.writing = false;
        w.pos = 0;
      }
      if (chunked) {
        w.put(LAST_CHUNK);
        const trailers = up.trailers ?? [];
        for (let i = 0; i + 1 < trailers.length; i += 2) {
          writeField(w, trailers[i], trailers[i + 1]);
        }
        w.put(CRLF);
      }
      if (w.pos > 0) await sendToClient(x, c.conn, w.view());
      return keepAlive ? DONE_KEEP : DONE_CLOSE;
    } catch {
      x.writing = false;
      if (c.closed || x.clientGone) {
        up.reset(H2_ERROR.CANCEL);
        return DONE_CLOSE;
      }
      // The endpoint reset the stream mid-response: the client sees the connection end.
      x.upstreamError = "the endpoint reset the stream mid-response";
      c.close();
      return RESPONSE_CUT;
    }
  }
}

/** The request as HTTP/2 fields, before the hop-by-hop and forwarding rules. */
function requestFields(buf: Uint8Array, head: MessageHead, tls: boolean): string[] {
  const f = head.fields;
  const out = [":method", latin1(buf, head.methodStart, head.methodEnd), ":scheme"];
  out.push(tls ? "https" : "http");
  let authority = "";
  if (head.authorityStart >= 0) authority = latin1(buf, head.authorityStart, head.authorityEnd);
  else if (head.hostIndex >= 0) {
    const o = head.hostIndex * FIELD_STRIDE;
    authority = latin1(buf, f[o + F_VALUE], f[o + F_VALUE_END]);
  }
  if (authority !== "") out.push(":authority", authority);
  const path = head.targetEnd > head.pathStart ? latin1(buf, head.pathStart, head.targetEnd) : "/";
  out.push(":path", path.charCodeAt(0) === 63 /* ? */ ? `/${path}` : path);
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE, kind = f[o + F_KIND];
    if (kind === H_HOST || kind === H_NAMED_HOP) continue;
    out.push(
      latin1(buf, f[o + F_NAME], f[o + F_NAME_END]).toLowerCase(),
      latin1(buf, f[o + F_VALUE], f[o + F_VALUE_END]),
    );
  }
  // HTTP/1.1 framing means nothing on HTTP/2: the DATA frames carry the body.
  if (head.chunked) removeField(out, "content-length");
  return out;
}

function removeField(fields: string[], name: string): void {
  for (let i = fields.length - 2; i >= 0; i -= 2) if (fields[i] === name) fields.splice(i, 2);
}

function writeStatusLine(w: ByteWriter, status: number): void {
  w.put(bytes(`HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`));
}

function writeField(w: ByteWriter, name: string, value: string): void {
  w.put(bytes(`${name}: ${value}\r\n`));
}

/**
 * Composes the heads the proxy sends: the request toward an endpoint and the
 * response toward the client. Header lines pass byte for byte, in order;
 * hop-by-hop headers are dropped and framing is re-done.
 *
 * @module
 */

import { bytes, CR, LF, SP } from "./ascii.ts";
import {
  F_KIND,
  F_NAME,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  H_CONTENT_LENGTH,
  H_EXPECT,
  H_HOST,
  H_OTHER,
  H_TRANSFER_ENCODING,
  H_UPGRADE,
  H_X_REAL_IP,
  H_XFF,
  type MessageHead,
} from "./head.ts";

const HTTP11 = bytes(" HTTP/1.1\r\n");
const HTTP11_STATUS = bytes("HTTP/1.1 ");
const CRLF = bytes("\r\n");
const CONTENT_LENGTH = bytes("Content-Length: ");
const TE_CHUNKED = bytes("Transfer-Encoding: chunked\r\n");
const TE_TRAILERS = bytes("TE: trailers\r\n");
const CONN_UPGRADE = bytes("Connection: Upgrade\r\n");
const CONN_CLOSE = bytes("Connection: close\r\n");
const CONN_KEEP_ALIVE = bytes("Connection: keep-alive\r\n");
const XFF = bytes("X-Forwarded-For: ");
const XF_HOST = bytes("X-Forwarded-Host: ");
const XF_PROTO_HTTP = bytes("X-Forwarded-Proto: http\r\n");
const XF_PROTO_HTTPS = bytes("X-Forwarded-Proto: https\r\n");
const X_REAL_IP = bytes("X-Real-IP: ");
const HOST = bytes("Host: ");
const COMMA_SP = bytes(", ");

/**
 * A growable byte buffer that is reused for every head on a connection.
 *
 * @example Usage
 * ```ts
 * import { ByteWriter } from "./writer.ts";
 * const w = new ByteWriter(16);
 * w.put(new TextEncoder().encode("hi"));
 * w.decimal(42);
 * new TextDecoder().decode(w.view()); // "hi42"
 * ```
 */
export class ByteWriter {
  /** The storage; may be replaced when it grows. */
  buf: Uint8Array;
  /** Bytes written so far. */
  pos = 0;

  /**
   * Creates an empty writer.
   *
   * @param size Initial capacity.
   */
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Appends all of `b`. */
  put(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends `src[start, end)`. */
  range(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 64) {
      const out = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) out[p++] = src[i];
    } else {
      this.buf.set(src.subarray(start, end), this.pos);
    }
    this.pos += n;
  }

  /** Appends one byte. */
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Appends a non-negative safe integer in decimal (no string is made). */
  decimal(n: number): void {
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    this.ensure(digits);
    const out = this.buf;
    for (let i = this.pos + digits - 1; i >= this.pos; i--) {
      const q = Math.floor(n / 10);
      out[i] = 48 + (n - q * 10);
      n = q;
    }
    this.pos += digits;
  }

  /** The bytes written so far (a view; valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** The base path of an endpoint that has none. */
export const NO_BASE_PATH: Uint8Array = new Uint8Array(0);

/**
 * How a request head is rewritten for an endpoint: facts about the client
 * connection that go into the forwarding headers, and the endpoint's base
 * path. A connection keeps one and sets `basePath` for each attempt.
 *
 * @example Usage
 * ```ts
 * import type { ForwardInfo } from "./writer.ts";
 * const info: ForwardInfo = {
 *   clientIp: new TextEncoder().encode("127.0.0.1"),
 *   tls: false,
 *   basePath: new Uint8Array(0),
 * };
 * ```
 */
export interface ForwardInfo {
  /** The client's IP address as ASCII bytes. */
  readonly clientIp: Uint8Array;
  /** Whether the client connection is TLS. */
  readonly tls: boolean;
  /** The endpoint's base path bytes (may be empty; no trailing slash). */
  basePath: Uint8Array;
}

/**
 * Writes the request head sent to an endpoint, always as HTTP/1.1.
 *
 * - The target keeps its bytes; `basePath` is put before an origin-form path
 *   (`/a` becomes `/base/a`, a bare query `?q` becomes `/base/?q`). An
 *   absolute-form target becomes origin-form and its authority replaces the
 *   Host value; `*` (OPTIONS) is sent as it is.
 * - Header lines keep their case, order and value bytes, except the
 *   hop-by-hop ones: Connection and the headers it names, Keep-Alive,
 *   Proxy-Connection, TE (re-sent as `TE: trailers` when it listed
 *   trailers), Trailer, and Upgrade unless upgrading (then re-sent with
 *   `Connection: Upgrade`). Content-Length and Transfer-Encoding are re-done
 *   from the parse.
 * - X-Forwarded-For gets the client IP appended, once, on one line that
 *   merges the client's own X-Forwarded-For lines in order;
 *   X-Forwarded-Host (when there is a host), X-Forwarded-Proto and X-Real-IP
 *   replace any the client sent.
 * - An HTTP/1.0 request without Host gets an empty `Host:`, which RFC 9112
 *   3.2 requires of an HTTP/1.1 request without an authority.
 *
 * @param w The writer (appended to).
 * @param buf The buffer holding the client's head.
 * @param head The client's parsed head.
 * @param info Client facts for the forwarding headers, and the endpoint's base path.
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseRequestHead } from "./head.ts";
 * import { ByteWriter, writeUpstreamRequestHead } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const te = new TextEncoder();
 * const buf = te.encode("GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
 * const head = new MessageHead(10);
 * parseRequestHead({ buf, start: 0 }, buf.length, head, { maxHeadBytes: 1000, maxHeaders: 10, maxTargetBytes: 100 });
 * const w = new ByteWriter(256);
 * writeUpstreamRequestHead(w, buf, head, {
 *   clientIp: te.encode("10.0.0.1"),
 *   tls: false,
 *   basePath: new Uint8Array(0),
 * });
 * assert.equal(
 *   new TextDecoder().decode(w.view()),
 *   "GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: h\r\n" +
 *     "X-Forwarded-Proto: http\r\nX-Real-IP: 10.0.0.1\r\n\r\n",
 * );
 * ```
 */
export function writeUpstreamRequestHead(
  w: ByteWriter,
  buf: Uint8Array,
  head: MessageHead,
  info: ForwardInfo,
): void {
  const f = head.fields, basePath = info.basePath;
  w.range(buf, head.methodStart, head.methodEnd + 1);
  const ps = head.pathStart, te = head.targetEnd;
  // The authority of an absolute-form target, which then stands for Host.
  const as = head.authorityStart, ae = head.authorityEnd;
  if (buf[ps] === 42 /* * */ && as < 0) {
    w.byte(42);
  } else {
    if (basePath.length > 0) w.put(basePath);
    if (ps === te || buf[ps] === 63 /* ? */) w.byte(47 /* / */);
    w.range(buf, ps, te);
  }
  w.put(HTTP11);
  let xffCount = 0;
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE;
    const kind = f[o + F_KIND];
    if (
      kind === H_OTHER || kind === H_EXPECT || (kind === H_HOST && as < 0) ||
      (kind === H_UPGRADE && head.upgrade)
    ) {
      w.range(buf, f[o + F_NAME], f[o + F_VALUE_END]);
      w.put(CRLF);
    } else if (kind === H_HOST) {
      w.put(HOST);
      w.range(buf, as, ae);
      w.put(CRLF);
    } else if (kind === H_XFF) {
      xffCount++;
    }
  }
  if (head.hostIndex < 0) {
    w.put(HOST);
    if (as >= 0) w.range(buf, as, ae);
    w.put(CRLF);
  }
  if (head.chunked) w.put(TE_CHUNKED);
  else if (head.contentLength >= 0) writeContentLength(w, head.contentLength);
  if (head.teTrailers) w.put(TE_TRAILERS);
  if (head.upgrade) w.put(CONN_UPGRADE);
  beginForwardedFor(w);
  if (xffCount > 0) {
    for (let h = 0; h < head.headerCount; h++) {
      const o = h * FIELD_STRIDE;
      if (f[o + F_KIND] !== H_XFF || f[o + F_VALUE_END] === f[o + F_VALUE]) continue;
      w.range(buf, f[o + F_VALUE], f[o + F_VALUE_END]);
      w.put(COMMA_SP);
    }
  }
  const host = HOST_RANGE;
  host.buf = buf;
  host.start = as;
  host.end = ae;
  if (as < 0 && head.hostIndex >= 0) {
    const o = head.hostIndex * FIELD_STRIDE;
    host.start = f[o + F_VALUE];
    host.end = f[o + F_VALUE_END];
  }
  endForwarding(w, info, host);
}

/** The host of the head being written, set just before each (synchronous) use: no allocation. */
const HOST_RANGE: ByteRange = { buf: new Uint8Array(0), start: 0, end: 0 };

/**
 * Bytes `buf[start, end)`, e.g. where a host is in a buffer.
 *
 * @example Usage
 * ```ts
 * import type { ByteRange } from "./writer.ts";
 * const r: ByteRange = { buf: new TextEncoder().encode("host"), start: 0, end: 4 };
 * ```
 */
export interface ByteRange {
  /** The buffer. */
  buf: Uint8Array;
  /** First byte. */
  start: number;
  /** One past the last byte (nothing when not above `start`). */
  end: number;
}

/**
 * Starts the `X-Forwarded-For` line of a request head toward an endpoint;
 * the caller appends the client's own values, each followed by `, `, then
 * calls {@linkcode endForwarding}.
 *
 * @param w The writer (appended to).
 *
 * @example Usage
 * ```ts
 * import { beginForwardedFor, ByteWriter, endForwarding } from "./writer.ts";
 * const te = new TextEncoder(), w = new ByteWriter(128);
 * beginForwardedFor(w);
 * const info = { clientIp: te.encode("::1"), tls: true, basePath: new Uint8Array(0) };
 * endForwarding(w, info, { buf: te.encode("h"), start: 0, end: 1 });
 * // X-Forwarded-For: ::1, X-Forwarded-Host: h, X-Forwarded-Proto: https, X-Real-IP: ::1, empty line
 * ```
 */
export function beginForwardedFor(w: ByteWriter): void {
  w.put(XFF);
}

/**
 * Ends a request head after {@linkcode beginForwardedFor} and the client's
 * own X-Forwarded-For values: the client IP (appended once),
 * `X-Forwarded-Host` when there is a host, `X-Forwarded-Proto`, `X-Real-IP`
 * and the empty line.
 *
 * @param w The writer (appended to).
 * @param info The client's IP and whether it came over TLS.
 * @param host Where the host is (its buffer may be `w.buf` itself); none when empty.
 *
 * @example Usage
 * ```ts
 * import { beginForwardedFor, ByteWriter, endForwarding } from "./writer.ts";
 * const w = new ByteWriter(128), ip = new TextEncoder().encode("10.0.0.1");
 * beginForwardedFor(w);
 * endForwarding(w, { clientIp: ip, tls: false, basePath: new Uint8Array(0) }, { buf: w.buf, start: 0, end: 0 });
 * ```
 */
export function endForwarding(w: ByteWriter, info: ForwardInfo, host: ByteRange): void {
  const hostBuf = host.buf, hostStart = host.start, hostEnd = host.end;
  w.put(info.clientIp);
  w.put(CRLF);
  if (hostEnd > hostStart) {
    w.put(XF_HOST);
    w.range(hostBuf, hostStart, hostEnd);
    w.put(CRLF);
  }
  w.put(info.tls ? XF_PROTO_HTTPS : XF_PROTO_HTTP);
  w.put(X_REAL_IP);
  w.put(info.clientIp);
  w.put(CRLF);
  w.put(CRLF);
}

/** How the proxy frames a response body toward the client. */
export type ResponseFraming = "none" | "length" | "chunked" | "dechunk" | "close";

/**
 * How a response head is re-done for the client. A connection keeps one and
 * sets it for each final response; {@linkcode AS_SENT} and
 * {@linkcode AS_SENT_UPGRADE} cover 1xx and 101 heads.
 *
 * @example Usage
 * ```ts
 * import type { ClientHeadOptions } from "./writer.ts";
 * const options: ClientHeadOptions = { framing: "length", connection: "none", extra: null };
 * ```
 */
export interface ClientHeadOptions {
  /** How the body will be framed toward the client. */
  framing: ResponseFraming;
  /** What to say about the connection: keep-alive (for an HTTP/1.0 client), close, or nothing. */
  connection: "keep-alive" | "close" | "upgrade" | "none";
  /** Whole header lines (each ending in CRLF) to add, e.g. `X-Proxy: true`, or null. */
  extra: Uint8Array | null;
}

/** A head relayed as the endpoint framed it, saying nothing about the connection (1xx, 101). */
export const AS_SENT: Readonly<ClientHeadOptions> = Object.freeze({
  framing: "none",
  connection: "none",
  extra: null,
});

/** A 101 head relayed with its Upgrade header and `Connection: Upgrade`. */
export const AS_SENT_UPGRADE: Readonly<ClientHeadOptions> = Object.freeze({
  framing: "none",
  connection: "upgrade",
  extra: null,
});

/**
 * Writes the response head sent to the client, always as HTTP/1.1. Header
 * lines keep their case, order and bytes (repeated ones such as Set-Cookie
 * stay separate, in order), except the hop-by-hop ones: Connection and the
 * headers it names, Keep-Alive, Proxy-Connection, TE, Trailer, and Upgrade
 * unless `options.connection` is "upgrade". Content-Length and
 * Transfer-Encoding pass as they are only when `options.framing` is "none"
 * (HEAD, 1xx, 204, 304, 101);
 * otherwise the framing is re-done in place, where the endpoint's first
 * framing header stood (at the end when it sent none): "length" sends
 * Content-Length, "chunked" sends `Transfer-Encoding: chunked`, "dechunk" and
 * "close" send neither. Then the Connection line and `options.extra`, if any.
 *
 * @param w The writer (appended to).
 * @param buf The buffer holding the endpoint's head.
 * @param head The endpoint's parsed head.
 * @param options The framing, what to say about the connection, and extra lines.
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseResponseHead } from "./head.ts";
 * import { ByteWriter, writeClientResponseHead } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\nContent-Length: 2\r\nETag: x\r\n\r\n");
 * const head = new MessageHead(10);
 * parseResponseHead({ buf, start: 0 }, buf.length, head, 10);
 * const w = new ByteWriter(64);
 * writeClientResponseHead(w, buf, head, { framing: "length", connection: "none", extra: null });
 * assert.equal(new TextDecoder().decode(w.view()), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: x\r\n\r\n");
 * ```
 */
export function writeClientResponseHead(
  w: ByteWriter,
  buf: Uint8Array,
  head: MessageHead,
  options: Readonly<ClientHeadOptions>,
): void {
  const f = head.fields, framing = options.framing, connection = options.connection;
  w.put(HTTP11_STATUS);
  w.range(buf, head.statusStart, head.startLineEnd);
  // `HTTP/1.1 200` without the SP before an empty reason was accepted; send it conformant.
  if (head.startLineEnd - head.statusStart === 3) w.byte(SP);
  w.put(CRLF);
  const keepFraming = framing === "none";
  let framed = keepFraming;
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE;
    const kind = f[o + F_KIND];
    if (
      kind === H_OTHER || kind === H_HOST || kind === H_EXPECT ||
      (kind >= H_XFF && kind <= H_X_REAL_IP) ||
      (keepFraming && (kind === H_CONTENT_LENGTH || kind === H_TRANSFER_ENCODING)) ||
      (kind === H_UPGRADE && connection === "upgrade")
    ) {
      w.range(buf, f[o + F_NAME], f[o + F_VALUE_END]);
      w.put(CRLF);
    } else if (!framed && (kind === H_CONTENT_LENGTH || kind === H_TRANSFER_ENCODING)) {
      framed = true;
      writeFraming(w, framing, head.contentLength);
    }
  }
  if (!framed) writeFraming(w, framing, head.contentLength);
  if (connection === "close") w.put(CONN_CLOSE);
  else if (connection === "keep-alive") w.put(CONN_KEEP_ALIVE);
  else if (connection === "upgrade") w.put(CONN_UPGRADE);
  if (options.extra !== null) w.put(options.extra);
  w.put(CRLF);
}

/** The framing line of a re-framed response ("dechunk" and "close" have none). */
function writeFraming(w: ByteWriter, framing: ResponseFraming, contentLength: number): void {
  if (framing === "length") writeContentLength(w, contentLength);
  else if (framing === "chunked") w.put(TE_CHUNKED);
}

/**
 * Appends a `Content-Length: N` line.
 *
 * @param w The writer (appended to).
 * @param n The length.
 *
 * @example Usage
 * ```ts
 * import { ByteWriter, writeContentLength } from "./writer.ts";
 * const w = new ByteWriter(32);
 * writeContentLength(w, 42);
 * new TextDecoder().decode(w.view()); // "Content-Length: 42\r\n"
 * ```
 */
export function writeContentLength(w: ByteWriter, n: number): void {
  w.put(CONTENT_LENGTH);
  w.decimal(n);
  w.byte(CR);
  w.byte(LF);
}

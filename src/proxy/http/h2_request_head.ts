/**
 * An HTTP/2 request (its decoded field list) turned into the HTTP/1.1 head
 * sent to an endpoint: `:authority` becomes Host, `cookie` crumbs are joined
 * with `; `, hop-by-hop fields are dropped, the body framing is re-done and
 * the forwarding headers are added exactly as the HTTP/1.1 path adds them
 * (`writer.ts`). Pure: fields in, bytes out.
 *
 * @module
 */

import { AUTHORITY_BYTE, bytes, FIELD_VALUE_BYTE, TARGET_BYTE, TCHAR } from "./ascii.ts";
import {
  beginForwardedFor,
  type ByteRange,
  type ByteWriter,
  endForwarding,
  type ForwardInfo,
  writeContentLength,
} from "./writer.ts";
import type { HeadLimits } from "./message_head.ts";

const SP = 32, CR = 13, LF = 10, COLON = 58, SLASH = 47, QUESTION = 63, STAR = 42;
const UPPER_A = 65, UPPER_Z = 90;

/**
 * What a stream's request says, read once from its fields by
 * {@linkcode readH2Request}. One per stream handler, reused.
 *
 * @example Usage
 * ```ts
 * import { H2Request, readH2Request } from "./h2_request_head.ts";
 * const req = new H2Request();
 * readH2Request([":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a"], true, req);
 * req.isHead; // false
 * ```
 */
export class H2Request {
  /** `:method`. */
  method = "";
  /** `:path` (`*` for `OPTIONS *`). */
  path = "";
  /** `:authority`, else the `host` field, else "". */
  authority = "";
  /** The `content-length` field, or -1. */
  contentLength: number = -1;
  /** Whether DATA may follow the HEADERS (END_STREAM was not on them). */
  hasBody = false;
  /** `te: trailers` was sent. */
  teTrailers = false;
  /** The method is HEAD. */
  isHead = false;
  /** The method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS, TRACE). */
  idempotent = false;
  /** Why the request cannot be forwarded (empty when it can); {@linkcode status} says how to answer. */
  error = "";
  /** The status answering {@linkcode error} (400, 405, 414, 431). */
  status = 0;
}

/**
 * Reads the request facts from a stream's fields (pseudo-headers first, as
 * the session delivers them) and checks what HTTP/1.1 needs: a method and a
 * path, no CONNECT, a target within `limits.maxTargetBytes`, at most
 * `limits.maxHeaders` fields, a numeric content-length.
 *
 * @param fields The flat name/value list.
 * @param endStream Whether END_STREAM was on the HEADERS (no body).
 * @param out Receives the facts (and `error`/`status` when it cannot be forwarded).
 * @param limits The listener's head limits. @default none
 *
 * @example Usage
 * ```ts
 * import { H2Request, readH2Request } from "./h2_request_head.ts";
 * import assert from "node:assert/strict";
 * const req = new H2Request();
 * readH2Request([":method", "CONNECT", ":authority", "a:443"], false, req);
 * assert.equal(req.status, 405);
 * ```
 */
export function readH2Request(
  fields: readonly string[],
  endStream: boolean,
  out: H2Request,
  limits?: HeadLimits,
): void {
  out.method =
    out.path =
    out.authority =
    out.error =
      "";
  out.contentLength = -1;
  out.status = 0;
  out.teTrailers = false;
  out.hasBody = !endStream;
  let host = "";
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i], value = fields[i + 1];
    if (name.charCodeAt(0) === COLON) {
      if (name === ":method") out.method = value;
      else if (name === ":path") out.path = value;
      else if (name === ":authority") out.authority = value;
    } else if (name === "host") host = value;
    else if (name === "content-length") {
      const n = /^[0-9]{1,15}$/.test(value) ? Number(value) : -1;
      if (n < 0) return fail(out, 400, "content-length must be a decimal number");
      out.contentLength = n;
    } else if (name === "te") out.teTrailers = value === "trailers";
  }
  if (out.authority === "") out.authority = host;
  const m = out.method;
  out.isHead = m === "HEAD";
  out.idempotent = m === "GET" || m === "HEAD" || m === "PUT" || m === "DELETE" ||
    m === "OPTIONS" || m === "TRACE";
  if (m === "CONNECT") return fail(out, 405, "CONNECT is not supported by this proxy");
  if (m === "" || out.path === "") return fail(out, 400, "a request needs :method and :path");
  if (limits === undefined) return;
  if (out.path.length > limits.maxTargetBytes) {
    return fail(out, 414, `request target is longer than ${limits.maxTargetBytes} bytes`);
  }
  if (fields.length / 2 - 3 > limits.maxHeaders) {
    return fail(out, 431, `request has more than ${limits.maxHeaders} header fields`);
  }
}

function fail(out: H2Request, status: number, message: string): void {
  out.status = status;
  out.error = message;
}

/** Fields an HTTP/1.1 request does not get from an h2 one (re-done, replaced or hop-by-hop). */
const DROPPED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "http2-settings",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

/**
 * Appends `s` as Latin-1 bytes when every char is allowed by `table`.
 *
 * @returns False (and nothing usable written) on a char outside the table.
 */
function putChecked(w: ByteWriter, s: string, table: Uint8Array): boolean {
  const n = s.length;
  w.ensure(n);
  const out = w.buf;
  let p = w.pos;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || table[c] !== 1) return false;
    out[p++] = c;
  }
  w.pos = p;
  return true;
}

/** Appends a field name (a lowercase token, as h2 requires). */
function putName(w: ByteWriter, s: string): boolean {
  if (s.length === 0 || !putChecked(w, s, TCHAR)) return false;
  const out = w.buf;
  for (let i = w.pos - s.length; i < w.pos; i++) {
    if (out[i] >= UPPER_A && out[i] <= UPPER_Z) return false;
  }
  return true;
}

function putSep(w: ByteWriter): void {
  w.byte(COLON);
  w.byte(SP);
}

function putCrlf(w: ByteWriter): void {
  w.byte(CR);
  w.byte(LF);
}

/** The host of the head being written, set just before each (synchronous) use: no allocation. */
const HOST_RANGE: ByteRange = { buf: new Uint8Array(0), start: 0, end: 0 };

const HTTP11_HOST = bytes(" HTTP/1.1\r\nHost: ");
const TE_CHUNKED = bytes("Transfer-Encoding: chunked\r\n");
const TE_TRAILERS = bytes("TE: trailers\r\n");
const COOKIE = bytes("cookie: ");

/**
 * Writes the HTTP/1.1 request head for an endpoint from an h2 request:
 *
 * - `:method`, the endpoint's base path and `:path` make the request line
 *   (`*` stays as it is), `:authority` (else `host`) the `Host` line;
 * - the other fields keep their order and bytes, with `cookie` crumbs joined
 *   into one line with `; ` where the first one stood (RFC 9113 8.2.3); the
 *   connection-specific ones, `http2-settings`, `trailer` and the forwarding
 *   headers are dropped;
 * - framing: `Content-Length` when the client sent one, else
 *   `Transfer-Encoding: chunked` when a body may follow; `TE: trailers` when
 *   asked for;
 * - X-Forwarded-For with the client's values and its IP appended once,
 *   X-Forwarded-Host, X-Forwarded-Proto and X-Real-IP, as for HTTP/1.1.
 *
 * @param w The writer (appended to).
 * @param fields The stream's field list.
 * @param req Its facts from {@linkcode readH2Request}.
 * @param info The client's IP, TLS, and the endpoint's base path.
 * @returns False when a name, value or the target holds a byte that HTTP/1.1 cannot carry (answer 400).
 *
 * @example Usage
 * ```ts
 * import { H2Request, readH2Request, writeH1RequestHead } from "./h2_request_head.ts";
 * import { ByteWriter } from "./writer.ts";
 * import assert from "node:assert/strict";
 * const fields = [":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/x", "cookie", "a=1", "cookie", "b=2"];
 * const req = new H2Request();
 * readH2Request(fields, true, req);
 * const w = new ByteWriter(256);
 * const te = new TextEncoder();
 * assert.ok(writeH1RequestHead(w, fields, req, { clientIp: te.encode("10.0.0.1"), tls: true, basePath: new Uint8Array(0) }));
 * assert.equal(
 *   new TextDecoder().decode(w.view()),
 *   "GET /x HTTP/1.1\r\nHost: a\r\ncookie: a=1; b=2\r\nX-Forwarded-For: 10.0.0.1\r\n" +
 *     "X-Forwarded-Host: a\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\n\r\n",
 * );
 * ```
 */
export function writeH1RequestHead(
  w: ByteWriter,
  fields: readonly string[],
  req: H2Request,
  info: ForwardInfo,
): boolean {
  if (!putChecked(w, req.method, TCHAR)) return false;
  w.byte(SP);
  const path = req.path;
  if (path === "*") w.byte(STAR);
  else {
    if (info.basePath.length > 0) w.put(info.basePath);
    const c = path.charCodeAt(0);
    if (c !== SLASH) {
      if (c !== QUESTION) return false;
      w.byte(SLASH);
    }
    if (!putChecked(w, path, TARGET_BYTE)) return false;
  }
  w.put(HTTP11_HOST);
  const hostStart = w.pos;
  if (!putChecked(w, req.authority, AUTHORITY_BYTE)) return false;
  const hostEnd = w.pos;
  putCrlf(w);
  let cookieDone = false, xff = 0;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i];
    if (name.charCodeAt(0) === COLON) continue;
    if (DROPPED.has(name)) {
      if (name === "x-forwarded-for") xff++;
      continue;
    }
    if (name === "cookie") {
      if (cookieDone) continue;
      cookieDone = true;
      if (!writeCookies(w, fields, i)) return false;
      continue;
    }
    if (!putName(w, name)) return false;
    putSep(w);
    if (!putChecked(w, fields[i + 1], FIELD_VALUE_BYTE)) return false;
    putCrlf(w);
  }
  if (req.contentLength >= 0) writeContentLength(w, req.contentLength);
  else if (req.hasBody) w.put(TE_CHUNKED);
  if (req.teTrailers) w.put(TE_TRAILERS);
  beginForwardedFor(w);
  if (xff > 0) {
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] !== "x-forwarded-for" || fields[i + 1] === "") continue;
      if (!putChecked(w, fields[i + 1], FIELD_VALUE_BYTE)) return false;
      w.byte(44 /* , */);
      w.byte(SP);
    }
  }
  // The host bytes are read from the writer's own buffer (copied before it can grow).
  const host = HOST_RANGE;
  host.buf = w.buf;
  host.start = hostStart;
  host.end = hostEnd;
  endForwarding(w, info, host);
  return true;
}

/** One `cookie` line from every crumb, from the first at `first` on. */
function writeCookies(w: ByteWriter, fields: readonly string[], first: number): boolean {
  w.put(COOKIE);
  let sep = false;
  for (let j = first; j < fields.length; j += 2) {
    if (fields[j] !== "cookie") continue;
    if (sep) {
      w.byte(59 /* ; */);
      w.byte(SP);
    }
    if (!putChecked(w, fields[j + 1], FIELD_VALUE_BYTE)) return false;
    sep = true;
  }
  putCrlf(w);
  return true;
}

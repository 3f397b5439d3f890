/**
 * HTTP/1.1 message heads (RFC 9112), parsed in place on bytes. A parsed head
 * is a set of offsets into the caller's buffer, so nothing is copied or
 * decoded on the hot path; the writer copies header lines verbatim.
 *
 * @module
 */

import {
  bytes,
  COLON,
  CR,
  equalsLower,
  FIELD_VALUE_BYTE,
  HTAB,
  LF,
  skipOws,
  SP,
  TARGET_BYTE,
  TCHAR,
  trimOwsEnd,
} from "./ascii.ts";
import { HttpParseError } from "./errors.ts";

/** Header kinds the proxy acts on; everything else is {@linkcode H_OTHER}. */
export const H_OTHER = 0;
/** `Content-Length` */
export const H_CONTENT_LENGTH = 1;
/** `Transfer-Encoding` */
export const H_TRANSFER_ENCODING = 2;
/** `Connection` */
export const H_CONNECTION = 3;
/** `Keep-Alive` */
export const H_KEEP_ALIVE = 4;
/** `Proxy-Connection` */
export const H_PROXY_CONNECTION = 5;
/** `TE` */
export const H_TE = 6;
/** `Trailer` */
export const H_TRAILER = 7;
/** `Upgrade` */
export const H_UPGRADE = 8;
/** `Host` */
export const H_HOST = 9;
/** `X-Forwarded-For` */
export const H_XFF = 10;
/** `X-Forwarded-Host` */
export const H_XF_HOST = 11;
/** `X-Forwarded-Proto` */
export const H_XF_PROTO = 12;
/** `X-Real-IP` */
export const H_X_REAL_IP = 13;
/** `Expect` */
export const H_EXPECT = 14;
/** A header named in `Connection` (hop-by-hop). */
export const H_NAMED_HOP = 15;

const NAMES: readonly [number, Uint8Array][] = [
  [H_CONTENT_LENGTH, bytes("content-length")],
  [H_TRANSFER_ENCODING, bytes("transfer-encoding")],
  [H_CONNECTION, bytes("connection")],
  [H_KEEP_ALIVE, bytes("keep-alive")],
  [H_PROXY_CONNECTION, bytes("proxy-connection")],
  [H_TE, bytes("te")],
  [H_TRAILER, bytes("trailer")],
  [H_UPGRADE, bytes("upgrade")],
  [H_HOST, bytes("host")],
  [H_XFF, bytes("x-forwarded-for")],
  [H_XF_HOST, bytes("x-forwarded-host")],
  [H_XF_PROTO, bytes("x-forwarded-proto")],
  [H_X_REAL_IP, bytes("x-real-ip")],
  [H_EXPECT, bytes("expect")],
];
const NAMES_BY_LENGTH: [number, Uint8Array][][] = [];
for (const entry of NAMES) (NAMES_BY_LENGTH[entry[1].length] ??= []).push(entry);

const W_CHUNKED = bytes("chunked");
const W_CLOSE = bytes("close");
const W_KEEP_ALIVE = bytes("keep-alive");
const W_UPGRADE = bytes("upgrade");
const W_TRAILERS = bytes("trailers");
const W_100_CONTINUE = bytes("100-continue");
const HTTP_SLASH = bytes("HTTP/");

/** Words per header in {@linkcode MessageHead.fields}. */
export const FIELD_STRIDE = 5;
/** Offset of the name start. */
export const F_NAME = 0;
/** Offset of the name end. */
export const F_NAME_END = 1;
/** Offset of the value start (OWS skipped). */
export const F_VALUE = 2;
/** Offset of the value end (OWS trimmed). */
export const F_VALUE_END = 3;
/** Offset of the kind. */
export const F_KIND = 4;

/**
 * The parse of one request or response head: offsets into the buffer that was
 * parsed, plus the framing facts derived from the headers. One instance is
 * reused for every message on a connection.
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseRequestHead } from "./head.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const head = new MessageHead(100);
 * parseRequestHead(buf, 0, buf.length, head, { maxHeadBytes: 65536, maxHeaders: 100, maxTargetBytes: 8192 });
 * assert.equal(head.headerCount, 1);
 * ```
 */
export class MessageHead {
  /** Index one past the blank line that ends the head. */
  end = 0;
  /** Start of the method (requests). */
  methodStart = 0;
  /** End of the method (requests). */
  methodEnd = 0;
  /** Start of the target (requests). */
  targetStart = 0;
  /** End of the target (requests). */
  targetEnd = 0;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion = 1;
  /** Status code (responses). */
  status = 0;
  /** Start of the status line after the version, i.e. "200 OK" (responses). */
  statusStart = 0;
  /** End of the start line (before CRLF). */
  startLineEnd = 0;
  /** Number of header lines. */
  headerCount = 0;
  /** {@linkcode FIELD_STRIDE} words per header: name, name end, value, value end, kind. */
  readonly fields: Int32Array;
  /** Content-Length, or -1 when absent. */
  contentLength = -1;
  /** Whether Transfer-Encoding is present (its final coding is then chunked). */
  chunked = false;
  /** `Connection: close` was given. */
  connectionClose = false;
  /** `Connection: keep-alive` was given. */
  connectionKeepAlive = false;
  /** `Connection: upgrade` was given together with an Upgrade header. */
  upgrade = false;
  /** `TE` lists `trailers`. */
  teTrailers = false;
  /** `Expect: 100-continue` was given. */
  expectContinue = false;
  /** Index (header number) of Host, or -1. */
  hostIndex = -1;

  /** @param maxHeaders Most header lines a head may have. */
  constructor(maxHeaders: number) {
    this.fields = new Int32Array(maxHeaders * FIELD_STRIDE);
  }

  #reset(): void {
    this.headerCount = 0;
    this.contentLength = -1;
    this.chunked = false;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
    this.upgrade = false;
    this.teTrailers = false;
    this.expectContinue = false;
    this.hostIndex = -1;
    this.status = 0;
  }

  /** @internal Clears per-message facts before a parse. */
  reset(): void {
    this.#reset();
  }
}

/**
 * Limits applied while parsing a request head.
 *
 * @example Usage
 * ```ts
 * import type { HeadLimits } from "./head.ts";
 * const l: HeadLimits = { maxHeadBytes: 65536, maxHeaders: 100, maxTargetBytes: 8192 };
 * ```
 */
export interface HeadLimits {
  /** Largest head in bytes (431). */
  readonly maxHeadBytes: number;
  /** Most header lines (431). */
  readonly maxHeaders: number;
  /** Longest target (414). */
  readonly maxTargetBytes: number;
}

/**
 * Finds the end of a head: the index one past the LF of the first empty line.
 * Bare LF line ends are recognised here so that the strict parser can reject
 * them instead of waiting for a CRLF that never comes.
 *
 * @param buf The buffer.
 * @param start Where the head starts.
 * @param from Where to resume scanning (>= start).
 * @param end One past the last byte read.
 * @returns The end of the head, or -1 when it is not complete yet.
 *
 * @example Usage
 * ```ts
 * import { findHeadEnd } from "./head.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\nXYZ");
 * assert.equal(findHeadEnd(b, 0, 0, b.length), 18);
 * ```
 */
export function findHeadEnd(buf: Uint8Array, start: number, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const lf = buf.indexOf(LF, i);
    if (lf < 0 || lf >= end) return -1;
    // An empty line: LF right after the start or after another line's LF.
    const before = lf - 1;
    if (lf === start || buf[before] === LF) return lf + 1;
    if (buf[before] === CR && (before === start || buf[before - 1] === LF)) return lf + 1;
    i = lf + 1;
  }
  return -1;
}

/**
 * Parses a complete request head in `buf[start, end)` strictly.
 *
 * @param buf The buffer holding the head.
 * @param start First byte of the head.
 * @param end One past the empty line (from {@linkcode findHeadEnd}).
 * @param head Receives the parse.
 * @param limits Size limits.
 * @throws {HttpParseError} With the status to answer (400, 405, 414, 431, 501, 505).
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseRequestHead } from "./head.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
 * const head = new MessageHead(100);
 * parseRequestHead(buf, 0, buf.length, head, { maxHeadBytes: 65536, maxHeaders: 100, maxTargetBytes: 8192 });
 * assert.equal(head.contentLength, 3);
 * ```
 */
export function parseRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  head: MessageHead,
  limits: HeadLimits,
): void {
  head.reset();
  head.end = end;
  if (end - start > limits.maxHeadBytes) {
    throw new HttpParseError(431, `request head is larger than ${limits.maxHeadBytes} bytes`);
  }
  let i = start;
  // RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
  if (buf[i] === CR && buf[i + 1] === LF) i += 2;
  head.methodStart = i;
  while (TCHAR[buf[i]] === 1) i++;
  if (i === head.methodStart || buf[i] !== SP) {
    throw new HttpParseError(400, "request line must start with a method token and one space");
  }
  head.methodEnd = i++;
  head.targetStart = i;
  while (TARGET_BYTE[buf[i]] === 1) i++;
  head.targetEnd = i;
  if (i === head.targetStart || buf[i] !== SP) {
    throw new HttpParseError(400, "request target must be non-empty visible characters");
  }
  if (i - head.targetStart > limits.maxTargetBytes) {
    throw new HttpParseError(414, `request target is longer than ${limits.maxTargetBytes} bytes`);
  }
  i = parseVersion(buf, i + 1, head, false);
  if (buf[i] !== CR || buf[i + 1] !== LF) {
    throw new HttpParseError(400, "request line must end with CRLF after the version");
  }
  head.startLineEnd = i;
  parseFields(buf, i + 2, end, head, limits.maxHeaders, 431);
  applyRequestRules(buf, head);
}

/**
 * Parses a complete response head in `buf[start, end)` strictly.
 *
 * @param buf The buffer holding the head.
 * @param start First byte of the head.
 * @param end One past the empty line (from {@linkcode findHeadEnd}).
 * @param head Receives the parse.
 * @param maxHeaders Most header lines.
 * @throws {HttpParseError} Always with status 502.
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseResponseHead } from "./head.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n");
 * const head = new MessageHead(100);
 * parseResponseHead(buf, 0, buf.length, head, 100);
 * assert.equal(head.status, 204);
 * ```
 */
export function parseResponseHead(
  buf: Uint8Array,
  start: number,
  end: number,
  head: MessageHead,
  maxHeaders: number,
): void {
  head.reset();
  head.end = end;
  let i = parseVersion(buf, start, head, true);
  if (buf[i] !== SP) {
    throw new HttpParseError(502, "upstream status line has no space after the version");
  }
  i++;
  head.statusStart = i;
  const d0 = buf[i] - 48, d1 = buf[i + 1] - 48, d2 = buf[i + 2] - 48;
  if (!(d0 >= 1 && d0 <= 5 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) {
    throw new HttpParseError(502, "upstream status code is not three digits 100..599");
  }
  head.status = d0 * 100 + d1 * 10 + d2;
  i += 3;
  if (buf[i] === SP) {
    i++;
    while (FIELD_VALUE_BYTE[buf[i]] === 1) i++;
  }
  if (buf[i] !== CR || buf[i + 1] !== LF) {
    throw new HttpParseError(502, "upstream status line has a bad reason phrase or line end");
  }
  head.startLineEnd = i;
  parseFields(buf, i + 2, end, head, maxHeaders, 502);
  markConnectionNamed(buf, head);
  if (head.chunked && head.contentLength >= 0) {
    throw new HttpParseError(
      502,
      "upstream response has both Content-Length and Transfer-Encoding",
    );
  }
}

function parseVersion(buf: Uint8Array, i: number, head: MessageHead, response: boolean): number {
  const bad = response ? 502 : 400;
  for (let k = 0; k < 5; k++) {
    if (buf[i + k] !== HTTP_SLASH[k]) {
      throw new HttpParseError(bad, "version must be HTTP/1.1 or HTTP/1.0");
    }
  }
  const major = buf[i + 5] - 48, dot = buf[i + 6], minor = buf[i + 7] - 48;
  if (!(major >= 0 && major <= 9) || dot !== 46 || !(minor >= 0 && minor <= 9)) {
    throw new HttpParseError(bad, "version must look like HTTP/DIGIT.DIGIT");
  }
  if (major !== 1) {
    throw new HttpParseError(
      response ? 502 : 505,
      `HTTP/${major}.${minor} is not supported; use HTTP/1.1`,
    );
  }
  head.minorVersion = minor === 0 ? 0 : 1;
  return i + 8;
}

function parseFields(
  buf: Uint8Array,
  i: number,
  end: number,
  head: MessageHead,
  maxHeaders: number,
  tooMany: number,
): void {
  const f = head.fields;
  let n = 0;
  for (;;) {
    if (buf[i] === CR && buf[i + 1] === LF) {
      if (i + 2 !== end) {
        throw new HttpParseError(tooMany === 431 ? 400 : 502, "bytes after the empty line");
      }
      head.headerCount = n;
      return;
    }
    const bad = tooMany === 431 ? 400 : 502;
    if (buf[i] === SP || buf[i] === HTAB) {
      throw new HttpParseError(bad, "obsolete line folding is not allowed");
    }
    const nameStart = i;
    while (TCHAR[buf[i]] === 1) i++;
    if (i === nameStart) throw new HttpParseError(bad, "header line must start with a field name");
    if (buf[i] !== COLON) {
      throw new HttpParseError(
        bad,
        buf[i] === SP || buf[i] === HTAB
          ? "whitespace between a field name and the colon is not allowed"
          : "field name must be a token followed by a colon",
      );
    }
    const nameEnd = i;
    i = skipOws(buf, i + 1, end);
    const valueStart = i;
    while (FIELD_VALUE_BYTE[buf[i]] === 1) i++;
    if (buf[i] !== CR || buf[i + 1] !== LF) {
      throw new HttpParseError(bad, "field value has a control character, NUL, or bare CR/LF");
    }
    if (n === maxHeaders) throw new HttpParseError(tooMany, `more than ${maxHeaders} header lines`);
    const o = n * FIELD_STRIDE;
    f[o + F_NAME] = nameStart;
    f[o + F_NAME_END] = nameEnd;
    f[o + F_VALUE] = valueStart;
    f[o + F_VALUE_END] = trimOwsEnd(buf, valueStart, i);
    f[o + F_KIND] = classify(buf, nameStart, nameEnd);
    applyField(buf, head, n, f[o + F_KIND], valueStart, f[o + F_VALUE_END], bad);
    n++;
    i += 2;
  }
}

function classify(buf: Uint8Array, start: number, end: number): number {
  const candidates = NAMES_BY_LENGTH[end - start];
  if (candidates === undefined) return H_OTHER;
  for (let k = 0; k < candidates.length; k++) {
    if (equalsLower(buf, start, end, candidates[k][1])) return candidates[k][0];
  }
  return H_OTHER;
}

/** Calls `fn(start, end)` for each comma-separated, OWS-trimmed element of a list value. */
function forEachElement(
  buf: Uint8Array,
  start: number,
  end: number,
  fn: (s: number, e: number) => void,
): void {
  let s = start;
  for (let i = start; i <= end; i++) {
    if (i === end || buf[i] === 44) {
      const a = skipOws(buf, s, i), b = trimOwsEnd(buf, a, i);
      if (b > a) fn(a, b);
      s = i + 1;
    }
  }
}

function applyField(
  buf: Uint8Array,
  head: MessageHead,
  index: number,
  kind: number,
  vs: number,
  ve: number,
  bad: number,
): void {
  switch (kind) {
    case H_CONTENT_LENGTH:
      forEachElement(buf, vs, ve, (s, e) => {
        let v = 0;
        for (let i = s; i < e; i++) {
          const d = buf[i] - 48;
          if (d < 0 || d > 9 || i - s > 15) {
            throw new HttpParseError(bad, "Content-Length must be digits");
          }
          v = v * 10 + d;
        }
        if (head.contentLength >= 0 && head.contentLength !== v) {
          throw new HttpParseError(bad, "Content-Length values differ");
        }
        head.contentLength = v;
      });
      if (vs === ve) throw new HttpParseError(bad, "Content-Length is empty");
      return;
    case H_TRANSFER_ENCODING: {
      let last = -1, lastEnd = -1;
      forEachElement(buf, vs, ve, (s, e) => {
        if (head.chunked) {
          throw new HttpParseError(bad, "chunked must be the last transfer coding, once");
        }
        last = s;
        lastEnd = e;
        if (equalsLower(buf, s, e, W_CHUNKED)) head.chunked = true;
      });
      if (last < 0) throw new HttpParseError(bad, "Transfer-Encoding is empty");
      if (!head.chunked) {
        throw new HttpParseError(
          bad === 400 ? 501 : 502,
          "only the chunked transfer coding is supported, and it must come last",
        );
      }
      if (!equalsLower(buf, last, lastEnd, W_CHUNKED)) {
        throw new HttpParseError(bad, "bad Transfer-Encoding");
      }
      return;
    }
    case H_CONNECTION:
      forEachElement(buf, vs, ve, (s, e) => {
        if (equalsLower(buf, s, e, W_CLOSE)) head.connectionClose = true;
        else if (equalsLower(buf, s, e, W_KEEP_ALIVE)) head.connectionKeepAlive = true;
        else if (equalsLower(buf, s, e, W_UPGRADE)) head.upgrade = true;
      });
      return;
    case H_TE:
      forEachElement(buf, vs, ve, (s, e) => {
        if (equalsLower(buf, s, e, W_TRAILERS)) head.teTrailers = true;
      });
      return;
    case H_EXPECT:
      if (equalsLower(buf, vs, ve, W_100_CONTINUE)) head.expectContinue = true;
      return;
    case H_HOST:
      if (head.hostIndex >= 0) throw new HttpParseError(bad, "more than one Host header");
      head.hostIndex = index;
      return;
  }
}

/** After all fields: request-only rules and the hop-by-hop marking of names listed in Connection. */
function applyRequestRules(buf: Uint8Array, head: MessageHead): void {
  if (head.chunked && head.contentLength >= 0) {
    throw new HttpParseError(400, "Content-Length together with Transfer-Encoding is not allowed");
  }
  if (head.minorVersion === 1 && head.hostIndex < 0) {
    throw new HttpParseError(400, "an HTTP/1.1 request needs a Host header");
  }
  if (
    head.methodEnd - head.methodStart === 7 &&
    equalsLower(buf, head.methodStart, head.methodEnd, W_CONNECT)
  ) {
    throw new HttpParseError(405, "CONNECT is not supported by this proxy");
  }
  markConnectionNamed(buf, head);
}

const W_CONNECT = bytes("connect");

/**
 * Marks every header named by a `Connection` header as {@linkcode H_NAMED_HOP},
 * and notes whether an Upgrade header really accompanies `Connection: upgrade`.
 *
 * @param buf The buffer of the head.
 * @param head A parsed head.
 *
 * @example Usage
 * ```ts
 * import { F_KIND, H_NAMED_HOP, MessageHead, parseResponseHead } from "./head.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("HTTP/1.1 200 OK\r\nConnection: x-a\r\nX-A: 1\r\n\r\n");
 * const head = new MessageHead(10);
 * parseResponseHead(buf, 0, buf.length, head, 10);
 * assert.equal(head.fields[5 + F_KIND], H_NAMED_HOP);
 * ```
 */
export function markConnectionNamed(buf: Uint8Array, head: MessageHead): void {
  const f = head.fields;
  let hasUpgradeHeader = false;
  for (let h = 0; h < head.headerCount; h++) {
    const kind = f[h * FIELD_STRIDE + F_KIND];
    if (kind === H_UPGRADE) hasUpgradeHeader = true;
    if (kind !== H_CONNECTION) continue;
    forEachElement(
      buf,
      f[h * FIELD_STRIDE + F_VALUE],
      f[h * FIELD_STRIDE + F_VALUE_END],
      (s, e) => {
        for (let k = 0; k < head.headerCount; k++) {
          const o = k * FIELD_STRIDE;
          if (f[o + F_KIND] !== H_OTHER) continue;
          if (f[o + F_NAME_END] - f[o + F_NAME] !== e - s) continue;
          let same = true;
          for (let j = 0; j < e - s; j++) {
            if ((buf[f[o + F_NAME] + j] | 0x20) !== (buf[s + j] | 0x20)) {
              same = false;
              break;
            }
          }
          if (same) f[o + F_KIND] = H_NAMED_HOP;
        }
      },
    );
  }
  if (!hasUpgradeHeader) head.upgrade = false;
}

/**
 * Whether the response to a request with this method and status has no body
 * (RFC 9112 6.3: HEAD, 1xx, 204, 304).
 *
 * @param isHead Whether the request method was HEAD.
 * @param status The response status.
 * @returns True when no body follows the head.
 *
 * @example Usage
 * ```ts
 * import { responseHasNoBody } from "./head.ts";
 * responseHasNoBody(false, 304); // true
 * ```
 */
export function responseHasNoBody(isHead: boolean, status: number): boolean {
  return isHead || status < 200 || status === 204 || status === 304;
}

/**
 * HTTP/1.1 message heads (RFC 9112), parsed in place on bytes. A parsed head
 * is a set of offsets into the caller's buffer, so nothing is copied or
 * decoded on the hot path; the writer copies header lines verbatim.
 *
 * The parser is strict where leniency lets two parsers disagree on framing
 * (request smuggling): bare CR or LF, control characters, obs-fold,
 * whitespace before a colon, conflicting or malformed Content-Length,
 * Transfer-Encoding that does not end in chunked, both framings at once.
 *
 * @module
 */

import {
  AUTHORITY_BYTE,
  bytes,
  COLON,
  CR,
  equalsIgnoreCase,
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
const W_HTTP = bytes("http://");
const W_HTTPS = bytes("https://");
const M_CONNECT = bytes("CONNECT");
const M_OPTIONS = bytes("OPTIONS");
const HTTP_SLASH = bytes("HTTP/");
const SLASH = 47, QUESTION = 63, STAR = 42, COMMA = 44;

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
  /**
   * Start of the origin-form part of the target (requests): the target itself
   * for origin-form and `*`, the path and query after the authority for
   * absolute-form (then it may equal {@linkcode targetEnd} or point at `?`).
   */
  pathStart = 0;
  /** Start of the authority of an absolute-form target, or -1 (requests). */
  authorityStart: number = -1;
  /** End of the authority of an absolute-form target, or -1 (requests). */
  authorityEnd: number = -1;
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
  contentLength: number = -1;
  /** Number of transfer codings listed by Transfer-Encoding (0 when absent). */
  transferCodings = 0;
  /** Whether Transfer-Encoding is present (its final and only coding is then chunked). */
  chunked = false;
  /** `Connection: close` was given. */
  connectionClose = false;
  /** `Connection: keep-alive` was given. */
  connectionKeepAlive = false;
  /** `Connection: upgrade` was given together with an Upgrade header (never for HTTP/1.0 requests). */
  upgrade = false;
  /** `TE` lists `trailers`. */
  teTrailers = false;
  /** `Expect: 100-continue` was given (ignored, so false, for HTTP/1.0 requests). */
  expectContinue = false;
  /** Index (header number) of Host, or -1. */
  hostIndex: number = -1;

  /**
   * Creates a head with room for `maxHeaders` header lines.
   *
   * @param maxHeaders Most header lines a head may have.
   */
  constructor(maxHeaders: number) {
    this.fields = new Int32Array(maxHeaders * FIELD_STRIDE);
  }

  /** @internal Clears per-message facts before a parse. */
  reset(): void {
    this.headerCount = 0;
    this.contentLength = -1;
    this.transferCodings = 0;
    this.chunked = false;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
    this.upgrade = false;
    this.teTrailers = false;
    this.expectContinue = false;
    this.hostIndex = -1;
    this.status = 0;
    this.pathStart = 0;
    this.authorityStart = -1;
    this.authorityEnd = -1;
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
  /** Most header lines (431); at most the capacity of the {@linkcode MessageHead}. */
  readonly maxHeaders: number;
  /** Longest target (414). */
  readonly maxTargetBytes: number;
}

/**
 * Finds the end of a head: the index one past the LF of the first empty line.
 * Bare LF line ends are recognised here so that the strict parser can reject
 * them instead of waiting for a CRLF that never comes. One CRLF right at
 * `start` is not an end: it is the empty line that RFC 9112 2.2 lets a client
 * send before a request line, which {@linkcode parseRequestHead} skips. Bytes
 * at or past `end` are never read.
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
  if (end > buf.length) end = buf.length;
  for (let i = from > start ? from : start; i < end; i++) {
    if (buf[i] !== LF) continue;
    // An empty line: LF right at the start or right after another line's LF, with or without CR.
    if (i === start) return i + 1;
    const before = buf[i - 1];
    if (before === LF) return i + 1;
    if (before === CR) {
      if (i - 1 === start) continue; // the one leading empty line
      if (buf[i - 2] === LF) return i + 1;
    }
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
  if (isMethod(buf, head, M_CONNECT)) {
    throw new HttpParseError(405, "CONNECT is not supported by this proxy");
  }
  parseTarget(buf, head);
  parseFields(buf, i + 2, end, head, limits.maxHeaders, 431);
  applyRequestRules(buf, head);
}

/**
 * Parses a complete response head in `buf[start, end)` strictly. A status
 * line without the space after the code (`HTTP/1.1 200\r\n`) is accepted, as
 * many servers send it; the writer adds the space back.
 *
 * @param buf The buffer holding the head.
 * @param start First byte of the head.
 * @param end One past the empty line (from {@linkcode findHeadEnd}).
 * @param head Receives the parse.
 * @param maxHeaders Most header lines (at most the capacity of `head`).
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
  checkTransferEncoding(head, 502);
  markConnectionNamed(buf, head);
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

function isMethod(buf: Uint8Array, head: MessageHead, method: Uint8Array): boolean {
  if (head.methodEnd - head.methodStart !== method.length) return false;
  for (let k = 0; k < method.length; k++) if (buf[head.methodStart + k] !== method[k]) return false;
  return true;
}

function startsWithLower(buf: Uint8Array, i: number, end: number, lower: Uint8Array): boolean {
  return end - i >= lower.length && equalsLower(buf, i, i + lower.length, lower);
}

/**
 * RFC 9112 3.2: origin-form (`/path?q`), absolute-form (`http[s]://authority[/path][?q]`,
 * no userinfo, non-empty host) or asterisk-form (`*`, OPTIONS only). Authority-form is
 * CONNECT's, which is refused before.
 */
function parseTarget(buf: Uint8Array, head: MessageHead): void {
  const t = head.targetStart, end = head.targetEnd;
  head.pathStart = t;
  const c = buf[t];
  if (c === SLASH) return;
  if (c === STAR) {
    if (end - t === 1 && isMethod(buf, head, M_OPTIONS)) return;
    throw new HttpParseError(400, "the asterisk-form target `*` is only allowed for OPTIONS");
  }
  let i: number;
  if (startsWithLower(buf, t, end, W_HTTP)) i = t + W_HTTP.length;
  else if (startsWithLower(buf, t, end, W_HTTPS)) i = t + W_HTTPS.length;
  else {
    throw new HttpParseError(
      400,
      "request target must be a path, an http(s) absolute URI, or * for OPTIONS",
    );
  }
  const a = i;
  while (i < end && buf[i] !== SLASH && buf[i] !== QUESTION) {
    if (AUTHORITY_BYTE[buf[i]] !== 1) {
      throw new HttpParseError(
        400,
        "the authority of an absolute-form target must be host[:port] without userinfo",
      );
    }
    i++;
  }
  if (i === a || buf[a] === COLON) {
    throw new HttpParseError(400, "an absolute-form target must have a host");
  }
  head.authorityStart = a;
  head.authorityEnd = i;
  head.pathStart = i;
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
  const bad = tooMany === 431 ? 400 : 502;
  const capacity = f.length / FIELD_STRIDE;
  if (maxHeaders > capacity) maxHeaders = capacity;
  let n = 0;
  for (;;) {
    if (buf[i] === CR && buf[i + 1] === LF) {
      if (i + 2 !== end) throw new HttpParseError(bad, "bytes after the empty line");
      head.headerCount = n;
      return;
    }
    if (buf[i] === SP || buf[i] === HTAB) {
      throw new HttpParseError(bad, "obsolete line folding is not allowed");
    }
    const nameStart = i;
    while (TCHAR[buf[i]] === 1) i++;
    if (i === nameStart) {
      throw new HttpParseError(
        bad,
        buf[i] === LF
          ? "lines must end with CRLF, not a bare LF"
          : "header line must start with a field name",
      );
    }
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
    const valueEnd = trimOwsEnd(buf, valueStart, i);
    const kind = classify(buf, nameStart, nameEnd);
    f[o + F_NAME] = nameStart;
    f[o + F_NAME_END] = nameEnd;
    f[o + F_VALUE] = valueStart;
    f[o + F_VALUE_END] = valueEnd;
    f[o + F_KIND] = kind;
    if (kind !== H_OTHER) applyField(buf, head, n, kind, valueStart, valueEnd, bad);
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

/** Bounds of the list element found by the last {@linkcode nextElement} (no allocation). */
let elementStart = 0, elementEnd = 0;

/**
 * Finds the next non-empty, OWS-trimmed element of a comma-separated list in
 * `buf[i, end)` and stores its bounds in `elementStart`/`elementEnd`.
 * Returns where to continue, or -1 when there are no more elements.
 */
function nextElement(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    let j = i;
    while (j < end && buf[j] !== COMMA) j++;
    const a = skipOws(buf, i, j), b = trimOwsEnd(buf, a, j);
    i = j + 1;
    if (b > a) {
      elementStart = a;
      elementEnd = b;
      return i;
    }
  }
  return -1;
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
    case H_CONTENT_LENGTH: {
      // RFC 9110 8.6: 1*DIGIT; a list of identical values (`5, 5`) may be taken as one.
      let seen = false;
      for (let e = vs; (e = nextElement(buf, e, ve)) >= 0;) {
        let v = 0;
        for (let i = elementStart; i < elementEnd; i++) {
          const d = buf[i] - 48;
          if (d < 0 || d > 9) throw new HttpParseError(bad, "Content-Length must be digits");
          v = v * 10 + d;
          if (v > Number.MAX_SAFE_INTEGER) {
            throw new HttpParseError(bad, "Content-Length is too large");
          }
        }
        if (head.contentLength >= 0 && head.contentLength !== v) {
          throw new HttpParseError(bad, "Content-Length values differ");
        }
        head.contentLength = v;
        seen = true;
      }
      if (!seen) throw new HttpParseError(bad, "Content-Length is empty");
      return;
    }
    case H_TRANSFER_ENCODING: {
      const before = head.transferCodings;
      for (let e = vs; (e = nextElement(buf, e, ve)) >= 0;) {
        if (head.chunked) {
          throw new HttpParseError(bad, "chunked must be the last transfer coding, and only once");
        }
        if (equalsLower(buf, elementStart, elementEnd, W_CHUNKED)) head.chunked = true;
        head.transferCodings++;
      }
      if (head.transferCodings === before) {
        throw new HttpParseError(bad, "Transfer-Encoding is empty");
      }
      return;
    }
    case H_CONNECTION:
      for (let e = vs; (e = nextElement(buf, e, ve)) >= 0;) {
        if (equalsLower(buf, elementStart, elementEnd, W_CLOSE)) head.connectionClose = true;
        else if (equalsLower(buf, elementStart, elementEnd, W_KEEP_ALIVE)) {
          head.connectionKeepAlive = true;
        } else if (equalsLower(buf, elementStart, elementEnd, W_UPGRADE)) head.upgrade = true;
      }
      return;
    case H_TE:
      for (let e = vs; (e = nextElement(buf, e, ve)) >= 0;) {
        if (equalsLower(buf, elementStart, elementEnd, W_TRAILERS)) head.teTrailers = true;
      }
      return;
    case H_EXPECT:
      if (equalsLower(buf, vs, ve, W_100_CONTINUE)) head.expectContinue = true;
      return;
    case H_HOST:
      // RFC 9112 3.2: 400 for a second Host or an invalid one (empty is valid).
      // Host means nothing in a response: not checked there.
      if (bad !== 400) return;
      if (head.hostIndex >= 0) throw new HttpParseError(bad, "more than one Host header");
      for (let i = vs; i < ve; i++) {
        if (AUTHORITY_BYTE[buf[i]] !== 1) {
          throw new HttpParseError(bad, "Host must be host[:port]");
        }
      }
      head.hostIndex = index;
      return;
  }
}

/**
 * RFC 9112 6.1/6.3: chunked must be the final coding (else the length is
 * unknown: 400); other codings are not implemented (501). For responses 502.
 */
function checkTransferEncoding(head: MessageHead, bad: number): void {
  if (head.transferCodings === 0) return;
  if (head.contentLength >= 0) {
    throw new HttpParseError(bad, "Content-Length together with Transfer-Encoding is not allowed");
  }
  if (!head.chunked) {
    throw new HttpParseError(bad, "the last transfer coding must be chunked");
  }
  if (head.transferCodings > 1) {
    throw new HttpParseError(
      bad === 400 ? 501 : bad,
      "only the chunked transfer coding is supported",
    );
  }
  if (head.minorVersion === 0) {
    throw new HttpParseError(bad, "an HTTP/1.0 message must not use Transfer-Encoding");
  }
}

/** After all fields: request-only rules and the hop-by-hop marking of names listed in Connection. */
function applyRequestRules(buf: Uint8Array, head: MessageHead): void {
  checkTransferEncoding(head, 400);
  if (head.minorVersion === 1) {
    if (head.hostIndex < 0) {
      throw new HttpParseError(400, "an HTTP/1.1 request needs a Host header");
    }
  } else {
    // RFC 9110 7.8 and 10.1.1: ignore Upgrade and Expect: 100-continue from HTTP/1.0.
    head.upgrade = false;
    head.expectContinue = false;
  }
  markConnectionNamed(buf, head);
}

/**
 * Marks every header named by a `Connection` header as {@linkcode H_NAMED_HOP},
 * and notes whether an Upgrade header really accompanies `Connection: upgrade`.
 *
 * Only headers the proxy does not otherwise handle ({@linkcode H_OTHER}) are
 * marked. A connection option naming Host, Content-Length, Transfer-Encoding,
 * Expect or a forwarding header (`Connection: x-forwarded-for`) is ignored:
 * framing and Host are always kept or re-done, and the forwarding headers are
 * replaced by the proxy anyway, so such options could only be used to strip
 * what an earlier proxy added (hop-by-hop header abuse).
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
  const f = head.fields, count = head.headerCount;
  let hasUpgradeHeader = false;
  for (let h = 0; h < count; h++) {
    const kind = f[h * FIELD_STRIDE + F_KIND];
    if (kind === H_UPGRADE) hasUpgradeHeader = true;
    if (kind !== H_CONNECTION) continue;
    const ve = f[h * FIELD_STRIDE + F_VALUE_END];
    for (let e = f[h * FIELD_STRIDE + F_VALUE]; (e = nextElement(buf, e, ve)) >= 0;) {
      const s = elementStart, length = elementEnd - elementStart;
      for (let k = 0; k < count; k++) {
        const o = k * FIELD_STRIDE;
        if (
          f[o + F_KIND] === H_OTHER && f[o + F_NAME_END] - f[o + F_NAME] === length &&
          equalsIgnoreCase(buf, f[o + F_NAME], s, length)
        ) {
          f[o + F_KIND] = H_NAMED_HOP;
        }
      }
    }
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

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
  equalsLower,
  FIELD_VALUE_BYTE,
  LF,
  SP,
  TARGET_BYTE,
  TCHAR,
} from "./ascii.ts";
import { HttpParseError } from "./errors.ts";
import { checkTransferEncoding, markConnectionNamed, parseFields } from "./fields.ts";
import type { HeadLimits, MessageHead } from "./message_head.ts";

export {
  F_KIND,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  type HeadLimits,
  MessageHead,
} from "./message_head.ts";
export {
  H_CONNECTION,
  H_CONTENT_LENGTH,
  H_EXPECT,
  H_HOST,
  H_KEEP_ALIVE,
  H_NAMED_HOP,
  H_OTHER,
  H_PROXY_CONNECTION,
  H_TE,
  H_TRAILER,
  H_TRANSFER_ENCODING,
  H_UPGRADE,
  H_X_REAL_IP,
  H_XF_HOST,
  H_XF_PROTO,
  H_XFF,
  markConnectionNamed,
} from "./fields.ts";

const W_HTTP = bytes("http://");
const W_HTTPS = bytes("https://");
const M_CONNECT = bytes("CONNECT");
const M_OPTIONS = bytes("OPTIONS");
const HTTP_SLASH = bytes("HTTP/");
const SLASH = 47, QUESTION = 63, STAR = 42;

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
 * Where a head is parsed from: a buffer and the index where the head starts.
 * A `BufferedSocket` is one (its unconsumed bytes start the head).
 *
 * @example Usage
 * ```ts
 * import type { HeadSource } from "./head.ts";
 * const src: HeadSource = { buf: new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), start: 0 };
 * ```
 */
export interface HeadSource {
  /** The buffer holding the head. */
  readonly buf: Uint8Array;
  /** First byte of the head. */
  readonly start: number;
}

/**
 * Parses a complete request head in `src.buf[src.start, end)` strictly.
 *
 * @param src The buffer and where the head starts in it.
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
 * parseRequestHead({ buf, start: 0 }, buf.length, head, { maxHeadBytes: 65536, maxHeaders: 100, maxTargetBytes: 8192 });
 * assert.equal(head.contentLength, 3);
 * ```
 */
export function parseRequestHead(
  src: HeadSource,
  end: number,
  head: MessageHead,
  limits: HeadLimits,
): void {
  const buf = src.buf, start = src.start;
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
  parseFields(buf, head, limits.maxHeaders, 431);
  applyRequestRules(buf, head);
}

/**
 * Parses a complete response head in `src.buf[src.start, end)` strictly. A
 * status line without the space after the code (`HTTP/1.1 200\r\n`) is
 * accepted, as many servers send it; the writer adds the space back.
 *
 * @param src The buffer and where the head starts in it.
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
 * parseResponseHead({ buf, start: 0 }, buf.length, head, 100);
 * assert.equal(head.status, 204);
 * ```
 */
export function parseResponseHead(
  src: HeadSource,
  end: number,
  head: MessageHead,
  maxHeaders: number,
): void {
  const buf = src.buf;
  head.reset();
  head.end = end;
  let i = parseVersion(buf, src.start, head, true);
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
  parseFields(buf, head, maxHeaders, 502);
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

/**
 * Header field rules of the HTTP/1.1 codec (RFC 9110, 9112): the kinds of
 * header the proxy acts on, the field-line loop, and what each kind means
 * for framing and hop-by-hop handling. Offsets only; nothing is decoded.
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
  TCHAR,
  trimOwsEnd,
} from "./ascii.ts";
import { HttpParseError } from "./errors.ts";
import {
  F_KIND,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  type MessageHead,
} from "./message_head.ts";

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
const KIND_BY_NAME = new Map(NAMES.map(([kind, name]) => [String.fromCharCode(...name), kind]));

/**
 * The kind of a header named by a lowercase string (an HTTP/2 field name):
 * the same names and kinds as the HTTP/1.1 parse, so both versions drop and
 * add the same headers.
 *
 * @param name A lowercase field name.
 * @returns Its kind, {@linkcode H_OTHER} for every name the proxy does not act on.
 *
 * @example Usage
 * ```ts
 * import { fieldKind, H_OTHER, H_XFF } from "./fields.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fieldKind("x-forwarded-for"), H_XFF);
 * assert.equal(fieldKind("content-type"), H_OTHER);
 * ```
 */
export function fieldKind(name: string): number {
  return KIND_BY_NAME.get(name) ?? H_OTHER;
}

const W_CHUNKED = bytes("chunked");
const W_CLOSE = bytes("close");
const W_KEEP_ALIVE = bytes("keep-alive");
const W_UPGRADE = bytes("upgrade");
const W_TRAILERS = bytes("trailers");
const W_100_CONTINUE = bytes("100-continue");
const COMMA = 44;

/**
 * Parses the field lines of a head, from the line after its start line
 * (`head.startLineEnd` + CRLF) to `head.end`, recording offsets and kinds in
 * `head.fields` and applying the framing rules of the kinds the proxy acts on.
 *
 * @param buf The buffer holding the head.
 * @param head Receives the fields; its `startLineEnd` and `end` are set.
 * @param maxHeaders Most field lines (at most the capacity of `head`).
 * @param tooMany The status for too many lines: 431 for requests (then malformed is 400), 502 for responses.
 * @throws {HttpParseError} For a malformed or disallowed field line.
 */
export function parseFields(
  buf: Uint8Array,
  head: MessageHead,
  maxHeaders: number,
  tooMany: number,
): void {
  let i = head.startLineEnd + 2;
  const end = head.end;
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
    if (kind !== H_OTHER) applyField(buf, head, n, bad);
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

/** Applies the rules of field line `index`, a kind the proxy acts on (its offsets are recorded). */
function applyField(buf: Uint8Array, head: MessageHead, index: number, bad: number): void {
  const f = head.fields, o = index * FIELD_STRIDE;
  const vs = f[o + F_VALUE], ve = f[o + F_VALUE_END];
  switch (f[o + F_KIND]) {
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
export function checkTransferEncoding(head: MessageHead, bad: number): void {
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
 * parseResponseHead({ buf, start: 0 }, buf.length, head, 10);
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

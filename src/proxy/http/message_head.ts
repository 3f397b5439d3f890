/**
 * The parse of one HTTP/1.1 message head: offsets into the buffer that was
 * parsed and the framing facts derived from its headers, reused for every
 * message on a connection.
 *
 * @module
 */

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
 * parseRequestHead({ buf, start: 0 }, buf.length, head, { maxHeadBytes: 65536, maxHeaders: 100, maxTargetBytes: 8192 });
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

/**
 * Incremental parser of the chunked transfer coding (RFC 9112 7.1): chunk
 * sizes, extensions, data, the last chunk and trailer fields. It validates
 * framing and finds where the body ends; the bytes themselves are relayed
 * verbatim by the caller (or only the data, see {@linkcode ChunkedParser.dataLeft}).
 *
 * @module
 */

import { CR, FIELD_VALUE_BYTE, HTAB, LF, TCHAR } from "./ascii.ts";
import { HttpParseError } from "./errors.ts";

const SIZE = 0, EXT = 1, SIZE_LF = 2, DATA = 3, DATA_CR = 4, DATA_LF = 5;
const TRAILER_START = 6,
  TRAILER_NAME = 7,
  TRAILER_VALUE = 8,
  TRAILER_LF = 9,
  END_LF = 10,
  DONE = 11,
  SIZE_WS = 12;

/** Most hex digits in a chunk size (leading zeros included): below 2^48, exact in a number. */
const MAX_SIZE_DIGITS = 12;
/** Longest chunk-size line extension we accept. */
const MAX_EXTENSION = 4096;
/** Largest trailer section we accept. */
const MAX_TRAILERS = 65536;

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[48 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[65 + c] = 10 + c;
    t[97 + c] = 10 + c;
  }
  return t;
})();

/**
 * A resumable chunked-body parser. Feed it bytes as they arrive; it says how
 * many belong to the body and when the body has ended.
 *
 * @example Usage
 * ```ts
 * import { ChunkedParser } from "./chunked.ts";
 * import assert from "node:assert/strict";
 * const p = new ChunkedParser(400);
 * const b = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\nNEXT");
 * assert.equal(p.feed(b, 0, b.length), 13);
 * assert.ok(p.done);
 * ```
 */
export class ChunkedParser {
  #state = SIZE;
  #size = 0;
  #digits = 0;
  #left = 0;
  #ext = 0;
  #trailers = 0;
  #status: number;

  /**
   * Creates a parser waiting for the first chunk size.
   *
   * @param status The status that a framing error answers with (400 for requests, 502 for responses).
   */
  constructor(status: number) {
    this.#status = status;
  }

  /** Prepares for a new body. */
  reset(): void {
    this.#state = SIZE;
    this.#size = 0;
    this.#digits = 0;
    this.#left = 0;
    this.#ext = 0;
    this.#trailers = 0;
  }

  /** Whether the whole body, trailers included, has been seen. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Bytes of chunk data still expected before the next framing byte (0 outside data). */
  get dataLeft(): number {
    return this.#state === DATA ? this.#left : 0;
  }

  /**
   * Consumes bytes of `buf[start, end)` up to the end of the body.
   *
   * @param buf The buffer.
   * @param start First byte.
   * @param end One past the last byte.
   * @returns How many bytes belong to the body (less than `end - start` only when it ended).
   * @throws {HttpParseError} When the framing is malformed.
   */
  feed(buf: Uint8Array, start: number, end: number): number {
    let i = start;
    while (i < end && this.#state !== DONE) {
      if (this.#state === DATA) {
        const n = Math.min(this.#left, end - i);
        i += n;
        this.#left -= n;
        if (this.#left === 0) this.#state = DATA_CR;
        continue;
      }
      this.#step(buf[i++]);
    }
    return i - start;
  }

  /** Whether the parser is in the trailer section (after the last chunk, before the end). */
  get inTrailers(): boolean {
    return this.#state >= TRAILER_START && this.#state <= END_LF;
  }

  /**
   * Consumes framing bytes only, stopping at chunk data or at the end of the
   * body; for relaying just the data (de-chunking).
   *
   * @param buf The buffer.
   * @param start First byte.
   * @param end One past the last byte.
   * @param stopAtTrailers Also stop where the trailer section starts (see
   *   {@linkcode ChunkedParser.inTrailers}), so that its bytes can be kept.
   * @returns How many framing bytes were consumed.
   * @throws {HttpParseError} When the framing is malformed.
   */
  feedFraming(buf: Uint8Array, start: number, end: number, stopAtTrailers = false): number {
    let i = start;
    while (i < end && this.#state !== DONE && this.#state !== DATA) {
      this.#step(buf[i++]);
      if (stopAtTrailers && this.#state === TRAILER_START) break;
    }
    return i - start;
  }

  /**
   * Marks `n` bytes of chunk data as relayed (n <= {@linkcode dataLeft}).
   *
   * @param n Bytes of data.
   * @throws {RangeError} When `n` is more than {@linkcode dataLeft}.
   */
  skipData(n: number): void {
    if (this.#state !== DATA || n > this.#left || n < 0) {
      throw new RangeError(`Cannot skip ${n} bytes of chunk data: only ${this.dataLeft} are due`);
    }
    this.#left -= n;
    if (this.#left === 0) this.#state = DATA_CR;
  }

  #fail(what: string): never {
    throw new HttpParseError(this.#status, `bad chunked body: ${what}`);
  }

  #step(b: number): void {
    switch (this.#state) {
      case SIZE: {
        const h = HEX[b];
        if (h >= 0) {
          if (++this.#digits > MAX_SIZE_DIGITS) this.#fail("chunk size is too large");
          this.#size = this.#size * 16 + h;
        } else if (this.#digits === 0) {
          this.#fail("chunk size must start with a hex digit");
        } else if (b === CR) {
          this.#state = SIZE_LF;
        } else if (b === 59 /* ; */) {
          this.#state = EXT;
          this.#ext = 0;
        } else if (b === 32 || b === HTAB) {
          this.#state = SIZE_WS;
          this.#ext = 0;
        } else {
          this.#fail("unexpected byte in chunk size");
        }
        return;
      }
      case SIZE_WS:
        // BWS before `;` (RFC 9112 7.1.1), or before the line end; `5 5` must not pass as 5.
        if (b === 59 /* ; */) {
          this.#state = EXT;
          this.#ext = 0;
        } else if (b === CR) this.#state = SIZE_LF;
        else if (b !== 32 && b !== HTAB) this.#fail("unexpected byte after the chunk size");
        else if (++this.#ext > MAX_EXTENSION) this.#fail("chunk extension is too long");
        return;
      case EXT:
        if (b === CR) this.#state = SIZE_LF;
        else if (FIELD_VALUE_BYTE[b] !== 1) this.#fail("control character in a chunk extension");
        else if (++this.#ext > MAX_EXTENSION) this.#fail("chunk extension is too long");
        return;
      case SIZE_LF:
        if (b !== LF) this.#fail("chunk size line must end with CRLF");
        if (this.#size === 0) {
          this.#state = TRAILER_START;
        } else {
          this.#left = this.#size;
          this.#state = DATA;
        }
        this.#size = 0;
        this.#digits = 0;
        return;
      case DATA_CR:
        if (b !== CR) this.#fail("chunk data must be followed by CRLF");
        this.#state = DATA_LF;
        return;
      case DATA_LF:
        if (b !== LF) this.#fail("chunk data must be followed by CRLF");
        this.#state = SIZE;
        return;
      case TRAILER_START:
        if (b === CR) this.#state = END_LF;
        else if (TCHAR[b] === 1) this.#state = TRAILER_NAME;
        else this.#fail("trailer line must start with a field name");
        this.#countTrailer();
        return;
      case TRAILER_NAME:
        if (b === 58 /* : */) this.#state = TRAILER_VALUE;
        else if (TCHAR[b] !== 1) {
          this.#fail("trailer field name must be a token followed by a colon");
        }
        this.#countTrailer();
        return;
      case TRAILER_VALUE:
        if (b === CR) this.#state = TRAILER_LF;
        else if (FIELD_VALUE_BYTE[b] !== 1) this.#fail("control character in a trailer field");
        this.#countTrailer();
        return;
      case TRAILER_LF:
        if (b !== LF) this.#fail("trailer line must end with CRLF");
        this.#state = TRAILER_START;
        return;
      case END_LF:
        if (b !== LF) this.#fail("body must end with CRLF");
        this.#state = DONE;
        return;
    }
  }

  #countTrailer(): void {
    if (++this.#trailers > MAX_TRAILERS) this.#fail("trailer section is too large");
  }
}

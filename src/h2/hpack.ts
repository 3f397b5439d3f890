/**
 * HPACK (RFC 7541), the header compression of HTTP/2: the decoder, which
 * turns a header block into a flat `[name, value, ...]` list, its error, and
 * the encoder (from `hpack_encoder.ts`). Names and values are byte strings
 * (one char per octet), as the HTTP/1.1 codec reads them; names come out as
 * received, so the session can reject uppercase ones.
 *
 * @module
 */

import { HUFFMAN_BAD_PADDING, HUFFMAN_EOS, huffmanDecode } from "./hpack_huffman.ts";
import { DynamicTable, ENTRY_OVERHEAD, STATIC_LENGTH, STATIC_TABLE } from "./hpack_table.ts";

export { HpackEncoder, type HpackEncoderOptions } from "./hpack_encoder.ts";

/**
 * A header block that cannot be decoded: the connection's COMPRESSION_ERROR
 * (RFC 9113 4.3), since the decoder's table may now differ from the peer's.
 *
 * @example Usage
 * ```ts
 * import { HpackDecoder, HpackError } from "./hpack.ts";
 * try {
 *   new HpackDecoder().decode(new Uint8Array([0x80]), []); // index 0
 * } catch (e) {
 *   e instanceof HpackError; // true
 * }
 * ```
 */
export class HpackError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong and where in the block.
   */
  constructor(message: string) {
    super(message);
    this.name = "HpackError";
  }
}

/** The largest integer a block may carry: 2^31 - 1 (RFC 7541 5.1 leaves the limit to us). */
const MAX_INTEGER = 2 ** 31 - 1;
/** The most continuation octets an integer may take: 5 carry 35 bits, enough for 2^31. */
const MAX_CONTINUATION = 5;
/** Static names and values by index (index 0 unused). */
const STATIC_NAMES = ["", ...STATIC_TABLE.map(([name]) => name)];
const STATIC_VALUES = ["", ...STATIC_TABLE.map(([, value]) => value)];
/** Scratch for a Huffman string's octets (one thread, no reentrancy). */
const CHARS: number[] = [];
/**
 * Scratch arrays of exactly n elements, for n up to {@linkcode SHORT}:
 * `String.fromCharCode.apply` on an array of the right length is about twice
 * as fast as truncating one shared array to each string's length.
 */
const BY_LENGTH: (number[] | undefined)[] = [];
const SHORT = 256;
/** Octets per `String.fromCharCode.apply` call for longer strings. */
const CHUNK = 8192;
const EMPTY = new Uint8Array(0);

function scratch(n: number): number[] {
  return BY_LENGTH[n] ??= new Array<number>(n).fill(0);
}

/** The byte string of `CHARS[0, n)`. */
function charsToString(n: number): string {
  if (n <= SHORT) {
    const chars = scratch(n);
    for (let i = 0; i < n; i++) chars[i] = CHARS[i];
    return String.fromCharCode.apply(null, chars);
  }
  let s = "";
  for (let i = 0; i < n; i += CHUNK) {
    s += String.fromCharCode.apply(null, CHARS.slice(i, Math.min(n, i + CHUNK)));
  }
  return s;
}

/** The byte string of `buf[start, start + n)`. */
function bytesToString(buf: Uint8Array, start: number, n: number): string {
  if (n <= SHORT) {
    const chars = scratch(n);
    for (let i = 0; i < n; i++) chars[i] = buf[start + i];
    return String.fromCharCode.apply(null, chars);
  }
  let s = "";
  for (let i = 0; i < n; i += CHUNK) {
    const end = start + Math.min(n, i + CHUNK);
    s += String.fromCharCode.apply(null, buf.subarray(start + i, end) as unknown as number[]);
  }
  return s;
}

/**
 * Decodes header blocks (RFC 7541 section 3) of one connection direction,
 * keeping the dynamic table in step with the peer's encoder. Rejects, with an
 * {@linkcode HpackError}: index 0 or beyond the tables, integers above 2^31 - 1
 * or with more than 5 continuation octets, strings running past the block,
 * Huffman strings holding EOS or padded with more than 7 bits or with zeros,
 * and table size updates after the first field or above our maximum.
 *
 * @example Decoding RFC 7541 C.3.1
 * ```ts
 * import { HpackDecoder } from "./hpack.ts";
 * const block = Uint8Array.from(
 *   "828684410f7777772e6578616d706c652e636f6d".match(/../g)!,
 *   (h) => parseInt(h, 16),
 * );
 * const fields: string[] = [];
 * new HpackDecoder().decode(block, fields);
 * fields; // [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"]
 * ```
 */
export class HpackDecoder {
  #table: DynamicTable;
  #maxTableSize: number;
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  #end = 0;

  /**
   * Makes a decoder with an empty dynamic table.
   *
   * @param maxTableSize The table size we advertise in SETTINGS_HEADER_TABLE_SIZE:
   * the peer may not ask for more.
   * @default {4096}
   */
  constructor(maxTableSize = 4096) {
    this.#maxTableSize = maxTableSize;
    this.#table = new DynamicTable(maxTableSize);
  }

  /** The dynamic table's current maximum size (the last size update, or ours). */
  get tableMaxSize(): number {
    return this.#table.maxSize;
  }

  /** The dynamic table's current size in octets. */
  get tableSize(): number {
    return this.#table.size;
  }

  /**
   * Decodes one complete header block, appending name, value pairs to `out`.
   * Past `maxListSize` it keeps decoding what enters the table (which must
   * stay in step), checks but makes no strings for literals that do not, and
   * stops appending, so `out` then holds the fields before the limit.
   *
   * @param block The block: HEADERS and CONTINUATION fragments joined.
   * @param out Receives `name, value` pairs.
   * @param maxListSize The largest list size to append (SETTINGS_MAX_HEADER_LIST_SIZE).
   * @default {Infinity}
   * @returns The list size (RFC 9113: each name and value length plus 32, summed);
   * more than `maxListSize` when the list was cut.
   * @throws {HpackError} When the block is malformed: a COMPRESSION_ERROR.
   */
  decode(block: Uint8Array, out: string[], maxListSize = Infinity): number {
    this.#buf = block;
    this.#pos = 0;
    this.#end = block.length;
    let size = 0;
    let fieldSeen = false;
    while (this.#pos < this.#end) {
      const first = block[this.#pos];
      let name: string, value: string;
      if (first >= 0x80) { // 6.1 indexed field
        const at = this.#pos;
        const index = this.#int(0x7f);
        this.#checkIndex(index, at);
        name = this.#name(index);
        value = index <= STATIC_LENGTH
          ? STATIC_VALUES[index]
          : this.#table.value(index - STATIC_LENGTH - 1);
      } else if (first >= 0x40) { // 6.2.1 literal with incremental indexing
        name = this.#literalName(0x3f);
        value = this.#string();
        this.#table.add(name, value, name.length + value.length + ENTRY_OVERHEAD);
      } else if (first >= 0x20) { // 6.3 dynamic table size update
        this.#sizeUpdate(fieldSeen);
        continue;
      } else if (size > maxListSize) { // 6.2.2, 6.2.3 without indexing, past the limit
        const at = this.#pos;
        const index = this.#int(0x0f);
        if (index === 0) this.#skipString();
        else this.#checkIndex(index, at);
        this.#skipString();
        fieldSeen = true;
        continue;
      } else { // 6.2.2 without indexing, 6.2.3 never indexed
        name = this.#literalName(0x0f);
        value = this.#string();
      }
      fieldSeen = true;
      size += name.length + value.length + ENTRY_OVERHEAD;
      if (size <= maxListSize) out.push(name, value);
    }
    this.#buf = EMPTY;
    return size;
  }

  #sizeUpdate(fieldSeen: boolean): void {
    const at = this.#pos;
    if (fieldSeen) {
      throw new HpackError(
        `Cannot apply the dynamic table size update at octet ${at} of the header block: it must come before the first field (RFC 7541 4.2)`,
      );
    }
    const size = this.#int(0x1f);
    if (size > this.#maxTableSize) {
      throw new HpackError(
        `Cannot resize the dynamic table to ${size} octets at octet ${at} of the header block: the limit we advertised is ${this.#maxTableSize}`,
      );
    }
    this.#table.setMaxSize(size);
  }

  #checkIndex(index: number, at: number): void {
    if (index === 0 || index > STATIC_LENGTH + this.#table.length) {
      throw new HpackError(
        `Cannot decode index ${index} at octet ${at} of the header block: indexes run from 1 to ${
          STATIC_LENGTH + this.#table.length
        } (${STATIC_LENGTH} static, ${this.#table.length} dynamic entries)`,
      );
    }
  }

  #name(index: number): string {
    return index <= STATIC_LENGTH
      ? STATIC_NAMES[index]
      : this.#table.name(index - STATIC_LENGTH - 1);
  }

  /** A literal's name: by index (an `mask`-bit prefix) or, at index 0, a string. */
  #literalName(mask: number): string {
    const at = this.#pos;
    const index = this.#int(mask);
    if (index === 0) return this.#string();
    this.#checkIndex(index, at);
    return this.#name(index);
  }

  /** Reads an integer with an N-bit prefix (RFC 7541 5.1); `mask` is 2^N - 1. */
  #int(mask: number): number {
    const buf = this.#buf;
    const at = this.#pos;
    let pos = at;
    let value = buf[pos++] & mask;
    if (value === mask) {
      for (let i = 0, scale = 1;; i++, scale *= 128) {
        if (pos >= this.#end) {
          throw new HpackError(
            `Cannot decode the integer at octet ${at}: the header block ends inside it`,
          );
        }
        if (i === MAX_CONTINUATION) {
          throw new HpackError(
            `Cannot decode the integer at octet ${at} of the header block: it runs past ${MAX_CONTINUATION} continuation octets`,
          );
        }
        const octet = buf[pos++];
        value += (octet & 0x7f) * scale;
        if (value > MAX_INTEGER) {
          throw new HpackError(
            `Cannot decode the integer at octet ${at} of the header block: it exceeds 2^31 - 1`,
          );
        }
        if (octet < 0x80) break;
      }
    }
    this.#pos = pos;
    return value;
  }

  /**
   * Moves past a string literal (RFC 7541 5.2), checking that it fits in the
   * block, and returns its length in octets: the string ends at `#pos`.
   */
  #passString(): number {
    if (this.#pos >= this.#end) {
      throw new HpackError(
        `Cannot decode a string at octet ${this.#pos}: the header block ends before it`,
      );
    }
    const at = this.#pos;
    const length = this.#int(0x7f);
    if (this.#pos + length > this.#end) {
      throw new HpackError(
        `Cannot decode the ${length}-octet string at octet ${at}: the header block ends ${
          this.#pos + length - this.#end
        } octets before it does`,
      );
    }
    this.#pos += length;
    return length;
  }

  #string(): string {
    const at = this.#pos;
    const huffman = this.#pos < this.#end && this.#buf[this.#pos] >= 0x80;
    const length = this.#passString();
    if (length === 0) return "";
    const buf = this.#buf, end = this.#pos, start = end - length;
    if (!huffman) return bytesToString(buf, start, length);
    return charsToString(this.#checkHuffman(huffmanDecode(buf, start, end, CHARS), at));
  }

  /** Moves past a string literal without making a string, still checking its Huffman code. */
  #skipString(): void {
    const at = this.#pos;
    const huffman = this.#pos < this.#end && this.#buf[this.#pos] >= 0x80;
    const length = this.#passString();
    if (huffman && length > 0) {
      this.#checkHuffman(huffmanDecode(this.#buf, this.#pos - length, this.#pos, CHARS), at);
    }
  }

  /** Passes a Huffman decoding's octet count, or throws for its error code. */
  #checkHuffman(n: number, at: number): number {
    if (n === HUFFMAN_EOS) {
      throw new HpackError(`Cannot decode the Huffman string at octet ${at}: it holds EOS`);
    }
    if (n === HUFFMAN_BAD_PADDING) {
      throw new HpackError(
        `Cannot decode the Huffman string at octet ${at}: its padding is longer than 7 bits or not all ones`,
      );
    }
    return n;
  }
}

/**
 * The HPACK encoder (RFC 7541): static table matches, incremental indexing
 * into a dynamic table for repeated fields, never-indexed literals for
 * credentials, Huffman coding unless it is longer. Import it from `hpack.ts`.
 *
 * @module
 */

import { huffmanEncode, huffmanLength } from "./hpack_huffman.ts";
import { DynamicTable, ENTRY_OVERHEAD, STATIC_BY_NAME, STATIC_LENGTH } from "./hpack_table.ts";

/** The table size every HPACK decoder starts with (RFC 9113 6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;

/**
 * Fields always sent as never-indexed literals (RFC 7541 7.1.3): credentials
 * an attacker could probe for through the shared table. `cookie` joins them
 * when its value is shorter than {@linkcode SHORT_COOKIE}.
 */
const SENSITIVE: ReadonlySet<string> = new Set([
  "authorization",
  "proxy-authorization",
  "set-cookie",
]);
/** Cookies shorter than this are guessable, so never indexed (RFC 7541 7.1.3). */
const SHORT_COOKIE = 20;
/**
 * Fields whose values are usually new on each message: indexing them would
 * only evict entries that repeat. Sent as literals without indexing.
 */
const UNIQUE: ReadonlySet<string> = new Set([
  "age",
  "content-length",
  "content-range",
  "etag",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "last-modified",
  "x-request-id",
]);

const utf8 = new TextEncoder();

/** A string's UTF-8 octets as a byte string (for the rare char above U+00FF). */
function utf8ByteString(s: string): string {
  const bytes = utf8.encode(s);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return out;
}

/** A string's length in octets as {@linkcode HpackEncoder} sends it. */
function octetLength(s: string): number {
  return huffmanLength(s) < 0 ? utf8.encode(s).length : s.length;
}

/**
 * Encoder options.
 *
 * @example Usage
 * ```ts
 * import type { HpackEncoderOptions } from "./hpack_encoder.ts";
 * const options: HpackEncoderOptions = { huffman: false };
 * ```
 */
export interface HpackEncoderOptions {
  /**
   * Huffman-code strings when that is not longer than the octets themselves.
   *
   * @default {true}
   */
  huffman?: boolean;
}

/**
 * Encodes header lists (flat `[name, value, ...]`, names lowercase) into
 * header blocks for one connection direction. Strings are byte strings: a
 * string with a char above U+00FF is sent as its UTF-8 octets.
 *
 * @example Encoding RFC 7541 C.4.1
 * ```ts
 * import { HpackEncoder } from "./hpack.ts";
 * const encoder = new HpackEncoder();
 * const block = encoder.encode([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"]);
 * block.length; // 17: 82 86 84 41 8c f1e3c2e5f23a6ba0ab90f4ff
 * ```
 */
export class HpackEncoder {
  #buf = new Uint8Array(256);
  #pos = 0;
  #huffman: boolean;
  /** The most we are willing to use, whatever the peer allows. */
  #cap: number;
  #table: DynamicTable;
  /** Dynamic entries: name -> value -> the newest entry's sequence number. */
  #entries = new Map<string, Map<string, number>>();
  /** Dynamic names: name -> the newest entry's sequence number. */
  #names = new Map<string, number>();
  /** Size updates owed at the next block start: the smallest and the last, or -1. */
  #pendingMin = -1;
  #pendingLast = -1;

  /**
   * Makes an encoder with an empty dynamic table.
   *
   * @param maxTableSize The largest dynamic table we will use, whatever the peer allows.
   * @default {4096}
   * @param options See {@linkcode HpackEncoderOptions}.
   */
  constructor(maxTableSize: number = DEFAULT_TABLE_SIZE, options: HpackEncoderOptions = {}) {
    this.#cap = maxTableSize;
    this.#huffman = options.huffman ?? true;
    const size = Math.min(maxTableSize, DEFAULT_TABLE_SIZE);
    // Using less than the peer's decoder allows needs no size update: our
    // entries are its newest, so the indexes agree (RFC 7541 4.2).
    this.#table = new DynamicTable(size, (name, value, seq) => this.#evicted(name, value, seq));
  }

  /** The dynamic table's current maximum size. */
  get tableMaxSize(): number {
    return this.#table.maxSize;
  }

  /** The dynamic table's current size in octets. */
  get tableSize(): number {
    return this.#table.size;
  }

  /**
   * Takes the peer's SETTINGS_HEADER_TABLE_SIZE; the next block starts with
   * the size updates this calls for (RFC 7541 4.2: the smallest size since
   * the last block, then the final one).
   *
   * @param size The peer's decoder limit in octets.
   */
  setMaxTableSize(size: number): void {
    const effective = Math.min(size, this.#cap);
    if (this.#pendingLast < 0) {
      if (effective === this.#table.maxSize) return;
      this.#pendingMin = effective;
    } else {
      this.#pendingMin = Math.min(this.#pendingMin, effective);
    }
    this.#pendingLast = effective;
  }

  /**
   * Encodes one header list into a header block.
   *
   * @param fields `[name0, value0, name1, value1, ...]`, names lowercase,
   * pseudo-header fields first.
   * @returns The block: a view of the encoder's buffer, valid until the next call.
   */
  encode(fields: readonly string[]): Uint8Array {
    this.#pos = 0;
    if (this.#pendingLast >= 0) {
      this.#ensure(12);
      if (this.#pendingMin < this.#pendingLast) this.#resize(this.#pendingMin);
      this.#resize(this.#pendingLast);
      this.#pendingMin = this.#pendingLast = -1;
    }
    for (let i = 0; i + 1 < fields.length; i += 2) this.#field(fields[i], fields[i + 1]);
    return this.#buf.subarray(0, this.#pos);
  }

  #resize(size: number): void {
    this.#int(size, 0x1f, 0x20);
    this.#table.setMaxSize(size);
  }

  #field(name: string, value: string): void {
    this.#ensure((name.length + value.length) * 3 + 24);
    const known = STATIC_BY_NAME.get(name);
    if (SENSITIVE.has(name) || (name === "cookie" && value.length < SHORT_COOKIE)) {
      this.#literal(0x10, 0x0f, known?.index ?? this.#dynamicName(name), name, value);
      return;
    }
    const exact = known?.values.get(value) ?? this.#dynamicEntry(name, value);
    if (exact !== 0) {
      this.#int(exact, 0x7f, 0x80);
      return;
    }
    const nameIndex = known?.index ?? this.#dynamicName(name);
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (UNIQUE.has(name) || size > this.#table.maxSize) {
      this.#literal(0x00, 0x0f, nameIndex, name, value);
      return;
    }
    const octets = this.#literal(0x40, 0x3f, nameIndex, name, value) + ENTRY_OVERHEAD;
    this.#table.add(name, value, octets);
    if (octets > this.#table.maxSize) return; // a char above U+00FF made it too big: not kept
    const seq = this.#table.inserted - 1;
    let values = this.#entries.get(name);
    if (values === undefined) this.#entries.set(name, values = new Map());
    values.set(value, seq);
    this.#names.set(name, seq);
  }

  /** Writes a literal field; returns its name and value octets. */
  #literal(flags: number, mask: number, nameIndex: number, name: string, value: string): number {
    this.#int(nameIndex, mask, flags);
    const nameOctets = nameIndex === 0
      ? this.#string(name)
      : nameIndex > STATIC_LENGTH
      ? octetLength(name)
      : name.length;
    return nameOctets + this.#string(value);
  }

  /** The dynamic index of the newest entry with this name and value, or 0. */
  #dynamicEntry(name: string, value: string): number {
    const seq = this.#entries.get(name)?.get(value);
    return seq === undefined ? 0 : this.#indexOf(seq);
  }

  /** The dynamic index of the newest entry with this name, or 0. */
  #dynamicName(name: string): number {
    const seq = this.#names.get(name);
    return seq === undefined ? 0 : this.#indexOf(seq);
  }

  #indexOf(seq: number): number {
    return STATIC_LENGTH + this.#table.inserted - seq;
  }

  #evicted(name: string, value: string, seq: number): void {
    const values = this.#entries.get(name);
    if (values !== undefined && values.get(value) === seq) {
      values.delete(value);
      if (values.size === 0) this.#entries.delete(name);
    }
    if (this.#names.get(name) === seq) this.#names.delete(name);
  }

  /** Writes a string literal (RFC 7541 5.2); returns its octet count. */
  #string(s: string): number {
    let coded = huffmanLength(s);
    if (coded < 0) {
      s = utf8ByteString(s);
      coded = huffmanLength(s);
    }
    const length = s.length;
    if (this.#huffman && coded <= length) {
      this.#int(coded, 0x7f, 0x80);
      this.#pos = huffmanEncode(s, this.#buf, this.#pos);
    } else {
      this.#int(length, 0x7f, 0x00);
      const buf = this.#buf;
      let pos = this.#pos;
      for (let i = 0; i < length; i++) buf[pos++] = s.charCodeAt(i);
      this.#pos = pos;
    }
    return length;
  }

  /** Writes an integer with an N-bit prefix (RFC 7541 5.1); `mask` is 2^N - 1. */
  #int(value: number, mask: number, flags: number): void {
    const buf = this.#buf;
    if (value < mask) {
      buf[this.#pos++] = flags | value;
      return;
    }
    buf[this.#pos++] = flags | mask;
    value -= mask;
    while (value >= 0x80) {
      buf[this.#pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[this.#pos++] = value;
  }

  #ensure(more: number): void {
    if (this.#pos + more <= this.#buf.length) return;
    let capacity = this.#buf.length * 2;
    while (capacity < this.#pos + more) capacity *= 2;
    const buf = new Uint8Array(capacity);
    buf.set(this.#buf.subarray(0, this.#pos));
    this.#buf = buf;
  }
}

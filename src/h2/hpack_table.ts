/**
 * The HPACK tables (RFC 7541 section 2.3): the static table of 61 fields and
 * the dynamic table, a ring of recently inserted fields evicted oldest first
 * when their total size passes the table's maximum.
 *
 * @module
 */

/**
 * The static table (RFC 7541 Appendix A), index 1 first: `[name, value]`.
 * The strings are literals, so a field decoded from the static table costs
 * no allocation.
 *
 * @example Usage
 * ```ts
 * import { STATIC_TABLE } from "./hpack_table.ts";
 * STATIC_TABLE[1]; // [":method", "GET"]: index 2
 * ```
 */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/**
 * The number of static entries: dynamic indexes start after it (at 62).
 *
 * @example Usage
 * ```ts
 * import { STATIC_LENGTH } from "./hpack_table.ts";
 * STATIC_LENGTH; // 61
 * ```
 */
export const STATIC_LENGTH = 61;

/**
 * The static table by name, for an encoder: the first index carrying the
 * name, and the index of each name and value pair.
 *
 * @example Usage
 * ```ts
 * import { STATIC_BY_NAME } from "./hpack_table.ts";
 * STATIC_BY_NAME.get(":status")?.values.get("404"); // 13
 * ```
 */
export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = indexStatic();

/**
 * One name of the static table.
 *
 * @example Usage
 * ```ts
 * import { STATIC_BY_NAME, type StaticName } from "./hpack_table.ts";
 * const path: StaticName | undefined = STATIC_BY_NAME.get(":path");
 * path?.index; // 4
 * ```
 */
export interface StaticName {
  /** The first index with this name. */
  readonly index: number;
  /** The index of each value the table holds for this name (not the empty value). */
  readonly values: ReadonlyMap<string, number>;
}

function indexStatic(): Map<string, StaticName> {
  const byName = new Map<string, { index: number; values: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let entry = byName.get(name);
    if (entry === undefined) byName.set(name, entry = { index: i + 1, values: new Map() });
    if (value !== "") entry.values.set(value, i + 1);
  });
  return byName;
}

/**
 * What an entry costs in the table beyond its name and value (RFC 7541 4.1).
 *
 * @example Usage
 * ```ts
 * import { ENTRY_OVERHEAD } from "./hpack_table.ts";
 * "custom-key".length + "custom-header".length + ENTRY_OVERHEAD; // 55
 * ```
 */
export const ENTRY_OVERHEAD = 32;

/**
 * Called for each entry the dynamic table evicts, oldest first.
 *
 * @example Usage
 * ```ts
 * import type { EvictHook } from "./hpack_table.ts";
 * const log: EvictHook = (name, value, seq) => console.log(seq, name, value);
 * ```
 */
export type EvictHook = (name: string, value: string, seq: number) => void;

/**
 * The HPACK dynamic table (RFC 7541 2.3.2, 4): entries indexed from the
 * newest (0) to the oldest, each with its size (its name and value octets
 * plus 32), evicted oldest first to stay within `maxSize`. Every insertion
 * gets a sequence number (0, 1, 2, ... over the table's life), so an encoder
 * can remember entries by it.
 *
 * @example Usage
 * ```ts
 * import { DynamicTable } from "./hpack_table.ts";
 * const table = new DynamicTable(100);
 * table.add("a", "1", 34);
 * table.add("b", "2", 34);
 * table.add("c", "3", 34); // evicts "a"
 * [table.length, table.name(0), table.name(1)]; // [2, "c", "b"]
 * ```
 */
export class DynamicTable {
  #names: string[] = [];
  #values: string[] = [];
  #sizes: number[] = [];
  /** Ring capacity minus one (the capacity is a power of two). */
  #mask = -1;
  /** Slot of the oldest entry. */
  #tail = 0;
  #length = 0;
  #size = 0;
  #maxSize: number;
  #inserted = 0;
  #onEvict: EvictHook | null;

  /**
   * Makes an empty table.
   *
   * @param maxSize The maximum size in octets (the sum of entry sizes).
   * @param onEvict Called for each evicted entry.
   */
  constructor(maxSize: number, onEvict: EvictHook | null = null) {
    this.#maxSize = maxSize;
    this.#onEvict = onEvict;
    this.#grow(Math.min(Math.floor(maxSize / ENTRY_OVERHEAD), 128));
  }

  /** The number of entries. */
  get length(): number {
    return this.#length;
  }

  /** The current size in octets. */
  get size(): number {
    return this.#size;
  }

  /** The maximum size in octets. */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** How many entries were ever inserted: the next entry's sequence number. */
  get inserted(): number {
    return this.#inserted;
  }

  /**
   * The name of an entry.
   *
   * @param i 0 for the newest entry, up to `length - 1`.
   * @returns The name.
   */
  name(i: number): string {
    return this.#names[(this.#tail + this.#length - 1 - i) & this.#mask];
  }

  /**
   * The value of an entry.
   *
   * @param i 0 for the newest entry, up to `length - 1`.
   * @returns The value.
   */
  value(i: number): string {
    return this.#values[(this.#tail + this.#length - 1 - i) & this.#mask];
  }

  /**
   * Changes the maximum size, evicting entries that no longer fit.
   *
   * @param maxSize The new maximum in octets.
   */
  setMaxSize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evictTo(maxSize);
  }

  /**
   * Inserts an entry as the newest, evicting the oldest ones to make room.
   * An entry larger than the maximum empties the table and is not kept
   * (RFC 7541 4.4) and takes no sequence number.
   *
   * @param name The name.
   * @param value The value.
   * @param size The entry's size: name and value octets plus 32.
   */
  add(name: string, value: string, size: number): void {
    if (size > this.#maxSize) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxSize - size);
    if (this.#length > this.#mask) this.#grow(this.#length * 2);
    const slot = (this.#tail + this.#length) & this.#mask;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#sizes[slot] = size;
    this.#length++;
    this.#size += size;
    this.#inserted++;
  }

  #evictTo(limit: number): void {
    while (this.#size > limit) {
      const slot = this.#tail;
      const name = this.#names[slot], value = this.#values[slot];
      const seq = this.#inserted - this.#length;
      this.#size -= this.#sizes[slot];
      this.#names[slot] = this.#values[slot] = "";
      this.#tail = (slot + 1) & this.#mask;
      this.#length--;
      this.#onEvict?.(name, value, seq);
    }
  }

  #grow(min: number): void {
    let capacity = 8;
    while (capacity < min) capacity *= 2;
    const names: string[] = new Array(capacity).fill("");
    const values: string[] = new Array(capacity).fill("");
    const sizes: number[] = new Array(capacity).fill(0);
    for (let i = 0; i < this.#length; i++) {
      const slot = (this.#tail + i) & this.#mask;
      names[i] = this.#names[slot];
      values[i] = this.#values[slot];
      sizes[i] = this.#sizes[slot];
    }
    this.#names = names;
    this.#values = values;
    this.#sizes = sizes;
    this.#tail = 0;
    this.#mask = capacity - 1;
  }
}

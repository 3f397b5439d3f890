/**
 * 32-bit hashes for rendezvous hashing: FNV-1a over bytes or a string (the
 * same value for the same ASCII text), and the score of a key on an endpoint.
 * Pure and allocation-free.
 *
 * @module
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a of `buf[start, end)`.
 *
 * @param buf The bytes.
 * @param start First byte.
 * @param end One past the last byte.
 * @returns An unsigned 32-bit hash.
 *
 * @example Usage
 * ```ts
 * import { hashBytes, hashString } from "./key_hash.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("abc");
 * assert.equal(hashBytes(b, 0, 3), hashString("abc"));
 * ```
 */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], FNV_PRIME);
  return h >>> 0;
}

/**
 * FNV-1a of a string's UTF-16 code units (equal to {@linkcode hashBytes} for ASCII).
 *
 * @param s The text.
 * @returns An unsigned 32-bit hash.
 *
 * @example Usage
 * ```ts
 * import { hashString } from "./key_hash.ts";
 * hashString("10.0.0.7") >= 0; // true
 * ```
 */
export function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** murmur3's finaliser: every input bit reaches every output bit. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The weighted rendezvous score of a key on an endpoint: `weight / -ln(u)`
 * with `u` uniform in (0, 1) drawn from both hashes. The endpoint with the
 * highest score owns the key; each endpoint owns a share of keys in
 * proportion to its weight, and when one leaves only its keys move.
 *
 * @param key The request's key hash (unsigned 32-bit).
 * @param id The endpoint's identity hash (unsigned 32-bit).
 * @param weight The endpoint's weight (> 0).
 * @returns The score (higher wins).
 *
 * @example Usage
 * ```ts
 * import { rendezvousScore } from "./key_hash.ts";
 * import assert from "node:assert/strict";
 * assert.ok(rendezvousScore(7, 1, 1) > 0);
 * ```
 */
export function rendezvousScore(key: number, id: number, weight: number): number {
  const u = (mix((key ^ mix(id)) >>> 0) + 0.5) / 4294967296;
  return weight / -Math.log(u);
}

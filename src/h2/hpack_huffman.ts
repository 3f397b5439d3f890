/**
 * The HPACK Huffman code (RFC 7541 section 5.2 and Appendix B): a canonical
 * code over the 256 octets plus EOS, so the table is just the code lengths.
 * Decoding runs a byte-at-a-time state machine (256 states, one per inner
 * node of the code tree, times 256 input octets: 256 KiB), built once at
 * module load (about 3 ms) from a nibble machine; encoding packs codes into a
 * 32-bit accumulator.
 *
 * Strings here are byte strings: one char per octet (U+0000 to U+00FF).
 *
 * @module
 */

/**
 * The code length in bits of each symbol (octets 0 to 255, then EOS at 256),
 * one base-36 digit each, from RFC 7541 Appendix B. The code is canonical:
 * codes are assigned in order of (length, symbol).
 */
const LENGTH_DIGITS = "dnsssssssoussussssssssusssssssss6aacd68baa8b8666555666666678f6ca" +
  "d67777777777777777777777878djde6f56565666577666567655677777fbeds" +
  "kmkkmmmnmnnnnnonoomnonnnnlmnmnnomlkmmnnlnmmolmnnllmlnmnnkmmmnmmn" +
  "qqkjmnmpqqqrrqopjlqrrqrollqqsrrrkoklmllnmmppooqnqrqqrrrrrsrrrrrq" +
  "u";

/** The end-of-string symbol: 30 one bits, never valid inside a string. */
const EOS = 256;

/** Each symbol's code length in bits. */
const LENGTHS = new Uint8Array(257);
/** Each symbol's code, right-aligned. */
const CODES = new Uint32Array(257);

/** Decoding transitions, `state << 8 | octet`: see the `T_` fields. */
const TRANSITIONS = new Uint32Array(256 * 256);
/** Whether a string may end in a state: the bits since the last symbol are at most 7 ones. */
const ACCEPTS = new Uint8Array(256);
/** Bits 0-7 of a transition: the next state. */
const T_STATE = 0xff;
/** Bits 8-9: how many symbols the octet completes (0, 1 or 2). */
const T_COUNT_SHIFT = 8;
/** Bit 10: the octet completes EOS (the rest of the transition is then 0). */
const T_FAIL = 1 << 10;
/** Bits 16-23 and 24-31: the completed symbols. */
const T_SYM1_SHIFT = 16, T_SYM2_SHIFT = 24;

buildCode();
buildDecoder();

function buildCode(): void {
  for (let sym = 0; sym <= EOS; sym++) LENGTHS[sym] = parseInt(LENGTH_DIGITS[sym], 36);
  const order = Array.from({ length: EOS + 1 }, (_, sym) => sym)
    .sort((a, b) => LENGTHS[a] - LENGTHS[b] || a - b);
  let code = 0;
  for (let i = 0; i < order.length; i++) {
    if (i > 0) code = (code + 1) * 2 ** (LENGTHS[order[i]] - LENGTHS[order[i - 1]]);
    CODES[order[i]] = code;
  }
}

function buildDecoder(): void {
  // The code tree: inner nodes 0..255 (0 is the root); a child >= 0 is an
  // inner node, a child < 0 is the leaf of symbol -child - 1.
  const children = [new Int16Array(256), new Int16Array(256)];
  const depth = new Uint8Array(256), allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    let node = 0;
    for (let bit = LENGTHS[sym] - 1; bit >= 0; bit--) {
      const one = (CODES[sym] >>> bit) & 1;
      if (bit === 0) {
        children[one][node] = -sym - 1;
      } else {
        if (children[one][node] === 0) {
          depth[nodes] = depth[node] + 1;
          allOnes[nodes] = allOnes[node] & one;
          children[one][node] = nodes++;
        }
        node = children[one][node];
      }
    }
  }
  for (let node = 0; node < 256; node++) ACCEPTS[node] = allOnes[node] & (depth[node] <= 7 ? 1 : 0);
  // Walk the tree one nibble at a time (at most one symbol per nibble: codes
  // are 5 bits or more), then compose two nibbles per octet: far cheaper at
  // load than walking 8 bits for each of the 65536 transitions.
  const nibbles = new Int32Array(256 * 16); // next state | symbol + 1 << 8; -1: EOS
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state, emitted = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const child = children[(nibble >>> bit) & 1][node];
        if (child >= 0) {
          node = child;
        } else {
          emitted = -child; // symbol + 1
          node = 0;
        }
      }
      nibbles[(state << 4) | nibble] = emitted === EOS + 1 ? -1 : node | (emitted << 8);
    }
  }
  for (let state = 0; state < 256; state++) {
    for (let octet = 0; octet < 256; octet++) {
      const high = nibbles[(state << 4) | (octet >>> 4)];
      const low = high < 0 ? -1 : nibbles[((high & 0xff) << 4) | (octet & 15)];
      let entry = T_FAIL;
      if (low >= 0) {
        const first = high >>> 8, second = low >>> 8;
        entry = low & 0xff;
        if (first !== 0 && second !== 0) {
          entry |= (2 << T_COUNT_SHIFT) | ((first - 1) << T_SYM1_SHIFT) |
            ((second - 1) << T_SYM2_SHIFT);
        } else if (first !== 0 || second !== 0) {
          entry |= (1 << T_COUNT_SHIFT) | ((first + second - 1) << T_SYM1_SHIFT);
        }
      }
      TRANSITIONS[(state << 8) | octet] = entry >>> 0;
    }
  }
}

/**
 * What {@linkcode huffmanDecode} returns when the string holds EOS.
 *
 * @example Usage
 * ```ts
 * import { HUFFMAN_EOS, huffmanDecode } from "./hpack_huffman.ts";
 * huffmanDecode(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0, 4, []) === HUFFMAN_EOS; // true
 * ```
 */
export const HUFFMAN_EOS: number = -1;

/**
 * What {@linkcode huffmanDecode} returns when the string ends in padding
 * longer than 7 bits or not made of one bits.
 *
 * @example Usage
 * ```ts
 * import { HUFFMAN_BAD_PADDING, huffmanDecode } from "./hpack_huffman.ts";
 * huffmanDecode(new Uint8Array([0x00]), 0, 1, []) === HUFFMAN_BAD_PADDING; // true: "0" then 0 bits
 * ```
 */
export const HUFFMAN_BAD_PADDING: number = -2;

/**
 * Decodes the Huffman-coded string `src[start, end)` into octets.
 *
 * @example Decoding "no-cache" (RFC 7541 C.4.2)
 * ```ts
 * import { huffmanDecode } from "./hpack_huffman.ts";
 * const out: number[] = [];
 * const n = huffmanDecode(new Uint8Array([0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]), 0, 6, out);
 * String.fromCharCode(...out.slice(0, n)); // "no-cache"
 * ```
 *
 * @param src The buffer.
 * @param start The first coded octet.
 * @param end One past the last coded octet.
 * @param out Receives the octets from index 0 (it grows as needed).
 * @returns The number of octets written to `out`, or {@linkcode HUFFMAN_EOS}
 * or {@linkcode HUFFMAN_BAD_PADDING}.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: number[]): number {
  let state = 0, n = 0;
  for (let i = start; i < end; i++) {
    const t = TRANSITIONS[(state << 8) | src[i]];
    if ((t & T_FAIL) !== 0) return HUFFMAN_EOS;
    const count = (t >>> T_COUNT_SHIFT) & 3;
    if (count !== 0) {
      out[n++] = (t >>> T_SYM1_SHIFT) & 0xff;
      if (count === 2) out[n++] = t >>> T_SYM2_SHIFT;
    }
    state = t & T_STATE;
  }
  return ACCEPTS[state] === 1 ? n : HUFFMAN_BAD_PADDING;
}

/**
 * The length in octets of a byte string once Huffman-coded.
 *
 * @example Usage
 * ```ts
 * import { huffmanLength } from "./hpack_huffman.ts";
 * huffmanLength("www.example.com"); // 12
 * huffmanLength("\u20ac"); // -1: not a byte string
 * ```
 *
 * @param s The string.
 * @returns The coded length, or -1 when a char is above U+00FF.
 */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return -1;
    bits += LENGTHS[c];
  }
  return (bits + 7) >>> 3;
}

/**
 * Huffman-codes a byte string into `dst` at `pos`, padded with one bits.
 *
 * @example Encoding "no-cache" (RFC 7541 C.4.2)
 * ```ts
 * import { huffmanEncode } from "./hpack_huffman.ts";
 * const dst = new Uint8Array(8);
 * const end = huffmanEncode("no-cache", dst, 0);
 * dst.subarray(0, end); // a8 eb 10 64 9c bf
 * ```
 *
 * @param s The string (every char U+0000 to U+00FF).
 * @param dst The buffer, with room for {@linkcode huffmanLength} octets.
 * @param pos Where to write.
 * @returns One past the last octet written.
 */
export function huffmanEncode(s: string, dst: Uint8Array, pos: number): number {
  let acc = 0, bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    let code = CODES[c], length = LENGTHS[c];
    if (length > 24) {
      // Keep the accumulator within 31 bits: the high part first.
      acc = (acc << (length - 16)) | (code >>> 16);
      bits += length - 16;
      while (bits >= 8) dst[pos++] = acc >>> (bits -= 8);
      acc &= (1 << bits) - 1;
      code &= 0xffff;
      length = 16;
    }
    acc = (acc << length) | code;
    bits += length;
    while (bits >= 8) dst[pos++] = acc >>> (bits -= 8);
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) dst[pos++] = (acc << (8 - bits)) | (0xff >>> bits);
  return pos;
}

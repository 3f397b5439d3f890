/**
 * The HPACK Huffman code: codes spot-checked against RFC 7541 Appendix B,
 * every octet round trips, and random input either fails or re-encodes to
 * itself (the code is canonical and the padding rule leaves one encoding).
 */

import assert from "node:assert/strict";
import {
  HUFFMAN_BAD_PADDING,
  HUFFMAN_EOS,
  huffmanDecode,
  huffmanEncode,
  huffmanLength,
} from "../../src/h2/hpack_huffman.ts";
import { mulberry32 } from "../_helpers/random.ts";

function encode(s: string): Uint8Array {
  const dst = new Uint8Array(huffmanLength(s));
  assert.equal(huffmanEncode(s, dst, 0), dst.length);
  return dst;
}

function decode(bytes: Uint8Array): string | number {
  const out: number[] = [];
  const n = huffmanDecode(bytes, 0, bytes.length, out);
  return n < 0 ? n : String.fromCharCode(...out.slice(0, n));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("huffmanEncode: codes of RFC 7541 Appendix B, padded with ones", () => {
  const cases: [string, string][] = [
    ["0", "07"], // 00000 (5 bits)
    ["a", "1f"], // 00011 (5)
    ["\u0000", "ffc7"], // 1ff8 (13)
    ["\u00ff", "fffffbbf"], // 3ffffee (26)
    ["\n", "fffffff3"], // 3ffffffc (30): split across the accumulator
    ["\u0001\u0002", "ffffb1fffffc5f"], // 7fffd8 (23), fffffe2 (28)
    ["no-cache", "a8eb10649cbf"], // C.4.2
  ];
  for (const [s, hex] of cases) assert.equal(toHex(encode(s)), hex, JSON.stringify(s));
});

Deno.test("huffmanDecode: all 256 octets round trip, one at a time and together", () => {
  let all = "";
  for (let c = 0; c < 256; c++) {
    const s = String.fromCharCode(c);
    assert.equal(decode(encode(s)), s);
    all += s;
  }
  assert.equal(decode(encode(all)), all);
  assert.equal(decode(encode(all + all)), all + all); // other bit alignments
});

Deno.test("huffmanDecode: EOS and bad padding are told apart", () => {
  assert.equal(decode(Uint8Array.of(0xff, 0xff, 0xff, 0xfc)), HUFFMAN_EOS); // 30 ones, then 00
  assert.equal(decode(Uint8Array.of(0x1f, 0xff)), HUFFMAN_BAD_PADDING); // "a" + 11 ones
  assert.equal(decode(Uint8Array.of(0x18)), HUFFMAN_BAD_PADDING); // "a" + 000
  assert.equal(decode(Uint8Array.of(0xfe)), HUFFMAN_BAD_PADDING); // 7 bits of a code, a zero
  assert.equal(decode(Uint8Array.of()), "");
});

Deno.test("huffmanDecode: 3000 seeded random inputs fail or re-encode to themselves", () => {
  const random = mulberry32(5_2);
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(1 + Math.floor(random() * 12));
    // Mostly octets of short codes, so that many inputs are valid.
    for (let j = 0; j < bytes.length; j++) {
      bytes[j] = Math.floor(random() * (random() < 0.7 ? 0xc0 : 256));
    }
    const s = decode(bytes);
    if (typeof s === "number") continue;
    decoded++;
    assert.equal(toHex(encode(s)), toHex(bytes));
  }
  assert.ok(decoded > 500, `only ${decoded} valid inputs`);
});

Deno.test("huffmanLength: -1 for a char above U+00FF; never longer than 30 bits a char", () => {
  assert.equal(huffmanLength("\u0100"), -1);
  assert.equal(huffmanLength(""), 0);
  assert.equal(huffmanLength("\n".repeat(4)), 15); // 120 bits
});

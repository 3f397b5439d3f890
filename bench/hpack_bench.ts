/**
 * HPACK micro benchmark: decoding and encoding a typical 12-field browser
 * request, as the first request of a connection (literals, Huffman-coded,
 * inserted into the table) and as a repeat (indexed from the table).
 *
 * Run: `deno bench bench/hpack_bench.ts` (no permissions needed).
 *
 * @module
 */

import { HpackDecoder, HpackEncoder } from "../src/h2/hpack.ts";

/** A Chrome-like GET with a session cookie: 12 fields, about 560 octets as a list. */
const REQUEST = [
  ":method",
  "GET",
  ":scheme",
  "https",
  ":authority",
  "api.example.com",
  ":path",
  "/v1/buckets/photos/objects?list-type=2&prefix=2026%2F12",
  "user-agent",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "accept",
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  "accept-encoding",
  "gzip, deflate, br, zstd",
  "accept-language",
  "en-US,en;q=0.9,de;q=0.8",
  "cookie",
  "session=4f1c2a9e0b7d4c3aa1e5f6b7c8d9e0f1; theme=dark",
  "referer",
  "https://app.example.com/dashboard",
  "sec-fetch-mode",
  "navigate",
  "x-request-id",
  "7b3e9c1d-5a2f-4e8b-9c6d-1f0a2b3c4d5e",
];

/** The first block of a connection, and a repeat once the table holds the fields. */
const encoder = new HpackEncoder();
const FIRST = encoder.encode(REQUEST).slice();
const REPEAT = encoder.encode(REQUEST).slice();

const out: string[] = [];

/** A decoder whose table holds what REPEAT refers to. */
function primedDecoder(): HpackDecoder {
  const decoder = new HpackDecoder();
  decoder.decode(FIRST, []);
  return decoder;
}

const first = new HpackDecoder();
Deno.bench({
  name: `decode 12 fields, first request (${FIRST.length} octets, literals)`,
  group: "decode",
  baseline: true,
  fn() {
    out.length = 0;
    first.decode(FIRST, out, 65536);
  },
});

const repeat = primedDecoder();
Deno.bench({
  name: `decode 12 fields, repeat request (${REPEAT.length} octets, indexed)`,
  group: "decode",
  fn() {
    out.length = 0;
    repeat.decode(REPEAT, out, 65536);
  },
});

Deno.bench({
  name: "encode 12 fields, fresh encoder (literals, Huffman)",
  group: "encode",
  baseline: true,
  fn() {
    new HpackEncoder().encode(REQUEST);
  },
});

const warm = new HpackEncoder();
Deno.bench({
  name: "encode 12 fields, repeat (indexed)",
  group: "encode",
  fn() {
    warm.encode(REQUEST);
  },
});

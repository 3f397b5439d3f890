/**
 * HPACK: every example of RFC 7541 Appendix C through the decoder and, where
 * our indexing choices match the RFC's, byte for byte through the encoder;
 * seeded round trips; each malformed-block error; the list size limit; table
 * size updates; the indexing policy for sensitive and unique fields.
 */

import assert from "node:assert/strict";
import { HpackDecoder, HpackEncoder, HpackError } from "../../src/h2/hpack.ts";
import { mulberry32 } from "../_helpers/random.ts";

/** Bytes from hex with optional spaces and newlines, as the RFC prints them. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Step {
  block: string;
  fields: string[];
  /** The decoder's table size after the block, as the RFC states it. */
  tableSize: number;
}

const C3_FIELDS = [
  [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
  [
    ...[":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
    ...["cache-control", "no-cache"],
  ],
  [
    ...[":method", "GET", ":scheme", "https", ":path", "/index.html"],
    ...[":authority", "www.example.com", "custom-key", "custom-value"],
  ],
];

const C3: Step[] = [
  {
    block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    fields: C3_FIELDS[0],
    tableSize: 57,
  },
  { block: "8286 84be 5808 6e6f 2d63 6163 6865", fields: C3_FIELDS[1], tableSize: 110 },
  {
    block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    fields: C3_FIELDS[2],
    tableSize: 164,
  },
];

const C4: Step[] = [
  { block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", fields: C3_FIELDS[0], tableSize: 57 },
  { block: "8286 84be 5886 a8eb 1064 9cbf", fields: C3_FIELDS[1], tableSize: 110 },
  {
    block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    fields: C3_FIELDS[2],
    tableSize: 164,
  },
];

const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const SET_COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const C5_FIELDS = [
  [":status", "302", "cache-control", "private", "date", DATE1, "location", LOCATION],
  [":status", "307", "cache-control", "private", "date", DATE1, "location", LOCATION],
  [
    ...[":status", "200", "cache-control", "private", "date", DATE2, "location", LOCATION],
    ...["content-encoding", "gzip", "set-cookie", SET_COOKIE],
  ],
];

const C5: Step[] = [
  {
    block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
      2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
      6c65 2e63 6f6d`,
    fields: C5_FIELDS[0],
    tableSize: 222,
  },
  { block: "4803 3330 37c1 c0bf", fields: C5_FIELDS[1], tableSize: 222 },
  {
    block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
      54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
      5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
      3d31`,
    fields: C5_FIELDS[2],
    tableSize: 215,
  },
];

const C6: Step[] = [
  {
    block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
      2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
    fields: C5_FIELDS[0],
    tableSize: 222,
  },
  { block: "4883 640e ffc1 c0bf", fields: C5_FIELDS[1], tableSize: 222 },
  {
    block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
      77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
      9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    fields: C5_FIELDS[2],
    tableSize: 215,
  },
];

/** The RFC's third response indexes set-cookie (`77`); we never index it: `1f28`. */
function neverIndexedSetCookie(block: string): string {
  return toHex(hex(block)).replace(/77(38|ad)(666f6f3d|94e7821d)/, "1f28$1$2");
}

function listSize(fields: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < fields.length; i += 2) size += fields[i].length + fields[i + 1].length + 32;
  return size;
}

function decodeSeries(name: string, steps: Step[], tableSize: number): void {
  Deno.test(`HpackDecoder: RFC 7541 ${name}, each block, fields and table size`, () => {
    const decoder = new HpackDecoder(tableSize);
    for (const step of steps) {
      const out: string[] = [];
      assert.equal(decoder.decode(hex(step.block), out), listSize(step.fields));
      assert.deepEqual(out, step.fields);
      assert.equal(decoder.tableSize, step.tableSize);
    }
  });
}

decodeSeries("C.3 (requests, no Huffman)", C3, 4096);
decodeSeries("C.4 (requests, Huffman)", C4, 4096);
decodeSeries("C.5 (responses, no Huffman, 256-octet table)", C5, 256);
decodeSeries("C.6 (responses, Huffman, 256-octet table)", C6, 256);

Deno.test("HpackDecoder: RFC 7541 C.2.1-C.2.4, one representation each", () => {
  const cases: [string, string[], number][] = [
    [
      "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
      ["custom-key", "custom-header"],
      55,
    ],
    ["040c 2f73 616d 706c 652f 7061 7468", [":path", "/sample/path"], 0],
    ["1008 7061 7373 776f 7264 0673 6563 7265 74", ["password", "secret"], 0],
    ["82", [":method", "GET"], 0],
  ];
  for (const [block, fields, tableSize] of cases) {
    const decoder = new HpackDecoder();
    const out: string[] = [];
    decoder.decode(hex(block), out);
    assert.deepEqual(out, fields);
    assert.equal(decoder.tableSize, tableSize);
  }
});

function encodeSeries(name: string, steps: Step[], tableSize: number, huffman: boolean): void {
  Deno.test(`HpackEncoder: RFC 7541 ${name}, byte for byte`, () => {
    const encoder = new HpackEncoder(tableSize, { huffman });
    steps.forEach((step, i) => {
      const want = i === 2 && tableSize === 256
        ? neverIndexedSetCookie(step.block)
        : toHex(hex(step.block));
      assert.equal(toHex(encoder.encode(step.fields)), want, `block ${i + 1}`);
    });
  });
}

encodeSeries("C.3", C3, 4096, false);
encodeSeries("C.4", C4, 4096, true);
encodeSeries("C.5 (set-cookie never indexed)", C5, 256, false);
encodeSeries("C.6 (set-cookie never indexed)", C6, 256, true);

Deno.test("HpackEncoder: RFC 7541 C.2.1 and C.2.4 byte for byte", () => {
  const encoder = new HpackEncoder(4096, { huffman: false });
  assert.equal(
    toHex(encoder.encode(["custom-key", "custom-header"])),
    "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
  );
  assert.equal(toHex(encoder.encode([":method", "GET"])), "82");
});

Deno.test("HpackEncoder: the C.5.3 set-cookie variant still decodes to the RFC's list", () => {
  const decoder = new HpackDecoder(256);
  for (const step of C5) {
    const out: string[] = [];
    decoder.decode(hex(step === C5[2] ? neverIndexedSetCookie(step.block) : step.block), out);
    assert.deepEqual(out, step.fields);
  }
});

Deno.test("HpackDecoder: every malformed block is an HpackError saying what and where", () => {
  const cases: [string, string, RegExp][] = [
    ["index 0", "80", /index 0 at octet 0/],
    ["index past the tables", "be", /index 62 at octet 0.*1 to 61/],
    ["literal name index past the tables", "7e00", /index 62 at octet 0/],
    ["integer above 2^31 - 1", "ff ffffffff0f", /exceeds 2\^31 - 1/],
    ["runaway continuation octets", "ff 8080808080 00", /past 5 continuation octets/],
    ["block ends inside an integer", "ff", /ends inside it/],
    ["block ends before a string", "40", /ends before it/],
    ["string past the block", "4005 61", /5-octet string at octet 1: .* ends 4 octets/],
    ["Huffman EOS", "4084 ffffffff 00", /holds EOS/],
    ["Huffman padding longer than 7 bits", "4082 1fff 00", /padding is longer than 7 bits/],
    ["Huffman padding with zeros", "4081 18 00", /padding .* not all ones/],
    ["size update above our limit", "3fe21f", /4097 octets .* limit we advertised is 4096/],
    ["size update after a field", "8220", /octet 1 .* before the first field/],
    // h2spec's hpack/5.2 cases: "x-test: test" with a bad Huffman value.
    ["h2spec 5.2/1", "0085f2b24a84ff8449509fff", /octet 7: .* longer than 7 bits/],
    ["h2spec 5.2/2", "0085f2b24a84ff83495090", /octet 7: .* not all ones/],
    // (h2spec's EOS case: its name octets shift the value, whose length runs away first.)
    ["h2spec 5.2/3", "0085f2b24a87fffffffd25427f", /622462-octet string at octet 7/],
  ];
  for (const [what, block, message] of cases) {
    assert.throws(
      () => new HpackDecoder().decode(hex(block), []),
      (e) => e instanceof HpackError && message.test(e.message),
      what,
    );
  }
});

Deno.test("HpackDecoder: valid edge cases around those errors decode", () => {
  const decoder = new HpackDecoder();
  const out: string[] = [];
  // Two size updates at the block start (0, then 4096), then a field.
  decoder.decode(hex("20 3fe11f 82"), out);
  assert.deepEqual(out, [":method", "GET"]);
  assert.equal(decoder.tableMaxSize, 4096);
  // "a" in Huffman (00011) padded with exactly 3 ones; an empty Huffman string.
  out.length = 0;
  decoder.decode(hex("0081 1f 80"), out);
  assert.deepEqual(out, ["a", ""]);
  // The largest integer: index 2^31 - 1 is out of range, but read whole.
  assert.throws(
    () => decoder.decode(hex("ff 80ffffff07"), []),
    /index 2147483647/,
  );
});

Deno.test("HpackDecoder: names come out as received, uppercase included", () => {
  const out: string[] = [];
  new HpackDecoder().decode(hex("0007 582d5570706572 0131"), out); // "X-Upper: 1"
  assert.deepEqual(out, ["X-Upper", "1"]);
});

Deno.test("HpackDecoder: past maxListSize it stops appending but keeps the table in step", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const fields = [":method", "GET", "x-first", "1", "x-indexed", "kept in the table"];
  fields.push("content-length", "12", "authorization", "secret"); // not indexed, never indexed
  const block = encoder.encode(fields);
  const out: string[] = [];
  const limit = listSize(fields.slice(0, 4));
  const size = decoder.decode(block, out, limit);
  assert.deepEqual(out, fields.slice(0, 4));
  assert.ok(size > limit, `${size} > ${limit}`);
  // The next block refers to the entry inserted past the limit.
  const next = encoder.encode(["x-indexed", "kept in the table"]);
  assert.equal(next.length, 1);
  out.length = 0;
  assert.equal(decoder.decode(next, out, limit), listSize(["x-indexed", "kept in the table"]));
  assert.deepEqual(out, ["x-indexed", "kept in the table"]);
});

Deno.test("HpackDecoder: past maxListSize a bad Huffman string is still an error", () => {
  const decoder = new HpackDecoder();
  // ":method: GET", then "x-a" (Huffman) without indexing, whose value pads with zeros.
  const block = hex("82 0083 f2b0ff 8118");
  assert.throws(() => decoder.decode(block, [], 10), /octet 6: its padding/);
  const out: string[] = [];
  assert.throws(() => new HpackDecoder().decode(block, out), /octet 6: its padding/);
});

Deno.test("HpackEncoder: a table size update starts the next block, smallest first", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const decode = (block: Uint8Array) => {
    const out: string[] = [];
    decoder.decode(block, out);
    return out;
  };
  const fields = ["x-a", "1", "x-b", "2"];
  decode(encoder.encode(fields));
  assert.equal(decoder.tableSize, 72);
  encoder.setMaxTableSize(40); // room for one entry: "x-b" evicts "x-a"
  let block = encoder.encode(fields);
  assert.equal(toHex(block.subarray(0, 2)), "3f09"); // 31 + 9 = 40
  assert.deepEqual(decode(block), fields);
  assert.equal(decoder.tableMaxSize, 40);
  assert.equal(decoder.tableSize, 36);
  encoder.setMaxTableSize(0);
  encoder.setMaxTableSize(4096);
  block = encoder.encode(fields);
  assert.equal(toHex(block.subarray(0, 4)), "203fe11f"); // 0, then 4096
  assert.deepEqual(decode(block), fields);
  assert.equal(decoder.tableSize, 72);
  // A peer allowing more than our cap (4096) changes nothing: no update.
  encoder.setMaxTableSize(65536);
  assert.equal(toHex(encoder.encode([":method", "GET"])), "82");
  // The same size as now: no update either.
  encoder.setMaxTableSize(4096);
  assert.equal(toHex(encoder.encode([":method", "GET"])), "82");
});

Deno.test("HpackEncoder: credentials never indexed, unique fields not indexed, repeats indexed", () => {
  const encoder = new HpackEncoder(4096, { huffman: false });
  const first = (block: Uint8Array) => toHex(block.subarray(0, 2));
  for (let i = 0; i < 2; i++) {
    assert.equal(first(encoder.encode(["authorization", "Basic x"])), "1f08"); // 23, never
    assert.equal(first(encoder.encode(["proxy-authorization", "Basic x"])), "1f22"); // 49
    assert.equal(first(encoder.encode(["set-cookie", "a=1"])), "1f28"); // 55
    assert.equal(first(encoder.encode(["cookie", "short=1"])), "1f11"); // 32
    assert.equal(first(encoder.encode(["content-length", "12"])), "0f0d"); // 28, without
  }
  assert.equal(encoder.tableSize, 0);
  const longCookie = "session=0123456789abcdef";
  assert.equal(first(encoder.encode(["cookie", longCookie])), "6018"); // 32 with indexing
  assert.equal(toHex(encoder.encode(["cookie", longCookie])), "be");
  assert.equal(encoder.tableSize, 6 + longCookie.length + 32);
  // An entry larger than the table is sent without indexing.
  const small = new HpackEncoder(64, { huffman: false });
  assert.equal(first(small.encode(["x-big", "v".repeat(40)])), "0005");
  assert.equal(small.tableSize, 0);
});

/** A seeded random header list: names and values repeat, some octets above 0x7f. */
function randomFields(random: () => number): string[] {
  const names = [":method", ":path", ":authority", "accept", "user-agent", "cookie", "x-trace"];
  names.push("authorization", "content-length", "set-cookie", "x-custom-header-name");
  const values = ["GET", "/", "/index.html", "example.com", "gzip, deflate", "*/*", ""];
  const fields: string[] = [];
  const count = Math.floor(random() * 20);
  for (let i = 0; i < count; i++) {
    fields.push(names[Math.floor(random() * names.length)]);
    if (random() < 0.5) {
      fields.push(values[Math.floor(random() * values.length)]);
      continue;
    }
    const length = Math.floor(random() ** 3 * 300);
    let value = "";
    for (let j = 0; j < length; j++) {
      value += String.fromCharCode(
        random() < 0.9 ? 32 + Math.floor(random() * 95) : Math.floor(random() * 256),
      );
    }
    fields.push(value);
  }
  return fields;
}

Deno.test("HpackEncoder -> HpackDecoder: 300 seeded random lists round trip, tables in step", () => {
  const random = mulberry32(7541);
  for (const tableSize of [4096, 256, 0]) {
    for (const huffman of [true, false]) {
      const encoder = new HpackEncoder(4096, { huffman });
      const decoder = new HpackDecoder(4096);
      encoder.setMaxTableSize(tableSize);
      for (let i = 0; i < 50; i++) {
        if (random() < 0.05) encoder.setMaxTableSize(Math.floor(random() * 4097));
        const fields = randomFields(random);
        const out: string[] = [];
        const size = decoder.decode(encoder.encode(fields), out);
        assert.deepEqual(out, fields, `table ${tableSize}, list ${i}`);
        assert.equal(size, listSize(fields));
        assert.equal(decoder.tableSize, encoder.tableSize);
        assert.equal(decoder.tableMaxSize, encoder.tableMaxSize);
      }
    }
  }
});

Deno.test("HpackEncoder: a char above U+00FF goes out as UTF-8 octets, table sizes agree", () => {
  const encoder = new HpackEncoder();
  const decoder = new HpackDecoder();
  const octets = (s: string) => String.fromCharCode(...new TextEncoder().encode(s));
  for (let i = 0; i < 2; i++) {
    const out: string[] = [];
    decoder.decode(encoder.encode(["x-price", "10 \u20ac", "x-\u4e2d", "\u00e9t\u00e9"]), out);
    // Latin-1 chars are octets already: sent as they are.
    assert.deepEqual(out, ["x-price", octets("10 \u20ac"), octets("x-\u4e2d"), "\u00e9t\u00e9"]);
    assert.equal(decoder.tableSize, encoder.tableSize);
  }
  // A new value for that dynamic name: its size counts the name in octets too.
  decoder.decode(encoder.encode(["x-\u4e2d", "2"]), []);
  assert.equal(decoder.tableSize, encoder.tableSize);
});

Deno.test("HpackEncoder: the buffer grows for a large field; the view is valid until the next call", () => {
  for (const huffman of [true, false]) {
    const encoder = new HpackEncoder(4096, { huffman });
    const value = "v".repeat(100_000) + "\u00ff";
    const block = encoder.encode(["x-large", value]);
    const out: string[] = [];
    new HpackDecoder().decode(block, out);
    assert.deepEqual(out, ["x-large", value]);
    const again = encoder.encode([":method", "GET"]);
    assert.equal(again.buffer, block.buffer);
    assert.equal(block[0], 0x82); // overwritten by the next call, as documented
  }
});

/**
 * Seeded property tests of the HTTP/1.1 codec: whatever bytes arrive, the
 * parsers either succeed with sane offsets or throw HttpParseError with an
 * expected status, and chunked framing round-trips.
 */
import assert from "node:assert/strict";
import { ChunkedParser } from "../../src/proxy/http/chunked.ts";
import { HttpParseError } from "../../src/proxy/http/errors.ts";
import {
  F_KIND,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  findHeadEnd,
  H_NAMED_HOP,
  type HeadLimits,
  MessageHead,
  parseRequestHead,
  parseResponseHead,
} from "../../src/proxy/http/head.ts";
import {
  ByteWriter,
  type ResponseFraming,
  writeClientResponseHead,
  writeUpstreamRequestHead,
} from "../../src/proxy/http/writer.ts";
import { mulberry32 } from "../_helpers/random.ts";

const ITERATIONS = 3000;
const SEED = 0x5eed;

class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const te = new TextEncoder();
const LIMITS: HeadLimits = { maxHeadBytes: 2048, maxHeaders: 12, maxTargetBytes: 128 };
const WIDE: HeadLimits = { maxHeadBytes: 1 << 20, maxHeaders: 200, maxTargetBytes: 1 << 20 };
const REQUEST_STATUSES = new Set([400, 405, 414, 431, 501, 505]);
const INFO = { clientIp: te.encode("10.0.0.7"), tls: false, basePath: new Uint8Array(0) };

/** Bytes that matter to the grammar, plus some that do not. */
const INTERESTING = [
  13,
  10,
  13,
  10,
  32,
  9,
  0,
  0x7f,
  0x80,
  0xe9,
  0xff,
  0x01,
  0x0b,
  58,
  44,
  59,
  34,
  92,
  47,
  63,
  42,
  64,
  91,
  93,
  ...latin1("GETHTP/1.0 chunkedContent-LengthTransfer-Encoding0123456789abcdefXYZ"),
];

const VALID_REQUESTS = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "\r\nGET /x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
  "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
  "PUT /o HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\nExpect: 100-continue\r\n\r\n",
  "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, X-Hop\r\nUpgrade: websocket\r\nX-Hop: 1\r\n\r\n",
  "GET http://user.example:81/p?q HTTP/1.1\r\nHost: other\r\nX-Real-IP: 9.9.9.9\r\n\r\n",
  "GET http://h.example?q HTTP/1.0\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
  "GET / HTTP/1.0\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n\r\n",
  "DELETE /caf\xe9 HTTP/1.1\r\nhost: [::1]:9000\r\nX-Forwarded-For: a\r\nx-forwarded-for: b\r\nX-Note: \xe9t\xe9\r\n\r\n",
];

const VALID_RESPONSES = [
  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
  "HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: "x"\r\n\r\n',
  "HTTP/1.1 503 Tr\xe8s occup\xe9\r\nRetry-After: 1\r\nKeep-Alive: timeout=5\r\n\r\n",
];

function soup(g: Gen): Uint8Array {
  const n = g.int(160);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = g.chance(0.5) ? g.pick(INTERESTING) : g.int(256);
  return out;
}

function mutate(g: Gen, input: Uint8Array): Uint8Array {
  const bytes = Array.from(input);
  const edits = 1 + g.int(4);
  for (let e = 0; e < edits; e++) {
    const at = g.int(bytes.length + 1);
    switch (g.int(6)) {
      case 0: // flip a bit
        if (at < bytes.length) bytes[at] ^= 1 << g.int(8);
        break;
      case 1: // insert an interesting byte
        bytes.splice(at, 0, g.pick(INTERESTING));
        break;
      case 2: // delete a byte
        bytes.splice(at, 1);
        break;
      case 3: // replace with an interesting byte
        if (at < bytes.length) bytes[at] = g.pick(INTERESTING);
        break;
      case 4: { // duplicate a slice
        const len = g.int(12);
        bytes.splice(at, 0, ...bytes.slice(at, at + len));
        break;
      }
      default: // truncate
        bytes.length = Math.min(bytes.length, at);
    }
  }
  return Uint8Array.from(bytes);
}

/** A random input: soup, a mutated valid head, or a truncated one; sometimes after a prefix. */
function input(g: Gen, valid: readonly string[]): { buf: Uint8Array; start: number } {
  let body: Uint8Array;
  const kind = g.int(4);
  if (kind === 0) body = soup(g);
  else if (kind === 3) {
    const v = latin1(g.pick(valid));
    body = v.subarray(0, g.int(v.length + 1));
  } else body = mutate(g, latin1(g.pick(valid)));
  const start = g.chance(0.3) ? g.int(8) : 0;
  const buf = new Uint8Array(start + body.length + (g.chance(0.5) ? g.int(8) : 0));
  for (let i = 0; i < start; i++) buf[i] = g.pick(INTERESTING);
  buf.set(body, start);
  for (let i = start + body.length; i < buf.length; i++) buf[i] = g.pick(INTERESTING);
  return { buf, start };
}

function checkFindHeadEnd(g: Gen, buf: Uint8Array, start: number): number {
  const end = buf.length;
  const whole = findHeadEnd(buf, start, start, end);
  assert.ok(whole === -1 || (whole > start && whole <= end), `findHeadEnd gave ${whole}`);
  // Resuming after any split finds the same end.
  const cut = start + g.int(end - start + 1);
  const first = findHeadEnd(buf, start, start, cut);
  if (first >= 0) assert.equal(first, whole);
  else assert.equal(findHeadEnd(buf, start, cut, end), whole);
  return whole;
}

function checkOffsets(head: MessageHead, start: number, end: number, maxHeaders: number): void {
  assert.ok(head.startLineEnd >= start && head.startLineEnd + 2 <= end);
  assert.ok(head.headerCount >= 0 && head.headerCount <= maxHeaders);
  assert.equal(head.end, end);
  let prev = head.startLineEnd + 2;
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE, f = head.fields;
    assert.ok(f[o + F_NAME] >= prev, "fields in order");
    assert.ok(f[o + F_NAME] < f[o + F_NAME_END]);
    assert.ok(f[o + F_NAME_END] < f[o + F_VALUE]);
    assert.ok(f[o + F_VALUE] <= f[o + F_VALUE_END]);
    assert.ok(f[o + F_VALUE_END] + 2 < end);
    assert.ok(f[o + F_KIND] >= 0 && f[o + F_KIND] <= H_NAMED_HOP);
    prev = f[o + F_VALUE_END] + 2;
  }
  assert.ok(prev + 2 === end, "the empty line ends the head");
  assert.ok(head.contentLength >= -1 && Number.isSafeInteger(head.contentLength));
  if (head.chunked) assert.equal(head.contentLength, -1);
}

function tryRequest(buf: Uint8Array, start: number, end: number, head: MessageHead): boolean {
  try {
    parseRequestHead({ buf, start }, end, head, LIMITS);
    return true;
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    assert.ok(REQUEST_STATUSES.has(e.status), `unexpected status ${e.status}: ${e.message}`);
    return false;
  }
}

function tryResponse(buf: Uint8Array, start: number, end: number, head: MessageHead): boolean {
  try {
    parseResponseHead({ buf, start }, end, head, 12);
    return true;
  } catch (e) {
    if (!(e instanceof HttpParseError)) throw e;
    assert.equal(e.status, 502, e.message);
    return false;
  }
}

Deno.test("property: request heads parse or fail with a request status", () => {
  const g = new Gen(SEED);
  const head = new MessageHead(LIMITS.maxHeaders);
  const again = new MessageHead(WIDE.maxHeaders);
  const w = new ByteWriter(64);
  let accepted = 0;
  for (let n = 0; n < ITERATIONS; n++) {
    const { buf, start } = input(g, VALID_REQUESTS);
    const end = checkFindHeadEnd(g, buf, start);
    // Any end at all must not break the parser; success means it was the head's end.
    const anyEnd = start + g.int(buf.length - start + 1);
    if (tryRequest(buf, start, anyEnd, head)) {
      assert.equal(findHeadEnd(buf, start, start, anyEnd), anyEnd);
    }
    if (end < 0 || !tryRequest(buf, start, end, head)) continue;
    accepted++;
    checkOffsets(head, start, end, LIMITS.maxHeaders);
    assert.ok(head.methodStart >= start && head.methodStart < head.methodEnd);
    assert.equal(head.targetStart, head.methodEnd + 1);
    assert.ok(head.targetStart < head.targetEnd && head.targetEnd < head.startLineEnd);
    assert.ok(head.pathStart >= head.targetStart && head.pathStart <= head.targetEnd);
    if (head.authorityStart >= 0) {
      assert.ok(head.authorityStart > head.targetStart);
      assert.ok(head.authorityStart < head.authorityEnd && head.authorityEnd === head.pathStart);
    }
    // What goes upstream is itself a valid head with the same framing.
    w.pos = 0;
    writeUpstreamRequestHead(w, buf, head, {
      ...INFO,
      basePath: g.chance(0.5) ? te.encode("/base") : new Uint8Array(0),
    });
    const out = w.view().slice();
    assert.equal(findHeadEnd(out, 0, 0, out.length), out.length);
    parseRequestHead({ buf: out, start: 0 }, out.length, again, WIDE);
    assert.equal(again.minorVersion, 1);
    assert.equal(again.contentLength, head.contentLength);
    assert.equal(again.chunked, head.chunked);
    assert.equal(again.upgrade, head.upgrade);
    assert.equal(again.teTrailers, head.teTrailers);
    assert.equal(again.connectionClose, false);
  }
  assert.ok(accepted > ITERATIONS / 20, `only ${accepted} inputs were valid`);
});

Deno.test("property: response heads parse or fail with 502", () => {
  const g = new Gen(SEED + 1);
  const head = new MessageHead(12);
  const again = new MessageHead(100);
  const w = new ByteWriter(64);
  const framings: ResponseFraming[] = ["none", "length", "chunked", "dechunk", "close"];
  const connections = ["keep-alive", "close", "upgrade", "none"] as const;
  let accepted = 0;
  for (let n = 0; n < ITERATIONS; n++) {
    const { buf, start } = input(g, VALID_RESPONSES);
    const end = checkFindHeadEnd(g, buf, start);
    const anyEnd = start + g.int(buf.length - start + 1);
    if (tryResponse(buf, start, anyEnd, head)) {
      assert.equal(findHeadEnd(buf, start, start, anyEnd), anyEnd);
    }
    if (end < 0 || !tryResponse(buf, start, end, head)) continue;
    accepted++;
    checkOffsets(head, start, end, 12);
    assert.ok(head.status >= 100 && head.status <= 599);
    assert.ok(head.statusStart > start && head.statusStart + 3 <= head.startLineEnd);
    let framing = g.pick(framings);
    if (framing === "length" && head.contentLength < 0) framing = "close";
    w.pos = 0;
    writeClientResponseHead(w, buf, head, {
      framing,
      connection: g.pick(connections),
      extra: null,
    });
    const out = w.view().slice();
    assert.equal(findHeadEnd(out, 0, 0, out.length), out.length);
    parseResponseHead({ buf: out, start: 0 }, out.length, again, 100);
    assert.equal(again.status, head.status);
    if (framing === "length") assert.equal(again.contentLength, head.contentLength);
    if (framing === "chunked") assert.equal(again.chunked, true);
    if (framing === "close" || framing === "dechunk") {
      assert.equal(again.chunked || again.contentLength >= 0, false);
    }
  }
  assert.ok(accepted > ITERATIONS / 20, `only ${accepted} inputs were valid`);
});

const CHUNK_BYTES = Array.from(latin1('0123456789abcdefABCDEFxX;= \t\r\n\r\n"\\:,gz'));

function feedAll(p: ChunkedParser, buf: Uint8Array, g: Gen): number {
  let i = 0;
  while (i < buf.length && !p.done) {
    const stop = Math.min(buf.length, i + 1 + g.int(16));
    const n = p.feed(buf, i, stop);
    assert.ok(n >= 0 && n <= stop - i);
    if (n < stop - i) assert.ok(p.done, "feed stops early only at the end of the body");
    i += n;
  }
  return i;
}

Deno.test("property: ChunkedParser.feed on random bytes only throws HttpParseError", () => {
  const g = new Gen(SEED + 2);
  const p = new ChunkedParser(400);
  for (let n = 0; n < ITERATIONS; n++) {
    const len = g.int(120);
    const buf = new Uint8Array(len);
    for (let i = 0; i < len; i++) buf[i] = g.chance(0.8) ? g.pick(CHUNK_BYTES) : g.int(256);
    p.reset();
    try {
      const used = feedAll(p, buf, g);
      assert.ok(used <= len);
      if (p.done) assert.equal(p.feed(buf, used, len), 0);
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
      assert.equal(e.status, 400);
    }
  }
});

function hex(g: Gen, n: number): string {
  let s = n.toString(16);
  if (g.chance(0.3)) s = s.toUpperCase();
  if (g.chance(0.2)) s = "0".repeat(1 + g.int(3)) + s;
  return s;
}

function extension(g: Gen): string {
  if (g.chance(0.6)) return "";
  const bws = () => g.pick(["", " ", "\t", " \t"]);
  return g.pick([
    `${bws()};${bws()}a`,
    `;name=value`,
    `${bws()};x="q;uo\\"ted, \xe9"`,
    `;a=1;b="2"`,
  ]);
}

/** Chunks `body` at random sizes; returns the encoding. */
function encodeChunked(g: Gen, body: Uint8Array): Uint8Array {
  let s = "";
  let i = 0;
  while (i < body.length) {
    const size = Math.min(body.length - i, 1 + g.int(g.chance(0.2) ? 600 : 40));
    s += `${hex(g, size)}${extension(g)}\r\n${
      String.fromCharCode(...body.subarray(i, i + size))
    }\r\n`;
    i += size;
  }
  s += `${g.chance(0.2) ? "000" : "0"}${extension(g)}\r\n`;
  const trailers = g.int(3);
  for (let t = 0; t < trailers; t++) s += g.pick(["X-Sum: abc\r\n", "x-e:\r\n", "T: a \t b\r\n"]);
  return latin1(s + "\r\n");
}

Deno.test("property: chunked round-trip in random splits", () => {
  const g = new Gen(SEED + 3);
  const p = new ChunkedParser(502);
  for (let n = 0; n < ITERATIONS; n++) {
    const body = new Uint8Array(g.int(g.chance(0.1) ? 3000 : 200));
    for (let i = 0; i < body.length; i++) body[i] = g.int(256);
    const encoded = encodeChunked(g, body);
    const after = g.chance(0.5) ? latin1("GET / HTTP/1.1\r\n") : new Uint8Array(0);
    const buf = new Uint8Array(encoded.length + after.length);
    buf.set(encoded);
    buf.set(after, encoded.length);

    // feed: consumes exactly the encoding and reports done
    p.reset();
    assert.equal(feedAll(p, buf, g), encoded.length);
    assert.ok(p.done);

    // feedFraming + dataLeft + skipData: yields the body
    p.reset();
    const decoded: number[] = [];
    let i = 0, end = 0;
    while (!p.done) {
      assert.ok(i < buf.length, "body ended early");
      end = Math.min(buf.length, Math.max(end, i) + 1 + g.int(32));
      while (i < end && !p.done) {
        i += p.feedFraming(buf, i, end);
        const take = Math.min(p.dataLeft, end - i);
        if (take > 0) {
          for (let k = i; k < i + take; k++) decoded.push(buf[k]);
          p.skipData(take);
          i += take;
        }
      }
    }
    assert.equal(i, encoded.length);
    assert.deepEqual(Uint8Array.from(decoded), body);
  }
});

Deno.test("property: mutated chunked bodies never overrun", () => {
  const g = new Gen(SEED + 4);
  const p = new ChunkedParser(400);
  for (let n = 0; n < ITERATIONS; n++) {
    const body = new Uint8Array(g.int(100)).map(() => g.int(256));
    const buf = mutate(g, encodeChunked(g, body));
    p.reset();
    try {
      const used = feedAll(p, buf, g);
      assert.ok(used <= buf.length);
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
    }
  }
});

Deno.test("ChunkedParser: sizes, extensions and trailers", () => {
  const run = (s: string) => {
    const p = new ChunkedParser(400);
    const b = latin1(s);
    try {
      const n = p.feed(b, 0, b.length);
      return p.done ? n : -1;
    } catch (e) {
      if (e instanceof HttpParseError) return e.status;
      throw e;
    }
  };
  const cases: [string, number][] = [
    ["0\r\n\r\n", 5],
    ["5\r\nhello\r\n0\r\n\r\n", 15],
    ['5;a=b;c="d;e"\r\nhello\r\n0\r\n\r\n', 27],
    ["5 ;a\r\nhello\r\n0\r\n\r\n", 18],
    ["5 \r\nhello\r\n0\r\n\r\n", 16],
    ["0\r\nX-Sum: 1\r\nY:\r\n\r\n", 19],
    ["ffffffffffff\r\n", -1], // 12 digits: fine, waiting for data
    ["1000000000000\r\n", 400], // 13 digits: too large
    ["5 5\r\nhello\r\n0\r\n\r\n", 400],
    ["0x5\r\nhello\r\n0\r\n\r\n", 400],
    ["-5\r\n", 400],
    [" 5\r\n", 400],
    ["\r\n", 400],
    ["5\nhello\r\n0\r\n\r\n", 400], // bare LF after the size
    ["5;a\nhello\r\n", 400], // bare LF in an extension
    ["5;a\x00\r\n", 400],
    ["5\r\nhelloX\r\n", 400], // data longer than the size
    ["5\r\nhello\n0\r\n\r\n", 400],
    ["0\r\nX-Sum : 1\r\n\r\n", 400], // whitespace before the colon
    ["0\r\n X: 1\r\n\r\n", 400], // obs-fold
    ["0\r\nX: a\nb\r\n\r\n", 400],
    ["0\r\nX: a\x7f\r\n\r\n", 400],
    ["0\r\n\n", 400],
    [`5;${"a".repeat(5000)}\r\n`, 400], // extension too long
  ];
  for (const [s, expected] of cases) assert.equal(run(s), expected, JSON.stringify(s));
});

Deno.test("ChunkedParser: skipData refuses more than is due", () => {
  const p = new ChunkedParser(502);
  const b = latin1("3\r\nabc\r\n0\r\n\r\n");
  assert.equal(p.feedFraming(b, 0, b.length), 3);
  assert.equal(p.dataLeft, 3);
  assert.throws(() => p.skipData(4), RangeError);
  p.skipData(3);
  assert.equal(p.dataLeft, 0);
  assert.equal(p.feedFraming(b, 6, b.length), 7);
  assert.ok(p.done);
  assert.equal(p.dataLeft, 0);
});

Deno.test("property: header kinds survive the writer only where allowed", () => {
  // The upstream head never carries a hop-by-hop header of the client's.
  const g = new Gen(SEED + 5);
  const head = new MessageHead(LIMITS.maxHeaders);
  const w = new ByteWriter(64);
  const hop = /^(connection|keep-alive|proxy-connection|trailer|x-hop):/im;
  for (let n = 0; n < 200; n++) {
    const raw = latin1(g.pick(VALID_REQUESTS));
    parseRequestHead({ buf: raw, start: 0 }, raw.length, head, LIMITS);
    w.pos = 0;
    writeUpstreamRequestHead(w, raw, head, INFO);
    const text = String.fromCharCode(...w.view());
    assert.equal(hop.test(text.replace(/^Connection: Upgrade\r$/m, "")), false, text);
    assert.equal(text.match(/^x-forwarded-for:/gim)?.length, 1);
    for (let h = 0; h < head.headerCount; h++) {
      assert.ok(head.fields[h * FIELD_STRIDE + F_KIND] <= H_NAMED_HOP);
    }
  }
});

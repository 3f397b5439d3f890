import assert from "node:assert/strict";
import { HttpParseError } from "../../src/proxy/http/errors.ts";
import {
  F_KIND,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  findHeadEnd,
  H_CONNECTION,
  H_HOST,
  H_NAMED_HOP,
  H_OTHER,
  H_XFF,
  type HeadLimits,
  MessageHead,
  parseRequestHead,
  parseResponseHead,
  responseHasNoBody,
} from "../../src/proxy/http/head.ts";

const LIMITS: HeadLimits = { maxHeadBytes: 64 * 1024, maxHeaders: 100, maxTargetBytes: 8192 };
const SMALL: HeadLimits = { maxHeadBytes: 256, maxHeaders: 4, maxTargetBytes: 32 };

/** One byte per char, so `\x80`..`\xff` stay single bytes (obs-text). */
function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function text(buf: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...buf.subarray(start, end));
}

/** findHeadEnd + parseRequestHead: the head, or the status of the HttpParseError. */
function request(raw: string, limits = LIMITS, capacity = 100): MessageHead | number {
  const buf = latin1(raw);
  const end = findHeadEnd(buf, 0, 0, buf.length);
  assert.ok(end > 0, `head of ${JSON.stringify(raw)} should be complete`);
  const head = new MessageHead(capacity);
  try {
    parseRequestHead({ buf, start: 0 }, end, head, limits);
    return head;
  } catch (e) {
    if (e instanceof HttpParseError) return e.status;
    throw e;
  }
}

function response(raw: string, maxHeaders = 100): MessageHead | number {
  const buf = latin1(raw);
  const end = findHeadEnd(buf, 0, 0, buf.length);
  assert.ok(end > 0, `head of ${JSON.stringify(raw)} should be complete`);
  const head = new MessageHead(100);
  try {
    parseResponseHead({ buf, start: 0 }, end, head, maxHeaders);
    return head;
  } catch (e) {
    if (e instanceof HttpParseError) return e.status;
    throw e;
  }
}

function ok(raw: string, limits = LIMITS): MessageHead {
  const r = request(raw, limits);
  assert.ok(r instanceof MessageHead, `${JSON.stringify(raw)} was rejected with ${r}`);
  return r;
}

function okResponse(raw: string): MessageHead {
  const r = response(raw);
  assert.ok(r instanceof MessageHead, `${JSON.stringify(raw)} was rejected with ${r}`);
  return r;
}

interface Row {
  readonly name: string;
  readonly raw: string;
  readonly expected: number | "ok";
  readonly limits?: HeadLimits;
}

const H = "Host: example.com\r\n";
const get = (headers: string, line = "GET / HTTP/1.1") => `${line}\r\n${headers}\r\n`;
const post = (headers: string) => `POST /up HTTP/1.1\r\n${H}${headers}\r\n`;

const REQUESTS: readonly Row[] = [
  // start line
  { name: "simple GET", raw: get(H), expected: "ok" },
  { name: "one leading empty line is ignored", raw: "\r\n" + get(H), expected: "ok" },
  { name: "two leading empty lines", raw: "\r\n\r\n" + get(H), expected: 400 },
  { name: "leading bare LF", raw: "\n" + get(H), expected: 400 },
  { name: "lowercase method is a token", raw: get(H, "get / HTTP/1.1"), expected: "ok" },
  { name: "extension method", raw: get(H, "PURGE /x HTTP/1.1"), expected: "ok" },
  { name: "method with a bad byte", raw: get(H, "G@T / HTTP/1.1"), expected: 400 },
  { name: "method with obs-text", raw: get(H, "G\xe9T / HTTP/1.1"), expected: 400 },
  { name: "no method", raw: get(H, " / HTTP/1.1"), expected: 400 },
  { name: "two spaces after the method", raw: get(H, "GET  / HTTP/1.1"), expected: 400 },
  { name: "HTAB after the method", raw: get(H, "GET\t/ HTTP/1.1"), expected: 400 },
  { name: "two spaces before the version", raw: get(H, "GET /  HTTP/1.1"), expected: 400 },
  { name: "no version", raw: get(H, "GET /"), expected: 400 },
  { name: "trailing space after the version", raw: get(H, "GET / HTTP/1.1 "), expected: 400 },
  { name: "lowercase version", raw: get(H, "GET / http/1.1"), expected: 400 },
  { name: "version HTTP/1", raw: get(H, "GET / HTTP/1"), expected: 400 },
  { name: "version HTTP/1.10", raw: get(H, "GET / HTTP/1.10"), expected: 400 },
  { name: "version HTTP/1.x", raw: get(H, "GET / HTTP/1.x"), expected: 400 },
  { name: "version HTTP/2.0", raw: get(H, "GET / HTTP/2.0"), expected: 505 },
  { name: "version HTTP/0.9", raw: get(H, "GET / HTTP/0.9"), expected: 505 },
  { name: "version HTTP/1.2 is served as 1.1", raw: get(H, "GET / HTTP/1.2"), expected: "ok" },
  { name: "bare CR ends the request line", raw: "GET / HTTP/1.1\rHost: a\r\n\r\n", expected: 400 },
  { name: "bare LF ends the request line", raw: "GET / HTTP/1.1\nHost: a\r\n\r\n", expected: 400 },
  { name: "CONNECT", raw: get(H, "CONNECT example.com:443 HTTP/1.1"), expected: 405 },
  { name: "CONNECT with a path", raw: get(H, "CONNECT / HTTP/1.1"), expected: 405 },
  // targets
  { name: "origin-form with query", raw: get(H, "GET /a/b?c=d&e HTTP/1.1"), expected: "ok" },
  { name: "target with obs-text", raw: get(H, "GET /caf\xe9 HTTP/1.1"), expected: "ok" },
  { name: "target with NUL", raw: get(H, "GET /a\x00b HTTP/1.1"), expected: 400 },
  { name: "target with DEL", raw: get(H, "GET /a\x7fb HTTP/1.1"), expected: 400 },
  { name: "target with HTAB", raw: get(H, "GET /a\tb HTTP/1.1"), expected: 400 },
  { name: "asterisk-form for OPTIONS", raw: get(H, "OPTIONS * HTTP/1.1"), expected: "ok" },
  { name: "asterisk-form for GET", raw: get(H, "GET * HTTP/1.1"), expected: 400 },
  { name: "asterisk with more", raw: get(H, "OPTIONS *x HTTP/1.1"), expected: 400 },
  { name: "absolute-form", raw: get(H, "GET http://a.example:81/p?q HTTP/1.1"), expected: "ok" },
  { name: "absolute-form https", raw: get(H, "GET https://a.example/p HTTP/1.1"), expected: "ok" },
  {
    name: "absolute-form scheme case",
    raw: get(H, "GET HTTP://a.example/ HTTP/1.1"),
    expected: "ok",
  },
  {
    name: "absolute-form without path",
    raw: get(H, "GET http://a.example HTTP/1.1"),
    expected: "ok",
  },
  {
    name: "absolute-form query only",
    raw: get(H, "GET http://a.example?q HTTP/1.1"),
    expected: "ok",
  },
  { name: "absolute-form IPv6", raw: get(H, "GET http://[::1]:8080/ HTTP/1.1"), expected: "ok" },
  {
    name: "absolute-form userinfo",
    raw: get(H, "GET http://u:p@a.example/ HTTP/1.1"),
    expected: 400,
  },
  { name: "absolute-form empty host", raw: get(H, "GET http:///p HTTP/1.1"), expected: 400 },
  { name: "absolute-form port only", raw: get(H, "GET http://:80/p HTTP/1.1"), expected: 400 },
  {
    name: "absolute-form obs-text host",
    raw: get(H, "GET http://\xe9.example/ HTTP/1.1"),
    expected: 400,
  },
  {
    name: "absolute-form other scheme",
    raw: get(H, "GET ftp://a.example/ HTTP/1.1"),
    expected: 400,
  },
  {
    name: "authority-form outside CONNECT",
    raw: get(H, "GET a.example:80 HTTP/1.1"),
    expected: 400,
  },
  { name: "relative target", raw: get(H, "GET index.html HTTP/1.1"), expected: 400 },
  // Host
  { name: "HTTP/1.1 without Host", raw: get("Accept: */*\r\n"), expected: 400 },
  { name: "HTTP/1.0 without Host", raw: get("", "GET / HTTP/1.0"), expected: "ok" },
  { name: "two Host lines", raw: get(H + "host: other\r\n"), expected: 400 },
  { name: "empty Host", raw: get("Host:\r\n"), expected: "ok" },
  { name: "Host with port", raw: get("Host: a.example:9000\r\n"), expected: "ok" },
  { name: "Host IPv6 literal", raw: get("Host: [::1]:9000\r\n"), expected: "ok" },
  { name: "Host with a space", raw: get("Host: a b\r\n"), expected: 400 },
  { name: "Host with userinfo", raw: get("Host: u@a\r\n"), expected: 400 },
  { name: "Host with a slash", raw: get("Host: a/b\r\n"), expected: 400 },
  { name: "Host with obs-text", raw: get("Host: caf\xe9\r\n"), expected: 400 },
  // field syntax
  { name: "obs-text in a value", raw: get(H + "X-A: caf\xe9\r\n"), expected: "ok" },
  { name: "HTAB inside a value", raw: get(H + "X-A: a\tb\r\n"), expected: "ok" },
  { name: "empty value", raw: get(H + "X-A:\r\n"), expected: "ok" },
  { name: "value of only OWS", raw: get(H + "X-A: \t \r\n"), expected: "ok" },
  { name: "obs-fold", raw: get(H + "X-A: a\r\n b\r\n"), expected: 400 },
  { name: "obs-fold with HTAB", raw: get(H + "X-A: a\r\n\tb\r\n"), expected: 400 },
  { name: "whitespace before the first header", raw: get(" " + H), expected: 400 },
  { name: "SP before the colon", raw: get(H + "X-A : b\r\n"), expected: 400 },
  { name: "HTAB before the colon", raw: get(H + "X-A\t: b\r\n"), expected: 400 },
  {
    name: "SP before Transfer-Encoding's colon",
    raw: post("Transfer-Encoding : chunked\r\n"),
    expected: 400,
  },
  { name: "no colon", raw: get(H + "X-A b\r\n"), expected: 400 },
  { name: "empty field name", raw: get(H + ": b\r\n"), expected: 400 },
  { name: "bad byte in a name", raw: get(H + "X(A): b\r\n"), expected: 400 },
  { name: "obs-text in a name", raw: get(H + "X-\xe9: b\r\n"), expected: 400 },
  { name: "NUL in a value", raw: get(H + "X-A: a\x00b\r\n"), expected: 400 },
  { name: "NUL in a name", raw: get(H + "X-\x00A: b\r\n"), expected: 400 },
  { name: "control byte in a value", raw: get(H + "X-A: a\x01b\r\n"), expected: 400 },
  { name: "VT in a value", raw: get(H + "X-A: a\x0bb\r\n"), expected: 400 },
  { name: "DEL in a value", raw: get(H + "X-A: a\x7fb\r\n"), expected: 400 },
  { name: "bare CR in a value", raw: get(H + "X-A: a\rb\r\n"), expected: 400 },
  { name: "bare CR ending a line", raw: get(H + "X-A: a\rX-B: b\r\n"), expected: 400 },
  { name: "bare LF ending a line", raw: get(H + "X-A: a\nX-B: b\r\n"), expected: 400 },
  {
    name: "bare LF before the empty line",
    raw: `GET / HTTP/1.1\r\n${H}X-A: a\n\r\n`,
    expected: 400,
  },
  { name: "bare LF empty line", raw: `GET / HTTP/1.1\r\n${H}\n`, expected: 400 },
  { name: "all bare LF", raw: "GET / HTTP/1.1\nHost: a\n\n", expected: 400 },
  { name: "CR CR LF", raw: get(H + "X-A: a\r\r\n"), expected: 400 },
  // Content-Length
  { name: "Content-Length", raw: post("Content-Length: 5\r\n"), expected: "ok" },
  { name: "Content-Length 0", raw: post("Content-Length: 0\r\n"), expected: "ok" },
  { name: "Content-Length leading zeros", raw: post("Content-Length: 0005\r\n"), expected: "ok" },
  { name: "Content-Length with OWS", raw: post("Content-Length: \t 5 \t\r\n"), expected: "ok" },
  { name: "Content-Length list 5, 5", raw: post("Content-Length: 5, 5\r\n"), expected: "ok" },
  { name: "Content-Length list 5,5,", raw: post("Content-Length: 5,5,\r\n"), expected: "ok" },
  { name: "Content-Length list 5, 6", raw: post("Content-Length: 5, 6\r\n"), expected: 400 },
  {
    name: "Content-Length twice, same",
    raw: post("Content-Length: 5\r\nContent-Length: 5\r\n"),
    expected: "ok",
  },
  {
    name: "Content-Length twice, different",
    raw: post("Content-Length: 5\r\ncontent-length: 6\r\n"),
    expected: 400,
  },
  { name: "Content-Length empty", raw: post("Content-Length:\r\n"), expected: 400 },
  { name: "Content-Length only a comma", raw: post("Content-Length: ,\r\n"), expected: 400 },
  { name: "Content-Length negative", raw: post("Content-Length: -1\r\n"), expected: 400 },
  { name: "Content-Length plus sign", raw: post("Content-Length: +5\r\n"), expected: 400 },
  { name: "Content-Length hex", raw: post("Content-Length: 0x5\r\n"), expected: 400 },
  { name: "Content-Length 5 5", raw: post("Content-Length: 5 5\r\n"), expected: 400 },
  { name: "Content-Length fraction", raw: post("Content-Length: 5.0\r\n"), expected: 400 },
  {
    name: "Content-Length 2^53-1",
    raw: post("Content-Length: 9007199254740991\r\n"),
    expected: "ok",
  },
  {
    name: "Content-Length 2^53+1",
    raw: post("Content-Length: 9007199254740993\r\n"),
    expected: 400,
  },
  {
    name: "Content-Length huge",
    raw: post(`Content-Length: ${"9".repeat(40)}\r\n`),
    expected: 400,
  },
  // Transfer-Encoding
  { name: "chunked", raw: post("Transfer-Encoding: chunked\r\n"), expected: "ok" },
  { name: "CHUNKED", raw: post("Transfer-Encoding: CHUNKED\r\n"), expected: "ok" },
  {
    name: "chunked with OWS and empty elements",
    raw: post("Transfer-Encoding: , chunked \r\n"),
    expected: "ok",
  },
  {
    name: "chunked and Content-Length",
    raw: post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
    expected: 400,
  },
  {
    name: "Content-Length and chunked",
    raw: post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
    expected: 400,
  },
  {
    name: "gzip and Content-Length",
    raw: post("Content-Length: 5\r\nTransfer-Encoding: gzip\r\n"),
    expected: 400,
  },
  { name: "chunked, chunked", raw: post("Transfer-Encoding: chunked, chunked\r\n"), expected: 400 },
  {
    name: "chunked on two lines",
    raw: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
    expected: 400,
  },
  { name: "chunked, gzip", raw: post("Transfer-Encoding: chunked, gzip\r\n"), expected: 400 },
  {
    name: "chunked then gzip on two lines",
    raw: post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
    expected: 400,
  },
  { name: "gzip alone", raw: post("Transfer-Encoding: gzip\r\n"), expected: 400 },
  { name: "identity alone", raw: post("Transfer-Encoding: identity\r\n"), expected: 400 },
  { name: "gzip, chunked", raw: post("Transfer-Encoding: gzip, chunked\r\n"), expected: 501 },
  {
    name: "gzip then chunked on two lines",
    raw: post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
    expected: 501,
  },
  {
    name: "chunked with a parameter",
    raw: post("Transfer-Encoding: chunked;q=1\r\n"),
    expected: 400,
  },
  { name: "xchunked", raw: post("Transfer-Encoding: xchunked\r\n"), expected: 400 },
  { name: "Transfer-Encoding empty", raw: post("Transfer-Encoding:\r\n"), expected: 400 },
  {
    name: "Transfer-Encoding with VT",
    raw: post("Transfer-Encoding: \x0bchunked\r\n"),
    expected: 400,
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    expected: 400,
  },
  {
    name: "Transfer_Encoding is just another header",
    raw: post("Transfer_Encoding: chunked\r\n"),
    expected: "ok",
  },
  // limits
  {
    name: "head at the byte limit",
    raw: get("Host: a\r\nX: " + "a".repeat(256 - 32) + "\r\n"),
    limits: SMALL,
    expected: "ok",
  },
  {
    name: "head over the byte limit",
    raw: get("Host: a\r\nX: " + "a".repeat(257 - 32) + "\r\n"),
    limits: SMALL,
    expected: 431,
  },
  {
    name: "head over the default byte limit",
    raw: get(H + "X-Big: " + "a".repeat(64 * 1024) + "\r\n"),
    expected: 431,
  },
  {
    name: "headers at the count limit",
    raw: get(H + "A: 1\r\nB: 2\r\nC: 3\r\n"),
    limits: SMALL,
    expected: "ok",
  },
  {
    name: "headers over the count limit",
    raw: get(H + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"),
    limits: SMALL,
    expected: 431,
  },
  {
    name: "101 headers over the default limit",
    raw: get(H + "X: 1\r\n".repeat(100)),
    expected: 431,
  },
  {
    name: "target at the limit",
    raw: get(H, `GET /${"a".repeat(31)} HTTP/1.1`),
    limits: SMALL,
    expected: "ok",
  },
  {
    name: "target over the limit",
    raw: get(H, `GET /${"a".repeat(32)} HTTP/1.1`),
    limits: SMALL,
    expected: 414,
  },
  {
    name: "target over the default limit",
    raw: get(H, `GET /${"a".repeat(8192)} HTTP/1.1`),
    expected: 414,
  },
];

Deno.test("parseRequestHead: accept/reject table", () => {
  assert.ok(REQUESTS.length >= 40);
  const failures: string[] = [];
  for (const row of REQUESTS) {
    const r = request(row.raw, row.limits ?? LIMITS);
    const got = r instanceof MessageHead ? "ok" : r;
    if (got !== row.expected) failures.push(`${row.name}: expected ${row.expected}, got ${got}`);
  }
  assert.deepEqual(failures, []);
});

const RESPONSES: readonly Row[] = [
  { name: "200 OK", raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", expected: "ok" },
  { name: "HTTP/1.0", raw: "HTTP/1.0 200 OK\r\n\r\n", expected: "ok" },
  { name: "empty reason", raw: "HTTP/1.1 200 \r\n\r\n", expected: "ok" },
  { name: "no SP and no reason (lenient)", raw: "HTTP/1.1 200\r\n\r\n", expected: "ok" },
  { name: "reason with obs-text", raw: "HTTP/1.1 200 Tr\xe8s bien\r\n\r\n", expected: "ok" },
  { name: "reason with HTAB", raw: "HTTP/1.1 404 Not\tFound\r\n\r\n", expected: "ok" },
  { name: "status 100", raw: "HTTP/1.1 100 Continue\r\n\r\n", expected: "ok" },
  { name: "status 599", raw: "HTTP/1.1 599 X\r\n\r\n", expected: "ok" },
  { name: "reason with NUL", raw: "HTTP/1.1 200 O\x00K\r\n\r\n", expected: 502 },
  { name: "reason with bare CR", raw: "HTTP/1.1 200 O\rK\r\n\r\n", expected: 502 },
  { name: "status 099", raw: "HTTP/1.1 099 X\r\n\r\n", expected: 502 },
  { name: "status 600", raw: "HTTP/1.1 600 X\r\n\r\n", expected: 502 },
  { name: "two-digit status", raw: "HTTP/1.1 20 OK\r\n\r\n", expected: 502 },
  { name: "four-digit status", raw: "HTTP/1.1 2000 OK\r\n\r\n", expected: 502 },
  { name: "status glued to reason", raw: "HTTP/1.1 200OK\r\n\r\n", expected: 502 },
  { name: "two spaces before status", raw: "HTTP/1.1  200 OK\r\n\r\n", expected: 502 },
  { name: "HTTP/2", raw: "HTTP/2 200 OK\r\n\r\n", expected: 502 },
  { name: "HTTP/2.0", raw: "HTTP/2.0 200 OK\r\n\r\n", expected: 502 },
  { name: "lowercase version", raw: "http/1.1 200 OK\r\n\r\n", expected: 502 },
  { name: "leading empty line", raw: "\r\nHTTP/1.1 200 OK\r\n\r\n", expected: 502 },
  { name: "garbage", raw: "<html>\r\n\r\n", expected: 502 },
  { name: "bare LF lines", raw: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", expected: 502 },
  { name: "obs-fold", raw: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", expected: 502 },
  { name: "SP before the colon", raw: "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n", expected: 502 },
  { name: "NUL in a value", raw: "HTTP/1.1 200 OK\r\nX-A: \x00\r\n\r\n", expected: 502 },
  {
    name: "Content-Length and chunked",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    expected: 502,
  },
  {
    name: "Content-Length values differ",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    expected: 502,
  },
  {
    name: "Content-Length list 3, 3",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n",
    expected: "ok",
  },
  {
    name: "Content-Length not digits",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n",
    expected: 502,
  },
  {
    name: "gzip, chunked",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    expected: 502,
  },
  {
    name: "chunked, gzip",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    expected: 502,
  },
  { name: "gzip alone", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", expected: 502 },
  {
    name: "chunked from HTTP/1.0",
    raw: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    expected: 502,
  },
  {
    name: "Host is not checked in responses",
    raw: "HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\n\r\n",
    expected: "ok",
  },
  {
    name: "Set-Cookie twice",
    raw: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
    expected: "ok",
  },
];

Deno.test("parseResponseHead: accept/reject table", () => {
  const failures: string[] = [];
  for (const row of RESPONSES) {
    const r = response(row.raw);
    const got = r instanceof MessageHead ? "ok" : r;
    if (got !== row.expected) failures.push(`${row.name}: expected ${row.expected}, got ${got}`);
  }
  assert.deepEqual(failures, []);
});

Deno.test("parseResponseHead: header count limit answers 502", () => {
  const raw = "HTTP/1.1 200 OK\r\n" + "X: 1\r\n".repeat(5) + "\r\n";
  assert.equal(response(raw, 5) instanceof MessageHead, true);
  assert.equal(response(raw, 4), 502);
});

Deno.test("parseRequestHead: the head's capacity caps the header limit", () => {
  const raw = get(H + "A: 1\r\nB: 2\r\n");
  assert.ok(request(raw, LIMITS, 3) instanceof MessageHead);
  assert.equal(request(raw, LIMITS, 2), 431);
});

Deno.test("parseRequestHead: derived facts", () => {
  let h = ok(get(H));
  assert.equal(h.minorVersion, 1);
  assert.equal(h.contentLength, -1);
  assert.equal(h.chunked, false);
  assert.equal(h.transferCodings, 0);
  assert.equal(h.connectionClose, false);
  assert.equal(h.connectionKeepAlive, false);
  assert.equal(h.upgrade, false);
  assert.equal(h.teTrailers, false);
  assert.equal(h.expectContinue, false);
  assert.equal(h.hostIndex, 0);
  assert.equal(h.headerCount, 1);
  assert.equal(h.authorityStart, -1);

  h = ok(post("Content-Length: 0005, 5\r\n"));
  assert.equal(h.contentLength, 5);
  assert.equal(h.hostIndex, 0);
  h = ok(post("Content-Length: 0\r\n"));
  assert.equal(h.contentLength, 0);
  h = ok(post("Transfer-Encoding: Chunked\r\n"));
  assert.equal(h.chunked, true);
  assert.equal(h.transferCodings, 1);
  assert.equal(h.contentLength, -1);

  h = ok(get("X-A: 1\r\n" + H + "Connection: Keep-Alive, CLOSE\r\n"));
  assert.equal(h.connectionClose, true);
  assert.equal(h.connectionKeepAlive, true);
  assert.equal(h.hostIndex, 1);

  h = ok(get(H + "Connection: keep-alive\r\n", "GET / HTTP/1.0"));
  assert.equal(h.minorVersion, 0);
  assert.equal(h.connectionKeepAlive, true);
  assert.equal(ok(get("", "GET / HTTP/1.0")).hostIndex, -1);

  // upgrade needs both the option and the header, and never for HTTP/1.0
  assert.equal(ok(get(H + "Connection: Upgrade\r\nUpgrade: websocket\r\n")).upgrade, true);
  assert.equal(
    ok(get(H + "Upgrade: websocket\r\nConnection: keep-alive, upgrade\r\n")).upgrade,
    true,
  );
  assert.equal(ok(get(H + "Connection: Upgrade\r\n")).upgrade, false);
  assert.equal(ok(get(H + "Upgrade: websocket\r\n")).upgrade, false);
  assert.equal(
    ok(get(H + "Connection: Upgrade\r\nUpgrade: websocket\r\n", "GET / HTTP/1.0")).upgrade,
    false,
  );

  assert.equal(ok(get(H + "TE: gzip;q=0.5, Trailers\r\n")).teTrailers, true);
  assert.equal(ok(get(H + "TE: gzip\r\n")).teTrailers, false);

  assert.equal(ok(post("Expect: 100-Continue\r\nContent-Length: 1\r\n")).expectContinue, true);
  assert.equal(ok(post("Expect: 200-ok\r\n")).expectContinue, false);
  assert.equal(
    ok("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expectContinue,
    false,
  );

  // HTTP/1.2 and later minors are HTTP/1.1 to us
  assert.equal(ok(get(H, "GET / HTTP/1.9")).minorVersion, 1);
});

Deno.test("parseRequestHead: start-line and field offsets", () => {
  const raw = "\r\nPOST /a?b HTTP/1.1\r\nHost:  h:1 \r\nX-Empty:\r\nX-A:\tv  w\t\r\n\r\n";
  const buf = latin1(raw);
  const head = new MessageHead(10);
  const end = findHeadEnd(buf, 0, 0, buf.length);
  assert.equal(end, buf.length);
  parseRequestHead({ buf, start: 0 }, end, head, LIMITS);
  assert.equal(text(buf, head.methodStart, head.methodEnd), "POST");
  assert.equal(text(buf, head.targetStart, head.targetEnd), "/a?b");
  assert.equal(head.pathStart, head.targetStart);
  assert.equal(text(buf, head.targetEnd + 1, head.startLineEnd), "HTTP/1.1");
  assert.equal(head.end, end);
  const fields = [];
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE, f = head.fields;
    fields.push([
      text(buf, f[o + F_NAME], f[o + F_NAME_END]),
      text(buf, f[o + F_VALUE], f[o + F_VALUE_END]),
      f[o + F_KIND],
    ]);
  }
  assert.deepEqual(fields, [["Host", "h:1", H_HOST], ["X-Empty", "", H_OTHER], [
    "X-A",
    "v  w",
    H_OTHER,
  ]]);
});

Deno.test("parseRequestHead: absolute-form offsets", () => {
  const cases: [string, string, string][] = [
    ["http://a.example:81/p?q", "a.example:81", "/p?q"],
    ["HTTPS://a.example", "a.example", ""],
    ["http://a.example?q", "a.example", "?q"],
    ["http://[::1]/", "[::1]", "/"],
  ];
  for (const [target, authority, rest] of cases) {
    const buf = latin1(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const head = new MessageHead(10);
    parseRequestHead({ buf, start: 0 }, buf.length, head, LIMITS);
    assert.equal(text(buf, head.authorityStart, head.authorityEnd), authority, target);
    assert.equal(text(buf, head.pathStart, head.targetEnd), rest, target);
  }
});

Deno.test("markConnectionNamed: marks unknown names only", () => {
  const h = ok(
    get(
      H + "Connection: x-a, X-Forwarded-For, host, content-length, x-absent\r\n" +
        "X-A: 1\r\nx-a: 2\r\nX-Forwarded-For: 1.2.3.4\r\nX-B: 3\r\nX-A-Longer: 4\r\n",
    ),
  );
  const kinds = [];
  for (let k = 0; k < h.headerCount; k++) kinds.push(h.fields[k * FIELD_STRIDE + F_KIND]);
  assert.deepEqual(kinds, [
    H_HOST,
    H_CONNECTION,
    H_NAMED_HOP,
    H_NAMED_HOP,
    H_XFF,
    H_OTHER,
    H_OTHER,
  ]);
});

Deno.test("markConnectionNamed: case folding is ASCII letters only", () => {
  // "^" | 0x20 is "~": a naive fold would take one for the other.
  const h = ok(get(H + "Connection: x^y\r\nX~y: 1\r\nX^Y: 2\r\n"));
  assert.equal(h.fields[2 * FIELD_STRIDE + F_KIND], H_OTHER);
  assert.equal(h.fields[3 * FIELD_STRIDE + F_KIND], H_NAMED_HOP);
});

Deno.test("parseRequestHead: the same head instance is reusable", () => {
  const head = new MessageHead(10);
  const a = latin1(post("Transfer-Encoding: chunked\r\nConnection: close\r\nTE: trailers\r\n"));
  parseRequestHead({ buf: a, start: 0 }, a.length, head, LIMITS);
  assert.equal(head.chunked, true);
  const b = latin1(get("", "GET http://h/x HTTP/1.0"));
  parseRequestHead({ buf: b, start: 0 }, b.length, head, LIMITS);
  assert.equal(head.chunked, false);
  assert.equal(head.transferCodings, 0);
  assert.equal(head.connectionClose, false);
  assert.equal(head.teTrailers, false);
  assert.equal(head.hostIndex, -1);
  assert.equal(head.minorVersion, 0);
  assert.equal(head.authorityStart, 11);
  const c = latin1(get(H));
  parseRequestHead({ buf: c, start: 0 }, c.length, head, LIMITS);
  assert.equal(head.authorityStart, -1);
  assert.equal(head.minorVersion, 1);
});

Deno.test("parseResponseHead: derived facts", () => {
  let h = okResponse("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\n");
  assert.equal(h.status, 404);
  assert.equal(h.contentLength, 9);
  assert.equal(h.connectionClose, true);
  assert.equal(h.minorVersion, 1);
  h = okResponse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n");
  assert.equal(h.minorVersion, 0);
  assert.equal(h.connectionKeepAlive, true);
  assert.equal(h.contentLength, -1);
  h = okResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  assert.equal(h.chunked, true);
  h = okResponse(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
  );
  assert.equal(h.status, 101);
  assert.equal(h.upgrade, true);
  const buf = latin1("HTTP/1.1 200\r\n\r\n");
  h = new MessageHead(4);
  parseResponseHead({ buf, start: 0 }, buf.length, h, 4);
  assert.equal(text(buf, h.statusStart, h.startLineEnd), "200");
  const buf2 = latin1("HTTP/1.1 503 Slow Down\r\n\r\n");
  parseResponseHead({ buf: buf2, start: 0 }, buf2.length, h, 4);
  assert.equal(text(buf2, h.statusStart, h.startLineEnd), "503 Slow Down");
  assert.equal(h.status, 503);
});

Deno.test("responseHasNoBody: HEAD, 1xx, 204, 304", () => {
  assert.equal(responseHasNoBody(true, 200), true);
  assert.equal(responseHasNoBody(false, 100), true);
  assert.equal(responseHasNoBody(false, 101), true);
  assert.equal(responseHasNoBody(false, 204), true);
  assert.equal(responseHasNoBody(false, 304), true);
  assert.equal(responseHasNoBody(false, 200), false);
  assert.equal(responseHasNoBody(false, 205), false);
  assert.equal(responseHasNoBody(false, 404), false);
});

Deno.test("findHeadEnd: complete, incomplete, resumed", () => {
  const raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
  const buf = latin1(raw);
  const headEnd = raw.indexOf("BODY");
  assert.equal(findHeadEnd(buf, 0, 0, buf.length), headEnd);
  // every way of receiving the bytes in two reads finds the same end
  for (let cut = 0; cut <= buf.length; cut++) {
    const first = findHeadEnd(buf, 0, 0, cut);
    if (cut < headEnd) {
      assert.equal(first, -1, `cut ${cut}`);
      assert.equal(findHeadEnd(buf, 0, cut, buf.length), headEnd, `cut ${cut}`);
    } else {
      assert.equal(first, headEnd, `cut ${cut}`);
    }
  }
  // a head that does not start at 0
  const two = latin1("XXGET / HTTP/1.1\r\n\r\n");
  assert.equal(findHeadEnd(two, 2, 2, two.length), two.length);
});

Deno.test("findHeadEnd: line-end variants", () => {
  const end = (s: string, start = 0) => findHeadEnd(latin1(s), start, start, s.length);
  assert.equal(end("a\n\n"), 3);
  assert.equal(end("a\r\n\n"), 4);
  assert.equal(end("a\n\r\n"), 4);
  assert.equal(end("a\r\r\n"), -1); // CR CR LF is not an empty line
  assert.equal(end("a\r\n\r\r\n"), -1);
  assert.equal(end("\n"), 1); // a bare LF at the start ends an (empty, rejected) head
  assert.equal(end("\r\n"), -1); // one leading empty line is skipped
  assert.equal(end("\r\nGET / HTTP/1.1\r\n\r\n"), 20);
  assert.equal(end("\r\n\r\n"), 4);
  assert.equal(end("\r\n\n"), 3);
  assert.equal(end("x\r\n", 1), -1); // the CRLF at start=1 is the leading empty line
  assert.equal(end("x\r\n\r\n", 1), 5);
  assert.equal(end(""), -1);
});

Deno.test("findHeadEnd: never reads at or past end", () => {
  const buf = latin1("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  for (let e = 0; e < buf.length; e++) assert.equal(findHeadEnd(buf, 0, 0, e), -1, `end ${e}`);
  // end beyond the buffer is clamped
  assert.equal(findHeadEnd(buf, 0, 0, buf.length + 10), buf.length);
  // a resumed scan that starts before `start` is clamped to it
  assert.equal(findHeadEnd(latin1("\n\nGET / HTTP/1.1\r\n\r\n"), 2, 0, 20), 20);
});

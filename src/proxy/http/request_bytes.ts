/**
 * Byte tests on a client's request head, made without decoding it: the
 * HTTP/2 preface, a first line that ends with an HTTP version, the rarer
 * idempotent methods; and the client's address as bytes for the forwarding
 * headers. Pure functions, for the HTTP/1.1 connection's hot path.
 *
 * @module
 */

import { bytes, latin1 } from "./ascii.ts";
import type { MessageHead } from "./head.ts";

/** The HTTP/2 preface up to the end of its head-like first part (`PRI * HTTP/2.0\r\n\r\n`). */
const PREFACE_HEAD = bytes("PRI * HTTP/2.0\r\n\r\n");

/**
 * Whether the head in `buf[start, end)` is the HTTP/2 preface's first part.
 *
 * @param buf The read buffer.
 * @param start Where the head starts.
 * @param end Where it ends (after its empty line).
 * @returns True for `PRI * HTTP/2.0\r\n\r\n`.
 *
 * @example Usage
 * ```ts
 * import { isPreface } from "./request_bytes.ts";
 * const b = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
 * isPreface(b, 0, 18); // true
 * ```
 */
export function isPreface(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start !== PREFACE_HEAD.length) return false;
  for (let i = 0; i < PREFACE_HEAD.length; i++) {
    if (buf[start + i] !== PREFACE_HEAD[i]) return false;
  }
  return true;
}

const HTTP_VERSION_PREFIX = bytes("HTTP/");

/**
 * Whether the first line of the head in `buf[start, end)` ends with an `HTTP/x.y` version.
 *
 * @param buf The read buffer.
 * @param start Where the head starts.
 * @param end Where it ends.
 * @returns True when the first line ends with `HTTP/` and three more bytes.
 *
 * @example Usage
 * ```ts
 * import { endsWithHttpVersion } from "./request_bytes.ts";
 * const b = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
 * endsWithHttpVersion(b, 0, b.length); // true
 * ```
 */
export function endsWithHttpVersion(buf: Uint8Array, start: number, end: number): boolean {
  let eol = start;
  while (eol < end && buf[eol] !== 10 /* LF */) eol++;
  if (eol > start && buf[eol - 1] === 13 /* CR */) eol--;
  const at = eol - 8; // "HTTP/1.1"
  if (at < start) return false;
  for (let i = 0; i < HTTP_VERSION_PREFIX.length; i++) {
    if (buf[at + i] !== HTTP_VERSION_PREFIX[i]) return false;
  }
  return true;
}

const RARE_IDEMPOTENT = [bytes("PUT"), bytes("DELETE"), bytes("OPTIONS"), bytes("TRACE")];

/**
 * PUT, DELETE, OPTIONS and TRACE (GET and HEAD are tested inline), without making a string.
 *
 * @param buf The read buffer.
 * @param start Where the method starts.
 * @param length The method's length.
 * @returns True for one of the four.
 *
 * @example Usage
 * ```ts
 * import { isIdempotentRare } from "./request_bytes.ts";
 * isIdempotentRare(new TextEncoder().encode("DELETE /x"), 0, 6); // true
 * ```
 */
export function isIdempotentRare(buf: Uint8Array, start: number, length: number): boolean {
  for (const m of RARE_IDEMPOTENT) {
    if (m.length !== length) continue;
    let same = true;
    for (let i = 0; i < length && same; i++) same = buf[start + i] === m[i];
    if (same) return true;
  }
  return false;
}

/** Client addresses as bytes, shared by their connections (most come from a few addresses). */
const CLIENT_IP_BYTES = new Map<string, Uint8Array>();

/**
 * `ip` as bytes, shared by the connections from that address (the cache is
 * emptied when it reaches 1024 entries).
 *
 * @param ip The client's address.
 * @returns Its ASCII bytes (not to be changed).
 *
 * @example Usage
 * ```ts
 * import { clientIpBytes } from "./request_bytes.ts";
 * clientIpBytes("10.0.0.1") === clientIpBytes("10.0.0.1"); // true
 * ```
 */
export function clientIpBytes(ip: string): Uint8Array {
  let b = CLIENT_IP_BYTES.get(ip);
  if (b === undefined) {
    if (CLIENT_IP_BYTES.size >= 1024) CLIENT_IP_BYTES.clear();
    CLIENT_IP_BYTES.set(ip, b = bytes(ip));
  }
  return b;
}

/**
 * The request's path, without its query (as the 502 names it).
 *
 * @param buf The buffer holding the request head.
 * @param head The parsed request head.
 * @returns The path as text.
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseRequestHead } from "./head.ts";
 * import { requestPath } from "./request_bytes.ts";
 * const buf = new TextEncoder().encode("GET /a?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
 * const head = new MessageHead(10);
 * parseRequestHead({ buf, start: 0 }, buf.length, head, { maxHeadBytes: 1000, maxHeaders: 10, maxTargetBytes: 100 });
 * requestPath(buf, head); // "/a"
 * ```
 */
export function requestPath(buf: Uint8Array, head: MessageHead): string {
  const t = latin1(buf, head.pathStart, head.targetEnd);
  const q = t.indexOf("?");
  return q >= 0 ? t.slice(0, q) : t;
}

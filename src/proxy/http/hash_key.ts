/**
 * The request key of the `hash` policy, read from a parsed head without
 * making a string: the client IP (hashed once per connection), the first
 * value of a header, or the value of a cookie. Hashed with the balancer's
 * FNV-1a, so a header value hashes as the same text would anywhere.
 *
 * @module
 */

import type { HashKey } from "../../config/schema.ts";
import { hashBytes } from "../../balance/key_hash.ts";
import { bytes, equalsLower } from "./ascii.ts";
import {
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  type MessageHead,
} from "./head.ts";

const CLIENT_IP = 0, HEADER = 1, COOKIE = 2;
const SEMICOLON = 59, EQUALS = 61, SPACE = 32, TAB = 9;
const COOKIE_NAME = bytes("cookie");

interface CompiledKey {
  readonly kind: number;
  /** The header name in lowercase, or the cookie name as written (cookie names are case-sensitive). */
  readonly name: Uint8Array;
}

/** Keys compiled once per distinct setting (a handful per process). */
const compiled = new Map<string, CompiledKey>();

function compile(key: HashKey): CompiledKey {
  let c = compiled.get(key);
  if (c === undefined) {
    const colon = key.indexOf(":");
    const kind = key === "client-ip" ? CLIENT_IP : key.startsWith("header:") ? HEADER : COOKIE;
    const name = kind === HEADER ? key.slice(colon + 1).toLowerCase() : key.slice(colon + 1);
    c = { kind, name: bytes(kind === CLIENT_IP ? "" : name) };
    compiled.set(key, c);
  }
  return c;
}

/**
 * The key hash of one request.
 *
 * @param buf The buffer holding the head.
 * @param head The parsed request head.
 * @param key What to hash.
 * @param clientIpHash The hash of the client's IP address.
 * @returns An unsigned 32-bit hash, or -1 when the request has no such header or cookie.
 *
 * @example Usage
 * ```ts
 * import { requestHashKey } from "./hash_key.ts";
 * import { MessageHead, parseRequestHead } from "./head.ts";
 * import { hashString } from "../../balance/key_hash.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; sid=xyz\r\n\r\n");
 * const head = new MessageHead(10);
 * parseRequestHead({ buf, start: 0 }, buf.length, head, { maxHeadBytes: 4096, maxHeaders: 10, maxTargetBytes: 100 });
 * assert.equal(requestHashKey(buf, head, "cookie:sid", 0), hashString("xyz"));
 * assert.equal(requestHashKey(buf, head, "header:x-user", 0), -1);
 * ```
 */
export function requestHashKey(
  buf: Uint8Array,
  head: MessageHead,
  key: HashKey,
  clientIpHash: number,
): number {
  const c = compile(key);
  if (c.kind === CLIENT_IP) return clientIpHash;
  const f = head.fields;
  const lookFor = c.kind === HEADER ? c.name : COOKIE_NAME;
  for (let h = 0, o = 0; h < head.headerCount; h++, o += FIELD_STRIDE) {
    if (!equalsLower(buf, f[o + F_NAME], f[o + F_NAME_END], lookFor)) continue;
    const start = f[o + F_VALUE], end = f[o + F_VALUE_END];
    if (c.kind === HEADER) return hashBytes(buf, start, end);
    const found = cookieValue(buf, start, end, c.name);
    if (found >= 0) return found;
  }
  return -1;
}

/** The hash of cookie `name`'s value in one Cookie header value, or -1. */
function cookieValue(buf: Uint8Array, start: number, end: number, name: Uint8Array): number {
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === SPACE || buf[i] === TAB || buf[i] === SEMICOLON)) i++;
    const nameStart = i;
    while (i < end && buf[i] !== EQUALS && buf[i] !== SEMICOLON) i++;
    let pairEnd = i;
    while (pairEnd < end && buf[pairEnd] !== SEMICOLON) pairEnd++;
    if (i < end && buf[i] === EQUALS && i - nameStart === name.length) {
      let same = true;
      for (let k = 0; k < name.length && same; k++) same = buf[nameStart + k] === name[k];
      if (same) {
        let valueEnd = pairEnd;
        while (valueEnd > i + 1 && (buf[valueEnd - 1] === SPACE || buf[valueEnd - 1] === TAB)) {
          valueEnd--;
        }
        return hashBytes(buf, i + 1, valueEnd);
      }
    }
    i = pairEnd;
  }
  return -1;
}

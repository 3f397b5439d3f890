/**
 * An HTTP/1.1 response head (parsed in place by `head.ts`) turned into the
 * field list of an HTTP/2 response: `:status` first, names lowercased,
 * connection-specific fields dropped; chunked trailers into h2 trailers; and
 * sidekick's own HTTP/1.1 answers (`responses.ts`) as h2 responses, so their
 * bodies are built in one place.
 *
 * @module
 */

import { CR, latin1, LF, skipOws, trimOwsEnd } from "./ascii.ts";
import {
  F_KIND,
  F_NAME,
  F_NAME_END,
  F_VALUE,
  F_VALUE_END,
  FIELD_STRIDE,
  H_CONNECTION,
  H_CONTENT_LENGTH,
  H_KEEP_ALIVE,
  H_NAMED_HOP,
  H_PROXY_CONNECTION,
  H_TE,
  H_TRANSFER_ENCODING,
  H_UPGRADE,
  MessageHead,
  parseResponseHead,
} from "./head.ts";

const STATUS_TEXT: string[] = [];

/**
 * The `:status` value of a status code (cached: no string is made per response).
 *
 * @param status The code (100..999).
 * @returns Its three digits.
 *
 * @example Usage
 * ```ts
 * import { statusText } from "./h2_response_head.ts";
 * statusText(204); // "204"
 * ```
 */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ??= String(status);
}

/** Whether a field of this kind is connection-specific in HTTP/2 (RFC 9113 8.2.2). */
function isConnectionSpecific(kind: number): boolean {
  return kind === H_CONNECTION || kind === H_KEEP_ALIVE || kind === H_PROXY_CONNECTION ||
    kind === H_TE || kind === H_TRANSFER_ENCODING || kind === H_UPGRADE || kind === H_NAMED_HOP;
}

/**
 * Appends the h2 response fields of a parsed HTTP/1.1 response head to
 * `out`: `:status`, then each field in order with its name lowercased and
 * its value as sent, except the connection-specific ones (Connection and
 * what it names, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding,
 * Upgrade); Content-Length only when `keepLength` (a length-framed body, or
 * none). The caller may append more (e.g. `x-proxy: true`).
 *
 * @param buf The buffer holding the head.
 * @param res The parsed head.
 * @param keepLength Whether Content-Length is still true of what is sent.
 * @param out The list (appended to).
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseResponseHead } from "./head.ts";
 * import { responseFields } from "./h2_response_head.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("HTTP/1.1 200 OK\r\nConnection: close\r\nETag: x\r\nTransfer-Encoding: chunked\r\n\r\n");
 * const head = new MessageHead(10);
 * parseResponseHead({ buf, start: 0 }, buf.length, head, 10);
 * const out: string[] = [];
 * responseFields(buf, head, false, out);
 * assert.deepEqual(out, [":status", "200", "etag", "x"]);
 * ```
 */
export function responseFields(
  buf: Uint8Array,
  res: MessageHead,
  keepLength: boolean,
  out: string[],
): void {
  out.push(":status", statusText(res.status));
  const f = res.fields;
  for (let h = 0; h < res.headerCount; h++) {
    const o = h * FIELD_STRIDE;
    const kind = f[o + F_KIND];
    if (isConnectionSpecific(kind) || (kind === H_CONTENT_LENGTH && !keepLength)) continue;
    out.push(
      latin1(buf, f[o + F_NAME], f[o + F_NAME_END]).toLowerCase(),
      latin1(buf, f[o + F_VALUE], f[o + F_VALUE_END]),
    );
  }
}

/**
 * Trailer fields that never pass between HTTP/1.1 and h2, either way
 * (framing, routing, connection-specific).
 */
export const NOT_TRAILERS: ReadonlySet<string> = new Set([
  "content-length",
  "transfer-encoding",
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "upgrade",
  "trailer",
]);

/**
 * Reads the trailer section of a chunked body (the lines after the last
 * chunk, each `name: value` CRLF, already validated by the chunk parser) as
 * h2 trailer fields: names lowercased, values trimmed, framing and
 * connection-specific ones dropped.
 *
 * @param buf The buffer holding the section.
 * @param start Its first byte.
 * @param end One past its last byte (the final empty line may be included).
 * @param out The list (appended to).
 *
 * @example Usage
 * ```ts
 * import { trailerFields } from "./h2_response_head.ts";
 * import assert from "node:assert/strict";
 * const b = new TextEncoder().encode("Grpc-Status: 0\r\nContent-Length: 5\r\n\r\n");
 * const out: string[] = [];
 * trailerFields(b, 0, b.length, out);
 * assert.deepEqual(out, ["grpc-status", "0"]);
 * ```
 */
export function trailerFields(buf: Uint8Array, start: number, end: number, out: string[]): void {
  let i = start;
  while (i < end) {
    let eol = i;
    while (eol < end && buf[eol] !== LF) eol++;
    const lineEnd = eol > i && buf[eol - 1] === CR ? eol - 1 : eol;
    if (lineEnd === i) break; // the empty line
    let colon = i;
    while (colon < lineEnd && buf[colon] !== 58) colon++;
    if (colon < lineEnd) {
      const name = latin1(buf, i, colon).toLowerCase();
      if (!NOT_TRAILERS.has(name)) {
        const vs = skipOws(buf, colon + 1, lineEnd);
        out.push(name, latin1(buf, vs, trimOwsEnd(buf, vs, lineEnd)));
      }
    }
    i = eol + 1;
  }
}

/**
 * One of sidekick's own answers, as an h2 response.
 *
 * @example Usage
 * ```ts
 * import type { H2OwnResponse } from "./h2_response_head.ts";
 * const r: H2OwnResponse = { status: 200, fields: [":status", "200"], body: new Uint8Array(0) };
 * ```
 */
export interface H2OwnResponse {
  /** The status. */
  readonly status: number;
  /** The response fields (`:status` first). */
  readonly fields: string[];
  /** The body (empty for none). */
  readonly body: Uint8Array;
}

/**
 * Turns a complete HTTP/1.1 response that sidekick built itself
 * (`responses.ts`: `/v1/health`, the 502, metrics, 4xx) into an h2 response,
 * so that each body is written in one place.
 *
 * @param response The HTTP/1.1 response bytes (head and body).
 * @returns Its status, h2 fields and body.
 * @throws {Error} When the bytes are not a complete response (a bug).
 *
 * @example Usage
 * ```ts
 * import { ownResponseToH2 } from "./h2_response_head.ts";
 * import { textResponse } from "./responses.ts";
 * import assert from "node:assert/strict";
 * const r = ownResponseToH2(textResponse(400, "bad", false));
 * assert.equal(r.status, 400);
 * assert.equal(new TextDecoder().decode(r.body), "bad\n");
 * ```
 */
export function ownResponseToH2(response: Uint8Array): H2OwnResponse {
  let end = -1;
  for (let i = 3; i < response.length; i++) {
    if (response[i] === LF && response[i - 1] === CR && response[i - 2] === LF) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) throw new Error("an own response without a complete head");
  const head = new MessageHead(32);
  parseResponseHead({ buf: response, start: 0 }, end, head, 32);
  const fields: string[] = [];
  responseFields(response, head, true, fields);
  return { status: head.status, fields, body: response.subarray(end) };
}

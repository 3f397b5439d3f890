/**
 * Composes the response head the proxy sends to the client: the endpoint's
 * header lines pass byte for byte, in order; hop-by-hop headers are dropped
 * and the framing is re-done. (The request head toward an endpoint and the
 * forwarding headers are `writer.ts`'s.)
 *
 * @module
 */

import { bytes, SP } from "./ascii.ts";
import {
  F_KIND,
  F_NAME,
  F_VALUE_END,
  FIELD_STRIDE,
  H_CONTENT_LENGTH,
  H_EXPECT,
  H_HOST,
  H_OTHER,
  H_TRANSFER_ENCODING,
  H_UPGRADE,
  H_X_REAL_IP,
  H_XFF,
  type MessageHead,
} from "./head.ts";
import { type ByteWriter, writeContentLength } from "./writer.ts";

const HTTP11_STATUS = bytes("HTTP/1.1 ");
const CRLF = bytes("\r\n");
const TE_CHUNKED = bytes("Transfer-Encoding: chunked\r\n");
const CONN_UPGRADE = bytes("Connection: Upgrade\r\n");
const CONN_CLOSE = bytes("Connection: close\r\n");
const CONN_KEEP_ALIVE = bytes("Connection: keep-alive\r\n");

/**
 * How the proxy frames a response body toward the client.
 *
 * @example Usage
 * ```ts
 * import type { ResponseFraming } from "./response_writer.ts";
 * const framing: ResponseFraming = "chunked";
 * ```
 */
export type ResponseFraming = "none" | "length" | "chunked" | "dechunk" | "close";

/**
 * How a response head is re-done for the client. A connection keeps one and
 * sets it for each final response; {@linkcode AS_SENT} and
 * {@linkcode AS_SENT_UPGRADE} cover 1xx and 101 heads.
 *
 * @example Usage
 * ```ts
 * import type { ClientHeadOptions } from "./response_writer.ts";
 * const options: ClientHeadOptions = { framing: "length", connection: "none", extra: null };
 * ```
 */
export interface ClientHeadOptions {
  /** How the body will be framed toward the client. */
  framing: ResponseFraming;
  /** What to say about the connection: keep-alive (for an HTTP/1.0 client), close, or nothing. */
  connection: "keep-alive" | "close" | "upgrade" | "none";
  /** Whole header lines (each ending in CRLF) to add, e.g. `X-Proxy: true`, or null. */
  extra: Uint8Array | null;
}

/**
 * A head relayed as the endpoint framed it, saying nothing about the connection (1xx, 101).
 *
 * @example Usage
 * ```ts
 * import { AS_SENT } from "./response_writer.ts";
 * AS_SENT.framing; // "none"
 * ```
 */
export const AS_SENT: Readonly<ClientHeadOptions> = Object.freeze({
  framing: "none",
  connection: "none",
  extra: null,
});

/**
 * A 101 head relayed with its Upgrade header and `Connection: Upgrade`.
 *
 * @example Usage
 * ```ts
 * import { AS_SENT_UPGRADE } from "./response_writer.ts";
 * AS_SENT_UPGRADE.connection; // "upgrade"
 * ```
 */
export const AS_SENT_UPGRADE: Readonly<ClientHeadOptions> = Object.freeze({
  framing: "none",
  connection: "upgrade",
  extra: null,
});

/**
 * Writes the response head sent to the client, always as HTTP/1.1. Header
 * lines keep their case, order and bytes (repeated ones such as Set-Cookie
 * stay separate, in order), except the hop-by-hop ones: Connection and the
 * headers it names, Keep-Alive, Proxy-Connection, TE, Trailer, and Upgrade
 * unless `options.connection` is "upgrade". Content-Length and
 * Transfer-Encoding pass as they are only when `options.framing` is "none"
 * (HEAD, 1xx, 204, 304, 101);
 * otherwise the framing is re-done in place, where the endpoint's first
 * framing header stood (at the end when it sent none): "length" sends
 * Content-Length, "chunked" sends `Transfer-Encoding: chunked`, "dechunk" and
 * "close" send neither. Then the Connection line and `options.extra`, if any.
 *
 * @param w The writer (appended to).
 * @param buf The buffer holding the endpoint's head.
 * @param head The endpoint's parsed head.
 * @param options The framing, what to say about the connection, and extra lines.
 *
 * @example Usage
 * ```ts
 * import { MessageHead, parseResponseHead } from "./head.ts";
 * import { ByteWriter } from "./writer.ts";
 * import { writeClientResponseHead } from "./response_writer.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\nContent-Length: 2\r\nETag: x\r\n\r\n");
 * const head = new MessageHead(10);
 * parseResponseHead({ buf, start: 0 }, buf.length, head, 10);
 * const w = new ByteWriter(64);
 * writeClientResponseHead(w, buf, head, { framing: "length", connection: "none", extra: null });
 * assert.equal(new TextDecoder().decode(w.view()), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: x\r\n\r\n");
 * ```
 */
export function writeClientResponseHead(
  w: ByteWriter,
  buf: Uint8Array,
  head: MessageHead,
  options: Readonly<ClientHeadOptions>,
): void {
  const f = head.fields, framing = options.framing, connection = options.connection;
  w.put(HTTP11_STATUS);
  w.range(buf, head.statusStart, head.startLineEnd);
  // `HTTP/1.1 200` without the SP before an empty reason was accepted; send it conformant.
  if (head.startLineEnd - head.statusStart === 3) w.byte(SP);
  w.put(CRLF);
  const keepFraming = framing === "none";
  let framed = keepFraming;
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE;
    const kind = f[o + F_KIND];
    if (
      kind === H_OTHER || kind === H_HOST || kind === H_EXPECT ||
      (kind >= H_XFF && kind <= H_X_REAL_IP) ||
      (keepFraming && (kind === H_CONTENT_LENGTH || kind === H_TRANSFER_ENCODING)) ||
      (kind === H_UPGRADE && connection === "upgrade")
    ) {
      w.range(buf, f[o + F_NAME], f[o + F_VALUE_END]);
      w.put(CRLF);
    } else if (!framed && (kind === H_CONTENT_LENGTH || kind === H_TRANSFER_ENCODING)) {
      framed = true;
      writeFraming(w, framing, head.contentLength);
    }
  }
  if (!framed) writeFraming(w, framing, head.contentLength);
  if (connection === "close") w.put(CONN_CLOSE);
  else if (connection === "keep-alive") w.put(CONN_KEEP_ALIVE);
  else if (connection === "upgrade") w.put(CONN_UPGRADE);
  if (options.extra !== null) w.put(options.extra);
  w.put(CRLF);
}

/** The framing line of a re-framed response ("dechunk" and "close" have none). */
function writeFraming(w: ByteWriter, framing: ResponseFraming, contentLength: number): void {
  if (framing === "length") writeContentLength(w, contentLength);
  else if (framing === "chunked") w.put(TE_CHUNKED);
}

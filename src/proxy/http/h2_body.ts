/**
 * The request body of an h2 stream toward an HTTP/1.1 endpoint: DATA as it
 * is read (flow-control windows go back to the client as the endpoint takes
 * the bytes), framed by the client's content-length, else chunked with the
 * client's trailers as chunked trailers.
 *
 * @module
 */

import { writeAll } from "../socket.ts";
import { bytes, FIELD_VALUE_BYTE, TCHAR } from "./ascii.ts";
import { H2_WAITING, type H2Exchange } from "./h2_state.ts";
import type { ByteWriter } from "./writer.ts";
import { NOT_TRAILERS } from "./h2_response_head.ts";

const CRLF = bytes("\r\n");
const LAST_CHUNK = bytes("0\r\n");
const HEX = bytes("0123456789abcdef");

/**
 * Appends a chunk-size line (`HEX CRLF`).
 *
 * @param w The writer.
 * @param n The chunk size (> 0).
 */
function chunkSize(w: ByteWriter, n: number): void {
  let digits = 1;
  while (n >= 16 ** digits) digits++;
  w.ensure(digits + 2);
  for (let i = digits - 1; i >= 0; i--) w.byte(HEX[Math.floor(n / 16 ** i) % 16]);
  w.put(CRLF);
}

/**
 * Appends the client's trailers as chunked trailer lines (names and values
 * that HTTP/1.1 cannot carry are left out).
 *
 * @param w The writer.
 * @param trailers The h2 trailer fields.
 */
function trailerLines(w: ByteWriter, trailers: readonly string[]): void {
  for (let i = 0; i < trailers.length; i += 2) {
    const name = trailers[i], value = trailers[i + 1];
    if (NOT_TRAILERS.has(name) || !fits(name, TCHAR) || !fits(value, FIELD_VALUE_BYTE)) continue;
    for (let k = 0; k < name.length; k++) w.byte(name.charCodeAt(k));
    w.byte(58);
    w.byte(32);
    for (let k = 0; k < value.length; k++) w.byte(value.charCodeAt(k));
    w.put(CRLF);
  }
}

function fits(s: string, table: Uint8Array): boolean {
  if (s.length === 0 && table === TCHAR) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || table[c] !== 1) return false;
  }
  return true;
}

/**
 * Streams the stream's request body to `x.upstream`. Never rejects:
 * `pumpError` records a failure, and `clientGone` (with the upstream
 * closed) when the client reset the stream or sent more than its
 * content-length said.
 *
 * @param x The exchange (its `upstream` set, the request head sent).
 * @param responseHeaderMs The response-header timeout, whose clock starts once the body is sent (0 = off).
 * @returns Resolves when the body is sent or the pump gave up.
 *
 * @example Usage
 * ```ts ignore
 * const pump = pumpH2RequestBody(x, 60_000);
 * ```
 */
export async function pumpH2RequestBody(x: H2Exchange, responseHeaderMs: number): Promise<void> {
  const up = x.upstream!, stream = x.stream!, req = x.req, w = x.out;
  const chunked = req.contentLength < 0;
  x.pumpDone = false;
  x.pumpReading = false;
  try {
    for (;;) {
      x.pumpReading = true;
      const data = await stream.read();
      x.pumpReading = false;
      if (data === null) break;
      if (data.length === 0) continue;
      x.rx += data.length;
      if (chunked) {
        w.pos = 0;
        chunkSize(w, data.length);
        w.put(data);
        w.put(CRLF);
        await writeAll(up.conn, w.view());
      } else {
        await writeAll(up.conn, data);
      }
    }
    if (chunked) {
      w.pos = 0;
      w.put(LAST_CHUNK);
      const trailers = stream.trailers;
      if (trailers !== null) trailerLines(w, trailers);
      w.put(CRLF);
      await writeAll(up.conn, w.view());
    }
    x.pumpDone = true;
    if (responseHeaderMs > 0 && x.phase === H2_WAITING) x.deadline = x.now() + responseHeaderMs;
  } catch {
    x.pumpError = true;
    if (x.pumpReading) {
      // The client reset the stream: abandon the upstream exchange.
      x.clientGone = true;
      up.close();
    }
    // Otherwise the endpoint stopped reading; its response may still come.
  }
}

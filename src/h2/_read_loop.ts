/**
 * The reader of a connection: one buffer, frames handed to the session in
 * place (a view of header and payload, valid during the call), the buffer
 * grown only for a frame larger than it. Whenever every byte read is handled
 * it waits on a 1 KiB buffer (frames that fit are handled from it) and the
 * working buffer goes back to ./_buffers.ts: an idle connection holds 1 KiB.
 *
 * @module
 */

import { BUFFER_SIZE, giveBuffer, takeBuffer } from "./_buffers.ts";
import { FRAME_HEADER_LENGTH, H2_ERROR, H2_PREFACE, H2ConnectionError } from "./frame.ts";

/** What an idle connection reads into. */
const IDLE_READ = 1024;
/** Below this much free space at the end, the partial frame moves to the front. */
const MIN_READ = 4 * 1024;

/**
 * Handles one frame: `buf[at..at+9]` is its header, `length` payload bytes
 * follow. Returns false to stop reading.
 */
export type FrameHandler = (buf: Uint8Array, at: number, length: number) => boolean;

/**
 * Reads frames from `conn` until it ends, the handler says stop, or a frame
 * breaks a connection rule (thrown as {@linkcode H2ConnectionError}).
 *
 * @param conn The socket.
 * @param initial Bytes already read.
 * @param preface True in the server role: the client preface comes first.
 * @param maxFrameSize The largest frame payload we accept.
 * @param onFrame The frame handler.
 * @returns When reading stopped (the peer closed, or the handler said so).
 * @throws {H2ConnectionError} On a bad preface (PROTOCOL_ERROR) or a frame
 *   larger than `maxFrameSize` (FRAME_SIZE_ERROR); and whatever the handler throws.
 *
 * @example Usage
 * ```ts ignore
 * import { readFrames } from "./_read_loop.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * await readFrames(conn, undefined, false, 16384, (buf, at, length) => {
 *   console.log("frame type", buf[at + 3], "length", length);
 *   return true;
 * });
 * ```
 */
export async function readFrames(
  conn: Deno.Conn,
  initial: Uint8Array | undefined,
  preface: boolean,
  maxFrameSize: number,
  onFrame: FrameHandler,
): Promise<void> {
  const small: Uint8Array = new Uint8Array(IDLE_READ);
  let buf: Uint8Array = small;
  let start = 0;
  let end = 0;
  try {
    if (initial !== undefined && initial.length > 0) {
      buf = initial.length > BUFFER_SIZE ? new Uint8Array(initial.length) : takeBuffer();
      buf.set(initial);
      end = initial.length;
    }
    let matched = preface ? 0 : H2_PREFACE.length;
    for (;;) {
      while (matched < H2_PREFACE.length && start < end) {
        if (buf[start] !== H2_PREFACE[matched]) {
          throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "not the HTTP/2 client preface");
        }
        start++;
        matched++;
      }
      let need = FRAME_HEADER_LENGTH;
      while (end - start >= FRAME_HEADER_LENGTH) {
        const length = (buf[start] << 16) | (buf[start + 1] << 8) | buf[start + 2];
        if (length > maxFrameSize) {
          throw new H2ConnectionError(
            H2_ERROR.FRAME_SIZE_ERROR,
            `a frame of ${length} bytes is above our SETTINGS_MAX_FRAME_SIZE ${maxFrameSize}`,
          );
        }
        need = FRAME_HEADER_LENGTH + length;
        if (end - start < need) break;
        if (!onFrame(buf, start, length)) return;
        start += need;
        need = FRAME_HEADER_LENGTH;
      }
      if (start === end) {
        // Everything is handled: wait on the small buffer, the working one goes back.
        start = end = 0;
        if (buf !== small) giveBuffer(buf);
        buf = small;
      } else if (buf === small || buf.length - start < need || buf.length - end < MIN_READ) {
        // A partial frame: to the front of a working buffer large enough for it.
        let target = buf;
        if (buf === small || need > buf.length) {
          target = need > BUFFER_SIZE ? new Uint8Array(need) : takeBuffer();
        }
        if (target === buf) {
          buf.copyWithin(0, start, end);
        } else {
          target.set(buf.subarray(start, end));
          if (buf !== small) giveBuffer(buf);
          buf = target;
        }
        end -= start;
        start = 0;
      }
      const n = await conn.read(buf.subarray(end));
      if (n === null) return;
      end += n;
    }
  } finally {
    if (buf !== small) giveBuffer(buf);
  }
}

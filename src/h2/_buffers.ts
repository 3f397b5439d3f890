/**
 * The working buffers of HTTP/2 connections, shared: a connection takes one
 * to read frames and up to two to batch its writes while it has work, and
 * gives them back when it is idle, so that an idle connection holds only
 * its 1 KiB idle read buffer. The free list is capped in bytes.
 *
 * @module
 */

/** The size of a working buffer: two default-size frames with their headers. */
export const BUFFER_SIZE = 32 * 1024;
/** The most bytes the free list keeps. */
const MAX_KEPT_BYTES = 2 * 1024 * 1024;

const free: Uint8Array[] = [];
let lent = 0;

/**
 * A working buffer of {@linkcode BUFFER_SIZE} bytes (contents undefined).
 *
 * @returns The buffer; give it back with {@linkcode giveBuffer}.
 *
 * @example Usage
 * ```ts
 * import { giveBuffer, takeBuffer } from "./_buffers.ts";
 * const buf = takeBuffer();
 * giveBuffer(buf);
 * ```
 */
export function takeBuffer(): Uint8Array {
  lent++;
  return free.pop() ?? new Uint8Array(BUFFER_SIZE);
}

/**
 * How many working buffers are taken and not given back (what busy
 * connections hold; 0 when every connection is idle).
 *
 * @returns The count.
 *
 * @example Usage
 * ```ts
 * import { lentBuffers } from "./_buffers.ts";
 * console.log(lentBuffers() >= 0); // true
 * ```
 */
export function lentBuffers(): number {
  return lent;
}

/**
 * Returns a buffer to the free list (one of another size, or beyond the cap, is left to the GC).
 *
 * @param buf The buffer, no longer used by the caller.
 *
 * @example Usage
 * ```ts
 * import { giveBuffer, takeBuffer } from "./_buffers.ts";
 * giveBuffer(takeBuffer());
 * ```
 */
export function giveBuffer(buf: Uint8Array): void {
  if (buf.length !== BUFFER_SIZE) return;
  lent--;
  if (free.length * BUFFER_SIZE < MAX_KEPT_BYTES) free.push(buf);
}

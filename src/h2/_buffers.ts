/**
 * The working buffers of HTTP/2 connections, shared: a connection takes one
 * to read frames and up to two to batch its writes while it has work, and
 * gives them back when it is idle, so that an idle connection holds only
 * its 1 KiB idle read buffer. Two sizes: the working buffer, and the large
 * batch of a connection sending bulk DATA (taken in one step rather than
 * grown by doubling, which zeroed and copied the batch at every step and left
 * large blocks to the allocator). Each free list is capped in bytes.
 *
 * @module
 */

/** The size of a working buffer: two default-size frames with their headers. */
export const BUFFER_SIZE = 32 * 1024;
/** The size of a bulk batch: twice the writer's high-water mark (256 KiB). */
export const LARGE_BUFFER_SIZE = 512 * 1024;
/** The most bytes the free list of working buffers keeps. */
const MAX_KEPT_BYTES = 2 * 1024 * 1024;
/**
 * The most bytes the free list of bulk batches keeps (8): a bulk connection
 * holds two while it writes and gives both back whenever it waits for its
 * upstream, so with 4 such connections a list of 4 made new ones all the time.
 */
const MAX_KEPT_LARGE_BYTES = 4 * 1024 * 1024;

const free: Uint8Array[] = [];
const freeLarge: Uint8Array[] = [];
let lent = 0;
let made = 0;

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
  return free.pop() ?? newBuffer(BUFFER_SIZE);
}

/**
 * A bulk batch buffer of {@linkcode LARGE_BUFFER_SIZE} bytes (contents undefined).
 *
 * @returns The buffer; give it back with {@linkcode giveBuffer}.
 *
 * @example Usage
 * ```ts
 * import { giveBuffer, takeLargeBuffer } from "./_buffers.ts";
 * const buf = takeLargeBuffer();
 * giveBuffer(buf);
 * ```
 */
export function takeLargeBuffer(): Uint8Array {
  lent++;
  return freeLarge.pop() ?? newBuffer(LARGE_BUFFER_SIZE);
}

/**
 * A new buffer of `size` bytes, counted by {@linkcode madeBuffers} (for
 * buffers of other sizes than the pooled ones, not given back).
 *
 * @param size The length.
 * @returns The buffer.
 *
 * @example Usage
 * ```ts
 * import { newBuffer } from "./_buffers.ts";
 * console.log(newBuffer(16).length); // 16
 * ```
 */
export function newBuffer(size: number): Uint8Array {
  made++;
  return new Uint8Array(size);
}

/**
 * How many buffers were allocated so far (what the free lists could not
 * serve): steady bulk traffic should make none.
 *
 * @returns The count.
 *
 * @example Usage
 * ```ts
 * import { madeBuffers } from "./_buffers.ts";
 * console.log(madeBuffers() >= 0); // true
 * ```
 */
export function madeBuffers(): number {
  return made;
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
  if (buf.length === BUFFER_SIZE) {
    lent--;
    if (free.length * BUFFER_SIZE < MAX_KEPT_BYTES) free.push(buf);
  } else if (buf.length === LARGE_BUFFER_SIZE) {
    lent--;
    if (freeLarge.length * LARGE_BUFFER_SIZE < MAX_KEPT_LARGE_BYTES) freeLarge.push(buf);
  }
}

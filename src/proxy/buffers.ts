/**
 * A small free list of equally sized read buffers, so that short-lived
 * connections reuse buffers instead of allocating (and zeroing) large ones.
 *
 * @module
 */

/**
 * Hands out buffers of one size and keeps returned ones up to a byte budget.
 *
 * @example Usage
 * ```ts
 * import { BufferPool } from "./buffers.ts";
 * import assert from "node:assert/strict";
 * const pool = new BufferPool(65536, 4 * 65536);
 * const a = pool.acquire();
 * pool.release(a);
 * assert.equal(pool.acquire(), a); // reused
 * ```
 */
export class BufferPool {
  /** Size of every buffer, in bytes. */
  readonly size: number;
  /** Most buffers kept for reuse (the byte budget divided by the size). */
  readonly maxFree: number;
  readonly #free: Uint8Array[] = [];

  /**
   * Creates an empty pool.
   *
   * @param size Size of every buffer, in bytes (at least 1).
   * @param maxFreeBytes Most bytes of returned buffers kept for reuse; more are left to the GC.
   * @throws {RangeError} When `size` is not a positive integer.
   */
  constructor(size: number, maxFreeBytes: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Cannot create a buffer pool: size must be a positive integer, got ${size}`,
      );
    }
    this.size = size;
    this.maxFree = Math.floor(Math.max(maxFreeBytes, 0) / size);
  }

  /** Buffers waiting for reuse. */
  get free(): number {
    return this.#free.length;
  }

  /**
   * Takes a buffer: a returned one if any, else a new one.
   *
   * @returns A buffer of `size` bytes (its contents are not cleared).
   */
  acquire(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  /**
   * Gives a buffer back. No read may still be writing into it.
   *
   * @param buf A buffer from {@linkcode BufferPool.acquire}.
   */
  release(buf: Uint8Array): void {
    if (buf.length === this.size && this.#free.length < this.maxFree) this.#free.push(buf);
  }
}

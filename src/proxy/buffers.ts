/**
 * A small free list of equally sized read buffers, so that short-lived
 * connections reuse buffers instead of allocating (and zeroing) large ones.
 *
 * @module
 */

/** A pool left untouched this long drops what it keeps (ms). */
export const POOL_QUIET_MS = 5_000;

/**
 * Tracks since when a use counter has not moved.
 *
 * @param q The last count seen and when it last changed (updated here).
 * @param count The use counter now.
 * @param now The current time (ms).
 * @returns When the counter last changed.
 *
 * @example Usage
 * ```ts
 * import { quietSince } from "./buffers.ts";
 * const q = { taken: -1, since: 0 };
 * quietSince(q, 3, 1000); // 1000: it just moved
 * quietSince(q, 3, 9000); // 1000: quiet since then
 * ```
 */
export function quietSince(
  q: { taken: number; since: number },
  count: number,
  now: number,
): number {
  if (q.taken !== count) {
    q.taken = count;
    q.since = now;
  }
  return q.since;
}

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
  #taken = 0;
  readonly #quiet = { taken: -1, since: 0 };

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
    this.#taken++;
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  /**
   * Called periodically (by a sweeper): once no buffer was taken for
   * `quietMs`, the kept ones are dropped, so an idle listener holds none.
   *
   * @param now The current time (ms).
   * @param quietMs How long without a take before the free list goes.
   */
  trimIdle(now: number, quietMs: number = POOL_QUIET_MS): void {
    if (quietSince(this.#quiet, this.#taken, now) <= now - quietMs) this.#free.length = 0;
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

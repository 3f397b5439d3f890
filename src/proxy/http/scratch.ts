/**
 * The per-connection working memory of the HTTP core (read buffer, parsed
 * heads, head writer, chunk parsers), pooled per listener so that short
 * connections reuse it instead of allocating ~90 KiB each. A connection
 * takes one when a request arrives and gives it back when it waits for the
 * next, unless requests come back to back: then it keeps it until the
 * listener's sweeper finds it waiting. The pool keeps returned ones up to a
 * byte budget.
 *
 * @module
 */

import { ChunkedParser } from "./chunked.ts";
import { MessageHead } from "./head.ts";
import { ByteWriter } from "./writer.ts";
import { POOL_QUIET_MS, quietSince } from "../buffers.ts";
import { Attempt } from "../../balance/lease.ts";

/** Size of the client read buffer until a head needs more: most heads fit. */
const FIRST_BUFFER = 16 * 1024;

/** Initial size of the head writer (it grows to hold a head with a body chunk). */
const FIRST_WRITER = 4096;

/** A writer grown past this is not kept in the pool. */
const MAX_POOLED_WRITER = 16 * 1024;

/** Most header lines accepted in an endpoint's response head. */
export const MAX_RESPONSE_HEADERS = 256;

/**
 * Working memory of one client connection.
 *
 * @example Usage
 * ```ts
 * import { ConnectionScratch } from "./scratch.ts";
 * const s = new ConnectionScratch(65536 + 4096, 100);
 * s.buf.length; // 16384, and up to 69632 when a head needs it
 * ```
 */
export class ConnectionScratch {
  /** The client read buffer: `FIRST_BUFFER` bytes until a head needs more ({@linkcode ConnectionScratch.grow}). */
  buf: Uint8Array;
  /** The size `buf` may grow to (the head limit plus slack). */
  readonly maxBuffer: number;
  readonly #first: Uint8Array;
  /** The request header limit `head` was made for. */
  readonly maxHeaders: number;
  /** The client's request head. */
  readonly head: MessageHead;
  /** The endpoint's response head. */
  readonly res: MessageHead = new MessageHead(MAX_RESPONSE_HEADERS);
  /** Heads (and small bodies) being composed. */
  readonly out: ByteWriter = new ByteWriter(FIRST_WRITER);
  /** Framing of chunked request bodies. */
  readonly reqChunks: ChunkedParser = new ChunkedParser(400);
  /** Framing of chunked response bodies. */
  readonly resChunks: ChunkedParser = new ChunkedParser(502);
  /** The leases of the request in hand (here, so that an idle connection holds none). */
  readonly attempt: Attempt = new Attempt();

  /** Bytes of the typed arrays it holds (what keeping it in a pool costs). */
  get bytes(): number {
    return this.buf.length + this.out.buf.length + this.head.fields.byteLength +
      this.res.fields.byteLength;
  }

  /**
   * Allocates the working memory.
   *
   * @param bufferSize Largest client read buffer (the head limit plus slack).
   * @param maxHeaders Most request header lines.
   */
  constructor(bufferSize: number, maxHeaders: number) {
    this.maxHeaders = maxHeaders;
    this.maxBuffer = bufferSize;
    this.buf = this.#first = new Uint8Array(Math.min(FIRST_BUFFER, bufferSize));
    this.head = new MessageHead(maxHeaders);
  }

  /**
   * A head fills `buf`: makes a buffer of `maxBuffer` bytes the new `buf`
   * (the caller moves the bytes), until {@linkcode ConnectionScratch.shrink}.
   *
   * @returns The new buffer, or null when `buf` is already the largest.
   */
  grow(): Uint8Array | null {
    if (this.buf.length >= this.maxBuffer) return null;
    return this.buf = new Uint8Array(this.maxBuffer);
  }

  /** Drops a grown read buffer and a grown head writer (before the scratch is pooled). */
  shrink(): void {
    this.buf = this.#first;
    if (this.out.buf.length > MAX_POOLED_WRITER) this.out.buf = new Uint8Array(FIRST_WRITER);
  }
}

/**
 * A free list of {@linkcode ConnectionScratch}es of one shape.
 *
 * @example Usage
 * ```ts
 * import { ScratchPool } from "./scratch.ts";
 * const pool = new ScratchPool(69632, 100, 4 * 1024 * 1024);
 * const s = pool.acquire();
 * pool.release(s);
 * pool.acquire() === s; // true
 * ```
 */
export class ScratchPool {
  readonly #bufferSize: number;
  readonly #maxHeaders: number;
  readonly #maxFreeBytes: number;
  readonly #free: ConnectionScratch[] = [];
  #freeBytes = 0;
  #taken = 0;
  readonly #quiet = { taken: -1, since: 0 };

  /**
   * Creates an empty pool.
   *
   * @param bufferSize Client read buffer size.
   * @param maxHeaders Most request header lines.
   * @param maxFreeBytes Most bytes of returned scratches kept for reuse.
   */
  constructor(bufferSize: number, maxHeaders: number, maxFreeBytes: number) {
    this.#bufferSize = bufferSize;
    this.#maxHeaders = maxHeaders;
    this.#maxFreeBytes = maxFreeBytes;
  }

  /** Bytes held by the scratches waiting for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * Takes a scratch: a returned one if any, else a new one.
   *
   * @returns Working memory for one connection.
   */
  acquire(): ConnectionScratch {
    this.#taken++;
    const s = this.#free.pop();
    if (s === undefined) return new ConnectionScratch(this.#bufferSize, this.#maxHeaders);
    this.#freeBytes -= s.bytes;
    return s;
  }

  /**
   * Called by the sweeper: once none was taken for `quietMs`, the kept
   * scratches are dropped, so an idle listener holds none.
   *
   * @param now The current time (ms).
   * @param quietMs How long without a take before the free list goes.
   */
  trimIdle(now: number, quietMs: number = POOL_QUIET_MS): void {
    if (quietSince(this.#quiet, this.#taken, now) > now - quietMs) return;
    this.#free.length = 0;
    this.#freeBytes = 0;
  }

  /**
   * Gives a scratch back; no read may still be writing into its buffer.
   *
   * @param s A scratch from {@linkcode ScratchPool.acquire}.
   */
  release(s: ConnectionScratch): void {
    s.shrink();
    const bytes = s.bytes;
    if (
      this.#freeBytes + bytes <= this.#maxFreeBytes && s.maxBuffer === this.#bufferSize &&
      s.maxHeaders === this.#maxHeaders
    ) {
      this.#free.push(s);
      this.#freeBytes += bytes;
    }
  }
}

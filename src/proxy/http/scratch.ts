/**
 * The per-connection working memory of the HTTP core (read buffer, parsed
 * heads, head writer, chunk parsers), pooled per listener so that short
 * connections reuse it instead of allocating ~90 KiB each.
 *
 * @module
 */

import { ChunkedParser } from "./chunked.ts";
import { MessageHead } from "./head.ts";
import { ByteWriter } from "./writer.ts";

/** Most header lines accepted in an endpoint's response head. */
export const MAX_RESPONSE_HEADERS = 256;

/**
 * Working memory of one client connection.
 *
 * @example Usage
 * ```ts
 * import { ConnectionScratch } from "./scratch.ts";
 * const s = new ConnectionScratch(65536 + 4096, 100);
 * s.buf.length; // 69632
 * ```
 */
export class ConnectionScratch {
  /** The client read buffer. */
  readonly buf: Uint8Array;
  /** The request header limit `head` was made for. */
  readonly maxHeaders: number;
  /** The client's request head. */
  readonly head: MessageHead;
  /** The endpoint's response head. */
  readonly res: MessageHead = new MessageHead(MAX_RESPONSE_HEADERS);
  /** Heads (and small bodies) being composed. */
  readonly out: ByteWriter = new ByteWriter(8192);
  /** Framing of chunked request bodies. */
  readonly reqChunks: ChunkedParser = new ChunkedParser(400);
  /** Framing of chunked response bodies. */
  readonly resChunks: ChunkedParser = new ChunkedParser(502);

  /**
   * Allocates the working memory.
   *
   * @param bufferSize Client read buffer size (the head limit plus slack).
   * @param maxHeaders Most request header lines.
   */
  constructor(bufferSize: number, maxHeaders: number) {
    this.maxHeaders = maxHeaders;
    this.buf = new Uint8Array(bufferSize);
    this.head = new MessageHead(maxHeaders);
  }
}

/**
 * A free list of {@linkcode ConnectionScratch}es of one shape.
 *
 * @example Usage
 * ```ts
 * import { ScratchPool } from "./scratch.ts";
 * const pool = new ScratchPool(69632, 100, 64);
 * const s = pool.acquire();
 * pool.release(s);
 * pool.acquire() === s; // true
 * ```
 */
export class ScratchPool {
  readonly #bufferSize: number;
  readonly #maxHeaders: number;
  readonly #maxFree: number;
  readonly #free: ConnectionScratch[] = [];

  /**
   * Creates an empty pool.
   *
   * @param bufferSize Client read buffer size.
   * @param maxHeaders Most request header lines.
   * @param maxFree Most scratches kept for reuse.
   */
  constructor(bufferSize: number, maxHeaders: number, maxFree: number) {
    this.#bufferSize = bufferSize;
    this.#maxHeaders = maxHeaders;
    this.#maxFree = maxFree;
  }

  /**
   * Takes a scratch: a returned one if any, else a new one.
   *
   * @returns Working memory for one connection.
   */
  acquire(): ConnectionScratch {
    return this.#free.pop() ?? new ConnectionScratch(this.#bufferSize, this.#maxHeaders);
  }

  /**
   * Gives a scratch back; no read may still be writing into its buffer.
   *
   * @param s A scratch from {@linkcode ScratchPool.acquire}.
   */
  release(s: ConnectionScratch): void {
    if (
      this.#free.length < this.#maxFree && s.buf.length === this.#bufferSize &&
      s.maxHeaders === this.#maxHeaders
    ) {
      this.#free.push(s);
    }
  }
}

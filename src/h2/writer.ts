/**
 * The output side of a connection: frames are appended to one buffer during
 * a turn and go out in one `conn.write` (a microtask flushes them); while a
 * write is in flight the next batch collects in a second buffer.
 *
 * @module
 */

import {
  BUFFER_SIZE,
  giveBuffer,
  LARGE_BUFFER_SIZE,
  newBuffer,
  takeBuffer,
  takeLargeBuffer,
} from "./_buffers.ts";
import { FLAG, FRAME, FRAME_HEADER_LENGTH, writeFrameHeader, writeUint32 } from "./frame.ts";

/** Above this many buffered bytes, data writers wait for the socket to drain. */
const HIGH_WATER = 256 * 1024;

const RESOLVED: Promise<void> = Promise.resolve();

/** Microtask hops before a batch goes out (an `await` of a settled promise takes one to three). */
const FLUSH_HOPS = 4;

/**
 * Batches frames into one socket write per turn.
 *
 * @example Usage
 * ```ts ignore
 * import { FRAME, FLAG } from "./frame.ts";
 * import { FrameWriter } from "./writer.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * const writer = new FrameWriter(conn, () => conn.close());
 * writer.frame(FRAME.PING, FLAG.ACK, 0, new Uint8Array(8));
 * ```
 */
export class FrameWriter {
  #conn: Deno.Conn;
  #onError: () => void;
  #onDrain: () => void;
  /** The batch being filled (a shared working buffer while there is work, else empty). */
  #buf: Uint8Array = EMPTY;
  /** The buffer of the batch last written, kept for the next swap while busy. */
  #spare: Uint8Array | null = null;
  #len = 0;
  #batch = 0;
  #written = 0;
  #scheduled = false;
  #writing = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  #flushWaiters: (() => void)[] = [];
  #hops = 0;
  /**
   * The flush waits a few microtask hops, so that a producer that awaits a
   * resolved promise between frames (`await stream.write(body); stream.end()`)
   * still lands in the same socket write.
   */
  #flushNow = () => {
    if (++this.#hops < FLUSH_HOPS) {
      queueMicrotask(this.#flushNow);
      return;
    }
    this.#hops = 0;
    this.#scheduled = false;
    if (!this.#writing) this.#flush();
  };

  /**
   * Makes the writer of `conn`.
   *
   * @param conn The socket.
   * @param onError Called once when a write fails (the peer is gone).
   * @param onDrain Called after each write that leaves the buffer below {@linkcode FrameWriter.full}.
   */
  constructor(conn: Deno.Conn, onError: () => void, onDrain: () => void = () => {}) {
    this.#conn = conn;
    this.#onError = onError;
    this.#onDrain = onDrain;
  }

  /** Counts the batches handed to the socket: offsets from `reserve` are valid within one. */
  get batch(): number {
    return this.#batch;
  }

  /** Counts the batches the socket took. */
  get written(): number {
    return this.#written;
  }

  /**
   * True when the batch holds the high-water mark: DATA waits for the socket
   * (appended later, on the drain) rather than piling up in the buffer.
   */
  get full(): boolean {
    return this.#len >= HIGH_WATER && !this.#closed;
  }

  /** Bytes waiting for or in the socket write. */
  get buffered(): number {
    return this.#len;
  }

  /**
   * Appends a frame whose payload is `payload` (or nothing).
   *
   * @param type The frame type.
   * @param flags The flags.
   * @param streamId The stream.
   * @param payload The payload, copied.
   */
  frame(type: number, flags: number, streamId: number, payload?: Uint8Array): void {
    const length = payload === undefined ? 0 : payload.length;
    const at = this.reserve(FRAME_HEADER_LENGTH + length);
    writeFrameHeader(this.#buf, at, length, type, flags, streamId);
    if (length > 0) this.#buf.set(payload!, at + FRAME_HEADER_LENGTH);
  }

  /**
   * Appends a field block: one HEADERS frame, and CONTINUATION frames when it
   * is larger than `maxFrameSize`.
   *
   * @param streamId The stream.
   * @param block The HPACK-encoded block.
   * @param endStream Sets END_STREAM.
   * @param maxFrameSize The peer's largest frame.
   */
  headers(streamId: number, block: Uint8Array, endStream: boolean, maxFrameSize: number): void {
    let flags = endStream ? FLAG.END_STREAM : 0;
    let type: number = FRAME.HEADERS;
    let offset = 0;
    do {
      const n = Math.min(block.length - offset, maxFrameSize);
      if (offset + n === block.length) flags |= FLAG.END_HEADERS;
      const at = this.reserve(FRAME_HEADER_LENGTH + n);
      writeFrameHeader(this.#buf, at, n, type, flags, streamId);
      this.#buf.set(n === block.length ? block : block.subarray(offset, offset + n), at + 9);
      offset += n;
      type = FRAME.CONTINUATION;
      flags = 0;
    } while (offset < block.length);
  }

  /**
   * Appends a frame whose payload is one 32-bit number (WINDOW_UPDATE, RST_STREAM).
   *
   * @param type The frame type.
   * @param streamId The stream.
   * @param value The number.
   */
  word(type: number, streamId: number, value: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.#buf, at, 4, type, 0, streamId);
    writeUint32(this.#buf, at + FRAME_HEADER_LENGTH, value);
  }

  /**
   * Appends a GOAWAY frame.
   *
   * @param lastStreamId The last stream the peer opened that we handle.
   * @param code The RFC 9113 error code.
   * @param debug What went wrong, sent as debug data (cut to 200 characters).
   */
  goaway(lastStreamId: number, code: number, debug?: string): void {
    const data = debug === undefined ? EMPTY : new TextEncoder().encode(debug.slice(0, 200));
    const at = this.reserve(FRAME_HEADER_LENGTH + 8 + data.length);
    const buf = this.#buf;
    writeFrameHeader(buf, at, 8 + data.length, FRAME.GOAWAY, 0, 0);
    writeUint32(buf, at + FRAME_HEADER_LENGTH, lastStreamId);
    writeUint32(buf, at + FRAME_HEADER_LENGTH + 4, code);
    buf.set(data, at + FRAME_HEADER_LENGTH + 8);
  }

  /**
   * Makes room for `n` bytes and returns where they start in {@linkcode FrameWriter.buffer};
   * the caller fills them at once (before anything else is appended).
   *
   * @param n How many bytes.
   * @returns The offset of the first.
   */
  reserve(n: number): number {
    const at = this.#len;
    const need = at + n;
    if (need > this.#buf.length) {
      if (this.#buf === EMPTY && need <= BUFFER_SIZE) {
        this.#buf = this.#spare ?? takeBuffer();
        this.#spare = null;
      } else {
        this.#grow(at, need);
      }
    }
    this.#len = need;
    if (!this.#scheduled && !this.#writing && !this.#closed) {
      this.#scheduled = true;
      queueMicrotask(this.#flushNow);
    }
    return at;
  }

  /**
   * Moves the batch (`at` bytes) into a buffer of at least `need` bytes: a
   * pooled large one in one step (bulk DATA), doubling only past that.
   */
  #grow(at: number, need: number): void {
    let bigger: Uint8Array;
    if (need <= LARGE_BUFFER_SIZE) {
      bigger = this.#spare !== null && this.#spare.length >= need ? this.#spare : takeLargeBuffer();
      if (bigger === this.#spare) this.#spare = null;
    } else {
      let size = Math.max(this.#buf.length * 2, LARGE_BUFFER_SIZE);
      while (size < need) size *= 2;
      bigger = newBuffer(size);
    }
    if (at > 0) bigger.set(this.#buf.subarray(0, at));
    if (this.#buf !== EMPTY) giveBuffer(this.#buf);
    this.#buf = bigger;
  }

  /** The buffer that {@linkcode FrameWriter.reserve} offsets point into. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /**
   * Resolves at once when little is buffered, else when the socket has taken
   * the backlog (backpressure for data writers).
   *
   * @returns When the caller may write more.
   */
  drained(): Promise<void> {
    if (this.#len < HIGH_WATER || this.#closed) return RESOLVED;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Resolves when everything appended so far has been written (or the socket failed).
   *
   * @returns When the buffer is empty.
   */
  flushed(): Promise<void> {
    if ((this.#len === 0 && !this.#writing) || this.#closed) return RESOLVED;
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  /** Stops writing; pending waiters resolve; later frames are dropped. */
  close(): void {
    this.#closed = true;
    this.#len = 0;
    if (!this.#writing) this.#release();
    this.#drainWaiters = wake(this.#drainWaiters);
    this.#flushWaiters = wake(this.#flushWaiters);
  }

  async #flush(): Promise<void> {
    if (this.#len === 0 || this.#closed) return;
    this.#writing = true;
    const out = this.#buf;
    const n = this.#len;
    this.#buf = this.#spare ?? EMPTY;
    this.#spare = null;
    this.#batch++;
    this.#len = 0;
    try {
      let done = 0;
      while (done < n) done += await this.#conn.write(out.subarray(done, n));
      this.#written++;
    } catch {
      this.#closed = true;
      this.#len = 0;
      this.#onError();
    } finally {
      this.#writing = false;
      this.#spare = out;
      // Idle (or closed): both buffers go back to the shared free list.
      if (this.#len === 0 || this.#closed) this.#release();
      if (this.#len < HIGH_WATER || this.#closed) this.#drainWaiters = wake(this.#drainWaiters);
      if (this.#len < HIGH_WATER && !this.#closed) this.#onDrain();
      if (this.#len === 0 || this.#closed) {
        this.#flushWaiters = wake(this.#flushWaiters);
      } else if (!this.#scheduled) {
        // What came during the write goes out after the same hops as a new batch.
        this.#scheduled = true;
        queueMicrotask(this.#flushNow);
      }
    }
  }

  #release(): void {
    if (this.#buf !== EMPTY) giveBuffer(this.#buf);
    if (this.#spare !== null) giveBuffer(this.#spare);
    this.#buf = EMPTY;
    this.#spare = null;
    this.#len = 0;
  }
}

const EMPTY = new Uint8Array(0);

/** Resolves every waiter; returns the list to keep (the same one when it was empty). */
function wake(waiters: (() => void)[]): (() => void)[] {
  if (waiters.length === 0) return waiters;
  for (const resolve of waiters) resolve();
  return [];
}

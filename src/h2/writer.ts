/**
 * The output side of a connection: frames are appended to one buffer during
 * a turn and go out in one `conn.write` (a microtask flushes them); while a
 * write is in flight the next batch collects in a second buffer.
 *
 * @module
 */

import { FRAME_HEADER_LENGTH, writeFrameHeader } from "./frame.ts";

/** Above this many buffered bytes, data writers wait for the socket to drain. */
const HIGH_WATER = 256 * 1024;

const RESOLVED: Promise<void> = Promise.resolve();

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
  #buf = new Uint8Array(16_384);
  #spare = new Uint8Array(16_384);
  #len = 0;
  #scheduled = false;
  #writing = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  #flushWaiters: (() => void)[] = [];
  #flushNow = () => {
    this.#scheduled = false;
    if (!this.#writing) this.#flush();
  };

  /**
   * Makes the writer of `conn`.
   *
   * @param conn The socket.
   * @param onError Called once when a write fails (the peer is gone).
   */
  constructor(conn: Deno.Conn, onError: () => void) {
    this.#conn = conn;
    this.#onError = onError;
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
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.#buf.subarray(0, at));
      this.#buf = bigger;
    }
    this.#len = need;
    if (!this.#scheduled && !this.#writing && !this.#closed) {
      this.#scheduled = true;
      queueMicrotask(this.#flushNow);
    }
    return at;
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
    this.#drainWaiters = wake(this.#drainWaiters);
    this.#flushWaiters = wake(this.#flushWaiters);
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#len > 0 && !this.#closed) {
        const out = this.#buf;
        const n = this.#len;
        this.#buf = this.#spare;
        this.#spare = out;
        this.#len = 0;
        let done = 0;
        while (done < n) done += await this.#conn.write(out.subarray(done, n));
        if (this.#len < HIGH_WATER) this.#drainWaiters = wake(this.#drainWaiters);
      }
    } catch {
      this.#closed = true;
      this.#len = 0;
      this.#onError();
    } finally {
      this.#writing = false;
      this.#drainWaiters = wake(this.#drainWaiters);
      if (this.#len === 0 || this.#closed) this.#flushWaiters = wake(this.#flushWaiters);
    }
  }
}

/** Resolves every waiter; returns the list to keep (the same one when it was empty). */
function wake(waiters: (() => void)[]): (() => void)[] {
  if (waiters.length === 0) return waiters;
  for (const resolve of waiters) resolve();
  return [];
}

/**
 * A TCP connection with its own reusable read buffer, shared by the proxy
 * cores. At most one read is in flight; it can be started early (to notice a
 * peer that goes away, or an idle pooled connection that the peer closed) and
 * awaited later.
 *
 * @module
 */

/**
 * Writes all of `data`, looping over partial writes.
 *
 * @param conn Where to write.
 * @param data What to write.
 * @returns Resolves when everything was written.
 *
 * @example Usage
 * ```ts ignore
 * import { writeAll } from "./socket.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * await writeAll(conn, new TextEncoder().encode("hello"));
 * ```
 */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    off += await conn.write(off === 0 ? data : data.subarray(off));
  }
}

/**
 * A connection plus a read buffer. Unconsumed bytes are `buf[start, end)`.
 *
 * @example Usage
 * ```ts ignore
 * import { BufferedSocket } from "./socket.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * const s = new BufferedSocket(conn, 65536);
 * const n = await s.fill(); // bytes read, or null at end of stream
 * ```
 */
export class BufferedSocket {
  /** The underlying connection. */
  readonly conn: Deno.Conn;
  /** The read buffer (replaced only by {@linkcode BufferedSocket.swapBuffer}). */
  buf: Uint8Array;
  /** First unconsumed byte. */
  start = 0;
  /** One past the last byte read. */
  end = 0;
  /** The peer ended its side (read returned end of stream). */
  eof = false;
  /** The connection was closed by us. */
  closed = false;
  /**
   * A small buffer that {@linkcode BufferedSocket.readAhead} moves to when
   * nothing is buffered, so a connection waiting for its peer holds no big
   * buffer (null: always read into `buf`).
   */
  idleBuffer: Uint8Array | null = null;
  #pending: Promise<number | null> | null = null;
  #onRead: ((n: number | null) => void) | null = null;
  #onError: ((e: unknown) => void) | null = null;

  /**
   * Wraps a connection.
   *
   * @param conn The connection.
   * @param buffer The read buffer, or its size to allocate one (pooled
   *   buffers go back only after {@linkcode BufferedSocket.settle}).
   * @param onEarlyRead Called when a read started with {@linkcode readAhead}
   *   settles, with its byte count, null at end of stream, or -1 on error.
   */
  constructor(
    conn: Deno.Conn,
    buffer: Uint8Array | number,
    onEarlyRead: ((n: number | null) => void) | null = null,
  ) {
    this.conn = conn;
    this.buf = typeof buffer === "number" ? new Uint8Array(buffer) : buffer;
    this.#onRead = onEarlyRead;
  }

  /** Bytes buffered and not consumed. */
  get available(): number {
    return this.end - this.start;
  }

  /** Whether a read is in flight. */
  get reading(): boolean {
    return this.#pending !== null;
  }

  /** Moves unconsumed bytes to the front when the buffer's tail is full. */
  compact(): void {
    if (this.start === this.end) {
      this.start = this.end = 0;
    } else if (this.end === this.buf.length && this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
  }

  /**
   * Moves the unconsumed bytes into another buffer and reads into it from now
   * on. Only while no read is in flight, and `next` must hold those bytes.
   *
   * @param next The new buffer.
   * @returns The old buffer, or null when nothing was swapped (a read is in flight or `next` is too small).
   */
  swapBuffer(next: Uint8Array): Uint8Array | null {
    const n = this.end - this.start;
    if (this.#pending !== null || next.length < n) return null;
    const old = this.buf;
    if (n > 0) next.set(old.subarray(this.start, this.end));
    this.buf = next;
    this.start = 0;
    this.end = n;
    return old;
  }

  /**
   * Starts a read now without waiting for it; {@linkcode fill} later returns
   * its result. The buffer must have room (it is not compacted here, so
   * offsets into it stay valid). With nothing buffered and an
   * {@linkcode BufferedSocket.idleBuffer}, the read goes into that one
   * (the old buffer's contents stay as they were).
   *
   * @returns Whether a read was started.
   */
  readAhead(): boolean {
    if (this.#pending !== null) return true;
    if (this.eof || this.closed) return false;
    if (this.end === this.start && this.idleBuffer !== null && this.buf !== this.idleBuffer) {
      this.swapBuffer(this.idleBuffer);
    }
    if (this.end === this.buf.length) return false;
    const p = this.conn.read(this.#free());
    this.#pending = p;
    const onRead = this.#onRead;
    if (onRead !== null) p.then(onRead, this.#onError ??= () => onRead(-1));
    return true;
  }

  /** The free tail of the buffer (the buffer itself when empty: no view to allocate). */
  #free(): Uint8Array {
    return this.end === 0 ? this.buf : this.buf.subarray(this.end);
  }

  /**
   * The read in flight, else a read started into the free tail of the
   * buffer (compacted first): the runtime's own promise, with no async
   * frame of ours around it, so a connection waiting for its peer holds
   * just that read. Pass the result to {@linkcode BufferedSocket.filled}.
   * The buffer must have room.
   *
   * @returns Bytes read, or null at end of stream (not yet accounted).
   */
  readRaw(): Promise<number | null> {
    if (this.#pending !== null) return this.#pending;
    this.compact();
    if (this.end === this.buf.length) return Promise.reject(new RangeError("read buffer is full"));
    const p = this.conn.read(this.#free());
    this.#pending = p;
    return p;
  }

  /**
   * Accounts the result of {@linkcode BufferedSocket.readRaw}.
   *
   * @param n Bytes read, or null at end of stream.
   * @returns `n`.
   */
  filled(n: number | null): number | null {
    this.#pending = null;
    if (n === null) this.eof = true;
    else this.end += n;
    return n;
  }

  /**
   * Reads more bytes into the buffer (compacting it first when no read is in flight).
   *
   * @returns Bytes read, or null at end of stream.
   * @throws When the read fails (reset, closed by us).
   */
  async fill(): Promise<number | null> {
    let p = this.#pending;
    if (p === null) {
      this.compact();
      if (this.end === this.buf.length) throw new RangeError("read buffer is full");
      p = this.conn.read(this.#free());
    }
    try {
      const n = await p;
      if (n === null) this.eof = true;
      else this.end += n;
      return n;
    } finally {
      this.#pending = null;
    }
  }

  /**
   * Waits until no read is writing into the buffer any more (after
   * {@linkcode close}), so that a pooled buffer can be handed out again.
   *
   * @returns Resolves when no read is in flight; never rejects.
   */
  async settle(): Promise<void> {
    const p = this.#pending;
    if (p === null) return;
    try {
      await p;
    } catch {
      // the read failed because the connection closed: that is the point
    }
  }

  /** Closes the connection (idempotent); a pending read then fails. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed by the runtime
    }
  }
}

/**
 * Copies bytes from `src` (its buffered bytes first) to `dst` until `src`
 * ends, then half-closes `dst`'s write side, so the other direction goes on.
 *
 * @param src Where bytes come from.
 * @param dst Where they go.
 * @param skipHalfClose Asked once `src` ended: true when `dst` is about to be
 *   closed anyway (its own side ended too), so the shutdown is left out.
 * @returns Bytes copied; never rejects (a failed side just ends the copy).
 *
 * @example Usage
 * ```ts ignore
 * import { BufferedSocket, pipe } from "./socket.ts";
 * const [up, down] = await Promise.all([pipe(client, backend.conn), pipe(backend, client.conn)]);
 * ```
 */
export async function pipe(
  src: BufferedSocket,
  dst: Deno.Conn,
  skipHalfClose: (() => boolean) | null = null,
): Promise<number> {
  let total = 0;
  try {
    for (;;) {
      if (src.end > src.start) {
        const n = src.end - src.start;
        await writeAll(dst, src.buf.subarray(src.start, src.end));
        src.start = src.end;
        total += n;
      }
      // readRaw, not fill: an idle relay holds only the read, no async frame of ours
      if (src.filled(await src.readRaw()) === null) break;
    }
  } catch {
    // either side failed: stop copying
  }
  if (skipHalfClose !== null && skipHalfClose()) return total;
  try {
    await (dst as Deno.TcpConn).closeWrite();
  } catch {
    // already closed
  }
  return total;
}

/**
 * One HTTP/2 stream of an {@linkcode H2Session}: its head, received DATA
 * (buffered in two swapped buffers so `read()` hands out views), trailers,
 * and the send side that waits for flow-control windows.
 *
 * @module
 */

import { H2_ERROR, H2StreamError } from "./frame.ts";

export { H2StreamError } from "./frame.ts";

/** What a stream asks of its session (implemented by the session; internal). */
export interface StreamOwner {
  /** Encodes and sends a HEADERS block. */
  sendHeaders(stream: H2Stream, fields: readonly string[], endStream: boolean): void;
  /** Sends as much queued DATA as the windows allow. */
  pump(stream: H2Stream): void;
  /** Frames `data` from `offset` as far as the windows allow; returns the new offset. */
  sendData(stream: H2Stream, data: Uint8Array, offset: number): number;
  /** Ends our side (trailers, or none: an empty DATA) with END_STREAM. */
  sendEnd(stream: H2Stream, trailers: readonly string[]): void;
  /** The stream has DATA waiting for window. */
  block(stream: H2Stream): void;
  /** The socket's backpressure: resolves when the writer has room. */
  drained(): Promise<void>;
  /** The consumer took `n` bytes: return them to the peer's windows. */
  consumed(stream: H2Stream | null, n: number): void;
  /** Sends RST_STREAM(code) and forgets the stream. */
  resetStream(stream: H2Stream, code: number): void;
  /** Our side ended: forget the stream when the peer's side ended too. */
  localEnded(stream: H2Stream): void;
}

/** A DATA write waiting for window (the rare path; the common one sends at once). */
export interface PendingWrite {
  /** The bytes. */
  data: Uint8Array;
  /** How many were sent. */
  offset: number;
  /** Settles the write. */
  resolve: () => void;
  /** Fails the write. */
  reject: (error: Error) => void;
  /** End the stream after this write: the trailers, or [] for an empty DATA. */
  end: readonly string[] | null;
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * One stream. Made by the session: server role in `onStream`, client role
 * by {@linkcode H2Session.request}.
 *
 * @example Usage
 * ```ts ignore
 * import type { H2Stream } from "./stream.ts";
 * async function answer(stream: H2Stream) {
 *   for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {}
 *   stream.sendHeaders([":status", "200"], false);
 *   await stream.write(new TextEncoder().encode("hello"));
 *   await stream.end(["grpc-status", "0"]);
 * }
 * ```
 */
export class H2Stream {
  /** The stream id. */
  readonly id: number;
  /** Server: the request fields (complete at onStream). Client: [] until response() resolves. */
  readonly head: string[];
  /** Server: the request's decoded field block exceeded maxHeaderListSize (answer 431). */
  readonly headTooLarge: boolean;
  /** Called once when the peer resets the stream or the session dies with it open. */
  onReset: ((code: number) => void) | null = null;

  // The session's bookkeeping (internal: read and written by session.ts only).
  /** @internal Bytes we may still send. */
  sendWindow: number;
  /** @internal Bytes the peer may still send. */
  recvWindow: number;
  /** @internal Bytes consumed but not yet returned by WINDOW_UPDATE. */
  recvUnacked = 0;
  /** @internal The request's or response's content-length, -1 when absent. */
  expectedLength = -1;
  /** @internal DATA bytes received. */
  receivedLength = 0;
  /** @internal The peer sent END_STREAM. */
  remoteEnded = false;
  /** @internal We sent END_STREAM (or are about to, queued behind data). */
  localEnded = false;
  /** @internal Client: the request's method is HEAD (the response has no content). */
  headRequest = false;
  /** @internal Client: the final response head arrived. */
  gotResponse = false;
  /** @internal The reset code once reset (by either side or the session), else -1. */
  resetCode = -1;
  /** @internal DATA waiting for window. */
  pending: PendingWrite[] = [];

  #owner: StreamOwner;
  #acc: Uint8Array | null = null;
  #accLen = 0;
  #out: Uint8Array | null = null;
  #readResolve: ((chunk: Uint8Array | null) => void) | null = null;
  #readReject: ((error: Error) => void) | null = null;
  #trailers: string[] | null = null;
  #sendStopped = -1;
  #headSent = false;
  #response: Promise<string[]> | null = null;
  #responseResolve: ((head: string[]) => void) | null = null;
  #responseReject: ((error: Error) => void) | null = null;

  /**
   * Makes a stream (the session does; callers get streams from it).
   *
   * @param owner The session.
   * @param id The stream id.
   * @param head The request fields (server) or a list to fill (client).
   * @param headTooLarge The request's field block was too large.
   * @param sendWindow The peer's initial stream window.
   * @param recvWindow Our initial stream window.
   */
  constructor(
    owner: StreamOwner,
    id: number,
    head: string[],
    headTooLarge: boolean,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.#owner = owner;
    this.id = id;
    this.head = head;
    this.headTooLarge = headTooLarge;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /**
   * Client: resolves with the final (non-1xx) response fields; rejects when
   * the stream is reset or the session closes first.
   *
   * @returns The response fields (the same array as {@linkcode H2Stream.head}).
   */
  response(): Promise<string[]> {
    if (this.#response !== null) return this.#response;
    if (this.gotResponse) return this.#response = Promise.resolve(this.head);
    if (this.resetCode >= 0) return this.#response = Promise.reject(this.#error());
    this.#response = new Promise((resolve, reject) => {
      this.#responseResolve = resolve;
      this.#responseReject = reject;
    });
    return this.#response;
  }

  /**
   * The next DATA bytes (a view valid until the next read); null at END_STREAM.
   * Rejects with {@linkcode H2StreamError} when the stream is reset. Reading
   * returns window to the peer.
   *
   * @returns The bytes, or null at the end.
   */
  read(): Promise<Uint8Array | null> {
    if (this.#accLen > 0) return Promise.resolve(this.#take());
    if (this.resetCode >= 0) return Promise.reject(this.#error());
    if (this.remoteEnded) return Promise.resolve(null);
    if (this.#readResolve !== null) return Promise.reject(new Error("read() is already pending"));
    return new Promise((resolve, reject) => {
      this.#readResolve = resolve;
      this.#readReject = reject;
    });
  }

  /** Trailers received (after read() returned null), or null. */
  get trailers(): string[] | null {
    return this.#trailers;
  }

  /**
   * Sends a HEADERS block (server: the response head; either role: `endStream` ends our side).
   *
   * @param fields The flat list of names and values, pseudo-headers first.
   * @param endStream True when no body follows.
   */
  sendHeaders(fields: readonly string[], endStream: boolean): void {
    if (this.resetCode >= 0 || this.localEnded) return;
    this.#headSent = true;
    if (endStream) this.localEnded = true;
    this.#owner.sendHeaders(this, fields, endStream);
    if (endStream) this.#owner.localEnded(this);
  }

  /**
   * Sends DATA; resolves when the bytes are handed to the socket within the
   * flow-control windows (the caller may reuse `data` then). Rejects when the
   * stream is reset.
   *
   * @param data The bytes.
   * @returns When the bytes are out.
   */
  write(data: Uint8Array): Promise<void> {
    return this.#queue(data, null);
  }

  /**
   * Ends our side: an empty DATA with END_STREAM, or the trailers in a
   * HEADERS with END_STREAM.
   *
   * @param trailers The trailer fields.
   * @returns When the end is sent.
   */
  end(trailers?: readonly string[]): Promise<void> {
    if (this.localEnded && this.pending.length === 0) return RESOLVED;
    return this.#queue(EMPTY, trailers ?? NO_TRAILERS);
  }

  /**
   * Sends RST_STREAM(code) (default CANCEL) and ends both sides; data received
   * and not read is dropped (its window goes back to the peer). On a stream
   * that already ended both ways no RST_STREAM is sent.
   *
   * @param code The RFC 9113 error code.
   */
  reset(code: number = H2_ERROR.CANCEL): void {
    if (this.resetCode < 0) this.#owner.resetStream(this, code);
  }

  #queue(data: Uint8Array, end: readonly string[] | null): Promise<void> {
    if (this.resetCode >= 0) return Promise.reject(this.#error());
    if (this.#sendStopped >= 0) return Promise.reject(this.#error(this.#sendStopped));
    if (this.localEnded) {
      return Promise.reject(new Error(`stream ${this.id}: write after end`));
    }
    if (!this.#headSent) {
      return Promise.reject(new Error(`stream ${this.id}: sendHeaders() comes before DATA`));
    }
    if (end !== null) this.localEnded = true;
    let offset = 0;
    if (this.pending.length === 0) {
      // The common case: the windows are open, the frames go out now.
      offset = this.#owner.sendData(this, data, 0);
      if (offset === data.length) {
        if (end !== null) this.#owner.sendEnd(this, end);
        return this.#owner.drained();
      }
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ data, offset, end, resolve, reject });
      this.#owner.block(this);
    });
  }

  // -- called by the session --

  /** @internal Appends received DATA (copied) and wakes a pending read. */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    const need = this.#accLen + data.length;
    if (this.#acc === null || this.#acc.length < need) {
      const bigger = new Uint8Array(Math.max(need, Math.min(2 * need, 1 << 20), 1024));
      if (this.#acc !== null) bigger.set(this.#acc.subarray(0, this.#accLen));
      this.#acc = bigger;
    }
    this.#acc.set(data, this.#accLen);
    this.#accLen = need;
    const resolve = this.#readResolve;
    if (resolve !== null) {
      this.#readResolve = this.#readReject = null;
      resolve(this.#take());
    }
  }

  /** @internal The peer's END_STREAM: wakes a pending read with null. */
  endRemote(trailers: string[] | null): void {
    this.remoteEnded = true;
    this.#trailers = trailers;
    const resolve = this.#readResolve;
    if (resolve !== null && this.#accLen === 0) {
      this.#readResolve = this.#readReject = null;
      resolve(null);
    }
  }

  /** @internal Client: the final response head arrived (already in `head`). */
  gotHead(): void {
    this.gotResponse = true;
    const resolve = this.#responseResolve;
    if (resolve !== null) {
      this.#responseResolve = this.#responseReject = null;
      resolve(this.head);
    }
  }

  /**
   * @internal The peer reset the stream after its side ended (RST_STREAM
   * NO_ERROR after a complete response): writes fail, reads go on.
   */
  stopSending(code: number): void {
    this.#sendStopped = code;
    this.localEnded = true;
    const pending = this.pending;
    this.pending = [];
    const error = this.#error(code);
    for (const write of pending) write.reject(error);
  }

  /** @internal The bytes received but not read (their window is the session's to return). */
  get unread(): number {
    return this.#accLen;
  }

  /**
   * @internal The stream is reset (code) by either side or the session:
   * everything pending fails, `onReset` runs once when `notify`.
   */
  fail(code: number, notify: boolean): void {
    if (this.resetCode >= 0) return;
    this.resetCode = code;
    this.#accLen = 0;
    this.#acc = this.#out = null;
    const error = this.#error();
    const reject = this.#readReject;
    if (reject !== null) {
      this.#readResolve = this.#readReject = null;
      reject(error);
    }
    const rejectHead = this.#responseReject;
    if (rejectHead !== null) {
      this.#responseResolve = this.#responseReject = null;
      rejectHead(error);
    }
    const pending = this.pending;
    this.pending = [];
    for (const write of pending) write.reject(error);
    if (notify && this.onReset !== null) {
      try {
        this.onReset(code);
      } catch {
        // a throwing hook cannot break the session
      }
    }
  }

  #take(): Uint8Array {
    const n = this.#accLen;
    const full = this.#acc!;
    this.#acc = this.#out;
    this.#out = full;
    this.#accLen = 0;
    this.#owner.consumed(this, n);
    return full.subarray(0, n);
  }

  #error(code = this.resetCode): H2StreamError {
    return new H2StreamError(code, `stream ${this.id} was reset (code ${code})`);
  }
}

const EMPTY = new Uint8Array(0);
const NO_TRAILERS: readonly string[] = [];

/**
 * The state of an HTTP/2 connection and its send side: the streams, the
 * windows, HEADERS and DATA framing into the {@linkcode FrameWriter}, window
 * returns, resets and close. session.ts adds the reader and the public API.
 *
 * @module
 */

import type { Clock, Timer } from "../pool/clock.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  FLAG,
  FRAME,
  FRAME_HEADER_LENGTH,
  H2_ERROR,
  H2ConnectionError,
  readUint32,
  writeFrameHeader,
} from "./frame.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import type { PeerSettings } from "./_settings.ts";
import type { H2Stream, StreamOwner } from "./stream.ts";
import { FrameWriter } from "./writer.ts";

/** The limits and callbacks the core needs (the session's options, resolved). */
export interface CoreOptions {
  /** Which side we are. */
  role: "server" | "client";
  /** The clock of the SETTINGS timeout. */
  clock: Clock;
  /** Server: concurrent streams we allow. */
  maxConcurrentStreams: number;
  /** Our stream receive window. */
  initialWindowSize: number;
  /** Our connection receive window. */
  connectionWindowSize: number;
  /** The largest frame we accept. */
  maxFrameSize: number;
  /** The largest field section we accept. */
  maxHeaderListSize: number;
}

/**
 * The connection state and send side, shared by {@linkcode H2Session} (the
 * public face) and the receiver (./_receive.ts). Internal to src/h2.
 *
 * @example Usage
 * ```ts ignore
 * import { SessionCore } from "./_core.ts";
 * import { SYSTEM_CLOCK } from "../pool/clock.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * const core = new SessionCore(conn, {
 *   role: "client", clock: SYSTEM_CLOCK, maxConcurrentStreams: 128, initialWindowSize: 262144,
 *   connectionWindowSize: 1048576, maxFrameSize: 16384, maxHeaderListSize: 65536,
 * });
 * core.close();
 * ```
 */
export class SessionCore implements StreamOwner {
  /** The socket. */
  readonly conn: Deno.Conn;
  /** True in the server role. */
  readonly server: boolean;
  /** The clock of the SETTINGS timeout. */
  readonly clock: Clock;
  /** Server: the concurrent streams we allow. */
  readonly maxStreams: number;
  /** Our stream receive window. */
  readonly initialWindow: number;
  /** Our connection receive window. */
  readonly connWindowSize: number;
  /** The largest frame we accept. */
  readonly maxFrameSize: number;
  /** The largest field section we accept. */
  readonly maxHeaderList: number;
  /** The batched output. */
  readonly writer: FrameWriter;
  /** Our HPACK encoder (its state is the connection's). */
  readonly encoder: HpackEncoder = new HpackEncoder();
  /** Our HPACK decoder (its state is the connection's). */
  readonly decoder: HpackDecoder = new HpackDecoder();
  /** The open streams by id. */
  readonly streams: Map<number, H2Stream> = new Map();
  /** Streams with DATA waiting for window. */
  readonly blocked: Set<H2Stream> = new Set();
  /** What the peer announced. */
  readonly peer: PeerSettings = {
    headerTableSize: -1,
    maxConcurrentStreams: Infinity,
    initialWindowSize: DEFAULT_WINDOW_SIZE,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: Infinity,
  };
  /** Our connection send window. */
  sendWindow: number = DEFAULT_WINDOW_SIZE;
  /** What the peer may still send on the connection. */
  recvWindow: number;
  /** Connection bytes consumed and not yet returned. */
  recvUnacked = 0;
  /** The highest stream id the peer opened. */
  lastPeerStream = 0;
  /** Client: the id of our next stream. */
  nextStream: number;
  /** We sent GOAWAY. */
  goawaySent = false;
  /** The peer sent GOAWAY. */
  goawayReceived = false;
  /** The socket is closed. */
  isClosed = false;
  /** Runs out when the peer does not acknowledge our SETTINGS. */
  settingsTimer: Timer | null = null;
  /** The peer acknowledged our SETTINGS. */
  settingsAcked = false;
  /** The last streams we reset (a ring). */
  #resets = new Uint32Array(32);
  #resetAt = 0;
  /** Where the last DATA frame starts in the writer's buffer, and in which batch. */
  #lastData = -1;
  #lastDataBatch = -1;

  /**
   * Makes the state of a connection on `conn`.
   *
   * @param conn The socket.
   * @param options The resolved options.
   */
  constructor(conn: Deno.Conn, options: CoreOptions) {
    this.conn = conn;
    this.server = options.role === "server";
    this.clock = options.clock;
    this.maxStreams = options.maxConcurrentStreams;
    this.initialWindow = options.initialWindowSize;
    this.connWindowSize = Math.max(options.connectionWindowSize, DEFAULT_WINDOW_SIZE);
    this.maxFrameSize = options.maxFrameSize;
    this.maxHeaderList = options.maxHeaderListSize;
    this.recvWindow = this.connWindowSize;
    this.nextStream = this.server ? 2 : 1;
    this.writer = new FrameWriter(conn, () => this.close(), () => this.resume());
  }

  /** The open streams. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** True once the socket is closed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Closes the socket now; every open stream ends as reset (CANCEL). */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.settingsTimer?.cancel();
    this.settingsTimer = null;
    this.writer.close();
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const stream of streams) stream.fail(H2_ERROR.CANCEL, true);
  }

  // -- StreamOwner --

  /** Encodes `fields` and sends HEADERS (and CONTINUATION when the block is larger than a frame). */
  sendHeaders(stream: H2Stream, fields: readonly string[], endStream: boolean): void {
    if (this.isClosed) return;
    const block = this.encoder.encode(fields);
    this.writer.headers(stream.id, block, endStream, this.peer.maxFrameSize);
  }

  /** Sends the stream's queued DATA (and its end) as far as the windows allow. */
  pump(stream: H2Stream): void {
    const pending = stream.pending;
    while (pending.length > 0) {
      const write = pending[0];
      write.offset = this.sendData(stream, write.data, write.offset);
      if (write.offset < write.data.length) {
        this.blocked.add(stream);
        return;
      }
      pending.shift();
      if (write.end !== null) this.sendEnd(stream, write.end);
      write.resolve();
    }
    this.blocked.delete(stream);
  }

  /** Marks a stream as waiting for window. */
  block(stream: H2Stream): void {
    this.blocked.add(stream);
  }

  /** The socket's backpressure: resolves when the writer has room. */
  drained(): Promise<void> {
    return this.writer.drained();
  }

  /** Returns window for `n` consumed bytes of `stream` (null: the connection only). */
  consumed(stream: H2Stream | null, n: number): void {
    if (n <= 0 || this.isClosed) return;
    this.recvUnacked += n;
    if (this.recvUnacked >= this.connWindowSize >> 1) {
      this.windowUpdate(0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    if (stream === null || stream.remoteEnded || stream.resetCode >= 0) return;
    stream.recvUnacked += n;
    if (stream.recvUnacked >= this.initialWindow >> 1) {
      this.windowUpdate(stream.id, stream.recvUnacked);
      stream.recvWindow += stream.recvUnacked;
      stream.recvUnacked = 0;
    }
  }

  /** Sends RST_STREAM(code), fails the stream's pending work, forgets it. */
  resetStream(stream: H2Stream, code: number): void {
    if (this.streams.has(stream.id)) this.rstStream(stream.id, code);
    this.endReset(stream, code, false);
  }

  /** Forgets the stream when both sides ended. */
  localEnded(stream: H2Stream): void {
    if (stream.remoteEnded) {
      this.forget(stream);
    } else if (this.server && stream.pending.length === 0) {
      // The response is complete before the request: ask the client to stop
      // sending it (RFC 9113 8.1); what it sent is dropped.
      this.resetStream(stream, H2_ERROR.NO_ERROR);
    }
  }

  // -- helpers for the reader --

  /** The stream ends as reset: its unread bytes go back to the connection window. */
  endReset(stream: H2Stream, code: number, notify: boolean): void {
    const unread = stream.unread;
    stream.fail(code, notify);
    this.forget(stream);
    this.consumed(null, unread);
  }

  /** Drops a finished stream; a GOAWAY'd session closes with its last stream. */
  forget(stream: H2Stream): void {
    if (!this.streams.delete(stream.id)) return;
    this.blocked.delete(stream);
    if ((this.goawaySent || this.goawayReceived) && this.streams.size === 0) {
      this.closeAfterFlush();
    }
  }

  /**
   * True when we reset this stream lately: frames the peer sent before it saw
   * the reset are dropped without another reset (RFC 9113 5.4.2).
   */
  resetLately(id: number): boolean {
    return this.#resets.includes(id);
  }

  /**
   * The receive window of a new stream: ours, but never below the default
   * until the peer acknowledged our SETTINGS (it may send that much before).
   */
  streamRecvWindow(): number {
    return this.settingsAcked
      ? this.initialWindow
      : Math.max(this.initialWindow, DEFAULT_WINDOW_SIZE);
  }

  /** The peer acknowledged our SETTINGS: a window below the default now applies to open streams. */
  ackedSettings(): void {
    this.settingsTimer?.cancel();
    this.settingsTimer = null;
    if (this.settingsAcked) return;
    this.settingsAcked = true;
    const delta = this.initialWindow - DEFAULT_WINDOW_SIZE;
    if (delta < 0) { for (const stream of this.streams.values()) stream.recvWindow += delta; }
  }

  /** Sends RST_STREAM(code); an open stream ends as reset (its consumer hears of it). */
  streamError(id: number, code: number): void {
    this.rstStream(id, code);
    const stream = this.streams.get(id);
    if (stream !== undefined) this.endReset(stream, code, true);
  }

  /** The peer ended its side (with trailers or not): checks content-length, wakes the reader. */
  remoteEnd(stream: H2Stream, trailers: string[] | null): void {
    if (stream.expectedLength >= 0 && stream.receivedLength !== stream.expectedLength) {
      return this.streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
    }
    stream.endRemote(trailers);
    if (stream.localEnded && stream.pending.length === 0) this.forget(stream);
  }

  /** True for a stream id that was never opened. */
  idle(id: number): boolean {
    const peerParity = this.server ? 1 : 0;
    return (id & 1) === peerParity ? id > this.lastPeerStream : id >= this.nextStream;
  }

  /** A connection error: GOAWAY(code), then the socket closes once it is written. */
  fail(error: unknown): void {
    if (this.isClosed) return;
    if (error instanceof H2ConnectionError) {
      this.goawaySent = true;
      this.sendGoaway(error.code, error.message); // the reason, as debug data
      this.closeAfterFlush();
    } else {
      this.close();
    }
  }

  /** Sends what blocked streams have queued, after a window grew. */
  resume(): void {
    for (const stream of this.blocked) {
      if (this.sendWindow <= 0 || this.writer.full) return;
      this.pump(stream);
    }
  }

  /** Closes when everything written so far is out. */
  closeAfterFlush(): void {
    this.writer.flushed().then(() => this.close());
  }

  /** Appends a WINDOW_UPDATE frame. */
  windowUpdate(streamId: number, increment: number): void {
    this.writer.word(FRAME.WINDOW_UPDATE, streamId, increment);
  }

  /** Appends a RST_STREAM frame. */
  rstStream(streamId: number, code: number): void {
    if (this.isClosed) return;
    this.#resets[this.#resetAt] = streamId;
    this.#resetAt = (this.#resetAt + 1) % this.#resets.length;
    this.writer.word(FRAME.RST_STREAM, streamId, code);
  }

  /** Appends a GOAWAY frame naming the last stream the peer opened (and `debug` as debug data). */
  sendGoaway(code: number, debug?: string): void {
    if (!this.isClosed) this.writer.goaway(this.lastPeerStream, code, debug);
  }

  /** Frames `data` from `offset` as far as the windows allow; returns the new offset. */
  sendData(stream: H2Stream, data: Uint8Array, offset: number): number {
    const max = this.peer.maxFrameSize;
    while (offset < data.length) {
      const n = Math.min(data.length - offset, stream.sendWindow, this.sendWindow, max);
      if (this.isClosed) return data.length; // the stream fails with the session
      // No window, or the socket is behind: the rest waits (for WINDOW_UPDATE, or the drain).
      if (n <= 0 || this.writer.full) return offset;
      const at = this.writer.reserve(FRAME_HEADER_LENGTH + n);
      const buf = this.writer.buffer;
      writeFrameHeader(buf, at, n, FRAME.DATA, 0, stream.id);
      buf.set(n === data.length ? data : data.subarray(offset, offset + n), at + 9);
      this.#lastData = at;
      this.#lastDataBatch = this.writer.batch;
      offset += n;
      stream.sendWindow -= n;
      this.sendWindow -= n;
    }
    return offset;
  }

  /** True when the last frame in the unsent buffer is a DATA frame of stream `id`. */
  #lastDataOf(id: number): boolean {
    const at = this.#lastData;
    if (at < 0 || this.#lastDataBatch !== this.writer.batch) return false;
    const buf = this.writer.buffer;
    const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
    return at + FRAME_HEADER_LENGTH + length === this.writer.buffered &&
      (readUint32(buf, at + 5) & 0x7fffffff) === id;
  }

  /** Ends our side: trailers in HEADERS, or END_STREAM on the last DATA (or an empty one). */
  sendEnd(stream: H2Stream, trailers: readonly string[]): void {
    if (trailers.length > 0) {
      this.sendHeaders(stream, trailers, true);
    } else if (this.isClosed) {
      // nothing goes out any more
    } else if (this.#lastDataOf(stream.id)) {
      // The stream's DATA is the last frame still in the buffer: it carries the end.
      this.writer.buffer[this.#lastData + 4] |= FLAG.END_STREAM;
    } else {
      const at = this.writer.reserve(FRAME_HEADER_LENGTH);
      writeFrameHeader(this.writer.buffer, at, 0, FRAME.DATA, FLAG.END_STREAM, stream.id);
    }
    this.localEnded(stream);
  }
}

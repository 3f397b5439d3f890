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
  writeFrameHeader,
  writeUint32,
} from "./frame.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import type { PeerSettings } from "./_settings.ts";
import { H2Stream, type PendingWrite, type StreamOwner } from "./stream.ts";
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
 * The connection state and send side shared by {@linkcode H2Session}'s reader.
 *
 * @example Usage
 * ```ts ignore
 * // Internal: H2Session extends SessionCore.
 * import { H2Session } from "./session.ts";
 * ```
 */
export abstract class SessionCore implements StreamOwner {
  protected readonly conn: Deno.Conn;
  protected readonly server: boolean;
  protected readonly clock: Clock;
  protected readonly maxStreams: number;
  protected readonly initialWindow: number;
  protected readonly connWindowSize: number;
  protected readonly maxFrameSize: number;
  protected readonly maxHeaderList: number;
  protected readonly writer: FrameWriter;
  protected readonly encoder: HpackEncoder = new HpackEncoder();
  protected readonly decoder: HpackDecoder = new HpackDecoder();
  protected readonly streams: Map<number, H2Stream> = new Map();
  protected readonly blocked: Set<H2Stream> = new Set();
  protected readonly peer: PeerSettings = {
    headerTableSize: -1,
    maxConcurrentStreams: Infinity,
    initialWindowSize: DEFAULT_WINDOW_SIZE,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: Infinity,
  };
  /** Our connection send window. */
  protected sendWindow: number = DEFAULT_WINDOW_SIZE;
  /** What the peer may still send on the connection. */
  protected recvWindow: number;
  /** Connection bytes consumed and not yet returned. */
  protected recvUnacked = 0;
  /** The highest stream id the peer opened. */
  protected lastPeerStream = 0;
  /** Client: the id of our next stream. */
  protected nextStream: number;
  protected goawaySent = false;
  protected goawayReceived = false;
  protected isClosed = false;
  protected settingsTimer: Timer | null = null;

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
    this.writer = new FrameWriter(conn, () => this.close());
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
    const max = this.peer.maxFrameSize;
    let flags = endStream ? FLAG.END_STREAM : 0;
    let type: number = FRAME.HEADERS;
    let offset = 0;
    do {
      const n = Math.min(block.length - offset, max);
      const last = offset + n === block.length;
      if (last) flags |= FLAG.END_HEADERS;
      const at = this.writer.reserve(FRAME_HEADER_LENGTH + n);
      const buf = this.writer.buffer;
      writeFrameHeader(buf, at, n, type, flags, stream.id);
      buf.set(block.subarray(offset, offset + n), at + FRAME_HEADER_LENGTH);
      offset += n;
      type = FRAME.CONTINUATION;
      flags = 0;
    } while (offset < block.length);
  }

  /** Sends the stream's queued DATA (and its end) as far as the windows allow. */
  pump(stream: H2Stream): void {
    const pending = stream.pending;
    while (pending.length > 0) {
      const write = pending[0];
      if (!this.#sendData(stream, write)) {
        this.blocked.add(stream);
        return;
      }
      pending.shift();
      if (write.end !== null) this.#sendEnd(stream, write.end);
      write.resolve();
    }
    this.blocked.delete(stream);
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
    if (stream.remoteEnded) this.forget(stream);
  }

  // -- helpers for the reader --

  /** The stream ends as reset: its unread bytes go back to the connection window. */
  protected endReset(stream: H2Stream, code: number, notify: boolean): void {
    const unread = stream.unread;
    stream.fail(code, notify);
    this.forget(stream);
    this.consumed(null, unread);
  }

  /** Drops a finished stream; a GOAWAY'd session closes with its last stream. */
  protected forget(stream: H2Stream): void {
    if (!this.streams.delete(stream.id)) return;
    this.blocked.delete(stream);
    if ((this.goawaySent || this.goawayReceived) && this.streams.size === 0) {
      this.closeAfterFlush();
    }
  }

  /** Sends what blocked streams have queued, after a window grew. */
  protected resume(): void {
    for (const stream of this.blocked) {
      if (this.sendWindow <= 0) return;
      this.pump(stream);
    }
  }

  /** Closes when everything written so far is out. */
  protected closeAfterFlush(): void {
    this.writer.flushed().then(() => this.close());
  }

  /** Appends a WINDOW_UPDATE frame. */
  protected windowUpdate(streamId: number, increment: number): void {
    const at = this.writer.reserve(FRAME_HEADER_LENGTH + 4);
    const buf = this.writer.buffer;
    writeFrameHeader(buf, at, 4, FRAME.WINDOW_UPDATE, 0, streamId);
    writeUint32(buf, at + FRAME_HEADER_LENGTH, increment);
  }

  /** Appends a RST_STREAM frame. */
  protected rstStream(streamId: number, code: number): void {
    if (this.isClosed) return;
    const at = this.writer.reserve(FRAME_HEADER_LENGTH + 4);
    const buf = this.writer.buffer;
    writeFrameHeader(buf, at, 4, FRAME.RST_STREAM, 0, streamId);
    writeUint32(buf, at + FRAME_HEADER_LENGTH, code);
  }

  /** Appends a GOAWAY frame naming the last stream the peer opened. */
  protected sendGoaway(code: number): void {
    if (this.isClosed) return;
    const at = this.writer.reserve(FRAME_HEADER_LENGTH + 8);
    const buf = this.writer.buffer;
    writeFrameHeader(buf, at, 8, FRAME.GOAWAY, 0, 0);
    writeUint32(buf, at + FRAME_HEADER_LENGTH, this.lastPeerStream);
    writeUint32(buf, at + FRAME_HEADER_LENGTH + 4, code);
  }

  /** Frames as much of `write` as the windows allow; true when all of it is sent. */
  #sendData(stream: H2Stream, write: PendingWrite): boolean {
    const data = write.data;
    const max = this.peer.maxFrameSize;
    while (write.offset < data.length) {
      const n = Math.min(data.length - write.offset, stream.sendWindow, this.sendWindow, max);
      if (n <= 0 || this.isClosed) return this.isClosed;
      const at = this.writer.reserve(FRAME_HEADER_LENGTH + n);
      const buf = this.writer.buffer;
      writeFrameHeader(buf, at, n, FRAME.DATA, 0, stream.id);
      buf.set(data.subarray(write.offset, write.offset + n), at + FRAME_HEADER_LENGTH);
      write.offset += n;
      stream.sendWindow -= n;
      this.sendWindow -= n;
    }
    return true;
  }

  /** Ends our side: trailers in HEADERS, or an empty DATA, with END_STREAM. */
  #sendEnd(stream: H2Stream, trailers: readonly string[]): void {
    if (trailers.length > 0) {
      this.sendHeaders(stream, trailers, true);
    } else if (!this.isClosed) {
      const at = this.writer.reserve(FRAME_HEADER_LENGTH);
      writeFrameHeader(this.writer.buffer, at, 0, FRAME.DATA, FLAG.END_STREAM, stream.id);
    }
    this.localEnded(stream);
  }
}

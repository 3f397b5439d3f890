/**
 * An HTTP/2 connection (RFC 9113) on a raw socket, server or client role.
 * The reader parses frames in place in one buffer per connection (grown only
 * for frames larger than it); the send side (./_core.ts) batches the frames
 * of a turn into one socket write; receive windows return as the consumer
 * reads, so a slow reader holds the peer back.
 *
 * @module
 */

import type { Clock } from "../pool/clock.ts";
import { SessionCore } from "./_core.ts";
import { readFrames } from "./_read_loop.ts";
import { applySettings, encodeSettings } from "./_settings.ts";
import { checkFields } from "./fields.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  FLAG,
  FRAME,
  H2_ERROR,
  H2_PREFACE,
  H2ConnectionError,
  MAX_WINDOW_SIZE,
  readUint32,
} from "./frame.ts";
import { HpackError } from "./hpack.ts";
import { H2Stream } from "./stream.ts";

export { H2_ERROR, H2_PREFACE, H2StreamError } from "./frame.ts";
export { H2Stream } from "./stream.ts";

/** How long the peer has to acknowledge our SETTINGS. */
const SETTINGS_TIMEOUT_MS = 10_000;

/**
 * Options of {@linkcode H2Session}.
 *
 * @example Usage
 * ```ts
 * import type { H2SessionOptions } from "./session.ts";
 * import { SYSTEM_CLOCK } from "../pool/clock.ts";
 * const options: H2SessionOptions = { role: "server", clock: SYSTEM_CLOCK, onStream() {} };
 * ```
 */
export interface H2SessionOptions {
  /** Which side of the connection we are. */
  role: "server" | "client";
  /** The clock of the SETTINGS timeout. */
  clock: Clock;
  /** What we allow the peer (server role). @default {128} */
  maxConcurrentStreams?: number;
  /** Our per-stream receive window. @default {262144} */
  initialWindowSize?: number;
  /** Our connection receive window. @default {1048576} */
  connectionWindowSize?: number;
  /** The largest frame we accept. @default {16384} */
  maxFrameSize?: number;
  /** The largest decoded field section we accept. @default {65536} */
  maxHeaderListSize?: number;
  /** Server role: a new stream whose request HEADERS are complete. */
  onStream?: (stream: H2Stream) => void;
  /** The peer sent GOAWAY. */
  onGoaway?: (lastStreamId: number, code: number) => void;
}

/**
 * One HTTP/2 connection, server or client role.
 *
 * @example A client
 * ```ts ignore
 * import { H2Session } from "./session.ts";
 * import { SYSTEM_CLOCK } from "../pool/clock.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8080 });
 * const session = new H2Session(conn, { role: "client", clock: SYSTEM_CLOCK });
 * const done = session.run();
 * const stream = session.request(
 *   [":method", "GET", ":scheme", "http", ":authority", "127.0.0.1:8080", ":path", "/"],
 *   true,
 * );
 * console.log(await stream.response());
 * for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {}
 * session.close();
 * await done;
 * ```
 */
export class H2Session extends SessionCore {
  #onStream: ((stream: H2Stream) => void) | undefined;
  #onGoaway: ((lastStreamId: number, code: number) => void) | undefined;
  #done: Promise<void> | null = null;
  #gotSettings = false;
  /** The stream whose field block continues in CONTINUATION frames, or 0. */
  #continuing = 0;
  #blockFlags = 0;
  #blockBadPriority = false;
  #block: Uint8Array | null = null;
  #blockLength = 0;

  /**
   * Starts a session on `conn`: our SETTINGS (and, client role, the preface) are queued at once.
   *
   * @param conn The socket (TCP or TLS), owned by the session from now on.
   * @param options The role, the clock, limits and callbacks.
   */
  constructor(conn: Deno.Conn, options: H2SessionOptions) {
    super(conn, {
      role: options.role,
      clock: options.clock,
      maxConcurrentStreams: options.maxConcurrentStreams ?? 128,
      initialWindowSize: options.initialWindowSize ?? 256 * 1024,
      connectionWindowSize: options.connectionWindowSize ?? 1024 * 1024,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      maxHeaderListSize: options.maxHeaderListSize ?? 65_536,
    });
    this.#onStream = options.onStream;
    this.#onGoaway = options.onGoaway;
    if (!this.server) {
      const at = this.writer.reserve(H2_PREFACE.length);
      this.writer.buffer.set(H2_PREFACE, at);
    }
    this.writer.frame(
      FRAME.SETTINGS,
      0,
      0,
      encodeSettings(this.server, {
        maxConcurrentStreams: this.maxStreams,
        initialWindowSize: this.initialWindow,
        maxFrameSize: this.maxFrameSize,
        maxHeaderListSize: this.maxHeaderList,
      }),
    );
    const raise = this.connWindowSize - DEFAULT_WINDOW_SIZE;
    if (raise > 0) this.windowUpdate(0, raise);
  }

  /** Client role: false after GOAWAY, on close, or at the peer's max concurrent streams. */
  get canOpen(): boolean {
    return !this.server && !this.isClosed && !this.goawayReceived && !this.goawaySent &&
      this.streams.size < this.peer.maxConcurrentStreams && this.nextStream < 0x7fffffff;
  }

  /**
   * Runs the connection until it closes. Never rejects.
   *
   * @param initial Bytes already read from the socket (the sniffed preface, whole or in part).
   * @returns When the socket is closed.
   */
  run(initial?: Uint8Array): Promise<void> {
    this.#done ??= this.#run(initial);
    return this.#done;
  }

  /**
   * Client role: opens a stream and sends its HEADERS.
   *
   * @param fields The request fields, pseudo-headers first.
   * @param endStream True when no body follows.
   * @returns The stream.
   * @throws {Error} When {@linkcode H2Session.canOpen} is false.
   */
  request(fields: readonly string[], endStream: boolean): H2Stream {
    if (!this.canOpen) {
      const why = this.server
        ? "a server-role session cannot open streams"
        : this.isClosed
        ? "the session is closed"
        : this.goawayReceived || this.goawaySent
        ? "the session is going away"
        : "the peer's concurrent stream limit is reached";
      throw new Error(`Cannot open an HTTP/2 stream: ${why}`);
    }
    const id = this.nextStream;
    this.nextStream += 2;
    const stream = new H2Stream(
      this,
      id,
      [],
      false,
      this.peer.initialWindowSize,
      this.initialWindow,
    );
    this.streams.set(id, stream);
    stream.sendHeaders(fields, endStream);
    return stream;
  }

  /**
   * Sends GOAWAY(code) with the last stream id we accepted; closes when the streams end.
   *
   * @param code The RFC 9113 error code.
   */
  goaway(code: number = H2_ERROR.NO_ERROR): void {
    if (this.isClosed || this.goawaySent) return;
    this.goawaySent = true;
    this.sendGoaway(code);
    if (this.streams.size === 0 || code !== H2_ERROR.NO_ERROR) this.closeAfterFlush();
  }

  async #run(initial: Uint8Array | undefined): Promise<void> {
    this.settingsTimer = this.clock.setTimeout(() => {
      this.settingsTimer = null;
      this.#fail(new H2ConnectionError(H2_ERROR.SETTINGS_TIMEOUT, "no SETTINGS ACK within 10 s"));
    }, SETTINGS_TIMEOUT_MS);
    try {
      await readFrames(this.conn, initial, this.server, this.maxFrameSize, this.#frame);
    } catch (error) {
      this.#fail(error);
    }
    await this.writer.flushed();
    this.close();
  }

  #fail(error: unknown): void {
    if (this.isClosed) return;
    if (error instanceof H2ConnectionError) {
      this.goawaySent = true;
      this.sendGoaway(error.code);
      this.closeAfterFlush();
    } else {
      this.close();
    }
  }

  /** Handles one frame; `buf[at..]` is its header, the payload follows. False: stop reading. */
  #frame = (buf: Uint8Array, at: number, length: number): boolean => {
    if (this.isClosed) return false;
    const type = buf[at + 3];
    const flags = buf[at + 4];
    const id = readUint32(buf, at + 5) & 0x7fffffff;
    const p = at + 9;
    if (this.#continuing !== 0 && type !== FRAME.CONTINUATION) {
      throw protocolError(`a ${type} frame interrupted a field block (CONTINUATION expected)`);
    }
    if (!this.#gotSettings && (type !== FRAME.SETTINGS || (flags & FLAG.ACK) !== 0)) {
      throw protocolError("the first frame must be SETTINGS");
    }
    switch (type) {
      case FRAME.DATA:
        this.#data(buf, p, length, flags, id);
        break;
      case FRAME.HEADERS:
        this.#headers(buf, p, length, flags, id);
        break;
      case FRAME.PRIORITY:
        if (id === 0) throw protocolError("PRIORITY on stream 0");
        if (length !== 5) this.#streamError(id, H2_ERROR.FRAME_SIZE_ERROR);
        else if ((readUint32(buf, p) & 0x7fffffff) === id) {
          this.#streamError(id, H2_ERROR.PROTOCOL_ERROR);
        }
        break;
      case FRAME.RST_STREAM:
        this.#rstStream(buf, p, length, id);
        break;
      case FRAME.SETTINGS:
        this.#settings(buf, p, length, flags, id);
        break;
      case FRAME.PUSH_PROMISE:
        throw protocolError("PUSH_PROMISE although push is disabled");
      case FRAME.PING:
        if (length !== 8) throw frameSizeError("PING must be 8 bytes");
        if (id !== 0) throw protocolError("PING on a stream");
        if ((flags & FLAG.ACK) === 0) {
          this.writer.frame(FRAME.PING, FLAG.ACK, 0, buf.subarray(p, p + 8));
        }
        break;
      case FRAME.GOAWAY:
        this.#goawayFrame(buf, p, length, id);
        break;
      case FRAME.WINDOW_UPDATE:
        this.#windowUpdateFrame(buf, p, length, id);
        break;
      case FRAME.CONTINUATION:
        this.#continuation(buf, p, length, flags, id);
        break;
        // other types are ignored (RFC 9113 5.5)
    }
    return !this.isClosed;
  };

  #data(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
    if (id === 0) throw protocolError("DATA on stream 0");
    let start = p;
    let n = length;
    if (flags & FLAG.PADDED) {
      if (length === 0 || buf[p] >= length) throw protocolError("DATA padding exceeds the payload");
      start = p + 1;
      n = length - 1 - buf[p];
    }
    if (length > this.recvWindow) {
      throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    }
    this.recvWindow -= length;
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.#idle(id)) throw protocolError(`DATA on idle stream ${id}`);
      this.consumed(null, length);
      this.rstStream(id, H2_ERROR.STREAM_CLOSED);
      return;
    }
    let code = -1;
    if (stream.remoteEnded) code = H2_ERROR.STREAM_CLOSED;
    else if (!this.server && !stream.gotResponse) code = H2_ERROR.PROTOCOL_ERROR;
    else if (length > stream.recvWindow) code = H2_ERROR.FLOW_CONTROL_ERROR;
    else if (
      stream.expectedLength >= 0 && stream.receivedLength + n > stream.expectedLength
    ) code = H2_ERROR.PROTOCOL_ERROR;
    if (code >= 0) {
      this.consumed(null, length);
      this.#streamError(id, code);
      return;
    }
    stream.recvWindow -= length;
    stream.receivedLength += n;
    if (n !== length) this.consumed(stream, length - n);
    stream.push(buf.subarray(start, start + n));
    if (flags & FLAG.END_STREAM) this.#remoteEnd(stream, null);
  }

  #headers(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
    if (id === 0) throw protocolError("HEADERS on stream 0");
    let start = p;
    let end = p + length;
    if (flags & FLAG.PADDED) {
      if (length === 0) throw protocolError("HEADERS padding exceeds the payload");
      start++;
      end -= buf[p];
    }
    let badPriority = false;
    if (flags & FLAG.PRIORITY) {
      if (start + 5 > end) throw frameSizeError("HEADERS too short for its priority block");
      badPriority = (readUint32(buf, start) & 0x7fffffff) === id;
      start += 5;
    }
    if (start > end) throw protocolError("HEADERS padding exceeds the payload");
    if (flags & FLAG.END_HEADERS) {
      this.#fieldBlock(id, flags, badPriority, buf.subarray(start, end));
      return;
    }
    this.#continuing = id;
    this.#blockFlags = flags;
    this.#blockBadPriority = badPriority;
    this.#blockLength = 0;
    this.#appendBlock(buf, start, end);
  }

  #continuation(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
    if (this.#continuing === 0 || id !== this.#continuing) {
      throw protocolError(`CONTINUATION on stream ${id} without a field block in progress`);
    }
    this.#appendBlock(buf, p, p + length);
    if ((flags & FLAG.END_HEADERS) === 0) return;
    this.#continuing = 0;
    const block = this.#block!.subarray(0, this.#blockLength);
    this.#fieldBlock(id, this.#blockFlags, this.#blockBadPriority, block);
    if (this.#block!.length > 65_536) this.#block = null;
  }

  #appendBlock(buf: Uint8Array, start: number, end: number): void {
    const need = this.#blockLength + end - start;
    if (need > 2 * this.maxHeaderList + 65_536) {
      throw new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, "field block too large");
    }
    if (this.#block === null || this.#block.length < need) {
      const bigger = new Uint8Array(Math.max(need, 2 * (this.#block?.length ?? 8192)));
      if (this.#block !== null) bigger.set(this.#block.subarray(0, this.#blockLength));
      this.#block = bigger;
    }
    this.#block.set(buf.subarray(start, end), this.#blockLength);
    this.#blockLength = need;
  }

  /** A complete field block: a new request (server), a response or trailers. */
  #fieldBlock(id: number, flags: number, badPriority: boolean, block: Uint8Array): void {
    const fields: string[] = [];
    let size: number;
    try {
      size = this.decoder.decode(block, fields, this.maxHeaderList);
    } catch (error) {
      if (!(error instanceof HpackError)) throw error;
      throw new H2ConnectionError(H2_ERROR.COMPRESSION_ERROR, error.message);
    }
    const tooLarge = size > this.maxHeaderList;
    const endStream = (flags & FLAG.END_STREAM) !== 0;
    const stream = this.streams.get(id);
    if (stream !== undefined) {
      if (badPriority) this.#streamError(id, H2_ERROR.PROTOCOL_ERROR);
      else this.#moreFields(stream, fields, tooLarge, endStream);
      return;
    }
    if (!this.server) {
      if ((id & 1) === 0 || id >= this.nextStream) {
        throw protocolError(`HEADERS on idle stream ${id}`);
      }
      return; // a stream we reset: its response is dropped
    }
    if ((id & 1) === 0) throw protocolError(`a client opened even stream ${id}`);
    if (id <= this.lastPeerStream) {
      throw new H2ConnectionError(H2_ERROR.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    }
    this.lastPeerStream = id;
    if (badPriority) return this.#streamError(id, H2_ERROR.PROTOCOL_ERROR);
    if (this.goawaySent || this.streams.size >= this.maxStreams) {
      return this.rstStream(id, H2_ERROR.REFUSED_STREAM);
    }
    const checked = tooLarge ? -1 : checkFields(fields, "request");
    if (typeof checked === "string" || (endStream && checked > 0)) {
      return this.rstStream(id, H2_ERROR.PROTOCOL_ERROR);
    }
    const created = new H2Stream(
      this,
      id,
      fields,
      tooLarge,
      this.peer.initialWindowSize,
      this.initialWindow,
    );
    created.expectedLength = checked;
    this.streams.set(id, created);
    if (endStream) created.endRemote(null);
    try {
      this.#onStream?.(created);
    } catch {
      created.reset(H2_ERROR.INTERNAL_ERROR);
    }
  }

  /** Fields on an open stream: the client's response head, or trailers. */
  #moreFields(stream: H2Stream, fields: string[], tooLarge: boolean, endStream: boolean): void {
    if (stream.remoteEnded) return this.#streamError(stream.id, H2_ERROR.STREAM_CLOSED);
    if (!this.server && !stream.gotResponse) {
      const checked = tooLarge ? "too large" : checkFields(fields, "response");
      if (typeof checked === "string") return this.#streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
      if (fields[1].charCodeAt(0) === 49 /* 1xx */) {
        if (endStream) this.#streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
        return;
      }
      for (const field of fields) stream.head.push(field);
      stream.expectedLength = checked;
      stream.gotHead();
      if (endStream) this.#remoteEnd(stream, null);
      return;
    }
    if (!endStream || tooLarge || typeof checkFields(fields, "trailers") === "string") {
      return this.#streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
    }
    this.#remoteEnd(stream, fields);
  }

  #remoteEnd(stream: H2Stream, trailers: string[] | null): void {
    if (stream.expectedLength >= 0 && stream.receivedLength !== stream.expectedLength) {
      return this.#streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
    }
    stream.endRemote(trailers);
    if (stream.localEnded && stream.pending.length === 0) this.forget(stream);
  }

  #rstStream(buf: Uint8Array, p: number, length: number, id: number): void {
    if (id === 0) throw protocolError("RST_STREAM on stream 0");
    if (length !== 4) throw frameSizeError("RST_STREAM must be 4 bytes");
    const stream = this.streams.get(id);
    if (stream !== undefined) this.endReset(stream, readUint32(buf, p), true);
    else if (this.#idle(id)) throw protocolError(`RST_STREAM on idle stream ${id}`);
  }

  #settings(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
    if (id !== 0) throw protocolError("SETTINGS on a stream");
    if (flags & FLAG.ACK) {
      if (length !== 0) throw frameSizeError("SETTINGS ACK with a payload");
      this.settingsTimer?.cancel();
      this.settingsTimer = null;
      return;
    }
    if (length % 6 !== 0) throw frameSizeError("SETTINGS length is not a multiple of 6");
    const table = this.peer.headerTableSize;
    const delta = applySettings(this.peer, this.server, buf, p, length);
    this.#gotSettings = true;
    if (this.peer.headerTableSize !== table) {
      this.encoder.setMaxTableSize(this.peer.headerTableSize);
    }
    if (delta !== 0) {
      for (const stream of this.streams.values()) {
        stream.sendWindow += delta;
        if (stream.sendWindow > MAX_WINDOW_SIZE) {
          throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "a stream window overflowed");
        }
      }
    }
    this.writer.frame(FRAME.SETTINGS, FLAG.ACK, 0);
    if (delta > 0) this.resume();
  }

  #goawayFrame(buf: Uint8Array, p: number, length: number, id: number): void {
    if (id !== 0) throw protocolError("GOAWAY on a stream");
    if (length < 8) throw frameSizeError("GOAWAY shorter than 8 bytes");
    const last = readUint32(buf, p) & 0x7fffffff;
    const code = readUint32(buf, p + 4);
    this.goawayReceived = true;
    try {
      this.#onGoaway?.(last, code);
    } catch {
      // a throwing hook cannot break the session
    }
    if (!this.server) {
      for (const stream of [...this.streams.values()]) {
        if (stream.id > last) this.endReset(stream, H2_ERROR.REFUSED_STREAM, true);
      }
    }
    if (this.streams.size === 0) this.closeAfterFlush();
  }

  #windowUpdateFrame(buf: Uint8Array, p: number, length: number, id: number): void {
    if (length !== 4) throw frameSizeError("WINDOW_UPDATE must be 4 bytes");
    const increment = readUint32(buf, p) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw protocolError("WINDOW_UPDATE of 0 on the connection");
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_SIZE) {
        throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
      }
      this.resume();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.#idle(id)) throw protocolError(`WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (increment === 0) return this.#streamError(id, H2_ERROR.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) {
      return this.#streamError(id, H2_ERROR.FLOW_CONTROL_ERROR);
    }
    if (stream.pending.length > 0) this.pump(stream);
  }

  /** Sends RST_STREAM(code); an open stream ends as reset (its consumer hears of it). */
  #streamError(id: number, code: number): void {
    this.rstStream(id, code);
    const stream = this.streams.get(id);
    if (stream !== undefined) this.endReset(stream, code, true);
  }

  /** True for a stream id that was never opened. */
  #idle(id: number): boolean {
    const peerParity = this.server ? 1 : 0;
    return (id & 1) === peerParity ? id > this.lastPeerStream : id >= this.nextStream;
  }
}

function protocolError(message: string): H2ConnectionError {
  return new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, message);
}

function frameSizeError(message: string): H2ConnectionError {
  return new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, message);
}

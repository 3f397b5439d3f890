/**
 * The receive side of a connection: every frame the reader loop parses is
 * checked against the RFC 9113 rules and applied (DATA into streams and
 * windows, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, RST_STREAM; field blocks go
 * to ./_receive_fields.ts). A connection error is thrown as
 * {@linkcode H2ConnectionError}; a stream error resets the stream.
 *
 * @module
 */

import type { SessionCore } from "./_core.ts";
import type { FrameHandler } from "./_read_loop.ts";
import { FieldBlocks } from "./_receive_fields.ts";
import { applySettings } from "./_settings.ts";
import {
  FLAG,
  FRAME,
  frameSizeError,
  H2_ERROR,
  H2ConnectionError,
  MAX_WINDOW_SIZE,
  protocolError,
  readUint32,
} from "./frame.ts";
import type { H2Stream } from "./stream.ts";

/** Answers to the peer's control frames that may wait for one socket write. */
const MAX_QUEUED_ACKS = 1000;
/** Streams a client may reset at once (rapid reset, CVE-2023-44487)... */
const RESET_BURST = 1000;
/** ...and per second after that. */
const RESET_RATE = 100;

/**
 * Applies received frames to a connection.
 *
 * @example Usage
 * ```ts ignore
 * // Internal: H2Session passes `receiver.handle` to the reader loop.
 * import { Receiver } from "./_receive.ts";
 * ```
 */
export class Receiver {
  #core: SessionCore;
  #fields: FieldBlocks;
  #onGoaway: ((lastStreamId: number, code: number) => void) | undefined;
  #gotSettings = false;
  /** Acknowledgements queued since the socket last took a batch (flood guard). */
  #acks = 0;
  #acksAt = -1;
  /** Streams the peer may still reset before it is told to calm down (a token bucket). */
  #resetTokens = RESET_BURST;
  #resetTokensAt = 0;

  /**
   * Makes the receiver of a connection.
   *
   * @param core The connection.
   * @param onStream Server role: a new request stream.
   * @param onGoaway The peer sent GOAWAY.
   */
  constructor(
    core: SessionCore,
    onStream: ((stream: H2Stream) => void) | undefined,
    onGoaway: ((lastStreamId: number, code: number) => void) | undefined,
  ) {
    this.#core = core;
    this.#fields = new FieldBlocks(core, onStream);
    this.#onGoaway = onGoaway;
  }

  /** Handles one frame; `buf[at..]` is its header, the payload follows. False: stop reading. */
  handle: FrameHandler = (buf: Uint8Array, at: number, length: number): boolean => {
    if (this.#core.isClosed) return false;
    const type = buf[at + 3];
    const flags = buf[at + 4];
    const id = readUint32(buf, at + 5) & 0x7fffffff;
    const p = at + 9;
    if (this.#fields.continuing !== 0 && type !== FRAME.CONTINUATION) {
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
        this.#fields.headers(buf, p, length, flags, id);
        break;
      case FRAME.PRIORITY:
        if (id === 0) throw protocolError("PRIORITY on stream 0");
        if (length !== 5) {
          this.#ack();
          this.#core.streamError(id, H2_ERROR.FRAME_SIZE_ERROR);
        } else if ((readUint32(buf, p) & 0x7fffffff) === id) {
          this.#ack();
          this.#core.streamError(id, H2_ERROR.PROTOCOL_ERROR);
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
          this.#ack();
          this.#core.writer.frame(FRAME.PING, FLAG.ACK, 0, buf.subarray(p, p + 8));
        }
        break;
      case FRAME.GOAWAY:
        this.#goawayFrame(buf, p, length, id);
        break;
      case FRAME.WINDOW_UPDATE:
        this.#windowUpdateFrame(buf, p, length, id);
        break;
      case FRAME.CONTINUATION:
        this.#fields.continuation(buf, p, length, flags, id);
        break;
        // other types are ignored (RFC 9113 5.5)
    }
    return !this.#core.isClosed;
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
    if (length > this.#core.recvWindow) {
      throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    }
    this.#core.recvWindow -= length;
    const stream = this.#core.streams.get(id);
    if (stream === undefined) {
      if (this.#core.idle(id)) throw protocolError(`DATA on idle stream ${id}`);
      this.#core.consumed(null, length);
      if (!this.#core.resetLately(id)) {
        this.#ack();
        this.#core.rstStream(id, H2_ERROR.STREAM_CLOSED);
      }
      return;
    }
    let code = -1;
    if (stream.remoteEnded) code = H2_ERROR.STREAM_CLOSED;
    else if (!this.#core.server && !stream.gotResponse) code = H2_ERROR.PROTOCOL_ERROR;
    else if (length > stream.recvWindow) code = H2_ERROR.FLOW_CONTROL_ERROR;
    else if (
      stream.expectedLength >= 0 && stream.receivedLength + n > stream.expectedLength
    ) code = H2_ERROR.PROTOCOL_ERROR;
    if (code >= 0) {
      this.#core.consumed(null, length);
      this.#core.streamError(id, code);
      return;
    }
    stream.recvWindow -= length;
    stream.receivedLength += n;
    if (n !== length) this.#core.consumed(stream, length - n);
    stream.push(buf.subarray(start, start + n));
    if (flags & FLAG.END_STREAM) this.#core.remoteEnd(stream, null);
  }

  #rstStream(buf: Uint8Array, p: number, length: number, id: number): void {
    if (id === 0) throw protocolError("RST_STREAM on stream 0");
    if (length !== 4) throw frameSizeError("RST_STREAM must be 4 bytes");
    const stream = this.#core.streams.get(id);
    const code = readUint32(buf, p);
    if (stream !== undefined && stream.remoteEnded && code === H2_ERROR.NO_ERROR) {
      // A complete response and "stop sending the request" (RFC 9113 8.1):
      // what was received stays readable.
      stream.stopSending(code);
      this.#core.forget(stream);
    } else if (stream !== undefined) {
      if (this.#core.server) this.#resetTaken();
      this.#core.endReset(stream, code, true);
    } else if (this.#core.idle(id)) throw protocolError(`RST_STREAM on idle stream ${id}`);
  }

  /**
   * One more answer the peer's frame asks for (PING and SETTINGS ACK, a reset
   * for a frame on a closed stream): a peer that does not read them is a flood.
   */
  #ack(): void {
    const written = this.#core.writer.written;
    if (written !== this.#acksAt) {
      this.#acksAt = written;
      this.#acks = 0;
    }
    if (++this.#acks > MAX_QUEUED_ACKS) {
      throw new H2ConnectionError(
        H2_ERROR.ENHANCE_YOUR_CALM,
        `more than ${MAX_QUEUED_ACKS} answers to control frames queued unread`,
      );
    }
  }

  /** The peer reset a stream it opened: allowed at RESET_RATE a second, RESET_BURST at once. */
  #resetTaken(): void {
    const now = this.#core.clock.now();
    const refill = ((now - this.#resetTokensAt) * RESET_RATE) / 1000;
    this.#resetTokensAt = now;
    this.#resetTokens = Math.min(RESET_BURST, this.#resetTokens + refill);
    if (--this.#resetTokens < 0) {
      throw new H2ConnectionError(
        H2_ERROR.ENHANCE_YOUR_CALM,
        "too many streams reset by the client",
      );
    }
  }

  #settings(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
    if (id !== 0) throw protocolError("SETTINGS on a stream");
    if (flags & FLAG.ACK) {
      if (length !== 0) throw frameSizeError("SETTINGS ACK with a payload");
      this.#core.ackedSettings();
      return;
    }
    if (length % 6 !== 0) throw frameSizeError("SETTINGS length is not a multiple of 6");
    const table = this.#core.peer.headerTableSize;
    const delta = applySettings(this.#core.peer, this.#core.server, buf, p, length);
    this.#gotSettings = true;
    if (this.#core.peer.headerTableSize !== table) {
      this.#core.encoder.setMaxTableSize(this.#core.peer.headerTableSize);
    }
    if (delta !== 0) {
      for (const stream of this.#core.streams.values()) {
        stream.sendWindow += delta;
        if (stream.sendWindow > MAX_WINDOW_SIZE) {
          throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "a stream window overflowed");
        }
      }
    }
    this.#ack();
    this.#core.writer.frame(FRAME.SETTINGS, FLAG.ACK, 0);
    if (delta > 0) this.#core.resume();
  }

  #goawayFrame(buf: Uint8Array, p: number, length: number, id: number): void {
    if (id !== 0) throw protocolError("GOAWAY on a stream");
    if (length < 8) throw frameSizeError("GOAWAY shorter than 8 bytes");
    const last = readUint32(buf, p) & 0x7fffffff;
    const code = readUint32(buf, p + 4);
    this.#core.goawayReceived = true;
    try {
      this.#onGoaway?.(last, code);
    } catch {
      // a throwing hook cannot break the session
    }
    if (!this.#core.server) {
      for (const stream of [...this.#core.streams.values()]) {
        if (stream.id > last) this.#core.endReset(stream, H2_ERROR.REFUSED_STREAM, true);
      }
    }
    if (this.#core.streams.size === 0) this.#core.closeAfterFlush();
  }

  #windowUpdateFrame(buf: Uint8Array, p: number, length: number, id: number): void {
    if (length !== 4) throw frameSizeError("WINDOW_UPDATE must be 4 bytes");
    const increment = readUint32(buf, p) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw protocolError("WINDOW_UPDATE of 0 on the connection");
      this.#core.sendWindow += increment;
      if (this.#core.sendWindow > MAX_WINDOW_SIZE) {
        throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
      }
      this.#core.resume();
      return;
    }
    const stream = this.#core.streams.get(id);
    if (stream === undefined) {
      if (this.#core.idle(id)) throw protocolError(`WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (increment === 0) return this.#core.streamError(id, H2_ERROR.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) {
      return this.#core.streamError(id, H2_ERROR.FLOW_CONTROL_ERROR);
    }
    if (stream.pending.length > 0) this.#core.pump(stream);
  }
}

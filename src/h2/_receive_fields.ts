/**
 * Field blocks on the receive side: HEADERS (padding, priority) and
 * CONTINUATION assembled into one block, HPACK-decoded, then a new request
 * (server role), a response head (client role) or trailers, checked against
 * RFC 9113 8.2/8.3 (./fields.ts).
 *
 * @module
 */

import type { SessionCore } from "./_core.ts";
import { checkFields } from "./fields.ts";
import {
  FLAG,
  frameSizeError,
  H2_ERROR,
  H2ConnectionError,
  protocolError,
  readUint32,
} from "./frame.ts";
import { HpackError } from "./hpack.ts";
import { H2Stream } from "./stream.ts";

/** CONTINUATION frames one field block may take (empty ones would otherwise cost nothing to send). */
const MAX_CONTINUATIONS = 128;

/**
 * Assembles and applies field blocks for one connection.
 *
 * @example Usage
 * ```ts ignore
 * // Internal: the receiver (./_receive.ts) hands it HEADERS and CONTINUATION frames.
 * import { FieldBlocks } from "./_receive_fields.ts";
 * ```
 */
export class FieldBlocks {
  #core: SessionCore;
  #onStream: ((stream: H2Stream) => void) | undefined;
  /** The stream whose field block continues in CONTINUATION frames, or 0. */
  continuing = 0;
  #blockFlags = 0;
  #blockBadPriority = false;
  #block: Uint8Array | null = null;
  #blockLength = 0;
  #continuations = 0;

  /**
   * Makes the field block handler of a connection.
   *
   * @param core The connection.
   * @param onStream Server role: a new request stream.
   */
  constructor(core: SessionCore, onStream: ((stream: H2Stream) => void) | undefined) {
    this.#core = core;
    this.#onStream = onStream;
  }

  /** A HEADERS frame: a whole field block, or its first fragment. */
  headers(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
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
    this.continuing = id;
    this.#continuations = 0;
    this.#blockFlags = flags;
    this.#blockBadPriority = badPriority;
    this.#blockLength = 0;
    this.#appendBlock(buf, start, end);
  }

  /** A CONTINUATION frame of the block in progress. */
  continuation(buf: Uint8Array, p: number, length: number, flags: number, id: number): void {
    if (this.continuing === 0 || id !== this.continuing) {
      throw protocolError(`CONTINUATION on stream ${id} without a field block in progress`);
    }
    if (++this.#continuations > MAX_CONTINUATIONS) {
      throw new H2ConnectionError(
        H2_ERROR.ENHANCE_YOUR_CALM,
        `a field block in more than ${MAX_CONTINUATIONS} CONTINUATION frames`,
      );
    }
    this.#appendBlock(buf, p, p + length);
    if ((flags & FLAG.END_HEADERS) === 0) return;
    this.continuing = 0;
    const block = this.#block!.subarray(0, this.#blockLength);
    this.#fieldBlock(id, this.#blockFlags, this.#blockBadPriority, block);
    if (this.#block!.length > 65_536) this.#block = null;
  }

  #appendBlock(buf: Uint8Array, start: number, end: number): void {
    const need = this.#blockLength + end - start;
    if (need > 2 * this.#core.maxHeaderList + 65_536) {
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
      size = this.#core.decoder.decode(block, fields, this.#core.maxHeaderList);
    } catch (error) {
      if (!(error instanceof HpackError)) throw error;
      throw new H2ConnectionError(H2_ERROR.COMPRESSION_ERROR, error.message);
    }
    const tooLarge = size > this.#core.maxHeaderList;
    const endStream = (flags & FLAG.END_STREAM) !== 0;
    const stream = this.#core.streams.get(id);
    if (stream !== undefined) {
      if (badPriority) this.#core.streamError(id, H2_ERROR.PROTOCOL_ERROR);
      else this.#moreFields(stream, fields, tooLarge, endStream);
      return;
    }
    if (!this.#core.server) {
      if ((id & 1) === 0 || id >= this.#core.nextStream) {
        throw protocolError(`HEADERS on idle stream ${id}`);
      }
      return; // a stream we reset: its response is dropped
    }
    if ((id & 1) === 0) throw protocolError(`a client opened even stream ${id}`);
    if (id <= this.#core.lastPeerStream) {
      if (this.#core.resetLately(id)) return; // sent before the peer saw our reset
      throw new H2ConnectionError(H2_ERROR.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
    }
    this.#core.lastPeerStream = id;
    if (badPriority) return this.#core.streamError(id, H2_ERROR.PROTOCOL_ERROR);
    if (this.#core.goawaySent || this.#core.streams.size >= this.#core.maxStreams) {
      return this.#core.rstStream(id, H2_ERROR.REFUSED_STREAM);
    }
    const checked = tooLarge ? -1 : checkFields(fields, "request");
    if (typeof checked === "string" || (endStream && checked > 0)) {
      return this.#core.rstStream(id, H2_ERROR.PROTOCOL_ERROR);
    }
    const created = new H2Stream(
      this.#core,
      id,
      fields,
      tooLarge,
      this.#core.peer.initialWindowSize,
      this.#core.streamRecvWindow(),
    );
    created.expectedLength = checked;
    this.#core.streams.set(id, created);
    if (endStream) created.endRemote(null);
    try {
      this.#onStream?.(created);
    } catch {
      created.reset(H2_ERROR.INTERNAL_ERROR);
    }
  }

  /** Fields on an open stream: the client's response head, or trailers. */
  #moreFields(stream: H2Stream, fields: string[], tooLarge: boolean, endStream: boolean): void {
    if (stream.remoteEnded) return this.#core.streamError(stream.id, H2_ERROR.STREAM_CLOSED);
    if (!this.#core.server && !stream.gotResponse) {
      const checked = tooLarge ? "too large" : checkFields(fields, "response");
      if (typeof checked === "string") {
        return this.#core.streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
      }
      if (fields[1].charCodeAt(0) === 49 /* 1xx */) {
        if (endStream) this.#core.streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
        return;
      }
      for (const field of fields) stream.head.push(field);
      // A response to HEAD, a 204 and a 304 carry content-length without content.
      const status = fields[1];
      stream.expectedLength = stream.headRequest || status === "204" || status === "304"
        ? -1
        : checked;
      stream.gotHead();
      if (endStream) this.#core.remoteEnd(stream, null);
      return;
    }
    if (!endStream || tooLarge || typeof checkFields(fields, "trailers") === "string") {
      return this.#core.streamError(stream.id, H2_ERROR.PROTOCOL_ERROR);
    }
    this.#core.remoteEnd(stream, fields);
  }
}

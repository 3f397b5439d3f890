/**
 * SETTINGS payloads: ours encoded, the peer's checked and applied (RFC 9113 6.5).
 *
 * @module
 */

import {
  DEFAULT_MAX_FRAME_SIZE,
  H2_ERROR,
  H2ConnectionError,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  SETTING,
  writeUint32,
} from "./frame.ts";

/** What the peer announced (the defaults until it did). */
export interface PeerSettings {
  /** SETTINGS_HEADER_TABLE_SIZE, -1 until announced. */
  headerTableSize: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS (streams we may open). */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE (our send window of a new stream). */
  initialWindowSize: number;
  /** SETTINGS_MAX_FRAME_SIZE (the largest frame we may send). */
  maxFrameSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE. */
  maxHeaderListSize: number;
}

/** The settings we announce. */
export interface OurSettings {
  /** Server role: the concurrent streams we allow. */
  maxConcurrentStreams: number;
  /** Our per-stream receive window. */
  initialWindowSize: number;
  /** The largest frame we accept. */
  maxFrameSize: number;
  /** The largest field section we accept. */
  maxHeaderListSize: number;
}

/**
 * The payload of our SETTINGS frame.
 *
 * @param server True in the server role (the client announces ENABLE_PUSH=0 instead
 *   of a stream limit).
 * @param ours The values.
 * @returns The payload.
 *
 * @example Usage
 * ```ts
 * import { encodeSettings } from "./_settings.ts";
 * const payload = encodeSettings(true, {
 *   maxConcurrentStreams: 128, initialWindowSize: 262144, maxFrameSize: 16384,
 *   maxHeaderListSize: 65536,
 * });
 * console.log(payload.length); // 18
 * ```
 */
export function encodeSettings(server: boolean, ours: OurSettings): Uint8Array {
  const pairs: number[] = server
    ? [SETTING.MAX_CONCURRENT_STREAMS, ours.maxConcurrentStreams]
    : [SETTING.ENABLE_PUSH, 0];
  pairs.push(SETTING.INITIAL_WINDOW_SIZE, ours.initialWindowSize);
  if (ours.maxFrameSize !== DEFAULT_MAX_FRAME_SIZE) {
    pairs.push(SETTING.MAX_FRAME_SIZE, ours.maxFrameSize);
  }
  pairs.push(SETTING.MAX_HEADER_LIST_SIZE, ours.maxHeaderListSize);
  const out = new Uint8Array(pairs.length * 3);
  for (let i = 0; i < pairs.length; i += 2) {
    const at = i * 3;
    out[at] = pairs[i] >> 8;
    out[at + 1] = pairs[i] & 0xff;
    writeUint32(out, at + 2, pairs[i + 1]);
  }
  return out;
}

/**
 * Applies a SETTINGS payload to `peer`; returns the change of the initial
 * window (the session adds it to every stream's send window).
 *
 * @param peer The peer's settings, changed in place.
 * @param server True in the server role.
 * @param buf The bytes holding the payload.
 * @param start The payload's first byte.
 * @param length The payload length (a multiple of 6).
 * @returns The initial window change.
 * @throws {H2ConnectionError} On a value out of range (PROTOCOL_ERROR, FLOW_CONTROL_ERROR).
 *
 * @example Usage
 * ```ts
 * import { applySettings, type PeerSettings } from "./_settings.ts";
 * const peer: PeerSettings = {
 *   headerTableSize: -1, maxConcurrentStreams: Infinity, initialWindowSize: 65535,
 *   maxFrameSize: 16384, maxHeaderListSize: Infinity,
 * };
 * const delta = applySettings(peer, true, new Uint8Array([0, 4, 0, 1, 0, 0]), 0, 6);
 * console.log(delta, peer.initialWindowSize); // 0 65536
 * ```
 */
export function applySettings(
  peer: PeerSettings,
  server: boolean,
  buf: Uint8Array,
  start: number,
  length: number,
): number {
  const window = peer.initialWindowSize;
  for (let at = start; at < start + length; at += 6) {
    const id = (buf[at] << 8) | buf[at + 1];
    const value = (buf[at + 2] << 24 | buf[at + 3] << 16 | buf[at + 4] << 8 | buf[at + 5]) >>> 0;
    switch (id) {
      case SETTING.HEADER_TABLE_SIZE:
        peer.headerTableSize = value;
        break;
      case SETTING.ENABLE_PUSH:
        if (value > 1 || (!server && value !== 0)) {
          throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
        }
        break;
      case SETTING.MAX_CONCURRENT_STREAMS:
        peer.maxConcurrentStreams = value;
        break;
      case SETTING.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW_SIZE) {
          throw new H2ConnectionError(
            H2_ERROR.FLOW_CONTROL_ERROR,
            `SETTINGS_INITIAL_WINDOW_SIZE ${value} is above 2^31-1`,
          );
        }
        peer.initialWindowSize = value;
        break;
      case SETTING.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
          throw new H2ConnectionError(
            H2_ERROR.PROTOCOL_ERROR,
            `SETTINGS_MAX_FRAME_SIZE ${value} is outside 16384..16777215`,
          );
        }
        peer.maxFrameSize = value;
        break;
      case SETTING.MAX_HEADER_LIST_SIZE:
        peer.maxHeaderListSize = value;
        break;
    }
  }
  return peer.initialWindowSize - window;
}

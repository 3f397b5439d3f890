/**
 * RFC 9113 framing: the frame types, flags, settings and error codes, the
 * connection preface, and the 9-byte frame header read and written in place.
 *
 * @module
 */

/**
 * The RFC 9113 error codes (section 7), sent in RST_STREAM and GOAWAY.
 *
 * @example Usage
 * ```ts
 * import { H2_ERROR } from "./frame.ts";
 * console.log(H2_ERROR.PROTOCOL_ERROR); // 1
 * ```
 */
export const H2_ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  CONNECT_ERROR: 10,
  ENHANCE_YOUR_CALM: 11,
  INADEQUATE_SECURITY: 12,
  HTTP_1_1_REQUIRED: 13,
} as const;

/**
 * The client connection preface: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (24 bytes).
 *
 * @example Usage
 * ```ts
 * import { H2_PREFACE } from "./frame.ts";
 * console.log(H2_PREFACE.length); // 24
 * ```
 */
export const H2_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/**
 * The frame types (RFC 9113 section 6).
 *
 * @example Usage
 * ```ts
 * import { FRAME } from "./frame.ts";
 * console.log(FRAME.HEADERS); // 1
 * ```
 */
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/**
 * The frame flags (one byte; the meaning depends on the frame type).
 *
 * @example Usage
 * ```ts
 * import { FLAG } from "./frame.ts";
 * console.log(FLAG.END_STREAM | FLAG.END_HEADERS); // 5
 * ```
 */
export const FLAG = {
  /** DATA, HEADERS: the sender's last frame on the stream. */
  END_STREAM: 0x1,
  /** SETTINGS, PING: an acknowledgement. */
  ACK: 0x1,
  /** HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends here. */
  END_HEADERS: 0x4,
  /** DATA, HEADERS, PUSH_PROMISE: a pad length byte leads, padding trails. */
  PADDED: 0x8,
  /** HEADERS: a 5-byte priority block follows the pad length. */
  PRIORITY: 0x20,
} as const;

/**
 * The SETTINGS parameters (RFC 9113 section 6.5.2).
 *
 * @example Usage
 * ```ts
 * import { SETTING } from "./frame.ts";
 * console.log(SETTING.INITIAL_WINDOW_SIZE); // 4
 * ```
 */
export const SETTING = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

/** The frame header's length in bytes. */
export const FRAME_HEADER_LENGTH = 9;
/** The smallest (and initial) SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE a peer may announce. */
export const MAX_MAX_FRAME_SIZE = 16_777_215;
/** The initial window of every stream and of the connection. */
export const DEFAULT_WINDOW_SIZE = 65_535;
/** The largest flow-control window (2^31 - 1). */
export const MAX_WINDOW_SIZE = 2_147_483_647;

/**
 * Writes a frame header into `buf` at `offset`.
 *
 * @param buf Where to write (9 bytes from `offset`).
 * @param offset The first byte.
 * @param length The payload length (24 bits).
 * @param type The frame type.
 * @param flags The flags.
 * @param streamId The stream (31 bits).
 *
 * @example Usage
 * ```ts
 * import { FRAME, writeFrameHeader } from "./frame.ts";
 * const buf = new Uint8Array(9);
 * writeFrameHeader(buf, 0, 8, FRAME.PING, 0, 0);
 * console.log(buf[2], buf[3]); // 8 6
 * ```
 */
export function writeFrameHeader(
  buf: Uint8Array,
  offset: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  buf[offset] = length >>> 16;
  buf[offset + 1] = (length >>> 8) & 0xff;
  buf[offset + 2] = length & 0xff;
  buf[offset + 3] = type;
  buf[offset + 4] = flags;
  writeUint32(buf, offset + 5, streamId & 0x7fffffff);
}

/**
 * Reads a big-endian unsigned 32-bit integer.
 *
 * @param buf The bytes.
 * @param offset The first byte.
 * @returns The number.
 *
 * @example Usage
 * ```ts
 * import { readUint32 } from "./frame.ts";
 * console.log(readUint32(new Uint8Array([0, 0, 1, 0]), 0)); // 256
 * ```
 */
export function readUint32(buf: Uint8Array, offset: number): number {
  return ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) |
    buf[offset + 3]) >>> 0;
}

/**
 * Writes a big-endian unsigned 32-bit integer.
 *
 * @param buf The bytes.
 * @param offset The first byte.
 * @param value The number.
 *
 * @example Usage
 * ```ts
 * import { writeUint32 } from "./frame.ts";
 * const buf = new Uint8Array(4);
 * writeUint32(buf, 0, 256);
 * console.log(buf); // Uint8Array(4) [ 0, 0, 1, 0 ]
 * ```
 */
export function writeUint32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = value >>> 24;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

/**
 * A connection error: the session answers it with GOAWAY(code) and closes.
 *
 * @example Usage
 * ```ts
 * import { H2_ERROR, H2ConnectionError } from "./frame.ts";
 * const error = new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "HEADERS on stream 0");
 * console.log(error.code); // 1
 * ```
 */
export class H2ConnectionError extends Error {
  /** The RFC 9113 error code. */
  readonly code: number;
  /**
   * Makes a connection error.
   *
   * @param code The RFC 9113 error code.
   * @param message What went wrong.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "H2ConnectionError";
    this.code = code;
  }
}

/**
 * A stream ended by RST_STREAM (either side) or by its session closing.
 *
 * @example Usage
 * ```ts
 * import { H2_ERROR, H2StreamError } from "./frame.ts";
 * const error = new H2StreamError(H2_ERROR.CANCEL, "stream 1 was reset");
 * console.log(error.code); // 8
 * ```
 */
export class H2StreamError extends Error {
  /** The RFC 9113 error code. */
  readonly code: number;
  /**
   * Makes a stream error.
   *
   * @param code The RFC 9113 error code.
   * @param message What happened.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "H2StreamError";
    this.code = code;
  }
}

/**
 * The name of an error code, for messages (`PROTOCOL_ERROR`, or the number).
 *
 * @param code The RFC 9113 error code.
 * @returns Its name.
 *
 * @example Usage
 * ```ts
 * import { errorName } from "./frame.ts";
 * console.log(errorName(7)); // REFUSED_STREAM
 * ```
 */
export function errorName(code: number): string {
  for (const [name, value] of Object.entries(H2_ERROR)) if (value === code) return name;
  return `error ${code}`;
}

/**
 * A connection error of type PROTOCOL_ERROR.
 *
 * @param message What the peer did.
 * @returns The error to throw.
 *
 * @example Usage
 * ```ts
 * import { protocolError } from "./frame.ts";
 * console.log(protocolError("HEADERS on stream 0").code); // 1
 * ```
 */
export function protocolError(message: string): H2ConnectionError {
  return new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, message);
}

/**
 * A connection error of type FRAME_SIZE_ERROR.
 *
 * @param message What the peer did.
 * @returns The error to throw.
 *
 * @example Usage
 * ```ts
 * import { frameSizeError } from "./frame.ts";
 * console.log(frameSizeError("PING must be 8 bytes").code); // 6
 * ```
 */
export function frameSizeError(message: string): H2ConnectionError {
  return new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, message);
}

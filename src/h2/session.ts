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
import { Receiver } from "./_receive.ts";
import { encodeSettings } from "./_settings.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  FRAME,
  H2_ERROR,
  H2_PREFACE,
  H2ConnectionError,
} from "./frame.ts";
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
export class H2Session {
  #core: SessionCore;
  #receiver: Receiver;
  #done: Promise<void> | null = null;

  /**
   * Starts a session on `conn`: our SETTINGS (and, client role, the preface) are queued at once.
   *
   * @param conn The socket (TCP or TLS), owned by the session from now on.
   * @param options The role, the clock, limits and callbacks.
   */
  constructor(conn: Deno.Conn, options: H2SessionOptions) {
    const core = new SessionCore(conn, {
      role: options.role,
      clock: options.clock,
      maxConcurrentStreams: options.maxConcurrentStreams ?? 128,
      initialWindowSize: options.initialWindowSize ?? 256 * 1024,
      connectionWindowSize: options.connectionWindowSize ?? 1024 * 1024,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      maxHeaderListSize: options.maxHeaderListSize ?? 65_536,
    });
    this.#core = core;
    this.#receiver = new Receiver(core, options.onStream, options.onGoaway);
    if (!core.server) {
      const at = core.writer.reserve(H2_PREFACE.length);
      core.writer.buffer.set(H2_PREFACE, at);
    }
    core.writer.frame(
      FRAME.SETTINGS,
      0,
      0,
      encodeSettings(core.server, {
        maxConcurrentStreams: core.maxStreams,
        initialWindowSize: core.initialWindow,
        maxFrameSize: core.maxFrameSize,
        maxHeaderListSize: core.maxHeaderList,
      }),
    );
    const raise = core.connWindowSize - DEFAULT_WINDOW_SIZE;
    if (raise > 0) core.windowUpdate(0, raise);
  }

  /** Client role: false after GOAWAY, on close, or at the peer's max concurrent streams. */
  get canOpen(): boolean {
    const core = this.#core;
    return !core.server && !core.isClosed && !core.goawayReceived && !core.goawaySent &&
      core.streams.size < core.peer.maxConcurrentStreams && core.nextStream < 0x7fffffff;
  }

  /** The open streams. */
  get activeStreams(): number {
    return this.#core.streams.size;
  }

  /** True once the socket is closed. */
  get closed(): boolean {
    return this.#core.isClosed;
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
    const core = this.#core;
    if (!this.canOpen) {
      const why = core.server
        ? "a server-role session cannot open streams"
        : core.isClosed
        ? "the session is closed"
        : core.goawayReceived || core.goawaySent
        ? "the session is going away"
        : "the peer's concurrent stream limit is reached";
      throw new Error(`Cannot open an HTTP/2 stream: ${why}`);
    }
    const id = core.nextStream;
    core.nextStream += 2;
    const stream = new H2Stream(
      core,
      id,
      [],
      false,
      core.peer.initialWindowSize,
      core.streamRecvWindow(),
    );
    core.streams.set(id, stream);
    for (let i = 0; i < fields.length && fields[i].charCodeAt(0) === 58 /* : */; i += 2) {
      if (fields[i] === ":method") stream.headRequest = fields[i + 1] === "HEAD";
    }
    stream.sendHeaders(fields, endStream);
    return stream;
  }

  /**
   * Sends GOAWAY(code) with the last stream id we accepted; closes when the streams end.
   *
   * @param code The RFC 9113 error code.
   */
  goaway(code: number = H2_ERROR.NO_ERROR): void {
    const core = this.#core;
    if (core.isClosed || core.goawaySent) return;
    core.goawaySent = true;
    core.sendGoaway(code);
    if (core.streams.size === 0 || code !== H2_ERROR.NO_ERROR) core.closeAfterFlush();
  }

  /** Closes the socket now; every open stream ends as reset (CANCEL). */
  close(): void {
    this.#core.close();
  }

  async #run(initial: Uint8Array | undefined): Promise<void> {
    const core = this.#core;
    core.settingsTimer = core.clock.setTimeout(() => {
      core.settingsTimer = null;
      core.fail(new H2ConnectionError(H2_ERROR.SETTINGS_TIMEOUT, "no SETTINGS ACK within 10 s"));
    }, SETTINGS_TIMEOUT_MS);
    try {
      await readFrames(
        core.conn,
        initial,
        core.server,
        core.maxFrameSize,
        this.#receiver.handle,
      );
    } catch (error) {
      core.fail(error);
    }
    await core.writer.flushed();
    core.close();
  }
}

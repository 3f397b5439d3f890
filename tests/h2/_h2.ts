/**
 * Helpers of the HTTP/2 session tests: a server-role session on a loopback
 * listener, and a raw peer that speaks frames byte by byte (for the error
 * cases that no well-behaved client produces).
 */

import { FLAG, FRAME, H2_PREFACE, readUint32, writeFrameHeader } from "../../src/h2/frame.ts";
import { HpackEncoder } from "../../src/h2/hpack.ts";
import { H2Session, type H2SessionOptions, type H2Stream } from "../../src/h2/session.ts";
import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { HOST } from "../_helpers/net.ts";

/** A listener whose connections are served by H2Session (server role). */
export interface H2Server extends AsyncDisposable {
  /** The port on 127.0.0.1. */
  port: number;
  /** The sessions so far. */
  sessions: H2Session[];
  /** Closes the listener and every session, and waits for them. */
  close(): Promise<void>;
}

/**
 * Serves h2c prior knowledge on 127.0.0.1 with `handler` per stream.
 *
 * @param handler Called for every request stream.
 * @param options Session options besides role, clock and onStream.
 */
export function serveH2(
  handler: (stream: H2Stream) => void | Promise<void>,
  options: Partial<H2SessionOptions> = {},
): H2Server {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const sessions: H2Session[] = [];
  const runs: Promise<void>[] = [];
  const handlers = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const conn of listener) {
      const session = new H2Session(conn, {
        clock: SYSTEM_CLOCK,
        ...options,
        role: "server",
        onStream(stream) {
          const done = (async () => {
            try {
              await handler(stream);
            } catch {
              // a reset stream
            }
          })();
          handlers.add(done);
          done.finally(() => handlers.delete(done));
        },
      });
      sessions.push(session);
      runs.push(session.run());
    }
  })();
  const close = async () => {
    try {
      listener.close();
    } catch {
      // closed
    }
    await accepting;
    for (const session of sessions) session.close();
    await Promise.all(runs);
    await Promise.all(handlers);
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    sessions,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A client-role session on a fresh connection to 127.0.0.1:`port`. */
export async function dialH2(
  port: number,
  options: Partial<H2SessionOptions> = {},
): Promise<{ session: H2Session; done: Promise<void> }> {
  const conn = await Deno.connect({ hostname: HOST, port });
  const session = new H2Session(conn, { clock: SYSTEM_CLOCK, ...options, role: "client" });
  return { session, done: session.run() };
}

/** Reads a whole stream body. */
export async function readAll(stream: H2Stream): Promise<Uint8Array> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {
    chunks.push(chunk.slice());
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

/** Runs a command, returns its exit code, stdout and stderr as text. */
export async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** True when `cmd` runs here (tests of external clients skip, saying so, without it). */
export async function have(cmd: string): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** The bytes of one frame. */
export function frameBytes(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(9 + payload.length);
  writeFrameHeader(bytes, 0, payload.length, type, flags, stream);
  bytes.set(payload, 9);
  return bytes;
}

/** One frame as the raw peer read it. */
export interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

/** A client that writes frames by hand and reads what the server answers. */
export class RawPeer {
  readonly conn: Deno.Conn;
  readonly encoder: HpackEncoder = new HpackEncoder();
  #buf = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects; with `handshake`, sends the preface and empty SETTINGS. */
  static async connect(port: number, handshake = true): Promise<RawPeer> {
    const peer = new RawPeer(await Deno.connect({ hostname: HOST, port }));
    if (handshake) {
      await peer.write(H2_PREFACE);
      await peer.frame(FRAME.SETTINGS, 0, 0);
    }
    return peer;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += await this.conn.write(bytes.subarray(done));
  }

  /** Sends one frame. */
  async frame(type: number, flags: number, stream: number, payload?: Uint8Array): Promise<void> {
    await this.write(frameBytes(type, flags, stream, payload));
  }

  /** Sends a request HEADERS block (END_HEADERS, and END_STREAM when `end`). */
  async headers(stream: number, fields: string[], end = true): Promise<void> {
    const block = this.encoder.encode(fields).slice();
    await this.frame(FRAME.HEADERS, FLAG.END_HEADERS | (end ? FLAG.END_STREAM : 0), stream, block);
  }

  /** The next frame, or null when the server closed the connection. */
  async next(): Promise<RawFrame | null> {
    while (true) {
      if (this.#buf.length >= 9) {
        const length = (this.#buf[0] << 16) | (this.#buf[1] << 8) | this.#buf[2];
        if (this.#buf.length >= 9 + length) {
          const frame = {
            type: this.#buf[3],
            flags: this.#buf[4],
            stream: readUint32(this.#buf, 5) & 0x7fffffff,
            payload: this.#buf.slice(9, 9 + length),
          };
          this.#buf = this.#buf.slice(9 + length);
          return frame;
        }
      }
      const chunk = new Uint8Array(65536);
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) return null;
      const joined = new Uint8Array(this.#buf.length + n);
      joined.set(this.#buf);
      joined.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = joined;
    }
  }

  /** Reads frames until one of `type` (optionally on `stream`); null when the connection closed. */
  async until(type: number, stream = -1): Promise<RawFrame | null> {
    for (let i = 0; i < 10_000; i++) {
      const frame = await this.next();
      if (frame === null) return null;
      if (frame.type === type && (stream < 0 || frame.stream === stream)) return frame;
    }
    throw new Error("no such frame within 10000 frames");
  }

  /** The error code of a RST_STREAM or GOAWAY frame. */
  static code(frame: RawFrame): number {
    return readUint32(frame.payload, frame.type === FRAME.GOAWAY ? 4 : 0);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

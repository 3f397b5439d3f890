/**
 * HTTP/2 peers on the project's own session codec, for tests: a cleartext
 * backend whose streams a handler answers (it can GOAWAY, reset, echo), and
 * a client that sends one request on a new connection.
 *
 * @module
 */

import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { H2Session, type H2Stream } from "../../src/h2/session.ts";

/** A running HTTP/2 backend. */
export interface H2Backend extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** The sessions open now. */
  readonly sessions: ReadonlySet<H2Session>;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Starts an h2c (prior knowledge) backend on 127.0.0.1.
 *
 * @param handler Answers each stream (its request head complete).
 * @returns The backend.
 */
export function startH2Backend(handler: (stream: H2Stream) => void | Promise<void>): H2Backend {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions = new Set<H2Session>();
  const running: Promise<void>[] = [];
  const handling: Promise<void>[] = [];
  let accepted = 0;
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      accepted++;
      const session = new H2Session(conn, {
        role: "server",
        clock: SYSTEM_CLOCK,
        onStream: (stream) => {
          handling.push((async () => {
            try {
              await handler(stream);
            } catch {
              stream.reset();
            }
          })());
        },
      });
      sessions.add(session);
      running.push(session.run().finally(() => sessions.delete(session)));
    }
  })();
  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (async () => {
      listener.close();
      await accepting;
      for (const s of sessions) s.close();
      await Promise.all(running);
      await Promise.all(handling);
    })();
  return {
    port: listener.addr.port,
    get accepted() {
      return accepted;
    },
    sessions,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A handler that never answers: it waits for the stream's reset and records its code.
 *
 * @param resets Receives each reset code.
 * @returns The handler.
 */
export function silent(resets: number[]): (stream: H2Stream) => Promise<void> {
  return (stream) =>
    new Promise<void>((resolve) => {
      stream.onReset = (code) => {
        resets.push(code);
        resolve();
      };
    });
}

/** What {@linkcode h2Request} got. */
export interface H2Answer {
  /** The response fields. */
  readonly head: string[];
  /** The `:status`. */
  readonly status: number;
  /** The body. */
  readonly body: Uint8Array;
  /** The trailers, or null. */
  readonly trailers: string[] | null;
  /** The reset code when the stream was reset after the head, else -1. */
  readonly resetCode: number;
}

/**
 * Sends one request on a new h2c connection and reads the whole answer.
 *
 * @param port The server's port on 127.0.0.1.
 * @param fields The request fields (pseudo-headers first).
 * @param body The request body, or null for none.
 * @returns The answer.
 */
export async function h2Request(
  port: number,
  fields: readonly string[],
  body: Uint8Array | null = null,
): Promise<H2Answer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const session = new H2Session(conn, { role: "client", clock: SYSTEM_CLOCK });
  const running = session.run();
  try {
    const stream = session.request(fields, body === null);
    const sending = body === null ? Promise.resolve() : (async () => {
      for (let i = 0; i < body.length; i += 16_384) {
        await stream.write(body.subarray(i, i + 16_384));
      }
      await stream.end();
    })();
    const head = [...await stream.response()];
    const parts: Uint8Array[] = [];
    let resetCode = -1;
    try {
      for (let c = await stream.read(); c !== null; c = await stream.read()) parts.push(c.slice());
    } catch (e) {
      resetCode = (e as { code?: number }).code ?? -2;
    }
    await sending.catch(() => {});
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    const status = Number(head[head.indexOf(":status") + 1]);
    return { head, status, body: out, trailers: stream.trailers, resetCode };
  } finally {
    session.close();
    await running;
  }
}

/**
 * GET fields for `path` on 127.0.0.1.
 *
 * @param path The path.
 * @param extra More fields.
 * @returns The request fields.
 */
export function h2Get(path: string, ...extra: string[]): string[] {
  return [":method", "GET", ":scheme", "http", ":authority", "test", ":path", path, ...extra];
}

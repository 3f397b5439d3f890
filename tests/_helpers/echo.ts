/**
 * Loopback TCP echo servers (every byte back, for as long as the client
 * stays) and a probe that tells when the proxy closed a connection.
 *
 * @module
 */

import { delay, HOST, utf8, within } from "./net.ts";

/** A loopback echo server. */
export interface EchoServer {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Ends the accept loop and every connection. */
  close(): Promise<void>;
}

/**
 * Starts an echo server on 127.0.0.1.
 *
 * @returns The server.
 */
export function echoServer(): EchoServer {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const conns = new Set<Deno.Conn>();
  const served: Promise<void>[] = [];
  const loop = (async () => {
    for (let i = 0; i < 100; i++) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      served.push(
        (async () => {
          const buf = new Uint8Array(64);
          for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
            await conn.write(buf.subarray(0, n));
          }
        })().catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // closed already
          }
        }),
      );
    }
  })();
  return {
    port: listener.addr.port,
    close: async () => {
      listener.close();
      await loop;
      for (const c of conns) c.close();
      await Promise.all(served);
    },
  };
}

/**
 * Sends a byte every 50 ms through `conn` until it ends.
 *
 * @param conn A connection to an echo server (through a proxy).
 * @param start When to count from (ms since the epoch).
 * @param limitMs Give up after this long.
 * @returns How long after `start` the connection ended (or `limitMs`).
 */
export async function endedAfter(conn: Deno.Conn, start: number, limitMs: number): Promise<number> {
  const buf = new Uint8Array(8);
  while (Date.now() - start < limitMs) {
    try {
      await conn.write(utf8("x"));
      if (await within(conn.read(buf), 1_000, "an echo") === null) break;
    } catch {
      break;
    }
    await delay(50);
  }
  return Date.now() - start;
}

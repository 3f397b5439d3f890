/**
 * rsmvdl/SideLB's own health check over a Unix socket: the server answers
 * any byte with `HEALTHY\n` while some endpoint is up (else `UNHEALTHY\n`),
 * and the client (`sidekick --health-check-uds`, for Docker HEALTHCHECK)
 * sends `Q` and exits 0 only on `HEALTHY`.
 *
 * @module
 */

/** SideLB's fixed socket path, kept as the default of `sidekick l4`. */
export const SIDELB_HEALTH_SOCKET = "/run/sidelb.sock";

/** How long the server waits for the query byte and the client for each step, in ms (SideLB's 5 s). */
const STEP_MS = 5_000;

/**
 * A running health socket.
 *
 * @example Usage
 * ```ts ignore
 * import { serveHealthSocket } from "./health_socket.ts";
 * const socket: HealthSocket = serveHealthSocket("/tmp/sidelb.sock", () => true);
 * await socket.close();
 * ```
 */
export interface HealthSocket {
  /** The socket file. */
  readonly path: string;
  /** Stops answering, closes open queries and removes the socket file. */
  close(): Promise<void>;
}

function removeStale(path: string): void {
  try {
    // Only a socket left by an earlier run is removed, never a regular file.
    if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function answer(conn: Deno.Conn, healthy: () => boolean): Promise<void> {
  const buf = new Uint8Array(1);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const n = await Promise.race([
      conn.read(buf),
      new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), STEP_MS)),
    ]);
    if (n === null) return;
    await conn.write(new TextEncoder().encode(healthy() ? "HEALTHY\n" : "UNHEALTHY\n"));
  } catch {
    // the client went away
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
}

/**
 * Serves SideLB's health protocol on a Unix socket: a stale socket file is
 * removed first, each connection gets one reply to its first byte.
 *
 * @param path The socket file.
 * @param healthy Whether the balancer is healthy now (some endpoint up).
 * @returns The running socket.
 * @throws {Deno.errors.NotCapable} When `--allow-net=unix:PATH`, `--allow-read=PATH` or `--allow-write=PATH` is missing.
 * @throws {Error} When the socket cannot be created (directory missing or not writable).
 *
 * @example Usage
 * ```ts ignore
 * import { serveHealthSocket } from "./health_socket.ts";
 * const socket = serveHealthSocket("/run/sidelb.sock", () => true);
 * await socket.close();
 * ```
 */
export function serveHealthSocket(path: string, healthy: () => boolean): HealthSocket {
  removeStale(path);
  const listener = Deno.listen({ transport: "unix", path });
  const open = new Set<Deno.Conn>();
  const answering = new Set<Promise<void>>();
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      open.add(conn);
      const done = answer(conn, healthy).finally(() => {
        open.delete(conn);
        answering.delete(done);
      });
      answering.add(done);
    }
  })();
  let closing: Promise<void> | undefined;
  return {
    path,
    close() {
      closing ??= (async () => {
        listener.close();
        await loop;
        for (const c of open) {
          try {
            c.close();
          } catch {
            // closed already
          }
        }
        await Promise.all([...answering]);
        try {
          removeStale(path);
        } catch {
          // left for the next start to remove
        }
      })();
      return closing;
    },
  };
}

/**
 * Asks a health socket: connect, send `Q`, read the reply (5 s for each step).
 *
 * @param path The socket file.
 * @returns The reply without its newline (`HEALTHY` or `UNHEALTHY`).
 * @throws {Error} When the socket cannot be reached or does not answer in time.
 *
 * @example Usage
 * ```ts ignore
 * import { queryHealthSocket } from "./health_socket.ts";
 * const healthy = (await queryHealthSocket("/run/sidelb.sock")) === "HEALTHY";
 * ```
 */
export async function queryHealthSocket(path: string): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = <T>(p: Promise<T>, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`no ${what} within ${STEP_MS} ms`)), STEP_MS)
      ),
    ]).finally(() => clearTimeout(timer));
  const conn = await deadline(Deno.connect({ transport: "unix", path }), "connection");
  try {
    await conn.write(new TextEncoder().encode("Q"));
    const buf = new Uint8Array(32);
    let got = "";
    for (let i = 0; i < 32 && !got.includes("\n"); i++) {
      const n = await deadline(conn.read(buf), "reply");
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    return got.trim();
  } finally {
    conn.close();
  }
}

/**
 * The command line's side of SideLB's UDS health check: serving it next to a
 * running sidecar, deciding whether the default socket can be served, and
 * `sidekick --health-check-uds [PATH]` (the Docker HEALTHCHECK client).
 *
 * @module
 */

import { readEnv } from "./env.ts";
import {
  type HealthSocket,
  queryHealthSocket,
  serveHealthSocket,
  SIDELB_HEALTH_SOCKET,
} from "../observe/health_socket.ts";
import type { Sidecar } from "../sidecar.ts";

export type { HealthSocket };

/** The `deno run` flags a Unix socket at `path` needs (connect or listen). */
function socketFlags(path: string): string {
  return `--allow-net=unix:${path} --allow-read=${path} --allow-write=${path}`;
}

function socketGranted(path: string): boolean {
  return Deno.permissions.querySync({ name: "net", host: `unix:${path}` }).state === "granted" &&
    Deno.permissions.querySync({ name: "read", path }).state === "granted" &&
    Deno.permissions.querySync({ name: "write", path }).state === "granted";
}

/**
 * Whether SideLB's default socket (served when nobody asked for another)
 * can be served under the granted permissions.
 *
 * @param path The socket path.
 * @returns null when it can, else one line naming the flags to add (or how to turn it off).
 *
 * @example Usage
 * ```ts ignore
 * import { optionalSocketNotice } from "./health_socket.ts";
 * const line = optionalSocketNotice("/run/sidelb.sock");
 * if (line !== null) console.error(line);
 * ```
 */
export function optionalSocketNotice(path: string): string | null {
  if (socketGranted(path)) return null;
  return `sidekick: not serving the UDS health check on ${path}: run deno with ` +
    `${socketFlags(path)} (or give health_socket=PATH, or health_socket=off to silence this)`;
}

/**
 * Serves the health socket for a running sidecar: `HEALTHY` while any
 * endpoint of any listener is up and not draining. A socket that cannot be
 * created is reported in one line and the sidecar serves on without it.
 *
 * @param path The socket path.
 * @param sidecar The running sidecar.
 * @returns The socket, or null when it could not be created.
 *
 * @example Usage
 * ```ts ignore
 * import { startHealthSocket } from "./health_socket.ts";
 * const socket = startHealthSocket("/run/sidelb.sock", sidecar);
 * await socket?.close();
 * ```
 */
export function startHealthSocket(path: string, sidecar: Sidecar): HealthSocket | null {
  const healthy = () =>
    sidecar.stats().listeners.some((l) =>
      l.endpoints.some((e) => e.status === "up" && e.draining !== true)
    );
  try {
    return serveHealthSocket(path, healthy);
  } catch (e) {
    const why = e instanceof Deno.errors.NotCapable
      ? `run deno with ${socketFlags(path)}`
      : `${(e as Error).message}; choose a writable path with health_socket=PATH`;
    console.error(`sidekick: cannot serve the UDS health check on ${path}: ${why}`);
    return null;
  }
}

/**
 * `sidekick --health-check-uds [PATH]`: asks the health socket (PATH, else
 * `SIDELB_HEALTH_SOCKET`, else `/run/sidelb.sock`) and prints the reply.
 *
 * @param path The socket path given on the command line.
 * @returns 0 on `HEALTHY`, else 1 (with one line on stderr saying why).
 *
 * @example Usage
 * ```ts ignore
 * import { healthCheckUds } from "./health_socket.ts";
 * Deno.exit(await healthCheckUds(undefined));
 * ```
 */
export async function healthCheckUds(path: string | undefined): Promise<number> {
  const socket = path ?? readEnv("SIDELB_HEALTH_SOCKET") ?? SIDELB_HEALTH_SOCKET;
  if (!socketGranted(socket)) {
    console.error(
      `sidekick: cannot ask the UDS health check on ${socket}: run deno with ${
        socketFlags(socket)
      }`,
    );
    return 1;
  }
  try {
    const reply = await queryHealthSocket(socket);
    console.log(reply);
    if (reply === "HEALTHY") return 0;
    console.error(`sidekick: ${socket} answered '${reply}': no endpoint is up`);
    return 1;
  } catch (e) {
    console.error(
      `sidekick: cannot ask the UDS health check on ${socket}: ${(e as Error).message}`,
    );
    return 1;
  }
}

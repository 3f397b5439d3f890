/**
 * The admin listener's address (`--admin`, `admin: {address}` in the file,
 * iaido's `diagAddr`): parsed, and kept off every traffic port.
 *
 * @module
 */

import type { Reader, Val } from "./_reader.ts";
import { parseListenAddress } from "./builders.ts";
import type { AdminSpec, ListenerSpec } from "./schema.ts";

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

/**
 * Parses the admin listener's address.
 *
 * @param text `HOST:PORT`, `:PORT` (all interfaces) or `[V6]:PORT`.
 * @returns The spec.
 * @throws {TypeError} When the address has no port or the port is out of range.
 *
 * @example Usage
 * ```ts
 * import { parseAdminAddress } from "./admin.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseAdminAddress("127.0.0.1:9090"), { hostname: "127.0.0.1", port: 9090 });
 * ```
 */
export function parseAdminAddress(text: string): AdminSpec {
  return parseListenAddress(text.trim());
}

/**
 * Why the admin address cannot be used with these listeners: it must not
 * share a port with any of them (same port on the same host, or either a
 * wildcard). Port 0 (any free port) never clashes.
 *
 * @param admin The admin listener.
 * @param listeners The traffic listeners.
 * @returns The reason, or null when it is fine.
 *
 * @example Usage
 * ```ts
 * import { adminConflict } from "./admin.ts";
 * import { tcpListener } from "./builders.ts";
 * import assert from "node:assert/strict";
 * const db = tcpListener("127.0.0.1:26257", [["127.0.0.1:26258"]]);
 * assert.equal(adminConflict({ hostname: "127.0.0.1", port: 9090 }, [db]), null);
 * assert.ok(adminConflict({ hostname: "0.0.0.0", port: 26257 }, [db])?.includes("traffic port"));
 * ```
 */
export function adminConflict(admin: AdminSpec, listeners: readonly ListenerSpec[]): string | null {
  if (admin.port === 0) return null;
  for (const l of listeners) {
    if (l.port !== admin.port) continue;
    const overlap = l.hostname === admin.hostname || WILDCARDS.has(l.hostname) ||
      WILDCARDS.has(admin.hostname);
    if (overlap) {
      return `port ${admin.port} is the traffic port of ${l.kind} listener '${l.name}'; ` +
        "give the admin listener a port of its own, like 127.0.0.1:9090";
    }
  }
  return null;
}

/**
 * Reads the admin address from a config file (`admin.address` or iaido's
 * `diagAddr`), recording a problem at its place when it is unusable.
 *
 * @param r The file's reader.
 * @param v The address's value (absent or empty: no admin listener).
 * @param listeners The file's traffic listeners.
 * @returns The spec, or undefined.
 *
 * @example Usage
 * ```ts ignore
 * const admin = readAdminAddress(r, fields.get("address"), listeners);
 * ```
 */
export function readAdminAddress(
  r: Reader,
  v: Val | undefined,
  listeners: readonly ListenerSpec[],
): AdminSpec | undefined {
  const text = r.text(v, "use HOST:PORT, like 127.0.0.1:9090");
  if (v === undefined || text === undefined || text.trim() === "") return undefined;
  let admin;
  try {
    admin = parseAdminAddress(text);
  } catch (e) {
    r.problem(v.at, v.path, `${(e as Error).message}; use HOST:PORT, like 127.0.0.1:9090`);
    return undefined;
  }
  const clash = adminConflict(admin, listeners);
  if (clash !== null) {
    r.problem(v.at, v.path, clash);
    return undefined;
  }
  return admin;
}

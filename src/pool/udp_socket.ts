/**
 * UDP sockets toward endpoints: which local address to bind, and binding
 * without an uncatchable permission failure. Shared by the UDP proxy core
 * and the UDP health probe.
 *
 * @module
 */

import type dgram from "node:dgram";

/**
 * Where a UDP socket toward `host` binds locally: the loopback address of
 * the same family when the endpoint is on loopback, else the wildcard of its
 * family. (Binding explicitly also keeps Deno's net permission to the
 * address actually used, instead of `0.0.0.0:0`.)
 *
 * @param host The endpoint's host: an IP literal or a name (names are treated as IPv4).
 * @returns The socket type and the local address to bind.
 *
 * @example Usage
 * ```ts
 * import { udpLocalAddress } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(udpLocalAddress("::1"), { type: "udp6", address: "::1" });
 * assert.deepEqual(udpLocalAddress("10.0.0.7"), { type: "udp4", address: "0.0.0.0" });
 * ```
 */
export function udpLocalAddress(host: string): { type: "udp4" | "udp6"; address: string } {
  if (host.includes(":")) {
    const loopback = host === "::1" || /^::ffff:127\./i.test(host);
    return { type: "udp6", address: loopback ? "::1" : "::" };
  }
  const loopback = host.startsWith("127.") || host.toLowerCase() === "localhost";
  return { type: "udp4", address: loopback ? "127.0.0.1" : "0.0.0.0" };
}

/**
 * Binds a `node:dgram` socket, resolving once bound. Deno checks the net
 * permission for a bind on a later tick, where a denial cannot be caught and
 * ends the process; so for an IP literal the permission is queried first and
 * a missing one rejects here instead.
 *
 * @param socket A socket that is not bound yet.
 * @param address The local address (an IP literal or a name).
 * @param port The local port; 0 picks a free one.
 * @returns Resolves when bound.
 * @throws {Deno.errors.NotCapable} When net permission for `address:port` is not granted.
 * @throws {Error} When the bind fails (address in use, not available).
 *
 * @example Usage
 * ```ts ignore
 * import dgram from "node:dgram";
 * import { bindUdpSocket } from "./udp_socket.ts";
 * const socket = dgram.createSocket("udp4");
 * await bindUdpSocket(socket, "127.0.0.1", 0);
 * socket.close();
 * ```
 */
export function bindUdpSocket(socket: dgram.Socket, address: string, port: number): Promise<void> {
  const literal = address.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
  if (literal) {
    const host = `${address.includes(":") ? `[${address}]` : address}:${port}`;
    if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
      return Promise.reject(
        new Deno.errors.NotCapable(`Cannot bind a UDP socket: requires net access to "${host}"`),
      );
    }
  }
  return new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

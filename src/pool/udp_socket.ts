/**
 * UDP sockets toward endpoints: which local address to bind, and binding
 * without an uncatchable permission failure. Shared by the UDP proxy core
 * and the UDP health probe.
 *
 * @module
 */

import dgram from "node:dgram";
import { lookup } from "node:dns/promises";

/** An IPv4 address written out. */
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Lower case, and an IPv4-mapped IPv6 address as plain IPv4: the form in
 * which a reply's source is compared with an endpoint's address.
 *
 * @param address An IP literal.
 * @returns The normalised literal.
 *
 * @example Usage
 * ```ts
 * import { normalizeIp } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 * assert.equal(normalizeIp("::FFFF:127.0.0.1"), "127.0.0.1");
 * ```
 */
export function normalizeIp(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d{1,3}(\.\d{1,3}){3})$/, "$1");
}

/**
 * The IP a UDP endpoint's host stands for, normalised: the literal itself,
 * or what the name resolves to (system resolver, the socket's family).
 *
 * @param host An IP literal or a host name.
 * @param type The family of the socket that sends to it.
 * @returns The IP literal.
 * @throws {Error} When the name does not resolve.
 *
 * @example Usage
 * ```ts
 * import { resolveUdpHost } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await resolveUdpHost("127.0.0.1", "udp4"), "127.0.0.1");
 * ```
 */
export async function resolveUdpHost(host: string, type: "udp4" | "udp6"): Promise<string> {
  if (host.includes(":") || IPV4.test(host)) return normalizeIp(host);
  return normalizeIp((await lookup(host, { family: type === "udp6" ? 6 : 4 })).address);
}

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
  const literal = address.includes(":") || IPV4.test(address);
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

/**
 * How a datagram socket is implemented. `deno` is `Deno.listenDatagram`
 * (needs `--unstable-net`): it receives into one reused buffer per socket,
 * about four times the rate of `node` here. `node` is `node:dgram` (stable):
 * Deno's version allocates a 64 KiB buffer for every datagram received and
 * ignores `recvBufferSize`, so a burst overflows the kernel's queue sooner.
 *
 * @example Usage
 * ```ts
 * import type { DatagramEngine } from "./udp_socket.ts";
 * const engine: DatagramEngine = "node";
 * ```
 */
export type DatagramEngine = "node" | "deno";

/**
 * The faster engine this process may use: `deno` when `Deno.listenDatagram`
 * exists (run with `--unstable-net` or `"unstable": ["net"]`), else `node`.
 *
 * @returns The engine.
 *
 * @example Usage
 * ```ts
 * import { defaultDatagramEngine } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 * assert.ok(["node", "deno"].includes(defaultDatagramEngine()));
 * ```
 */
export function defaultDatagramEngine(): DatagramEngine {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function"
    ? "deno"
    : "node";
}

/**
 * Told of every datagram a {@linkcode DatagramSocket} receives. The bytes are
 * the handler's to keep (a send may still read them later).
 *
 * @example Usage
 * ```ts
 * import type { DatagramHandler } from "./udp_socket.ts";
 * const onMessage: DatagramHandler = (data, address, port) => {};
 * ```
 */
export type DatagramHandler = (data: Uint8Array, address: string, port: number) => void;

/**
 * Told how a send ended: with the error when it failed; the `node` engine
 * also calls it with `null` after a success.
 *
 * @example Usage
 * ```ts
 * import type { SendCallback } from "./udp_socket.ts";
 * const onSent: SendCallback = (error) => { if (error) console.error(error.message); };
 * ```
 */
export type SendCallback = (error: Error | null | undefined) => void;

/**
 * A bound UDP socket, whichever the engine: receives go to its handler,
 * sends never wait.
 *
 * @example Usage
 * ```ts ignore
 * import { openDatagramSocket } from "./udp_socket.ts";
 * const socket = await openDatagramSocket({ host: "127.0.0.1", port: 0, onMessage: () => {} });
 * await socket.close();
 * ```
 */
export interface DatagramSocket {
  /** The bound local address (the real port when 0 was asked for). */
  readonly address: Deno.NetAddr;
  /**
   * Sends one datagram. `data` must not change until sent.
   *
   * @param data The datagram.
   * @param to Where to (an IP literal and a port).
   * @param onSent Told how the send ended.
   */
  send(data: Uint8Array, to: Deno.NetAddr, onSent: SendCallback): void;
  /** Stops receiving and closes the socket; resolves when closed. */
  close(): Promise<void>;
}

/**
 * What {@linkcode openDatagramSocket} binds.
 *
 * @example Usage
 * ```ts
 * import type { DatagramSocketOptions } from "./udp_socket.ts";
 * const options: DatagramSocketOptions = { host: "::1", port: 0, onMessage: () => {} };
 * ```
 */
export interface DatagramSocketOptions {
  /** The local address: an IP literal or a name. */
  readonly host: string;
  /** The local port; 0 picks a free one. */
  readonly port: number;
  /** Told of every datagram received. */
  readonly onMessage: DatagramHandler;
  /** @default defaultDatagramEngine() */
  readonly engine?: DatagramEngine;
}

/** Largest UDP payload (IPv4: 65,535 - 8 - 20). */
const MAX_DATAGRAM = 65_507;
/** Receive errors in a row after which a `deno` socket stops receiving (it never spins). */
const MAX_RECEIVE_ERRORS = 100;

/**
 * Binds a UDP socket with the given engine and starts receiving.
 *
 * @param options Address, port, handler and engine.
 * @returns The bound socket.
 * @throws {Deno.errors.NotCapable} When net permission for the address is not granted.
 * @throws {Error} When the bind fails (address in use, not available).
 *
 * @example Usage
 * ```ts ignore
 * import { openDatagramSocket } from "./udp_socket.ts";
 * const echo = await openDatagramSocket({
 *   host: "127.0.0.1",
 *   port: 0,
 *   onMessage: (data, hostname, port) => echo.send(data, { transport: "udp", hostname, port }, () => {}),
 * });
 * await echo.close();
 * ```
 */
export async function openDatagramSocket(options: DatagramSocketOptions): Promise<DatagramSocket> {
  const { host, port, onMessage } = options;
  if ((options.engine ?? defaultDatagramEngine()) === "deno") {
    const conn = Deno.listenDatagram({ hostname: host, port, transport: "udp" });
    return new DenoDatagramSocket(conn, onMessage);
  }
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  try {
    await bindUdpSocket(socket, host, port);
  } catch (e) {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    throw e;
  }
  socket.on("error", () => {}); // failed sends are told to their callbacks
  socket.on("message", (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port));
  return new NodeDatagramSocket(socket);
}

class NodeDatagramSocket implements DatagramSocket {
  readonly address: Deno.NetAddr;
  readonly #socket: dgram.Socket;

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    const { address, port } = socket.address();
    this.address = { transport: "udp", hostname: address, port };
  }

  send(data: Uint8Array, to: Deno.NetAddr, onSent: SendCallback): void {
    this.#socket.send(data, to.port, to.hostname, onSent);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // not running
      }
    });
  }
}

class DenoDatagramSocket implements DatagramSocket {
  readonly address: Deno.NetAddr;
  readonly #conn: Deno.DatagramConn;
  readonly #receiving: Promise<void>;
  #closed = false;

  constructor(conn: Deno.DatagramConn, onMessage: DatagramHandler) {
    this.#conn = conn;
    this.address = conn.addr as Deno.NetAddr;
    this.#receiving = this.#receive(onMessage);
  }

  async #receive(onMessage: DatagramHandler): Promise<void> {
    // One buffer for the socket's life; each datagram is copied out at its own size
    // (the handler's sends read it later).
    const buf = new Uint8Array(MAX_DATAGRAM);
    for (let errors = 0; errors < MAX_RECEIVE_ERRORS;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await this.#conn.receive(buf);
      } catch {
        if (this.#closed) return;
        errors++;
        continue;
      }
      errors = 0;
      const addr = from as Deno.NetAddr;
      onMessage(data.slice(), addr.hostname, addr.port);
    }
  }

  send(data: Uint8Array, to: Deno.NetAddr, onSent: SendCallback): void {
    this.#conn.send(data, to).then(undefined, onSent);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
    await this.#receiving;
  }
}

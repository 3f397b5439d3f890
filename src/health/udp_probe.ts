/**
 * The UDP health probe: send a payload, pass only when a reply comes back
 * within the deadline. (SideLB's probe only checks that the send succeeded,
 * which it always does, and its IPv4-only socket fails every IPv6 target.)
 *
 * @module
 */

import dgram from "node:dgram";
import type { EndpointSpec } from "../config/schema.ts";
import type { ProbeResult } from "./http_probe.ts";

/**
 * Options of {@linkcode probeUdp}.
 *
 * @example Usage
 * ```ts
 * import type { UdpProbeOptions } from "./udp_probe.ts";
 * const o: UdpProbeOptions = { timeoutMs: 1000, payload: "ping" };
 * ```
 */
export interface UdpProbeOptions {
  /** How long to wait for the reply, in ms. */
  readonly timeoutMs: number;
  /** The datagram to send. */
  readonly payload: string | Uint8Array;
  /** Port to probe; 0 = the endpoint's. @default 0 */
  readonly port?: number;
  /** Cancels the probe (shutdown). */
  readonly signal?: AbortSignal;
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
 * import { udpLocalAddress } from "./udp_probe.ts";
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
 * import { bindUdpSocket } from "./udp_probe.ts";
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

/**
 * Probes one endpoint: one datagram out, any datagram back passes.
 *
 * @param endpoint The endpoint.
 * @param options Deadline, payload, port and cancellation.
 * @returns Whether it passed, with a detail for logs; never rejects.
 *
 * @example Usage
 * ```ts ignore
 * import { probeUdp } from "./udp_probe.ts";
 * const r = await probeUdp({ scheme: "udp", host: "127.0.0.1", port: 53, basePath: "" }, {
 *   timeoutMs: 1000, payload: "ping",
 * });
 * console.log(r.passed, r.detail);
 * ```
 */
export function probeUdp(endpoint: EndpointSpec, options: UdpProbeOptions): Promise<ProbeResult> {
  if (options.signal?.aborted) return Promise.resolve({ passed: false, detail: "cancelled" });
  const local = udpLocalAddress(endpoint.host);
  const port = options.port || endpoint.port;
  return new Promise<ProbeResult>((resolve) => {
    let socket: dgram.Socket | undefined;
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (socket === undefined) return resolve(result);
      try {
        socket.close(() => resolve(result));
      } catch {
        resolve(result); // not open
      }
    };
    const onAbort = () => finish({ passed: false, detail: "cancelled" });
    const timer = setTimeout(
      () => finish({ passed: false, detail: `no reply within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    options.signal?.addEventListener("abort", onAbort);
    try {
      socket = dgram.createSocket(local.type);
      socket.on("error", (e) => finish({ passed: false, detail: e.message }));
      socket.on("message", (m) => finish({ passed: true, detail: `reply of ${m.length} bytes` }));
      bindUdpSocket(socket, local.address, 0).then(() => {
        if (settled) return;
        socket!.connect(port, endpoint.host, () => {
          if (settled) return;
          socket!.send(options.payload, (e) => {
            if (e) finish({ passed: false, detail: e.message });
          });
        });
      }, (e: Error) => finish({ passed: false, detail: e.message }));
    } catch (e) {
      finish({ passed: false, detail: e instanceof Error ? e.message : String(e) });
    }
  });
}

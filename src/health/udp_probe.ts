/**
 * The UDP health probe: send a payload, pass only when a reply comes back
 * within the deadline. (SideLB's probe only checks that the send succeeded,
 * which it always does, and its IPv4-only socket fails every IPv6 target.)
 *
 * @module
 */

import dgram from "node:dgram";
import type { EndpointSpec } from "../config/schema.ts";
import { failedProbe, type ProbeResult } from "./http_probe.ts";
import { bindUdpSocket, udpLocalAddress } from "../pool/udp_socket.ts";

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
      }, (e: Error) => finish(failedProbe(e)));
    } catch (e) {
      finish(failedProbe(e));
    }
  });
}

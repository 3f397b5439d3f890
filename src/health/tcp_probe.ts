/**
 * The TCP health probe: an endpoint passes when a TCP connect to it succeeds
 * within the deadline (iaido's only check, with a deadline that SideLB's lacks),
 * and, toward endpoints that a TCP listener dials with TLS, the TLS handshake
 * completes too (through the proxy's own dialer, so with the same CA, client
 * certificate and server name).
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";
import { failedProbe, type ProbeResult } from "./http_probe.ts";
import { type HostAddresses, SYSTEM_ADDRESSES } from "../discovery/host_addresses.ts";
import { dialEndpoint, type UpstreamTls } from "../pool/dial.ts";

/**
 * Options of {@linkcode probeTcp}.
 *
 * @example Usage
 * ```ts
 * import type { TcpProbeOptions } from "./tcp_probe.ts";
 * const o: TcpProbeOptions = { timeoutMs: 1000 };
 * ```
 */
export interface TcpProbeOptions {
  /** Deadline of the connect, in ms. */
  readonly timeoutMs: number;
  /** Port to probe; 0 = the endpoint's. @default 0 */
  readonly port?: number;
  /** Cancels the probe (shutdown). */
  readonly signal?: AbortSignal;
  /** Resolves host names with stale-on-error. @default SYSTEM_ADDRESSES */
  readonly addresses?: HostAddresses | undefined;
  /** Complete a TLS handshake with these settings after the connect. @default plain TCP */
  readonly tls?: UpstreamTls | undefined;
}

/**
 * Probes one endpoint with a TCP connect, then closes the connection.
 *
 * @param endpoint The endpoint.
 * @param options Deadline, port and cancellation.
 * @returns Whether it passed, with a detail for logs; never rejects.
 *
 * @example Usage
 * ```ts ignore
 * import { probeTcp } from "./tcp_probe.ts";
 * const r = await probeTcp({ scheme: "tcp", host: "127.0.0.1", port: 5432, basePath: "" }, { timeoutMs: 1000 });
 * console.log(r.passed, r.detail);
 * ```
 */
export async function probeTcp(
  endpoint: EndpointSpec,
  options: TcpProbeOptions,
): Promise<ProbeResult> {
  if (options.signal?.aborted) return { passed: false, detail: "cancelled" };
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  options.signal?.addEventListener("abort", onAbort);
  const timer = setTimeout(() => ac.abort(), options.timeoutMs);
  try {
    const port = options.port || endpoint.port;
    const addresses = options.addresses ?? SYSTEM_ADDRESSES;
    if (options.tls !== undefined) {
      const conn = await dialEndpoint(endpoint, {
        timeoutMs: 0,
        port,
        tls: options.tls,
        signal: ac.signal,
        addresses,
      });
      conn.close();
      return { passed: true, detail: "connected (TLS)" };
    }
    const conn = await addresses.connect({ hostname: endpoint.host, port, signal: ac.signal });
    conn.close();
    return { passed: true, detail: "connected" };
  } catch (e) {
    if (ac.signal.aborted) {
      return {
        passed: false,
        detail: options.signal?.aborted ? "cancelled" : `timed out after ${options.timeoutMs} ms`,
      };
    }
    if (e instanceof Deno.errors.ConnectionRefused) {
      return { passed: false, detail: "connection refused" };
    }
    return failedProbe(e);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

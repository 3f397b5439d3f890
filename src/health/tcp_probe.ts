/**
 * The TCP health probe: an endpoint passes when a TCP connect to it succeeds
 * within the deadline (iaido's only check, with a deadline that SideLB's lacks).
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";
import { failedProbe, type ProbeResult } from "./http_probe.ts";
import { type HostAddresses, SYSTEM_ADDRESSES } from "../discovery/host_addresses.ts";

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
    const conn = await (options.addresses ?? SYSTEM_ADDRESSES).connect({
      hostname: endpoint.host,
      port: options.port || endpoint.port,
      signal: ac.signal,
    });
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

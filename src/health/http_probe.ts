/**
 * One active HTTP health probe over a raw socket: `GET path`, pass when the
 * status is in the healthy set (200 by default, like minio/sidekick).
 * Raw sockets rather than fetch, so HTTP_PROXY and fetch's blocked ports
 * never apply; https endpoints use the same TLS settings as the proxy.
 * Redirects are not followed (minio/sidekick's Go client follows up to 10):
 * add the 3xx statuses to the healthy set to accept them.
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";
import { dialEndpoint, isLocalResourceError, type UpstreamTls } from "../pool/dial.ts";
import type { HostAddresses } from "../discovery/host_addresses.ts";

/** The default healthy set: exactly 200. */
export const DEFAULT_HEALTHY_STATUSES: readonly (readonly [number, number])[] = [[200, 200]];

/**
 * Whether a status is in a set of inclusive ranges.
 *
 * @param status The status.
 * @param ranges Inclusive ranges; an empty list means the default, exactly 200.
 * @returns True when healthy.
 *
 * @example Usage
 * ```ts
 * import { isHealthyStatus } from "./http_probe.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isHealthyStatus(204, [[200, 299]]), true);
 * assert.equal(isHealthyStatus(204, []), false);
 * ```
 */
export function isHealthyStatus(
  status: number,
  ranges: readonly (readonly [number, number])[],
): boolean {
  if (ranges.length === 0) return status === 200;
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

const decoder = new TextDecoder();

/**
 * The result of one probe.
 *
 * @example Usage
 * ```ts
 * import type { ProbeResult } from "./http_probe.ts";
 * const r: ProbeResult = { passed: false, detail: "connection refused" };
 * ```
 */
export interface ProbeResult {
  /** Whether the endpoint is healthy. */
  readonly passed: boolean;
  /** The status seen or the error, for logs. */
  readonly detail: string;
  /**
   * The probe could not run for want of a local resource (out of file
   * descriptors): it says nothing about the endpoint and changes no state.
   */
  readonly local?: boolean;
}

/**
 * The result of a probe that threw: not passed, with the error's message;
 * marked `local` when sidekick itself ran out of a resource.
 *
 * @param e What was thrown.
 * @returns The result.
 *
 * @example Usage
 * ```ts
 * import { failedProbe } from "./http_probe.ts";
 * import assert from "node:assert/strict";
 * const emfile = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
 * assert.equal(failedProbe(emfile).local, true);
 * assert.deepEqual(failedProbe(new Error("reset")), { passed: false, detail: "reset" });
 * ```
 */
export function failedProbe(e: unknown): ProbeResult {
  const detail = e instanceof Error ? e.message : String(e);
  return isLocalResourceError(e)
    ? { passed: false, detail, local: true }
    : { passed: false, detail };
}

/**
 * Options of {@linkcode probeHttp}.
 *
 * @example Usage
 * ```ts
 * import type { HttpProbeOptions } from "./http_probe.ts";
 * const o: HttpProbeOptions = { path: "/health", port: 0, timeoutMs: 1000 };
 * ```
 */
export interface HttpProbeOptions {
  /** Path (with the endpoint's base path already in front, if any). */
  readonly path: string;
  /** Port to probe; 0 = the endpoint's. */
  readonly port: number;
  /** Deadline of the whole probe. */
  readonly timeoutMs: number;
  /** Cancels the probe (shutdown). */
  readonly signal?: AbortSignal;
  /** TLS settings for https endpoints (the proxy's). */
  readonly tls?: UpstreamTls | undefined;
  /** Resolves host names with stale-on-error. @default SYSTEM_ADDRESSES */
  readonly addresses?: HostAddresses | undefined;
  /** Statuses that pass, as inclusive ranges. @default [[200, 200]] */
  readonly statuses?: readonly (readonly [number, number])[] | undefined;
}

/**
 * What a probe's body is handed by {@linkcode runProbe}.
 *
 * @example Usage
 * ```ts ignore
 * const r = await runProbe(options, async ({ signal, own }) => {
 *   const conn = own(await dialEndpoint(endpoint, { timeoutMs: 1000, signal }));
 *   return { passed: true, detail: "connected" };
 * });
 * ```
 */
export interface ProbeRun {
  /** Aborted at the deadline or on a cancel (pass it to the dial). */
  readonly signal: AbortSignal;
  /**
   * Registers what the deadline and a cancel close (a socket, a session),
   * so a read in progress ends; it is closed after the probe in any case.
   */
  own<T extends { close(): void }>(closable: T): T;
}

/**
 * Runs one probe's body under its deadline and cancel signal, and turns what
 * it throws into a result: "timed out after N ms", "cancelled", "connection
 * refused", or the error (marked `local` when sidekick ran out of a
 * resource). Whatever the body registered with `own` is closed at the
 * deadline, on a cancel, and at the end.
 *
 * @param options The deadline and the cancel signal.
 * @param body The probe itself.
 * @returns The result; never rejects.
 *
 * @example Usage
 * ```ts
 * import { runProbe } from "./http_probe.ts";
 * import assert from "node:assert/strict";
 * const r = await runProbe({ timeoutMs: 1000 }, () => Promise.reject(new Error("reset")));
 * assert.deepEqual(r, { passed: false, detail: "reset" });
 * ```
 */
export async function runProbe(
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal | undefined },
  body: (run: ProbeRun) => Promise<ProbeResult>,
): Promise<ProbeResult> {
  const ac = new AbortController();
  const owned: { close(): void }[] = [];
  const closeAll = () => {
    for (const c of owned.splice(0)) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
  };
  // The deadline and a cancel both end a read in progress by closing what the probe holds.
  const onAbort = () => {
    ac.abort();
    closeAll();
  };
  options.signal?.addEventListener("abort", onAbort);
  const started = Date.now();
  const timer = setTimeout(onAbort, options.timeoutMs);
  const run: ProbeRun = {
    signal: ac.signal,
    own(closable) {
      if (ac.signal.aborted) {
        closable.close();
        throw new Deno.errors.TimedOut("probe deadline");
      }
      owned.push(closable);
      return closable;
    },
  };
  try {
    return await body(run);
  } catch (e) {
    if (
      ac.signal.aborted ||
      (e instanceof Deno.errors.TimedOut && Date.now() - started >= options.timeoutMs)
    ) {
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
    closeAll();
  }
}

/**
 * Probes one endpoint.
 *
 * @param endpoint The endpoint.
 * @param options Path, port, timeout.
 * @returns Whether it passed; never rejects.
 *
 * @example Usage
 * ```ts ignore
 * import { probeHttp } from "./http_probe.ts";
 * const r = await probeHttp({ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }, {
 *   path: "/minio/health/ready", port: 0, timeoutMs: 10_000,
 * });
 * ```
 */
export function probeHttp(
  endpoint: EndpointSpec,
  options: HttpProbeOptions,
): Promise<ProbeResult> {
  const port = options.port || endpoint.port;
  return runProbe(options, async ({ signal, own }) => {
    const conn = own(
      await dialEndpoint(endpoint, {
        port,
        timeoutMs: options.timeoutMs,
        tls: options.tls,
        addresses: options.addresses,
        signal,
      }),
    );
    const request = `GET ${options.path} HTTP/1.1\r\nHost: ${authority(endpoint.host, port)}\r\n` +
      `User-Agent: sidekick-health\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(1024);
    let got = 0;
    while (got < 16) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    const line = decoder.decode(buf.subarray(0, got)).split("\r\n", 1)[0];
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(line);
    if (m === null) return { passed: false, detail: "no HTTP status line in the reply" };
    return statusResult(Number(m[1]), options.statuses);
  });
}

/**
 * The result of an HTTP probe that got a status.
 *
 * @param status The status.
 * @param statuses The healthy set. @default [[200, 200]]
 * @returns Passed when healthy, with `status N` as the detail.
 *
 * @example Usage
 * ```ts
 * import { statusResult } from "./http_probe.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(statusResult(503, undefined), { passed: false, detail: "status 503" });
 * ```
 */
export function statusResult(
  status: number,
  statuses: readonly (readonly [number, number])[] | undefined,
): ProbeResult {
  return {
    passed: isHealthyStatus(status, statuses ?? DEFAULT_HEALTHY_STATUSES),
    detail: `status ${status}`,
  };
}

/**
 * `host:port` as a Host header or `:authority` says it (IPv6 in brackets).
 *
 * @param host The host name or IP literal.
 * @param port The port.
 * @returns The authority.
 *
 * @example Usage
 * ```ts
 * import { authority } from "./http_probe.ts";
 * import assert from "node:assert/strict";
 * assert.equal(authority("::1", 9000), "[::1]:9000");
 * ```
 */
export function authority(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

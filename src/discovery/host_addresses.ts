/**
 * Stale-on-error for plain host-name endpoints (not `dns.perAddress`): every
 * dial resolves the name again, and when a lookup fails the last good
 * address is dialed instead, as rr-dns mode and nginx (which resolves once)
 * keep serving. A DNS outage then costs nothing while the backends stay
 * where they were.
 *
 * Without an injected resolver the system's (`getaddrinfo`, inside
 * `Deno.connect`) is used and the address learnt from each connection; the
 * fallback dial is to that IP, so it needs net permission for the IP (with
 * `--allow-net=name:port` alone the dial fails as it would have anyway).
 *
 * @module
 */

import { isIpLiteral } from "./cluster_dns.ts";
import { type DnsResolver, resolveAddresses } from "./dns.ts";

/**
 * What {@linkcode HostAddresses.connect} takes: `Deno.connect`'s options.
 *
 * @example Usage
 * ```ts
 * import type { HostConnectOptions } from "./host_addresses.ts";
 * const o: HostConnectOptions = { hostname: "minio1", port: 9000 };
 * ```
 */
export interface HostConnectOptions {
  /** A host name or IP literal. */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
  /** Cancels the lookup and the connect. */
  readonly signal?: AbortSignal;
}

/** `Deno.connect`, whose options take a signal or none (never `signal: undefined`). */
function connectTo(
  hostname: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<Deno.TcpConn> {
  return Deno.connect(signal === undefined ? { hostname, port } : { hostname, port, signal });
}

/**
 * Whether an error of `Deno.connect` means the name did not resolve.
 *
 * @param e The error.
 * @returns True for a lookup failure.
 *
 * @example Usage
 * ```ts
 * import { isLookupFailure } from "./host_addresses.ts";
 * isLookupFailure(new Error("failed to lookup address information: Name or service not known")); // true
 * ```
 */
export function isLookupFailure(e: unknown): boolean {
  if (e instanceof Deno.errors.NotFound) return true;
  return e instanceof Error &&
    /failed to lookup address|name or service not known|name resolution|no address associated/i
      .test(e.message);
}

/**
 * The last good address of each host name, and the dialer that falls back
 * to it. One per cluster (so a test's resolver stays in its sidecar); the
 * default instance serves every cluster that was given none.
 *
 * @example Usage
 * ```ts ignore
 * import { HostAddresses } from "./host_addresses.ts";
 * const addresses = new HostAddresses();
 * const conn = await addresses.connect({ hostname: "minio1", port: 9000 });
 * conn.close();
 * ```
 */
export class HostAddresses {
  readonly #last = new Map<string, string>();
  readonly #failing = new Set<string>();
  readonly #resolver: DnsResolver | undefined;
  readonly #onError: (hostname: string, error: unknown) => void;

  /**
   * Creates an empty set of addresses.
   *
   * @param resolver Looks names up instead of the system (tests, custom DNS).
   * @param onError Hears of a name that stopped resolving (once per outage).
   */
  constructor(
    resolver?: DnsResolver,
    onError: (hostname: string, error: unknown) => void = () => {},
  ) {
    this.#resolver = resolver;
    this.#onError = onError;
  }

  /**
   * The last good address of a name.
   *
   * @param hostname The name.
   * @returns The address, or undefined when it never resolved.
   */
  lastGood(hostname: string): string | undefined {
    return this.#last.get(hostname);
  }

  /**
   * Connects over TCP, resolving the name now; when the lookup fails,
   * dials the last good address instead.
   *
   * @param options Host, port and signal.
   * @returns The connection.
   * @throws The lookup error when there is no last good address, else the connect error.
   */
  async connect(options: HostConnectOptions): Promise<Deno.TcpConn> {
    const { hostname, port, signal } = options;
    if (isIpLiteral(hostname)) return await connectTo(hostname, port, signal);
    if (this.#resolver !== undefined) {
      let ip: string;
      try {
        ip = (await resolveAddresses(hostname, this.#resolver, signal ?? neverAborted))[0];
        this.#good(hostname, ip);
      } catch (e) {
        if (signal?.aborted) throw e;
        ip = this.#stale(hostname, e);
      }
      return await connectTo(ip, port, signal);
    }
    try {
      const conn = await connectTo(hostname, port, signal);
      this.#good(hostname, (conn.remoteAddr as Deno.NetAddr).hostname);
      return conn;
    } catch (e) {
      if (!isLookupFailure(e)) throw e;
      const ip = this.#stale(hostname, e);
      try {
        return await connectTo(ip, port, signal);
      } catch (again) {
        throw again instanceof Deno.errors.NotCapable ? e : again;
      }
    }
  }

  #good(hostname: string, ip: string): void {
    this.#last.set(hostname, ip);
    this.#failing.delete(hostname);
  }

  /** The last good address after a failed lookup, or the lookup error again. */
  #stale(hostname: string, e: unknown): string {
    const ip = this.#last.get(hostname);
    if (ip === undefined) throw e;
    if (!this.#failing.has(hostname)) {
      this.#failing.add(hostname);
      try {
        this.#onError(hostname, e);
      } catch {
        // a hook cannot break a dial
      }
    }
    return ip;
  }
}

const neverAborted = new AbortController().signal;

/** The instance used when a cluster was given none (the system resolver). */
export const SYSTEM_ADDRESSES: HostAddresses = new HostAddresses();

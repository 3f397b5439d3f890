/**
 * How an endpoint is reached: a TCP connection, wrapped in TLS for `https`
 * and `h2` endpoints (the latter negotiating HTTP/2 through ALPN) (or every endpoint, for a TCP listener that originates TLS) with
 * the listener's upstream TLS settings. The HTTP and TCP cores and the health
 * probes dial through here, so all use the same CA, client certificate and
 * host name rule. Raw sockets, so `HTTP_PROXY` never applies.
 *
 * @module
 */

import type { UpstreamTlsSpec } from "../config/schema.ts";
import { type HostAddresses, SYSTEM_ADDRESSES } from "../discovery/host_addresses.ts";

/**
 * Upstream TLS material, loaded once from the files of an
 * {@linkcode UpstreamTlsSpec}.
 *
 * `insecure` maps to Deno's `unsafelyDisableHostnameVerification`: the host
 * name in the certificate is not checked, but the chain still is (unlike Go's
 * `InsecureSkipVerify`), so a self-signed endpoint also needs its CA in
 * `caCerts`.
 *
 * @example Usage
 * ```ts
 * import type { UpstreamTls } from "./dial.ts";
 * const tls: UpstreamTls = { caCerts: ["-----BEGIN CERTIFICATE-----\n..."], insecure: false };
 * ```
 */
export interface UpstreamTls {
  /** CA certificates (PEM), trusted in addition to the built-in roots. */
  readonly caCerts?: readonly string[];
  /** Client certificate chain (PEM) for mTLS; goes with {@linkcode key}. */
  readonly cert?: string;
  /** Client private key (PEM) for mTLS. */
  readonly key?: string;
  /** Skip the host name check (the chain is still verified). */
  readonly insecure: boolean;
  /**
   * The name sent in SNI and checked against the certificate, instead of
   * the endpoint's host. Not with a client certificate: Deno's `connectTls`
   * sends its `hostname`, and `startTls` sends no client certificate.
   */
  readonly serverName?: string;
  /** Dial every endpoint with TLS, whatever its scheme (a TCP listener's `upstreamTls`). @default only `https` endpoints */
  readonly allEndpoints?: boolean;
}

/**
 * Reads the files of an upstream TLS spec.
 *
 * @param spec The spec (file names), or undefined for the defaults.
 * @param allEndpoints Every endpoint speaks TLS (a TCP listener that
 *   originates TLS): then a spec always gives material. @default false
 * @returns The material, or undefined when the spec changes nothing.
 * @throws {TypeError} Naming the file that cannot be read or holds no PEM block,
 *   when only one of certFile and keyFile is given, or when serverName goes
 *   with a client certificate.
 *
 * @example Usage
 * ```ts
 * import { loadUpstreamTls } from "./dial.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(loadUpstreamTls({ insecure: true }), { insecure: true });
 * assert.equal(loadUpstreamTls(undefined), undefined);
 * ```
 */
export function loadUpstreamTls(
  spec: UpstreamTlsSpec | undefined,
  allEndpoints = false,
): UpstreamTls | undefined {
  if (spec === undefined) return undefined;
  if ((spec.certFile === undefined) !== (spec.keyFile === undefined)) {
    throw new TypeError(
      "Cannot use upstream TLS: a client certificate needs both certFile and keyFile",
    );
  }
  if (spec.serverName !== undefined && spec.certFile !== undefined) {
    throw new TypeError(
      "Cannot use upstream TLS: serverName cannot go with a client certificate (Deno sends " +
        "the dialled host as the name with one); drop serverName, or dial the endpoint by that name",
    );
  }
  if (
    !allEndpoints && spec.caFile === undefined && spec.certFile === undefined && !spec.insecure &&
    spec.serverName === undefined
  ) return undefined;
  const tls: {
    caCerts?: string[];
    cert?: string;
    key?: string;
    insecure: boolean;
    serverName?: string;
    allEndpoints?: boolean;
  } = { insecure: spec.insecure };
  if (spec.serverName !== undefined) tls.serverName = spec.serverName;
  if (allEndpoints) tls.allEndpoints = true;
  if (spec.caFile !== undefined) {
    tls.caCerts = [readPem(spec.caFile, "CA certificate", "CERTIFICATE")];
  }
  if (spec.certFile !== undefined && spec.keyFile !== undefined) {
    tls.cert = readPem(spec.certFile, "client certificate", "CERTIFICATE");
    tls.key = readPem(spec.keyFile, "client key", "PRIVATE KEY");
  }
  return tls;
}

/**
 * Reads a PEM file synchronously (at startup) and checks that it holds a block of `kind`.
 *
 * @param path The file.
 * @param what What it is, for the error message.
 * @param kind A word the `-----BEGIN ...-----` line must contain.
 * @returns The file's text.
 * @throws {TypeError} When it cannot be read or holds no such block.
 *
 * @example Usage
 * ```ts ignore
 * import { readPem } from "./dial.ts";
 * const ca = readPem("ca.crt", "CA certificate", "CERTIFICATE");
 * ```
 */
export function readPem(path: string, what: string, kind: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new TypeError(
      `Cannot read the ${what} '${path}': ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    throw new TypeError(`Cannot use the ${what} '${path}': no PEM ${kind} block in it`);
  }
  return text;
}

/**
 * Options of {@linkcode dialEndpoint}.
 *
 * @example Usage
 * ```ts
 * import type { DialOptions } from "./dial.ts";
 * const o: DialOptions = { timeoutMs: 5000 };
 * ```
 */
export interface DialOptions {
  /** Deadline of the TCP connect and the TLS handshake together; 0 = none (the caller cancels through `signal`). */
  readonly timeoutMs: number;
  /** Port to dial instead of the endpoint's (health probes on another port). @default the endpoint's */
  readonly port?: number;
  /** TLS settings for https and h2 endpoints (every endpoint with `allEndpoints`). @default the built-in roots, host name checked */
  readonly tls?: UpstreamTls | undefined;
  /** Cancels the dial. */
  readonly signal?: AbortSignal;
  /** Resolves host names, keeping the last good address when a lookup fails. @default SYSTEM_ADDRESSES */
  readonly addresses?: HostAddresses | undefined;
}

/** Where and how to dial. */
interface DialTarget {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
}

/**
 * Connects to an endpoint: TCP with `TCP_NODELAY`, plus a completed TLS
 * handshake for `https` and `h2` endpoints (every endpoint when the TLS
 * settings say `allEndpoints`), so certificate errors show up here and not
 * on the first write. An `h2` endpoint offers ALPN `h2` only and must pick
 * it ({@linkcode AlpnError} otherwise). The deadline and the signal both end a handshake in progress.
 *
 * A client certificate needs `Deno.connectTls`, which takes no abort
 * signal: when the deadline passes first, the connection that may still
 * come is closed as soon as it does.
 *
 * @param endpoint Scheme, host and port.
 * @param options Deadline, TLS, port override, signal.
 * @returns The connection.
 * @throws {Deno.errors.TimedOut} When the deadline passes; {@linkcode AlpnError}
 *   when an `h2` endpoint does not pick HTTP/2; otherwise the connect or
 *   handshake error (refused, unknown issuer, ...).
 *
 * @example Usage
 * ```ts ignore
 * import { dialEndpoint } from "./dial.ts";
 * const conn = await dialEndpoint({ scheme: "https", host: "127.0.0.1", port: 9443 }, { timeoutMs: 5000 });
 * conn.close();
 * ```
 */
export async function dialEndpoint(endpoint: DialTarget, options: DialOptions): Promise<Deno.Conn> {
  const port = options.port || endpoint.port;
  const ac = new AbortController();
  let conn: Deno.Conn | undefined;
  const cancel = (reason: unknown) => {
    ac.abort(reason);
    try {
      conn?.close(); // a handshake in progress then fails
    } catch {
      // closed already
    }
  };
  const onAbort = () => cancel(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort);
  const timer = options.timeoutMs > 0
    ? setTimeout(
      () => cancel(new Deno.errors.TimedOut(`connect timed out after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    )
    : undefined;
  const addresses = options.addresses ?? SYSTEM_ADDRESSES;
  const tls = options.tls;
  const h2 = endpoint.scheme === "h2";
  try {
    if (endpoint.scheme !== "https" && !h2 && tls?.allEndpoints !== true) {
      const tcp = await addresses.connect({ hostname: endpoint.host, port, signal: ac.signal });
      tcp.setNoDelay(true);
      return tcp;
    }
    const common: Deno.StartTlsOptions = {
      hostname: endpoint.host,
      unsafelyDisableHostnameVerification: tls?.insecure === true,
    };
    if (h2) common.alpnProtocols = ["h2"];
    if (tls?.caCerts) common.caCerts = [...tls.caCerts];
    if (tls?.cert !== undefined && tls.key !== undefined) {
      if (tls.serverName !== undefined) {
        throw new TypeError("Cannot dial with TLS: serverName cannot go with a client certificate");
      }
      conn = await abortable(
        Deno.connectTls({ ...common, port, cert: tls.cert, key: tls.key }),
        ac.signal,
      );
    } else {
      const tcp = await addresses.connect({ hostname: endpoint.host, port, signal: ac.signal });
      tcp.setNoDelay(true);
      conn = tcp;
      conn = await Deno.startTls(tcp, { ...common, hostname: tls?.serverName ?? endpoint.host });
    }
    if (ac.signal.aborted) throw ac.signal.reason;
    const agreed = await (conn as Deno.TlsConn).handshake();
    if (h2 && agreed.alpnProtocol !== "h2") {
      throw new AlpnError(h2Where(endpoint, port), agreed.alpnProtocol);
    }
    return conn;
  } catch (e) {
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
    if (ac.signal.aborted && ac.signal.reason instanceof Error) throw ac.signal.reason;
    // A server with ALPN but no h2 in it ends the handshake with this alert.
    if (h2 && e instanceof Error && /NoApplicationProtocol/i.test(e.message)) {
      throw new AlpnError(h2Where(endpoint, port), null);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * An `h2://` endpoint completed the TLS handshake without picking HTTP/2
 * through ALPN: it speaks HTTP/1.1 only (write it as `https://`), or a TLS
 * terminator in front of it does not offer h2.
 *
 * @example Usage
 * ```ts
 * import { AlpnError } from "./dial.ts";
 * import assert from "node:assert/strict";
 * const e = new AlpnError("h2://127.0.0.1:9443", "http/1.1");
 * assert.match(e.message, /did not agree to HTTP\/2/);
 * ```
 */
export class AlpnError extends Error {
  /** The protocol the endpoint picked, or null when it picked none. */
  readonly picked: string | null;

  /**
   * @param where The endpoint dialled, as `h2://host:port`.
   * @param picked What its ALPN answer was (null: none).
   */
  constructor(where: string, picked: string | null) {
    super(
      `endpoint ${where} did not agree to HTTP/2 over TLS (ALPN ${
        picked === null ? "without h2" : `picked '${picked}'`
      }); write it as https:// if it speaks HTTP/1.1 only`,
    );
    this.name = "AlpnError";
    this.picked = picked;
  }
}

function h2Where(endpoint: DialTarget, port: number): string {
  return `h2://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${port}`;
}

/** Awaits a connection unless `signal` aborts first; a connection that comes later is closed. */
function abortable<T extends Deno.Conn>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.then((c) => c.close(), () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.then((c) => c.close(), () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (c) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) c.close();
        else resolve(c);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Error codes that mean sidekick itself ran out of something, not the endpoint. */
const LOCAL_CODES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Whether a dial (or accept, or socket) error is sidekick's own: out of file
 * descriptors or memory. Such an error says nothing about the endpoint and
 * must never count against it.
 *
 * @param e What was thrown.
 * @returns True for EMFILE, ENFILE, ENOBUFS and ENOMEM.
 *
 * @example Usage
 * ```ts
 * import { isLocalResourceError } from "./dial.ts";
 * import assert from "node:assert/strict";
 * const e = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
 * assert.equal(isLocalResourceError(e), true);
 * assert.equal(isLocalResourceError(new Deno.errors.ConnectionRefused("refused")), false);
 * ```
 */
export function isLocalResourceError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && LOCAL_CODES.has(code)) return true;
  return /\(os error (23|24)\)/.test(e.message);
}

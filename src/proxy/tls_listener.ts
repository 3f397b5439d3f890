/**
 * A TLS listener whose certificate follows its files: the files are checked
 * on an owned timer (size, mtime, inode, so symlink swaps such as Kubernetes
 * secret updates are seen too), and a change that is stable over two checks
 * re-creates the listener with the new certificate. Connections already open
 * keep theirs; new connections get the new one.
 *
 * Deno has no way to change the certificate of a listening socket, so the
 * socket is replaced. With `--unstable-net` (SO_REUSEPORT) the new socket is
 * bound before the old one closes and no connection is refused; without it
 * the old socket is closed first and the port re-bound at once, so for that
 * instant new connections can be refused. `--tls-max` cannot be honoured:
 * Deno has no option to cap the TLS version and always offers 1.2 and 1.3.
 * ALPN offers what the core asks for (`http/1.1` for HTTP, nothing for TCP),
 * and client certificates cannot be requested (no server-side mTLS in Deno).
 * The HTTP and TCP cores share it.
 *
 * @module
 */

import { createPrivateKey } from "node:crypto";
import type { ServerTlsSpec } from "../config/schema.ts";
import { readPem } from "../pool/dial.ts";

/**
 * Certificate files, and the password of an encrypted key (minio's
 * `--key-password`).
 *
 * @example Usage
 * ```ts
 * import type { ServerTlsFiles } from "./tls_listener.ts";
 * const files: ServerTlsFiles = { certFile: "public.crt", keyFile: "private.key", keyPassword: "s3cret" };
 * ```
 */
export interface ServerTlsFiles extends ServerTlsSpec {
  /** Decrypts an encrypted key (legacy `Proc-Type: 4,ENCRYPTED` PEM or encrypted PKCS#8). */
  readonly keyPassword?: string | undefined;
}

/**
 * A private key as Deno's TLS wants it: an encrypted PEM key is decrypted
 * with `password` (Deno's TLS takes only plain keys).
 *
 * @param pem The key as read from its file.
 * @param password The password, if any.
 * @returns A plain PEM key.
 * @throws {TypeError} When the key is encrypted and the password is missing or wrong.
 *
 * @example Usage
 * ```ts
 * import { plainKey } from "./tls_listener.ts";
 * import assert from "node:assert/strict";
 * assert.equal(plainKey("-----BEGIN PRIVATE KEY-----\n...", undefined), "-----BEGIN PRIVATE KEY-----\n...");
 * ```
 */
export function plainKey(pem: string, password: string | undefined): string {
  if (!/ENCRYPTED/.test(pem)) return pem;
  if (password === undefined) {
    throw new TypeError("Cannot use the server key: it is encrypted and no password was given");
  }
  try {
    return createPrivateKey({ key: pem, format: "pem", passphrase: password })
      .export({ format: "pem", type: "pkcs8" }) as string;
  } catch (e) {
    throw new TypeError(
      `Cannot decrypt the server key: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * A certificate chain and its private key, both PEM.
 *
 * @example Usage
 * ```ts
 * import type { CertificatePair } from "./tls_listener.ts";
 * const pair: CertificatePair = { cert: "-----BEGIN CERTIFICATE-----\n...", key: "-----BEGIN PRIVATE KEY-----\n..." };
 * ```
 */
export interface CertificatePair {
  /** Certificate chain (PEM). */
  readonly cert: string;
  /** Private key (PEM). */
  readonly key: string;
}

/**
 * Options of {@linkcode TlsListener}.
 *
 * @example Usage
 * ```ts ignore
 * const options: TlsListenerOptions = {
 *   hostname: "0.0.0.0", port: 8443, files: { certFile: "public.crt", keyFile: "private.key" },
 *   checkMs: 5000, onListener: (l) => acceptLoop(l), onNotice: console.error,
 * };
 * ```
 */
export interface TlsListenerOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port (0 picks one, kept across reloads). */
  readonly port: number;
  /** Certificate files, watched for changes. */
  readonly files?: ServerTlsFiles | undefined;
  /** A fixed certificate (used when `files` is not given). */
  readonly certificate?: CertificatePair | undefined;
  /** How often the files are checked (ms). */
  readonly checkMs: number;
  /** ALPN protocols offered to clients (HTTP: `["http/1.1"]`). @default none */
  readonly alpnProtocols?: readonly string[];
  /**
   * Called with every listener bound (the first and each reload's): accept
   * on it; the promise settles when accepting on it has stopped (after it
   * is closed), which frees its port for the next one.
   */
  readonly onListener: (listener: Deno.Listener) => Promise<void>;
  /** Hears of reloads and of failed ones. */
  readonly onNotice: (message: string) => void;
}

/** Whether SO_REUSEPORT may be asked for (`--unstable-net`; asking without it exits the process). */
const REUSE_PORT = typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";

/**
 * A TLS listener that reloads its certificate files.
 *
 * @example Usage
 * ```ts ignore
 * import { TlsListener } from "./tls_listener.ts";
 * const tls = new TlsListener(options);
 * const listener = tls.listen();
 * await tls.close();
 * ```
 */
export class TlsListener {
  readonly #options: TlsListenerOptions;
  #listener: Deno.Listener | null = null;
  #accepting: Promise<void> = Promise.resolve();
  #pair: CertificatePair | null = null;
  #port = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> | null = null;
  #current = "";
  #pending = "";
  #closed = false;
  #files: ServerTlsFiles | undefined;
  /** A certificate swap asked for by a reload (checks wait for it). */
  #reloading: Promise<void> = Promise.resolve();

  /** @param options Address, certificate source, hooks. */
  constructor(options: TlsListenerOptions) {
    this.#options = options;
    this.#files = options.files;
  }

  /**
   * Reads the certificate, binds, and starts watching the files.
   *
   * @returns The first listener (also handed to `onListener`).
   * @throws {TypeError} When a file cannot be read or holds no PEM block.
   * @throws {Deno.errors.AddrInUse} When the address is taken.
   */
  listen(): Deno.Listener {
    const o = this.#options;
    let pair = o.certificate;
    if (this.#files !== undefined) {
      this.#current = signatureSync(this.#files);
      pair = readPair(this.#files);
    }
    if (pair === undefined) throw new TypeError("Cannot serve TLS: no certificate given");
    const listener = this.#bind(pair, o.port);
    this.#listener = listener;
    this.#pair = pair;
    this.#port = (listener.addr as Deno.NetAddr).port;
    this.#accepting = o.onListener(listener);
    if (this.#files !== undefined) {
      this.#timer = setInterval(() => {
        this.#checking ??= this.#reloading.then(() => this.#check()).finally(() =>
          this.#checking = null
        );
      }, o.checkMs);
    }
    return listener;
  }

  #bind(pair: CertificatePair, port: number): Deno.Listener {
    const options = {
      hostname: this.#options.hostname,
      port,
      cert: pair.cert,
      key: pair.key,
      ...(this.#options.alpnProtocols === undefined
        ? {}
        : { alpnProtocols: [...this.#options.alpnProtocols] }),
    };
    return REUSE_PORT ? Deno.listenTls({ ...options, reusePort: true }) : Deno.listenTls(options);
  }

  /** Compares the files with what is served; reloads a change seen twice in a row. */
  async #check(): Promise<void> {
    const o = this.#options, files = this.#files!;
    let sig: string;
    try {
      sig = await signature(files);
    } catch {
      return; // a file is missing in the middle of a rotation: look again later
    }
    if (sig === this.#current) {
      this.#pending = "";
      return;
    }
    if (sig !== this.#pending) {
      this.#pending = sig; // wait for the writer to finish both files
      return;
    }
    this.#pending = "";
    this.#current = sig;
    try {
      const pair = {
        cert: await Deno.readTextFile(files.certFile),
        key: plainKey(await Deno.readTextFile(files.keyFile), files.keyPassword),
      };
      if (this.#closed) return;
      await this.#swap(pair);
      o.onNotice(`reloaded the TLS certificate from ${files.certFile}`);
    } catch (e) {
      o.onNotice(
        `cannot reload the TLS certificate from ${files.certFile}: ${
          e instanceof Error ? e.message : String(e)
        }; still serving the previous one`,
      );
    }
  }

  async #swap(pair: CertificatePair): Promise<void> {
    const old = this.#listener;
    if (REUSE_PORT) {
      const next = this.#bind(pair, this.#port); // throws on a bad certificate: old stays
      this.#listener = next;
      this.#pair = pair;
      const accepting = this.#options.onListener(next);
      old?.close();
      await this.#accepting;
      this.#accepting = accepting;
      return;
    }
    // Check the new certificate on a throwaway socket before giving up the port.
    Deno.listenTls({
      hostname: this.#options.hostname,
      port: 0,
      cert: pair.cert,
      key: pair.key,
    }).close();
    old?.close();
    this.#listener = null;
    await this.#accepting; // the old socket is really closed once its accept has ended
    let next: Deno.Listener | undefined;
    for (let i = 0; next === undefined; i++) {
      try {
        next = this.#bind(pair, this.#port);
      } catch (e) {
        if (!(e instanceof Deno.errors.AddrInUse) || i >= 50) {
          // The port went elsewhere: try to get it back with the old certificate.
          if (this.#pair !== null) this.#install(this.#bind(this.#pair, this.#port));
          throw e;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    this.#pair = pair;
    this.#install(next);
  }

  /**
   * Reads the certificate files of a reload now (a bad file throws and
   * nothing changes); the returned function serves them from then on and
   * watches them instead of the old ones. Files that hold what is served
   * already change nothing.
   *
   * @param files The new files.
   * @returns Swaps the certificate (in the background; a failure is a notice).
   * @throws {TypeError} When a file cannot be read, holds no PEM block or the key cannot be decrypted.
   */
  prepareFiles(files: ServerTlsFiles): () => void {
    const pair = readPair(files);
    const signature = signatureSync(files);
    return () => {
      if (this.#closed || this.#files === undefined) return;
      this.#files = files;
      this.#current = signature;
      this.#pending = "";
      const same = this.#pair !== null && this.#pair.cert === pair.cert &&
        this.#pair.key === pair.key;
      if (same) return;
      const after = Promise.all([this.#reloading, this.#checking]);
      this.#reloading = after.then(() => this.#swap(pair)).then(
        () => this.#options.onNotice(`reloaded the TLS certificate from ${files.certFile}`),
        (e) =>
          this.#options.onNotice(
            `cannot serve the TLS certificate from ${files.certFile}: ${
              e instanceof Error ? e.message : String(e)
            }; still serving the previous one`,
          ),
      );
    };
  }

  #install(listener: Deno.Listener): void {
    this.#listener = listener;
    this.#accepting = this.#options.onListener(listener);
  }

  /**
   * Stops watching and closes the listener.
   *
   * @returns Resolves when no check is running.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#checking;
    await this.#reloading;
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    this.#listener = null;
    await this.#accepting;
  }
}

function describe(st: Deno.FileInfo): string {
  return `${st.mtime?.getTime() ?? 0}/${st.size}/${st.ino ?? 0}`;
}

async function signature(files: ServerTlsFiles): Promise<string> {
  const [a, b] = await Promise.all([Deno.stat(files.certFile), Deno.stat(files.keyFile)]);
  return `${describe(a)}|${describe(b)}`;
}

function signatureSync(files: ServerTlsFiles): string {
  try {
    return `${describe(Deno.statSync(files.certFile))}|${describe(Deno.statSync(files.keyFile))}`;
  } catch {
    return ""; // readPem reports it
  }
}

/** Reads a certificate and its (decrypted) key, synchronously. */
function readPair(files: ServerTlsFiles): CertificatePair {
  return {
    cert: readPem(files.certFile, "server certificate", "CERTIFICATE"),
    key: plainKey(readPem(files.keyFile, "server key", "PRIVATE KEY"), files.keyPassword),
  };
}

/**
 * Stops accepting: closes the TLS listener (waiting for it), or the plain
 * one (already closed is fine).
 *
 * @param tls The TLS listener, or null.
 * @param plain The plain listener, or null.
 * @returns Resolves once the TLS listener has closed.
 *
 * @example Usage
 * ```ts
 * import { stopAccepting } from "./tls_listener.ts";
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * await stopAccepting(null, l);
 * await stopAccepting(null, l); // twice is fine
 * ```
 */
export async function stopAccepting(
  tls: TlsListener | null,
  plain: Deno.Listener | null,
): Promise<void> {
  if (tls !== null) return await tls.close();
  try {
    plain?.close();
  } catch {
    // already closed
  }
}

/**
 * Per-client limits on an HTTP connection: what it was admitted with, and
 * the 429 that sidekick answers a client over its limits.
 *
 * @module
 */

import { type ClientLimiter, type ClientState } from "../client_limits.ts";
import { bytes } from "./ascii.ts";

/**
 * One connection's standing with its listener's {@linkcode ClientLimiter}.
 *
 * @example Usage
 * ```ts
 * import { admitClient } from "./client_limit.ts";
 * import { ClientLimiter } from "../client_limits.ts";
 * import assert from "node:assert/strict";
 * const limiter = new ClientLimiter({ connections: 0, ratePerSec: 1, burst: 1 });
 * const limit = admitClient(limiter, "10.0.0.1", 0)!;
 * assert.equal(limit.check(0), 0);
 * assert.equal(limit.check(0), 1_000); // the second request of the second must wait 1 s
 * limit.release();
 * ```
 */
export class ClientLimit {
  readonly #limiter: ClientLimiter;
  readonly #state: ClientState | null;
  readonly #refusedMs: number;

  /**
   * @param limiter The listener's limiter.
   * @param state The client's state, or null when the connection was refused.
   * @param refusedMs How long a refused client should wait.
   */
  constructor(limiter: ClientLimiter, state: ClientState | null, refusedMs: number) {
    this.#limiter = limiter;
    this.#state = state;
    this.#refusedMs = refusedMs;
  }

  /** Whether the connection itself was admitted (a refused one is answered 429 and closed). */
  get admitted(): boolean {
    return this.#state !== null;
  }

  /**
   * A request on this connection.
   *
   * @param now Now (ms).
   * @returns 0 to serve it, else how long the client should wait (ms).
   */
  check(now: number): number {
    return this.#state === null ? this.#refusedMs : this.#limiter.request(this.#state, now);
  }

  /** The connection ended. */
  release(): void {
    if (this.#state !== null) this.#limiter.release(this.#state);
  }
}

/**
 * Counts a new connection with the limiter (one map lookup).
 *
 * @param limiter The listener's limiter, or null when limits are off.
 * @param ip The client's IP.
 * @param now Now (ms).
 * @returns The connection's standing, or null when limits are off.
 *
 * @example Usage
 * ```ts
 * import { admitClient } from "./client_limit.ts";
 * import assert from "node:assert/strict";
 * assert.equal(admitClient(null, "10.0.0.1", 0), null);
 * ```
 */
export function admitClient(
  limiter: ClientLimiter | null,
  ip: string,
  now: number,
): ClientLimit | null {
  if (limiter === null) return null;
  const state = limiter.connect(ip, now, false);
  return new ClientLimit(limiter, state, limiter.refusedMs);
}

const cache = new Map<number, Uint8Array>();

/**
 * sidekick's 429: `Retry-After` in whole seconds (at least 1), and
 * `Connection: close` when the connection ends after it.
 *
 * @param waitMs How long the client should wait.
 * @param close Whether the connection closes after it.
 * @returns The response bytes (shared: do not change them).
 *
 * @example Usage
 * ```ts
 * import { tooManyRequests } from "./client_limit.ts";
 * import assert from "node:assert/strict";
 * const text = new TextDecoder().decode(tooManyRequests(1_500, true));
 * assert.match(text, /^HTTP\/1.1 429 Too Many Requests\r\n/);
 * assert.match(text, /\r\nRetry-After: 2\r\n/);
 * ```
 */
export function tooManyRequests(waitMs: number, close: boolean): Uint8Array {
  const seconds = Math.min(3600, Math.max(1, Math.ceil(waitMs / 1000)));
  const key = close ? -seconds : seconds;
  let out = cache.get(key);
  if (out === undefined) {
    const body = "too many requests from this client; retry after the time in Retry-After\n";
    out = bytes(
      `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${seconds}\r\n` +
        `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
        `${close ? "Connection: close\r\n" : ""}\r\n${body}`,
    );
    if (cache.size < 256) cache.set(key, out);
  }
  return out;
}

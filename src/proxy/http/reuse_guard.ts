/**
 * Which endpoints' upstream connections may be kept for reuse. A backend
 * that sends bytes outside any response (on an idle pooled connection, or
 * past the end of a response) no longer agrees with sidekick on where
 * responses start: a reused connection could hand its stray bytes to the
 * next client as that client's response. HAProxy closes an idle server
 * connection that receives data and never gives a client's first request a
 * connection another client used (`http-reuse safe`); sidekick also stops
 * reusing every connection to that endpoint for a cool-down, so each
 * connection then carries one exchange and is closed, and says so once.
 *
 * @module
 */

/** How long an endpoint's connections are not reused after stray bytes. */
export const STRAY_COOLDOWN_MS = 60_000;

/** Where the stray bytes came. */
export type StrayPlace = "idle" | "past-end";

/**
 * Cool-downs per endpoint after stray bytes.
 *
 * @example Usage
 * ```ts
 * import { ReuseGuard } from "./reuse_guard.ts";
 * const lines: string[] = [];
 * const guard = new ReuseGuard((m) => lines.push(m));
 * guard.stray("http://10.0.0.1:9000", "idle", 0);
 * guard.reusable("http://10.0.0.1:9000", 1000); // false
 * guard.reusable("http://10.0.0.1:9000", 61_000); // true
 * lines.length; // 1
 * ```
 */
export class ReuseGuard {
  readonly #until = new Map<string, number>();
  readonly #onNotice: (message: string) => void;
  readonly #cooldownMs: number;

  /**
   * @param onNotice Hears of each endpoint that starts a cool-down.
   * @param cooldownMs How long connections to it are not reused.
   */
  constructor(onNotice: (message: string) => void, cooldownMs = STRAY_COOLDOWN_MS) {
    this.#onNotice = onNotice;
    this.#cooldownMs = cooldownMs;
  }

  /**
   * Whether connections to an endpoint may go back to the pool.
   *
   * @param key The endpoint's key.
   * @param now The current time (ms).
   * @returns False during a cool-down.
   */
  reusable(key: string, now: number): boolean {
    if (this.#until.size === 0) return true;
    const until = this.#until.get(key);
    if (until === undefined) return true;
    if (until > now) return false;
    this.#until.delete(key);
    return true;
  }

  /**
   * Records stray bytes from an endpoint: starts (or extends) its
   * cool-down; only a start is reported.
   *
   * @param key The endpoint's key.
   * @param place Where the bytes came.
   * @param now The current time (ms).
   */
  stray(key: string, place: StrayPlace, now: number): void {
    const quiet = !this.reusable(key, now);
    this.#until.set(key, now + this.#cooldownMs);
    if (quiet) return;
    const where = place === "idle"
      ? "on an idle connection, outside any response"
      : "past the end of a response";
    this.#onNotice(
      `endpoint ${key} sent bytes ${where}; that connection is closed and its connections ` +
        `are not reused for ${this.#cooldownMs / 1000} s`,
    );
  }
}

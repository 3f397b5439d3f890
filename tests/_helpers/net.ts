/**
 * Small helpers for tests on real sockets: bounded waiting, bytes, hashes.
 *
 * @module
 */

import { createHash } from "node:crypto";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Loopback address every test uses. */
export const HOST = "127.0.0.1";

// ---------------------------------------------------------------------------
// time

/**
 * Sleeps for `ms`.
 *
 * @param ms Milliseconds.
 * @returns Resolves after the delay.
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Awaits `promise`, failing with a message naming `what` after `ms`.
 *
 * @param promise What to wait for.
 * @param ms The deadline.
 * @param what Used in the error message.
 * @returns The promise's value.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` every 10 ms until it returns true; fails after `ms`.
 *
 * @param check The condition.
 * @param ms The deadline.
 * @param what Used in the error message.
 */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what}: still false after ${ms} ms`);
    await delay(10);
  }
}

// ---------------------------------------------------------------------------
// bytes

/**
 * Encodes text as UTF-8.
 *
 * @param s The text.
 * @returns Its bytes.
 */
export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/**
 * Decodes UTF-8.
 *
 * @param b The bytes.
 * @returns The text.
 */
export function text(b: Uint8Array): string {
  return decoder.decode(b);
}

/**
 * Hex SHA-256 of some bytes.
 *
 * @param data The bytes (or several parts, hashed in order).
 * @returns The digest in hex.
 */
export function sha256(...data: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const d of data) h.update(d);
  return h.digest("hex");
}

/**
 * Pseudo-random bytes from a seed (xorshift), so failures reproduce.
 *
 * @param n How many.
 * @param seed The seed.
 * @returns The bytes.
 */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** File descriptors held by {@linkcode exhaustFileDescriptors}; disposing closes them. */
export interface FdHog extends Disposable {
  /** How many were opened. */
  readonly count: number;
}

/**
 * Opens a temporary file until the process is out of file descriptors
 * (EMFILE), so that the next socket or file fails as it would under
 * `ulimit -n` on a busy machine. Dispose it at once after the step that
 * must see the shortage.
 *
 * @param path A file under /tmp to open (created empty; per process, so that parallel runs do
 *   not remove each other's).
 * @returns The held descriptors.
 */
export function exhaustFileDescriptors(path = `/tmp/sidekick_test_fd_hog_${Deno.pid}`): FdHog {
  Deno.writeTextFileSync(path, "");
  const files: Deno.FsFile[] = [];
  try {
    for (let i = 0; i < 1_000_000; i++) files.push(Deno.openSync(path));
  } catch (e) {
    if ((e as { code?: string }).code !== "EMFILE") {
      for (const f of files) f.close();
      throw e;
    }
  }
  return {
    count: files.length,
    [Symbol.dispose]() {
      for (const f of files.splice(0)) f.close();
      try {
        Deno.removeSync(path);
      } catch {
        // removed already
      }
    },
  };
}

/**
 * The `yaml` package reads `LOG_TOKENS` and `LOG_STREAM` from `process.env`
 * on every parse (debug switches). Under `--allow-env` without them, Deno
 * would throw `NotCapable` (or prompt) for a read nobody asked for; so while
 * parsing, `process.env` reads only variables that are granted and sees the
 * others as unset.
 *
 * @module
 */

import process from "node:process";

function granted(variable: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable }).state === "granted";
}

/** `process.env` as seen while parsing: ungranted variables read as unset. */
const GRANTED_ONLY: Record<string, string | undefined> = new Proxy({}, {
  get: (_target, key) => typeof key === "string" && granted(key) ? Deno.env.get(key) : undefined,
  has: (_target, key) => typeof key === "string" && granted(key) && Deno.env.has(key),
});

/**
 * Runs `fn` (synchronous) with a `process.env` that never reads a variable
 * the process was not granted; restores it afterwards.
 *
 * @param fn The work, e.g. a YAML parse.
 * @returns What `fn` returns.
 *
 * @example Usage
 * ```ts
 * import { withGrantedEnvOnly } from "./_env_guard.ts";
 * import process from "node:process";
 * // Reads as unset instead of throwing when LOG_TOKENS is not granted.
 * withGrantedEnvOnly(() => process.env.LOG_TOKENS);
 * ```
 */
export function withGrantedEnvOnly<T>(fn: () => T): T {
  const own = Object.getOwnPropertyDescriptor(process, "env");
  if (own === undefined || !own.configurable) return fn();
  Object.defineProperty(process, "env", { ...own, value: GRANTED_ONLY });
  try {
    return fn();
  } finally {
    Object.defineProperty(process, "env", own);
  }
}

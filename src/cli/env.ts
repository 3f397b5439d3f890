/**
 * Reading the environment under scoped permissions: a variable that the
 * process may not read counts as unset (no prompt, no exception), so
 * `--allow-env` is needed only for the variables a user actually sets.
 *
 * @module
 */

/**
 * Reads one environment variable if permitted.
 *
 * @param name The variable.
 * @returns Its value, or undefined when unset or not permitted.
 *
 * @example Usage
 * ```ts
 * import { readEnv } from "./env.ts";
 * readEnv("SIDEKICK_SITES"); // undefined unless set and permitted
 * ```
 */
export function readEnv(name: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
    return undefined;
  }
  return Deno.env.get(name);
}

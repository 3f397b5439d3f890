/**
 * What this build is: sidekick's version and the runtime's, for
 * `--version`, `sidekick_build_info` and the admin listener.
 *
 * @module
 */

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

/**
 * The build's labels.
 *
 * @returns sidekick's version and Deno's, V8's and TypeScript's.
 *
 * @example Usage
 * ```ts
 * import { buildInfo } from "./build_info.ts";
 * import assert from "node:assert/strict";
 * assert.equal(buildInfo().version, "0.1.0");
 * ```
 */
export function buildInfo(): {
  readonly version: string;
  readonly deno: string;
  readonly v8: string;
  readonly typescript: string;
} {
  return {
    version: VERSION,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
  };
}

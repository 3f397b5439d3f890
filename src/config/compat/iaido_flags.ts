/**
 * bobvawter/iaido's command line, accepted unchanged: its camelCase long
 * flags are spelled as sidekick's kebab-case ones before parsing, so
 * `--bootstrapAddr` and `--bootstrap-addr` are the same flag. iaido's other
 * flags (`-c`/`--config`, `-b`/`--bootstrap`, `-f`/`--force`, `--check`,
 * `--version`, `-h`/`--help`) are sidekick flags of the same name.
 *
 * @module
 */

/** iaido's long flags whose spelling differs from sidekick's, and sidekick's spelling. */
export const IAIDO_FLAG_SPELLINGS: Readonly<Record<string, string>> = {
  "--bootstrapAddr": "--bootstrap-addr",
  "--reloadPeriod": "--reload-period",
};

/**
 * Rewrites iaido's camelCase flags (also in `--flag=value` form) to
 * sidekick's spelling; everything after `--` is left alone.
 *
 * @param args The command line (without the program name).
 * @returns The same arguments with iaido's spellings replaced.
 *
 * @example Usage
 * ```ts
 * import { normalizeIaidoArgs } from "./iaido_flags.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   normalizeIaidoArgs(["--bootstrapAddr", "127.0.0.1", "--reloadPeriod=5s"]),
 *   ["--bootstrap-addr", "127.0.0.1", "--reload-period=5s"],
 * );
 * ```
 */
export function normalizeIaidoArgs(args: readonly string[]): string[] {
  const end = args.indexOf("--");
  return args.map((a, i) => {
    if (end >= 0 && i >= end) return a;
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    const ours = IAIDO_FLAG_SPELLINGS[name];
    return ours === undefined ? a : ours + (eq < 0 ? "" : a.slice(eq));
  });
}

/**
 * The `sidekick` command line: flags -> {@linkcode SidecarConfig} ->
 * {@linkcode createSidecar} -> signals.
 *
 * @example Usage
 * ```sh
 * deno run --allow-net=127.0.0.1 cli.ts --address 127.0.0.1:8080 --health-path /ready http://127.0.0.1:{9001...9002}
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { SidecarConfig } from "./src/config/schema.ts";
import { readEnv } from "./src/config/env.ts";
import {
  configFromFlags,
  FLAGS,
  type FlagValues,
  helpText,
  mergeEnv,
  UsageError,
} from "./src/config/flags.ts";
import { createSidecar } from "./src/sidecar.ts";
import { formatHealthEvent } from "./src/observe/log.ts";

export { UsageError };

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

/**
 * Translates command-line arguments (and `SIDEKICK_*` variables) into a configuration.
 *
 * @param args The arguments (without the program name).
 * @param env Reads one environment variable. @default readEnv (permission-aware)
 * @returns The configuration with startup warnings, or "help"/"version" when those were asked for.
 * @throws {UsageError} For a bad flag or value.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./cli.ts";
 * import assert from "node:assert/strict";
 * const parsed = parseCommandLine(["-a", "127.0.0.1:8080", "http://127.0.0.1:{9001...9002}"], () => undefined);
 * assert.ok(typeof parsed === "object" && parsed.config.listeners[0].cluster.sites[0].endpoints.length === 2);
 * ```
 */
export function parseCommandLine(
  args: readonly string[],
  env: (name: string) => string | undefined = readEnv,
): { config: SidecarConfig; warnings: string[] } | "help" | "version" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(FLAGS.map((f) => [f.name, {
        type: f.type === "boolean" ? "boolean" as const : "string" as const,
        multiple: f.type === "multiple",
        ...(f.short ? { short: f.short } : {}),
      }])),
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split("\n")[0]}; see --help`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.version) return "version";
  const { values, sites } = mergeEnv(v as FlagValues, parsed.positionals, env);
  if (sites.length === 0 && args.length === 0) return "help";
  return configFromFlags(values, sites);
}

/**
 * Runs the command line until a signal stops it.
 *
 * @param args The arguments (without the program name).
 * @returns The exit code.
 *
 * @example Usage
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(Deno.args));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`sidekick: ${e.message}`);
    return 2;
  }
  if (parsed === "help") {
    console.log(helpText());
    return args.length === 0 ? 1 : 0;
  }
  if (parsed === "version") {
    console.log(`sidekick ${VERSION}`);
    return 0;
  }
  const { config, warnings } = parsed;
  for (const w of warnings) console.error(`sidekick: warning: ${w}`);
  const log = config.log;
  const sidecar = createSidecar(config, {
    onHealthEvent: (e) => {
      if (log === undefined || (log.health && !log.quiet)) {
        console.error(formatHealthEvent(e, log?.json ?? false, Date.now()));
      }
    },
  });
  let addresses;
  try {
    addresses = await sidecar.start();
  } catch (e) {
    console.error(`sidekick: cannot start: ${(e as Error).message}`);
    return 1;
  }
  for (const a of addresses) console.error(`sidekick listening on ${a.hostname}:${a.port}`);
  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((sig) => {
    const h = () => resolve(sig);
    Deno.addSignalListener(sig, h);
    return h;
  });
  await stopped;
  signals.forEach((sig, i) => Deno.removeSignalListener(sig, handlers[i]));
  await sidecar.close(5_000);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

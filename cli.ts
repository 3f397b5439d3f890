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
import { DEFAULT_HEALTH, httpListener, type SidecarConfig } from "./src/config/schema.ts";
import { parseDuration } from "./src/config/duration.ts";
import { expandSite } from "./src/config/expand.ts";
import { createSidecar } from "./src/sidecar.ts";

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

const USAGE = `sidekick - high-performance sidecar load balancer

USAGE:
  sidekick [FLAGS] SITE1 [SITE2..]

FLAGS:
  --address, -a HOST:PORT       listening address (default ":8080")
  --health-path, -p PATH        health check path (default "/")
  --health-duration, -d DUR     health check interval, Go duration or seconds (default 5s);
                                0 turns active checks off (failed endpoints sit out 5s)
  --help, -h                    show help
  --version, -v                 print the version

SITE:
  Each SITE is a comma separated list of pools of that site: http://172.17.0.{2...5},http://172.17.0.{6...9}.
  If all servers in SITE1 are down, then the traffic is routed to the next site - SITE2.
`;

/** A bad command line: the message names the flag or argument and what is accepted. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message What is wrong and how to fix it.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Translates command-line arguments into a configuration.
 *
 * @param args The arguments (without the program name).
 * @returns The configuration, or "help"/"version" when those were asked for.
 * @throws {UsageError} For a bad flag or value.
 *
 * @example Usage
 * ```ts
 * import { parseCommandLine } from "./cli.ts";
 * import assert from "node:assert/strict";
 * const config = parseCommandLine(["-a", "127.0.0.1:8080", "http://127.0.0.1:{9001...9002}"]);
 * assert.ok(typeof config === "object" && config.listeners[0].cluster.sites[0].endpoints.length === 2);
 * ```
 */
export function parseCommandLine(args: readonly string[]): SidecarConfig | "help" | "version" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        address: { type: "string", short: "a", default: ":8080" },
        "health-path": { type: "string", short: "p", default: "/" },
        "health-duration": { type: "string", short: "d", default: "5s" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}; see --help`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.version) return "version";
  if (parsed.positionals.length === 0) return "help";
  let intervalMs: number;
  try {
    intervalMs = parseDuration(v["health-duration"]);
  } catch (e) {
    throw new UsageError(`--health-duration: ${(e as Error).message}`);
  }
  const path = v["health-path"].startsWith("/") ? v["health-path"] : `/${v["health-path"]}`;
  const sites = parsed.positionals.map((arg, i) => {
    try {
      return expandSite(arg);
    } catch (e) {
      throw new UsageError(`SITE${i + 1} '${arg}': ${(e as Error).message}`);
    }
  });
  try {
    const base = httpListener(v.address, sites);
    return {
      listeners: [{
        ...base,
        cluster: {
          ...base.cluster,
          health: { ...DEFAULT_HEALTH, active: intervalMs > 0, path, intervalMs },
        },
      }],
    };
  } catch (e) {
    const msg = (e as Error).message;
    throw new UsageError(msg.startsWith("Cannot listen") ? `--address: ${msg}` : msg);
  }
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
  let config;
  try {
    config = parseCommandLine(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`sidekick: ${e.message}`);
    return 2;
  }
  if (config === "help") {
    console.log(USAGE);
    return args.length === 0 ? 1 : 0;
  }
  if (config === "version") {
    console.log(`sidekick ${VERSION}`);
    return 0;
  }
  const sidecar = createSidecar(config, {
    onHealthEvent: (e) =>
      console.error(
        `LOG  : ${new Date().toISOString().slice(11, 23)}  ${e.endpoint} is ${e.status}` +
          (e.status === "down"
            ? `: ${e.detail}`
            : ` Downtime duration: ${(e.downtimeMs / 1000).toFixed(1)}s`),
      ),
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

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
import { ProcessSignals } from "./src/cli/signals.ts";
import { ArgumentError, checkArgs } from "./src/config/compat/argv.ts";
import { commandHelp, COMMANDS } from "./src/config/compat/command_help.ts";
import type { SidecarConfig } from "./src/config/schema.ts";
import { serve } from "./src/cli/serve.ts";
import { readEnv } from "./src/cli/env.ts";
import {
  configFromFlags,
  envName,
  FLAGS,
  type FlagValues,
  helpText,
  mergeEnv,
  UsageError,
} from "./src/config/compat/flags.ts";
import { Reporter } from "./src/observe/output.ts";
import { VERSION } from "./src/observe/build_info.ts";
import {
  type ConfigSources,
  missingPermission,
  parseNameservers,
  permissionFlags,
  requiredPermissions,
} from "./src/cli/permissions.ts";
import {
  checkConfigFile,
  ConfigError,
  DEFAULT_CONFIG_FILE,
  loadConfigFile,
} from "./src/cli/load.ts";
import { bootstrapConfig, writeBootstrap } from "./src/config/compat/bootstrap.ts";
import { checkConfigText } from "./src/config/format.ts";
import { closestMatch, formatProblem } from "./src/config/problem.ts";
import { parseSideLbArgs, SIDELB_KEYS } from "./src/config/compat/sidelb.ts";
import { normalizeIaidoArgs } from "./src/config/compat/iaido_flags.ts";
import { parseDuration } from "./src/config/duration.ts";
import { healthCheckUds, optionalSocketNotice } from "./src/cli/health_socket.ts";
import { SIDELB_HEALTH_SOCKET } from "./src/observe/health_socket.ts";
import { applyFlagOverrides } from "./src/config/compat/overrides.ts";
import { generateSelfSigned } from "./src/proxy/http/self_signed.ts";

export { UsageError };

export { VERSION };

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
  const parsed = parseFlags(args, env);
  if (typeof parsed === "string") return parsed;
  return configFromFlags(parsed.values, parsed.sites);
}

/** Flags and sites (with SIDEKICK_* fallbacks), or a help/version request. */
function parseFlags(
  args: readonly string[],
  env: (name: string) => string | undefined = readEnv,
): { values: FlagValues; sites: readonly string[] } | "help" | "version" {
  let parsed;
  const options = Object.fromEntries(FLAGS.map((f) => [f.name, {
    type: f.type === "boolean" ? "boolean" as const : "string" as const,
    multiple: f.type === "multiple",
    ...(f.short ? { short: f.short } : {}),
  }]));
  try {
    parsed = parseArgs({
      args: checkArgs(args, options),
      allowPositionals: true,
      strict: true,
      options,
    });
  } catch (e) {
    if (e instanceof ArgumentError) throw new UsageError(e.message);
    throw new UsageError(`${(e as Error).message.split("\n")[0]}; see --help`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (v.version) return "version";
  const merged = mergeEnv(v as FlagValues, parsed.positionals, env);
  if (merged.sites.length === 0 && args.length === 0) return "help";
  return merged;
}

/** What one invocation asks for, before anything runs. */
type Plan =
  | { kind: "exit"; code: number }
  | {
    kind: "run";
    autoTlsHosts?: string[] | undefined;
    config: SidecarConfig;
    sources: ConfigSources;
    reload: (() => Promise<SidecarConfig>) | null;
    file?: string;
    /** How often the config file's mtime is polled (`--reload-period`). */
    pollMs?: number;
    /** The health socket is SideLB's default path, not asked for: served only when permitted. */
    optionalSocket?: boolean;
  };

const SIDELB_VARIABLES = [
  "SIDELB_BIND_ADDR",
  "SIDELB_BACKENDS",
  "SIDELB_MODE",
  "SIDELB_PROTO",
  "SIDELB_RING_DOMAIN",
  "SIDELB_HEALTH_SOCKET",
];

/** sidekick's own lines: JSON from the moment `--json` (flag, variable or file) is seen. */
let out = new Reporter();

/** Whether the arguments or SIDEKICK_JSON ask for JSON lines, before the flags are parsed. */
function jsonRequested(args: readonly string[]): boolean {
  const env = readEnv("SIDEKICK_JSON");
  return args.some((a) => a === "--json" || a === "--json=true") ||
    (env !== undefined && env !== "" && env !== "false" && env !== "0");
}

function fail(message: string, code: number): Plan {
  if (out.json) out.error(message.replace(/^sidekick: /, ""));
  else console.error(message);
  return { kind: "exit", code };
}

/** `sidekick l4 <bind> backends=... mode=... proto=... ring_domain=...` (SideLB's grammar). */
function planL4(args: readonly string[]): Plan {
  const env: Record<string, string | undefined> = {};
  for (const name of SIDELB_VARIABLES) env[name] = readEnv(name);
  const noInput = args.length === 0 && SIDELB_VARIABLES.every((n) => env[n] === undefined);
  // As SideLB: no arguments (and no SIDELB_* variables) prints the help and exits 0.
  if (noInput || args.includes("-h") || args.includes("--help")) {
    console.log(commandHelp("l4"));
    return { kind: "exit", code: 0 };
  }
  const flag = args.find((a) => a.startsWith("-"));
  if (flag !== undefined) {
    const near = closestMatch(flag.replace(/^-+/, "").replace(/=.*/, ""), SIDELB_KEYS);
    return fail(
      `sidekick l4: unknown flag ${flag}${
        near === undefined ? "" : ` (did you mean ${near}=?)`
      }; ` +
        "it takes BIND and key=value arguments (sidekick l4 --help)",
      2,
    );
  }
  try {
    const { listener, healthSocket } = parseSideLbArgs(args, env);
    const used = SIDELB_VARIABLES.filter((n) => env[n] !== undefined);
    const socket = healthSocket === undefined ? SIDELB_HEALTH_SOCKET : healthSocket;
    return {
      kind: "run",
      config: { listeners: [listener], ...(socket === null ? {} : { healthSocket: socket }) },
      sources: { env: used },
      reload: null,
      optionalSocket: healthSocket === undefined,
    };
  } catch (e) {
    return fail(`sidekick l4: ${(e as Error).message}`, 2);
  }
}

/** `sidekick check [FILE]`; iaido's `--check` exits 1 (its log.Fatal) on a bad file instead of 2. */
async function planCheck(args: readonly string[], invalidCode = 2): Promise<Plan> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(commandHelp("check"));
    return { kind: "exit", code: 0 };
  }
  const flag = args.find((a) => a.startsWith("-"));
  if (flag !== undefined) {
    return fail(
      `sidekick check: unknown flag ${flag}; it takes only FILE (sidekick check --help)`,
      2,
    );
  }
  const file = args[0] ?? DEFAULT_CONFIG_FILE;
  let result;
  try {
    result = await checkConfigFile(file);
  } catch (e) {
    return fail(`sidekick check: ${(e as Error).message}`, 1);
  }
  if (!result.ok) return fail(result.report, invalidCode);
  for (const w of result.warnings) out.warn(w);
  console.log(result.normalized);
  return { kind: "exit", code: 0 };
}

async function planBootstrap(values: FlagValues): Promise<Plan> {
  const path = typeof values.config === "string" ? values.config : DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = bootstrapConfig(
      values.bootstrap as readonly string[],
      (values["bootstrap-addr"] as string) ?? "",
    );
  } catch (e) {
    return fail(`sidekick: ${(e as Error).message}`, 2);
  }
  try {
    await writeBootstrap(path, text, values.force === true);
  } catch (e) {
    return fail(`sidekick: ${(e as Error).message}`, 1);
  }
  out.info(`wrote a starter configuration to ${path}`);
  const checked = checkConfigText(text, path);
  if (checked.ok) console.log(checked.normalized);
  return { kind: "exit", code: 0 };
}

async function loadFile(path: string): Promise<SidecarConfig> {
  const { config, warnings } = await loadConfigFile(path);
  if (config.log?.json === true && !out.json) out = new Reporter({ json: true });
  for (const w of warnings) out.warn(formatProblem(w));
  return config;
}

/** `sidekick help [COMMAND]`. */
function planHelp(args: readonly string[]): Plan {
  if (args[0] === "--help" || args[0] === "-h") args = ["help"];
  if (args.length === 0) {
    console.log(helpText());
    return { kind: "exit", code: 0 };
  }
  const text = commandHelp(args[0]);
  if (text === undefined) {
    const names = COMMANDS.map(([name]) => name);
    const near = closestMatch(args[0], names);
    return fail(
      `sidekick help: no command '${args[0]}'${
        near === undefined ? "" : ` (did you mean ${near}?)`
      }; the commands are ${names.join(", ")}`,
      2,
    );
  }
  console.log(text);
  return { kind: "exit", code: 0 };
}

/** `--health-socket PATH` (or SIDEKICK_HEALTH_SOCKET) wins over the file's `healthSocket`. */
function withHealthSocket(config: SidecarConfig, values: FlagValues): SidecarConfig {
  const path = values["health-socket"];
  return typeof path === "string" && path !== "" ? { ...config, healthSocket: path } : config;
}

/** Turns arguments into a plan: print something and exit, or run a configuration. */
async function plan(args: readonly string[]): Promise<Plan> {
  if (args[0] === "help") return planHelp(args.slice(1));
  if (args[0] === "l4") return planL4(args.slice(1));
  if (args[0] === "check") return await planCheck(args.slice(1));
  let parsed;
  try {
    parsed = parseFlags(normalizeIaidoArgs(args));
  } catch (e) {
    if (e instanceof UsageError) return fail(`sidekick: ${e.message}`, 2);
    throw e;
  }
  if (parsed === "help") {
    console.log(helpText());
    return { kind: "exit", code: args.length === 0 ? 1 : 0 };
  }
  if (parsed === "version") {
    console.log(`sidekick ${VERSION}`);
    return { kind: "exit", code: 0 };
  }
  const { values, sites } = parsed;
  if (values.bootstrap !== undefined) return await planBootstrap(values);
  if (values.check === true) {
    return await planCheck([
      typeof values.config === "string" ? values.config : DEFAULT_CONFIG_FILE,
    ], 1);
  }
  const env = usedEnv(args);
  if (typeof values.config === "string") {
    const file = values.config;
    if (sites.length > 0) {
      return fail(
        "sidekick: SITE arguments cannot be combined with --config; list the sites in the file",
        2,
      );
    }
    let pollMs;
    try {
      pollMs = parseDuration(
        typeof values["reload-period"] === "string" ? values["reload-period"] : "1s",
      );
    } catch (e) {
      return fail(`sidekick: --reload-period: ${(e as Error).message}`, 2);
    }
    // Flags given with --config override the file, on every load.
    const load = async () =>
      withHealthSocket(applyFlagOverrides(await loadFile(file), values), values);
    try {
      const config = await load();
      return {
        kind: "run",
        config,
        sources: { files: [file], env, yaml: true },
        reload: load,
        file,
        pollMs,
      };
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.message, 2);
      if (e instanceof UsageError) return fail(`sidekick: ${e.message}`, 2);
      return fail(`sidekick: ${(e as Error).message}`, 1);
    }
  }
  try {
    const { config: fromFlags, warnings } = configFromFlags(values, sites);
    const config = withHealthSocket(fromFlags, values);
    for (const w of warnings) out.warn(w);
    // SIGHUP re-applies the same command line (re-expanding sites), like minio/sidekick.
    const hosts = typeof values["auto-tls-host"] === "string"
      ? values["auto-tls-host"].split(",").map((h) => h.trim()).filter((h) => h !== "")
      : undefined;
    return {
      kind: "run",
      config,
      sources: { env },
      reload: () =>
        Promise.resolve(withHealthSocket(configFromFlags(values, sites).config, values)),
      autoTlsHosts: hosts,
    };
  } catch (e) {
    if (e instanceof UsageError) return fail(`sidekick: ${e.message}`, 2);
    throw e;
  }
}

/**
 * Runs the command line until a signal stops it.
 *
 * - `sidekick [FLAGS] SITE...`, `sidekick --config FILE`, `sidekick l4 ...`: serve.
 * - `sidekick check [FILE]`: print the normalised config or every error.
 * - `sidekick permissions ARGS`: print the `deno run` permission flags ARGS need.
 * - SIGHUP (and a change of the config file) reloads; a bad reload keeps the
 *   running config. SIGTERM/SIGINT drain for the grace period, then exit 0;
 *   a second signal exits 1 at once.
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
  const uds = args.indexOf("--health-check-uds");
  if (uds === 0 || (uds === 1 && args[0] === "l4")) return await healthCheckUds(args[uds + 1]);
  out = new Reporter({ json: jsonRequested(args) });
  const permissionsOnly = args[0] === "permissions";
  if (permissionsOnly && (args[1] === "--help" || args[1] === "-h" || args.length === 1)) {
    console.log(commandHelp("permissions"));
    return args.length === 1 ? 1 : 0;
  }
  const p = await plan(permissionsOnly ? args.slice(1) : args);
  if (p.kind === "exit") return p.code;
  if (!permissionsOnly && p.optionalSocket && p.config.healthSocket !== undefined) {
    // SideLB's default socket, not asked for: without its permissions, say so and serve without it.
    const notice = optionalSocketNotice(p.config.healthSocket);
    if (notice !== null) {
      console.error(notice);
      p.config = { ...p.config, healthSocket: undefined };
    }
  }
  const needed = requiredPermissions(p.config, { ...p.sources, nameservers: systemNameservers() });
  if (permissionsOnly) {
    console.log(permissionFlags(needed).join(" "));
    for (const e of [...needed.net, ...needed.read, ...needed.env, ...(needed.write ?? [])]) {
      console.log(`  ${e.value}: ${e.why}`);
    }
    return 0;
  }
  const missing = missingPermission(needed);
  if (missing !== null) {
    fail(missing, 1);
    return 1;
  }
  // Before any other work: a signal from now on is handled, never fatal.
  using signals = new ProcessSignals(() => {
    out.error("second signal, exiting now");
    Deno.exit(1);
  });
  let certificate;
  if (p.autoTlsHosts !== undefined) {
    const generated = await generateSelfSigned(p.autoTlsHosts);
    out.info(
      `self-signed certificate for ${p.autoTlsHosts.join(", ")}\n` +
        `  SHA-256 fingerprint: ${generated.fingerprint}\n` +
        `  public key pin (base64 SHA-256 of the SPKI): ${generated.publicKeyPin}\n` +
        `  the PEM is served at /v1/certificates`,
      {
        event: "certificate",
        fingerprint: generated.fingerprint,
        publicKeyPin: generated.publicKeyPin,
      },
    );
    certificate = { cert: generated.cert, key: generated.key };
  }
  if (signals.stopping) return 0;
  return await serve(p.config, {
    reload: p.reload,
    file: p.file,
    certificate,
    signals,
    pollMs: p.pollMs,
    reporter: out,
  });
}

function systemNameservers(): string[] {
  const path = "/etc/resolv.conf";
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return [];
  try {
    return parseNameservers(Deno.readTextFileSync(path));
  } catch {
    return [];
  }
}

/** The SIDEKICK_* variables that are set, readable and not overridden by a flag. */
function usedEnv(args: readonly string[]): string[] {
  const names = [...FLAGS.map((f) => envName(f.name)), "SIDEKICK_SITES"];
  return names.filter((n) => {
    const flag = `--${n.slice("SIDEKICK_".length).toLowerCase().replaceAll("_", "-")}`;
    return readEnv(n) !== undefined && !args.some((a) => a === flag || a.startsWith(`${flag}=`));
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));

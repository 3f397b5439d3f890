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
  envName,
  FLAGS,
  type FlagValues,
  helpText,
  mergeEnv,
  UsageError,
} from "./src/config/flags.ts";
import { createSidecar } from "./src/sidecar.ts";
import { formatHealthEvent } from "./src/observe/log.ts";
import {
  type ConfigSources,
  missingPermission,
  parseNameservers,
  permissionFlags,
  requiredPermissions,
} from "./src/config/permissions.ts";
import {
  checkConfigFile,
  ConfigError,
  DEFAULT_CONFIG_FILE,
  loadConfigFile,
} from "./src/config/load.ts";
import { bootstrapConfig, writeBootstrap } from "./src/config/bootstrap.ts";
import { checkConfigText } from "./src/config/format.ts";
import { formatProblem } from "./src/config/problem.ts";
import { parseSideLbArgs } from "./src/config/sidelb.ts";
import { watchConfigFile } from "./src/config/watch.ts";
import { applyFlagOverrides } from "./src/config/overrides.ts";
import { generateSelfSigned } from "./src/proxy/http/self_signed.ts";
import type { CertificatePair } from "./src/proxy/http/tls_listener.ts";

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
  const merged = mergeEnv(v as FlagValues, parsed.positionals, env);
  if (merged.sites.length === 0 && args.length === 0) return "help";
  return merged;
}

/** What one invocation asks for, before anything runs. */
type Plan =
  | { kind: "exit"; code: number }
  | {
    kind: "run";
    autoTlsHosts?: string[];
    config: SidecarConfig;
    sources: ConfigSources;
    reload: (() => Promise<SidecarConfig>) | null;
    file?: string;
  };

const SIDELB_VARIABLES = [
  "SIDELB_BIND_ADDR",
  "SIDELB_BACKENDS",
  "SIDELB_MODE",
  "SIDELB_PROTO",
  "SIDELB_RING_DOMAIN",
];

function fail(message: string, code: number): Plan {
  console.error(message);
  return { kind: "exit", code };
}

/** `sidekick l4 <bind> backends=... mode=... proto=... ring_domain=...` (SideLB's grammar). */
function planL4(args: readonly string[]): Plan {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(`sidekick l4 - TCP/UDP load balancing (SideLB grammar)

USAGE:
  sidekick l4 <bind_ip:port> [backends=ip:port,...] [mode=round-robin|least-connections]
              [proto=tcp|udp] [ring_domain=host:port]

ENVIRONMENT:
  SIDELB_BIND_ADDR, SIDELB_BACKENDS, SIDELB_MODE, SIDELB_PROTO, SIDELB_RING_DOMAIN (arguments win)
`);
    return { kind: "exit", code: 0 };
  }
  const env: Record<string, string | undefined> = {};
  for (const name of SIDELB_VARIABLES) env[name] = readEnv(name);
  try {
    const { listener } = parseSideLbArgs(args, env);
    const used = SIDELB_VARIABLES.filter((n) => env[n] !== undefined);
    return { kind: "run", config: { listeners: [listener] }, sources: { env: used }, reload: null };
  } catch (e) {
    return fail(`sidekick l4: ${(e as Error).message}`, 2);
  }
}

async function planCheck(args: readonly string[]): Promise<Plan> {
  const file = args[0] ?? DEFAULT_CONFIG_FILE;
  let result;
  try {
    result = await checkConfigFile(file);
  } catch (e) {
    return fail(`sidekick check: ${(e as Error).message}`, 1);
  }
  if (!result.ok) return fail(result.report, 2);
  for (const w of result.warnings) console.error(`sidekick: warning: ${w}`);
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
  console.error(`sidekick: wrote a starter configuration to ${path}`);
  const checked = checkConfigText(text, path);
  if (checked.ok) console.log(checked.normalized);
  return { kind: "exit", code: 0 };
}

async function loadFile(path: string): Promise<SidecarConfig> {
  const { config, warnings } = await loadConfigFile(path);
  for (const w of warnings) console.error(`sidekick: warning: ${formatProblem(w)}`);
  return config;
}

/** Turns arguments into a plan: print something and exit, or run a configuration. */
async function plan(args: readonly string[]): Promise<Plan> {
  if (args[0] === "l4") return planL4(args.slice(1));
  if (args[0] === "check") return await planCheck(args.slice(1));
  let parsed;
  try {
    parsed = parseFlags(args);
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
  const env = usedEnv(args);
  if (typeof values.config === "string") {
    const file = values.config;
    if (sites.length > 0) {
      return fail(
        "sidekick: SITE arguments cannot be combined with --config; list the sites in the file",
        2,
      );
    }
    // Flags given with --config override the file, on every load.
    const load = async () => applyFlagOverrides(await loadFile(file), values);
    try {
      const config = await load();
      return {
        kind: "run",
        config,
        sources: { files: [file], env, yaml: true },
        reload: load,
        file,
      };
    } catch (e) {
      if (e instanceof ConfigError) return fail(e.message, 2);
      if (e instanceof UsageError) return fail(`sidekick: ${e.message}`, 2);
      return fail(`sidekick: ${(e as Error).message}`, 1);
    }
  }
  try {
    const { config, warnings } = configFromFlags(values, sites);
    for (const w of warnings) console.error(`sidekick: warning: ${w}`);
    // SIGHUP re-applies the same command line (re-expanding sites), like minio/sidekick.
    const hosts = typeof values["auto-tls-host"] === "string"
      ? values["auto-tls-host"].split(",").map((h) => h.trim()).filter((h) => h !== "")
      : undefined;
    return {
      kind: "run",
      config,
      sources: { env },
      reload: () => Promise.resolve(configFromFlags(values, sites).config),
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
  const permissionsOnly = args[0] === "permissions";
  const p = await plan(permissionsOnly ? args.slice(1) : args);
  if (p.kind === "exit") return p.code;
  const needed = requiredPermissions(p.config, { ...p.sources, nameservers: systemNameservers() });
  if (permissionsOnly) {
    console.log(permissionFlags(needed).join(" "));
    for (const e of [...needed.net, ...needed.read, ...needed.env]) {
      console.log(`  ${e.value}: ${e.why}`);
    }
    return 0;
  }
  const missing = missingPermission(needed);
  if (missing !== null) {
    console.error(missing);
    return 1;
  }
  // Before any other work: a signal from now on is handled, never fatal.
  using signals = new ProcessSignals();
  let certificate;
  if (p.autoTlsHosts !== undefined) {
    const generated = await generateSelfSigned(p.autoTlsHosts);
    console.error(`sidekick: self-signed certificate for ${p.autoTlsHosts.join(", ")}`);
    console.error(`  SHA-256 fingerprint: ${generated.fingerprint}`);
    console.error(`  public key pin (base64 SHA-256 of the SPKI): ${generated.publicKeyPin}`);
    console.error(`  the PEM is served at /v1/certificates`);
    certificate = { cert: generated.cert, key: generated.key };
  }
  if (signals.stopping) return 0;
  return await serve(p.config, p.reload, p.file, certificate, signals);
}

/**
 * SIGTERM/SIGINT (stop; a second one exits 1 at once) and SIGHUP (reload),
 * handled from the moment this is created: a reload asked for before the
 * server can take it is held until {@linkcode ProcessSignals.onReload} is set.
 */
class ProcessSignals implements Disposable {
  readonly #stopped = Promise.withResolvers<void>();
  #count = 0;
  #pendingReload = false;
  #reload: (() => void) | null = null;
  readonly #onStop = () => {
    if (++this.#count > 1) {
      console.error("sidekick: second signal, exiting now");
      Deno.exit(1);
    }
    this.#stopped.resolve();
  };
  readonly #onHup = () => {
    if (this.#reload === null) this.#pendingReload = true;
    else this.#reload();
  };

  constructor() {
    Deno.addSignalListener("SIGINT", this.#onStop);
    Deno.addSignalListener("SIGTERM", this.#onStop);
    Deno.addSignalListener("SIGHUP", this.#onHup);
  }

  /** Resolves at the first SIGTERM or SIGINT. */
  get stopped(): Promise<void> {
    return this.#stopped.promise;
  }

  /** True once a stop signal came. */
  get stopping(): boolean {
    return this.#count > 0;
  }

  /** Where SIGHUP goes from now on (null: hold it); a held one is handed over at once. */
  set onReload(reload: (() => void) | null) {
    this.#reload = reload;
    if (reload !== null && this.#pendingReload) {
      this.#pendingReload = false;
      reload();
    }
  }

  [Symbol.dispose](): void {
    Deno.removeSignalListener("SIGINT", this.#onStop);
    Deno.removeSignalListener("SIGTERM", this.#onStop);
    Deno.removeSignalListener("SIGHUP", this.#onHup);
  }
}

async function serve(
  config: SidecarConfig,
  reload: (() => Promise<SidecarConfig>) | null,
  file: string | undefined,
  certificate: CertificatePair | undefined,
  signals: ProcessSignals,
): Promise<number> {
  const log = config.log;
  const sidecar = createSidecar(config, {
    certificate,
    onNotice: (m) => console.error(`sidekick: ${m}`),
    onHealthEvent: (e) => {
      if (log === undefined || (log.health && !log.quiet)) {
        console.error(formatHealthEvent(e, log?.json ?? false, Date.now()));
      }
    },
  });
  let graceMs = config.gracePeriodMs ?? 5_000;
  // Reloads queue behind startup; the watcher starts first so no change is missed.
  const { promise: started, resolve: startedOk } = Promise.withResolvers<void>();
  let reloading: Promise<void> = started;
  const doReload = (why: string) => {
    if (reload === null) return;
    reloading = reloading.then(async () => {
      try {
        const next = await reload();
        await sidecar.reload(next);
        graceMs = next.gracePeriodMs ?? 5_000;
        console.error(`sidekick: reloaded (${why})`);
      } catch (e) {
        console.error(
          `sidekick: reload failed (${why}), still serving the previous configuration:\n${
            (e as Error).message
          }`,
        );
      }
    });
  };
  const ac = new AbortController();
  const watching = file === undefined
    ? Promise.resolve()
    : watchConfigFile(file, () => doReload(`${file} changed`), { signal: ac.signal });
  // A SIGHUP from now on queues a reload behind the start; SIGTERM stops the start.
  signals.onReload = () => doReload("SIGHUP");
  const starting = sidecar.start().then(
    (addresses) => ({ addresses }),
    (error: unknown) => ({ error }),
  );
  const first = await Promise.race([starting, signals.stopped.then(() => null)]);
  if (first === null) {
    console.error("sidekick: stopped while starting");
    signals.onReload = null;
    ac.abort();
    await Promise.all([watching, sidecar.close(0), starting]);
    return 0;
  }
  if ("error" in first) {
    console.error(`sidekick: cannot start: ${(first.error as Error).message}`);
    ac.abort();
    await watching;
    return 1;
  }
  startedOk();
  for (const a of first.addresses) console.error(`sidekick listening on ${a.hostname}:${a.port}`);
  await signals.stopped;
  console.error(`sidekick: draining for up to ${graceMs} ms`);
  signals.onReload = null;
  ac.abort();
  await watching;
  await reloading;
  await sidecar.close(graceMs);
  return 0;
}

/** Name servers from /etc/resolv.conf when it may be read (DNS discovery needs IP:53). */
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

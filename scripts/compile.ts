/**
 * Builds the `sidekick` binaries with `deno compile`: one per target, into
 * `dist/sidekick-<os>-<arch>` (minio/sidekick's release names, so download
 * scripts written for it keep working), with the permissions baked in.
 *
 * ```sh
 * deno task compile                                   # all four targets, default permissions
 * deno task compile --target aarch64-unknown-linux-gnu
 * SIDEKICK_ALLOW_NET=0.0.0.0:8080,minio1:9000 deno task compile   # least privilege, baked
 * deno task compile --check-only                      # what can be checked offline, no binary
 * deno task compile --dry-run                         # print the deno compile command lines
 * ```
 *
 * Baked permissions (a compiled binary cannot be given more at run time):
 *
 * - `--allow-net` for any host. A general-purpose binary cannot know where it
 *   will listen or which endpoints it will be given: they come from flags, a
 *   config file, DNS or SIGHUP reloads after it was built. Narrow it at build
 *   time with `--allow-net=LIST` or `SIDEKICK_ALLOW_NET=LIST` when the
 *   addresses are known (`sidekick permissions ARGS` prints the list).
 * - `--allow-read` for any path: the config file (`--config`) and the TLS
 *   files (`--cacert`, `--client-cert`, `--client-key`, `--cert`, `--key`)
 *   are named at run time. Narrow with `SIDEKICK_ALLOW_READ=/etc/sidekick`.
 * - `--allow-env` for exactly the variables sidekick reads: `SIDEKICK_<FLAG>`
 *   for every flag, `SIDEKICK_SITES`, SideLB's `SIDELB_*`, and `LOG_TOKENS`,
 *   `LOG_STREAM` (read by the yaml package while it parses a config file).
 * - No write, run, ffi, sys or import permission. `--bootstrap` writes a
 *   file, so a binary built with the defaults refuses it; run it with
 *   `deno run --allow-write=FILE` or build with `SIDEKICK_ALLOW_WRITE=DIR`.
 * - `--no-prompt`: a daemon never waits on a permission prompt.
 * - `--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20`: a smaller
 *   young generation and a slowly growing old generation, for a small
 *   resident set next to every client process, without `--optimize-for-size`
 *   (whose memory-reducing mark-compacts doubled the HTTP p99 latency)
 *   (`SIDEKICK_V8_FLAGS` replaces the list).
 *
 * The command lines are built by the pure {@linkcode compileArgs}; the rest of
 * this file runs them.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { envName, FLAGS } from "../src/config/compat/flags.ts";

/** A `deno compile --target` this project releases. */
export interface Target {
  /** The `--target` triple. */
  readonly triple: string;
  /** OS in the file name: `linux` or `darwin`. */
  readonly os: "linux" | "darwin";
  /** Architecture in the file name, Go style like minio's releases: `amd64` or `arm64`. */
  readonly arch: "amd64" | "arm64";
}

/** The four release targets, in release order. */
export const TARGETS: readonly Target[] = [
  { triple: "x86_64-unknown-linux-gnu", os: "linux", arch: "amd64" },
  { triple: "aarch64-unknown-linux-gnu", os: "linux", arch: "arm64" },
  { triple: "x86_64-apple-darwin", os: "darwin", arch: "amd64" },
  { triple: "aarch64-apple-darwin", os: "darwin", arch: "arm64" },
];

/** The CLI module the binaries run (it calls `main(Deno.args)` when it is the main module). */
export const ENTRY = "cli.ts";

/** Where the binaries go. */
export const DIST = "dist";

/** The config file check-only mode loads under the baked permissions. */
const SMOKE_CONFIG = "examples/cockroach/sidekick.yaml";

/** SideLB's variables, read by `sidekick l4` (see cli.ts). */
const SIDELB_VARIABLES = [
  "SIDELB_BIND_ADDR",
  "SIDELB_BACKENDS",
  "SIDELB_MODE",
  "SIDELB_PROTO",
  "SIDELB_RING_DOMAIN",
  "SIDELB_HEALTH_SOCKET",
] as const;

/**
 * Every environment variable sidekick reads, in a stable order: one
 * `SIDEKICK_<FLAG>` per flag (not `--help`/`--version`, which are never read
 * from the environment), `SIDEKICK_SITES`, SideLB's variables, and the two
 * the yaml package reads.
 */
export const ENV_VARIABLES: readonly string[] = [
  ...FLAGS.filter((f) => f.name !== "help" && f.name !== "version").map((f) => envName(f.name)),
  "SIDEKICK_SITES",
  ...SIDELB_VARIABLES,
  "LOG_TOKENS",
  "LOG_STREAM",
];

/** V8 flags baked into the binaries by default: memory over peak throughput. */
export const DEFAULT_V8_FLAGS: readonly string[] = [
  "--max-semi-space-size=2",
  "--heap-growing-percent=20",
];

/** A permission: `"all"` (no list, any value) or exactly these values (empty: none). */
export type Grant = "all" | readonly string[];

/**
 * What goes into a binary besides the code.
 *
 * @example Usage
 * ```ts
 * import type { CompileOptions } from "./compile.ts";
 * const least: CompileOptions = { net: ["0.0.0.0:8080", "minio1:9000"], read: [] };
 * ```
 */
export interface CompileOptions {
  /** `--allow-net`. @default "all" */
  readonly net?: Grant | undefined;
  /** `--allow-read`. @default "all" */
  readonly read?: Grant | undefined;
  /** `--allow-env`. @default ENV_VARIABLES */
  readonly env?: Grant | undefined;
  /** `--allow-write`. @default [] (none) */
  readonly write?: Grant | undefined;
  /** `--v8-flags`; empty for none. @default DEFAULT_V8_FLAGS */
  readonly v8Flags?: readonly string[] | undefined;
  /** Output directory. @default "dist" */
  readonly outDir?: string | undefined;
  /** Entry module. @default "cli.ts" */
  readonly entry?: string;
}

/**
 * The output file of a target: `dist/sidekick-linux-amd64` and so on.
 *
 * @param target The target.
 * @param outDir The output directory. @default "dist"
 * @returns The path.
 *
 * @example Usage
 * ```ts
 * import { outputPath, TARGETS } from "./compile.ts";
 * outputPath(TARGETS[1]); // "dist/sidekick-linux-arm64"
 * ```
 */
export function outputPath(target: Target, outDir: string = DIST): string {
  return `${outDir}/sidekick-${target.os}-${target.arch}`;
}

function grantFlag(name: string, grant: Grant): string[] {
  if (grant === "all") return [`--allow-${name}`];
  if (grant.length === 0) return [];
  return [`--allow-${name}=${grant.join(",")}`];
}

/**
 * The permission and V8 flags a binary gets: the part of the `deno compile`
 * command line that is also valid for `deno run` (check-only mode runs the
 * CLI with exactly these to prove they work).
 *
 * @param options What to bake in.
 * @returns Flags such as `--allow-net`, `--allow-env=SIDEKICK_ADDRESS,...`.
 * @throws {RangeError} When `net` is an empty list (a load balancer without network).
 *
 * @example Usage
 * ```ts
 * import { runtimeFlags } from "./compile.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(runtimeFlags({ net: ["127.0.0.1"], read: [], env: [], v8Flags: [] }), [
 *   "--no-prompt",
 *   "--allow-net=127.0.0.1",
 * ]);
 * ```
 */
export function runtimeFlags(options: CompileOptions = {}): string[] {
  const net = options.net ?? "all";
  if (net !== "all" && net.length === 0) {
    throw new RangeError(
      "Cannot build sidekick without network access: 'net' is an empty list; " +
        "list the listen address and endpoints, or leave it out for any host",
    );
  }
  const v8 = options.v8Flags ?? DEFAULT_V8_FLAGS;
  return [
    "--no-prompt",
    ...grantFlag("net", net),
    ...grantFlag("read", options.read ?? "all"),
    ...grantFlag("env", options.env ?? ENV_VARIABLES),
    ...grantFlag("write", options.write ?? []),
    ...(v8.length > 0 ? [`--v8-flags=${v8.join(",")}`] : []),
  ];
}

/**
 * The `deno` arguments that compile one target.
 *
 * @param target The target.
 * @param options What to bake in and where to write.
 * @returns Arguments after `deno`, starting with `compile` and ending with the entry module.
 * @throws {RangeError} When `net` is an empty list.
 *
 * @example Usage
 * ```ts
 * import { compileArgs, TARGETS } from "./compile.ts";
 * import assert from "node:assert/strict";
 * const args = compileArgs(TARGETS[0], { net: ["0.0.0.0:8080", "minio1:9000"] });
 * assert.ok(args.includes("--allow-net=0.0.0.0:8080,minio1:9000"));
 * assert.equal(args.at(-1), "cli.ts");
 * ```
 */
export function compileArgs(target: Target, options: CompileOptions = {}): string[] {
  return [
    "compile",
    "--target",
    target.triple,
    "--output",
    outputPath(target, options.outDir ?? DIST),
    // deno.lock must already match: a release never resolves new versions.
    "--frozen-lockfile",
    // Only npm packages the CLI imports (yaml), not the whole lockfile snapshot.
    "--exclude-unused-npm",
    ...runtimeFlags(options),
    options.entry ?? ENTRY,
  ];
}

/** A parsed command line of this script. */
export interface CompileCommand {
  /** Targets to build, in release order. */
  readonly targets: readonly Target[];
  /** What to bake in. */
  readonly options: CompileOptions;
  /** `compile` builds; `check` checks offline; `dry-run` prints the command lines. */
  readonly mode: "compile" | "check" | "dry-run";
}

/** The variables this script reads (build time, not the binary's). */
export const BUILD_VARIABLES = [
  "SIDEKICK_ALLOW_NET",
  "SIDEKICK_ALLOW_READ",
  "SIDEKICK_ALLOW_ENV",
  "SIDEKICK_ALLOW_WRITE",
  "SIDEKICK_V8_FLAGS",
] as const;

/**
 * Parses a grant as written: `*` is any value, an empty string none, else a
 * comma-separated list.
 *
 * @param text The value.
 * @returns The grant.
 *
 * @example Usage
 * ```ts
 * import { parseGrant } from "./compile.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseGrant("a:1, b:2"), ["a:1", "b:2"]);
 * assert.equal(parseGrant("*"), "all");
 * assert.deepEqual(parseGrant(""), []);
 * ```
 */
export function parseGrant(text: string): Grant {
  if (text.trim() === "*") return "all";
  return text.split(",").map((x) => x.trim()).filter((x) => x !== "");
}

/**
 * Parses this script's arguments, with `SIDEKICK_ALLOW_*` variables as
 * fallbacks (an argument wins).
 *
 * @param args The arguments.
 * @param env Reads one build variable (undefined when unset).
 * @returns What to do.
 * @throws {TypeError} For an unknown flag or target.
 *
 * @example Usage
 * ```ts
 * import { parseCompileCommand } from "./compile.ts";
 * import assert from "node:assert/strict";
 * const env: Record<string, string> = { SIDEKICK_ALLOW_NET: "0.0.0.0:8080,minio1:9000" };
 * const cmd = parseCompileCommand(["--target", "aarch64-apple-darwin"], (k) => env[k]);
 * assert.deepEqual(cmd.options.net, ["0.0.0.0:8080", "minio1:9000"]);
 * assert.equal(cmd.targets.length, 1);
 * ```
 */
export function parseCompileCommand(
  args: readonly string[],
  env: (name: string) => string | undefined = () => undefined,
): CompileCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        "allow-net": { type: "string" },
        "allow-read": { type: "string" },
        "allow-env": { type: "string" },
        "allow-write": { type: "string" },
        "v8-flags": { type: "string" },
        "out-dir": { type: "string" },
        "check-only": { type: "boolean" },
        "dry-run": { type: "boolean" },
      },
    });
  } catch (e) {
    throw new TypeError(
      `${(e as Error).message.split("\n")[0]}; see the top of scripts/compile.ts`,
    );
  }
  const v = parsed.values;
  const grant = (flag: string, variable: string): Grant | undefined => {
    const text = (v as Record<string, unknown>)[flag] as string | undefined ?? env(variable);
    return text === undefined ? undefined : parseGrant(text);
  };
  const targets = v.target === undefined ? TARGETS : v.target.map((t) => {
    const found = TARGETS.find((x) => x.triple === t || `${x.os}-${x.arch}` === t);
    if (found === undefined) {
      throw new TypeError(
        `Cannot build target '${t}': expected one of ${TARGETS.map((x) => x.triple).join(", ")}`,
      );
    }
    return found;
  });
  const v8Text = v["v8-flags"] ?? env("SIDEKICK_V8_FLAGS");
  const options: CompileOptions = {
    net: grant("allow-net", "SIDEKICK_ALLOW_NET"),
    read: grant("allow-read", "SIDEKICK_ALLOW_READ"),
    env: grant("allow-env", "SIDEKICK_ALLOW_ENV"),
    write: grant("allow-write", "SIDEKICK_ALLOW_WRITE"),
    v8Flags: v8Text === undefined ? undefined : v8Text.split(",").filter((x) => x.trim() !== ""),
    outDir: v["out-dir"],
  };
  if (options.v8Flags !== undefined && options.v8Flags.some((f) => !f.startsWith("--"))) {
    throw new TypeError(`V8 flags start with '--', got '${v8Text}'`);
  }
  const mode = v["check-only"] ? "check" : v["dry-run"] ? "dry-run" : "compile";
  return { targets, options, mode };
}

/** Quotes one argument for a copy-pasteable shell line. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

async function deno(args: readonly string[], quiet = false): Promise<string> {
  const out = await new Deno.Command("deno", {
    args: [...args],
    stdout: "piped",
    stderr: quiet ? "piped" : "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`deno ${args.join(" ")} failed (exit ${out.code})${err ? `:\n${err}` : ""}`);
  }
  return text;
}

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly { readonly specifier: string; readonly isDynamic?: boolean }[];
}

/**
 * Everything that can be checked without downloading the runtime that
 * `deno compile` embeds (dl.deno.land): flag names against `deno compile
 * --help`, the type check, a module graph with only local, `node:` and
 * `npm:` modules and no dynamic import (which a binary would miss), and the
 * CLI started with exactly the baked permission and V8 flags.
 */
async function checkOffline(cmd: CompileCommand): Promise<void> {
  const help = await deno(["compile", "--help"]);
  const used = new Set(
    cmd.targets.flatMap((t) => compileArgs(t, cmd.options))
      .filter((a) => a.startsWith("--"))
      .map((a) => a.split("=")[0]),
  );
  const unknown = [...used].filter((f) => !new RegExp(`(^|[\\s,])${f}[\\s=\\[,<]`).test(help));
  if (unknown.length > 0) throw new Error(`deno compile does not know ${unknown.join(", ")}`);
  console.log(`ok  deno compile --help lists ${[...used].sort().join(" ")}`);

  await deno(["check", "--frozen-lockfile", cmd.options.entry ?? ENTRY]);
  console.log(`ok  deno check --frozen-lockfile ${cmd.options.entry ?? ENTRY}`);

  const info = JSON.parse(await deno(["info", "--json", cmd.options.entry ?? ENTRY])) as {
    modules: readonly InfoModule[];
  };
  const remote = info.modules.filter((m) => !/^(file|node|npm):/.test(m.specifier));
  if (remote.length > 0) {
    throw new Error(`remote modules in the graph: ${remote.map((m) => m.specifier).join(", ")}`);
  }
  const dynamic = info.modules.flatMap((m) =>
    (m.dependencies ?? []).filter((d) => d.isDynamic).map((d) => `${m.specifier} -> ${d.specifier}`)
  );
  if (dynamic.length > 0) throw new Error(`dynamic imports need --include: ${dynamic.join(", ")}`);
  const npm = info.modules.filter((m) => m.specifier.startsWith("npm:")).map((m) => m.specifier);
  console.log(
    `ok  deno info: ${info.modules.length} modules, local + node: + ${
      npm.join(" ") || "no npm"
    }, no dynamic import`,
  );

  // The binary's start, short of compiling: the CLI under exactly the baked
  // flags (V8 rejects an unknown --v8-flags entry here, too).
  const flags = runtimeFlags(cmd.options);
  const entry = cmd.options.entry ?? ENTRY;
  const version = await deno(["run", ...flags, entry, "--version"]);
  console.log(`ok  deno run ${flags.join(" ")} ${entry} --version: ${version.trim()}`);
  const env = cmd.options.env ?? ENV_VARIABLES;
  const yamlEnv = env === "all" || (env.includes("LOG_TOKENS") && env.includes("LOG_STREAM"));
  if ((cmd.options.read ?? "all") === "all" && yamlEnv) {
    await deno(["run", ...flags, entry, "check", SMOKE_CONFIG], true);
    console.log(
      `ok  ... ${entry} check ${SMOKE_CONFIG} (a config file loads with these permissions)`,
    );
  } else {
    console.log(`--  config file check skipped: read or LOG_TOKENS/LOG_STREAM narrowed`);
  }
}

async function compileAll(cmd: CompileCommand): Promise<void> {
  await Deno.mkdir(cmd.options.outDir ?? DIST, { recursive: true });
  for (const target of cmd.targets) {
    const args = compileArgs(target, cmd.options);
    console.log(`deno ${args.map(shellQuote).join(" ")}`);
    await deno(args);
  }
}

/**
 * Runs this script.
 *
 * @param args The arguments.
 * @returns The exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let cmd;
  try {
    const env = (name: string) =>
      Deno.permissions.querySync({ name: "env", variable: name }).state === "granted"
        ? Deno.env.get(name)
        : undefined;
    cmd = parseCompileCommand(args, env);
    runtimeFlags(cmd.options);
  } catch (e) {
    console.error(`compile: ${(e as Error).message}`);
    return 2;
  }
  try {
    if (cmd.mode === "dry-run") {
      for (const t of cmd.targets) {
        console.log(`deno ${compileArgs(t, cmd.options).map(shellQuote).join(" ")}`);
      }
    } else if (cmd.mode === "check") {
      await checkOffline(cmd);
    } else {
      await compileAll(cmd);
    }
  } catch (e) {
    console.error(`compile: ${(e as Error).message}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

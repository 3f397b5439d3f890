/**
 * Config files on disk: read one, validate it, and turn a failure into a
 * message that names the file and says what to do.
 *
 * @module
 */

import { checkConfigText, type CheckResult } from "../config/format.ts";
import { type ConfigProblem, formatProblem } from "../config/problem.ts";
import type { SidecarConfig } from "../config/schema.ts";
import { validateConfig } from "../config/validate.ts";

/** The file `sidekick check` reads when none is named. */
export const DEFAULT_CONFIG_FILE = "sidekick.yaml";

/**
 * A config file that was read but is not valid. Callers catch it to keep the
 * old config on a reload; its message lists every problem, one per line.
 *
 * @example Usage
 * ```ts
 * import { ConfigError } from "./load.ts";
 * const e = new ConfigError([{ file: "a.yaml", line: 1, col: 1, path: "", message: "the file is empty" }]);
 * e.message; // "a.yaml:1:1: the file is empty"
 * ```
 */
export class ConfigError extends Error {
  /** Every problem, in document order. */
  readonly problems: readonly ConfigProblem[];

  /**
   * Creates the error.
   *
   * @param problems The problems; the message has one line for each.
   */
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Reads a config file's text. A failure keeps Deno's error class
 * (`NotFound`, `NotCapable`, `PermissionDenied`, `IsADirectory`, ...) with a
 * message that names the path and says what to do.
 *
 * @param path The file.
 * @returns Its text.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 * @throws {Deno.errors.NotCapable} When `--allow-read` does not cover it.
 * @throws {Error} For any other failure to read it (same class as Deno's).
 *
 * @example Usage
 * ```ts ignore
 * import { readConfigFile } from "./load.ts";
 * const text = await readConfigFile("sidekick.yaml");
 * ```
 */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw explain(e, path);
  }
}

function explain(e: unknown, path: string): Error {
  const head = `Cannot read config file '${path}'`;
  const because = (reason: string) => `${head} as ${reason}`;
  let message: string;
  if (e instanceof Deno.errors.NotFound) {
    message = because(
      "it does not exist: check the path, or write a starter with " +
        `sidekick --config ${path} --bootstrap LOCALPORT:HOST:PORT`,
    );
  } else if (e instanceof Deno.errors.NotCapable) {
    message = because(`read access was not granted: run deno with --allow-read=${path}`);
  } else if (e instanceof Deno.errors.PermissionDenied) {
    message = because("the system denied access: check the file's owner and mode");
  } else if (e instanceof Deno.errors.IsADirectory) {
    message = because("it is a directory: name a YAML file");
  } else {
    message = `${head}: ${(e as Error).message}`;
  }
  const Class = (e instanceof Error ? e.constructor : Error) as ErrorConstructor;
  const error = new Class(message, { cause: e });
  error.name = e instanceof Error ? e.name : "Error";
  return error;
}

/**
 * Reads and validates a config file (sidekick's schema or iaido's).
 *
 * @param path The file.
 * @returns The configuration, its warnings, and which schema the file used.
 * @throws {ConfigError} Listing every problem when the file is not valid.
 * @throws {Deno.errors.NotFound} When the file does not exist (see {@linkcode readConfigFile}).
 *
 * @example Usage
 * ```ts
 * import { loadConfigFile } from "./load.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/sidekick.yaml`;
 * await Deno.writeTextFile(path, "listeners:\n  - sites:\n      - endpoints: [http://127.0.0.1:9000]\n");
 * const { config } = await loadConfigFile(path);
 * assert.equal(config.listeners[0].port, 8080);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadConfigFile(path: string): Promise<{
  config: SidecarConfig;
  warnings: readonly ConfigProblem[];
  format: "sidekick" | "iaido";
}> {
  const result = validateConfig(await readConfigFile(path), path);
  if ("problems" in result) throw new ConfigError(result.problems);
  return result;
}

/**
 * `sidekick check [FILE]`: reads a config file and gives its normalised form
 * or every problem (see {@linkcode checkConfigText}).
 *
 * @param path The file. @default DEFAULT_CONFIG_FILE
 * @returns The check result.
 * @throws {Deno.errors.NotFound} When the file does not exist (see {@linkcode readConfigFile}).
 *
 * @example Usage
 * ```ts
 * import { checkConfigFile } from "./load.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/sidekick.yaml`;
 * await Deno.writeTextFile(path, "listeners:\n  - kind: tcp\n    tiers:\n      - endpoints: [127.0.0.1:1]\n");
 * const result = await checkConfigFile(path);
 * assert.ok(result.ok && result.normalized.includes("proxyProtocol: off"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function checkConfigFile(path: string = DEFAULT_CONFIG_FILE): Promise<CheckResult> {
  return checkConfigText(await readConfigFile(path), path);
}

/**
 * Checks a command line against the flag table before it is parsed, so that
 * every mistake gets a message in sidekick's words: an unknown flag names the
 * flag it resembles, a flag without its value says which value it takes, and
 * a value that starts with `-` (`-d -5s`) reaches the flag's own validation
 * instead of being mistaken for another flag.
 *
 * @module
 */

import { closestMatch } from "../problem.ts";

/**
 * What the checker needs to know of each flag (the shape `node:util`'s
 * `parseArgs` options already have).
 *
 * @example Usage
 * ```ts
 * import type { ArgOption } from "./argv.ts";
 * const o: ArgOption = { type: "string", short: "d" };
 * ```
 */
export interface ArgOption {
  /** `boolean` flags take no value. */
  readonly type: "string" | "boolean";
  /** One-letter short form. */
  readonly short?: string;
}

/** A command-line mistake, worded for the user (without the `sidekick:` prefix). */
export class ArgumentError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong and how to fix it.
   */
  constructor(message: string) {
    super(message);
    this.name = "ArgumentError";
  }
}

function suggestion(word: string, names: readonly string[]): string {
  const near = closestMatch(word, names);
  return near === undefined ? "" : ` (did you mean --${near}?)`;
}

/**
 * Checks `args` against `options` and returns them ready for `parseArgs`:
 * a string flag whose value starts with `-` is joined to it
 * (`-d -5s` becomes `--health-duration=-5s`, which the duration check then
 * refuses as negative). Everything after `--` is left alone.
 *
 * @param args The arguments.
 * @param options The flags by long name.
 * @returns The arguments to parse.
 * @throws {ArgumentError} For an unknown flag (with the closest known one),
 * a missing value, or a value given to a flag that takes none.
 *
 * @example Usage
 * ```ts
 * import { checkArgs } from "./argv.ts";
 * import assert from "node:assert/strict";
 * const options = { "health-duration": { type: "string" as const, short: "d" }, log: { type: "boolean" as const } };
 * assert.deepEqual(checkArgs(["-d", "-5s", "x"], options), ["--health-duration=-5s", "x"]);
 * assert.throws(() => checkArgs(["--health-duratoin", "5s"], options), /did you mean --health-duration\?/);
 * ```
 */
export function checkArgs(
  args: readonly string[],
  options: Readonly<Record<string, ArgOption>>,
): string[] {
  const names = Object.keys(options);
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.push(arg);
      continue;
    }
    let name: string, shown: string, inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      shown = `--${name}`;
      if (options[name] === undefined) {
        throw new ArgumentError(
          `unknown flag ${shown}${suggestion(name, names)}; sidekick --help lists them all`,
        );
      }
    } else {
      const letter = arg[1];
      const long = byShort.get(letter);
      shown = `-${letter}`;
      if (long === undefined) {
        const hint = arg.length > 2 ? suggestion(arg.slice(1), names) : "";
        throw new ArgumentError(
          `unknown flag ${arg.length > 2 ? arg : shown}${hint}; sidekick --help lists them all` +
            (arg.length > 2 && hint === "" ? " (long flags take two dashes)" : ""),
        );
      }
      name = long;
      if (arg.length > 2) {
        if (options[name].type === "string") {
          inline = arg.slice(2).replace(/^=/, "");
        } else {
          // Grouped short booleans (`-il`): each letter must be a boolean flag.
          for (const c of arg.slice(2)) {
            const other = byShort.get(c);
            if (other === undefined || options[other].type !== "boolean") {
              throw new ArgumentError(
                `unknown flag ${arg}${
                  suggestion(arg.slice(1), names)
                }; sidekick --help lists them all (long flags take two dashes)`,
              );
            }
          }
          out.push(arg);
          continue;
        }
      }
    }
    const flag = shown === `--${name}` ? shown : `${shown}/--${name}`;
    if (options[name].type === "boolean") {
      if (inline !== undefined) {
        throw new ArgumentError(
          `${flag} takes no value; write ${shown} alone, without '=${inline}'`,
        );
      }
      out.push(`--${name}`);
      continue;
    }
    if (inline !== undefined) {
      out.push(`--${name}=${inline}`);
      continue;
    }
    const next = args[i + 1];
    if (next === undefined) {
      throw new ArgumentError(`${flag} needs a value; e.g. ${shown} VALUE (see sidekick --help)`);
    }
    if (next.startsWith("-") && next !== "-" && isFlag(next, options, byShort)) {
      throw new ArgumentError(
        `${flag} needs a value, but ${next} follows it; give the value first (${shown} VALUE ${next})`,
      );
    }
    out.push(`--${name}=${next}`);
    i++;
  }
  return out;
}

/** Whether `arg` names a known flag (so it cannot be a value that starts with `-`). */
function isFlag(
  arg: string,
  options: Readonly<Record<string, ArgOption>>,
  byShort: ReadonlyMap<string, string>,
): boolean {
  if (arg === "--") return true;
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return options[eq < 0 ? arg.slice(2) : arg.slice(2, eq)] !== undefined;
  }
  return byShort.has(arg[1]) && !/^-[0-9.]/.test(arg);
}

/**
 * Located configuration problems: what every config reader reports, how a
 * problem is printed, and the "did you mean" suggestion for misspelt keys and
 * values.
 *
 * @module
 */

import type { SidecarConfig } from "./schema.ts";

/**
 * One problem (or warning) in a configuration file, with its place.
 *
 * @example Usage
 * ```ts
 * import type { ConfigProblem } from "./problem.ts";
 * const p: ConfigProblem = {
 *   file: "sidekick.yaml", line: 4, col: 5, path: "listeners[0].polcy",
 *   message: "unknown key 'polcy'; did you mean 'policy'?",
 * };
 * ```
 */
export interface ConfigProblem {
  /** The file name, as given to the reader. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
  /** Where in the document, like `listeners[0].health.interval` ("" for the whole file). */
  readonly path: string;
  /** What is wrong: the bad value and what is accepted. */
  readonly message: string;
}

/**
 * What a config reader (`validateConfig`, `validateIaidoConfig`) returns: a
 * config with warnings, or every problem.
 *
 * @example Usage
 * ```ts
 * import type { ValidationResult } from "./problem.ts";
 * const failed: ValidationResult = { problems: [] };
 * ```
 */
export type ValidationResult =
  | {
    /** The configuration, with every default filled in. */
    readonly config: SidecarConfig;
    /** Things that work but deserve attention (unsupported iaido keys, for one). */
    readonly warnings: readonly ConfigProblem[];
    /** Which schema the file used. */
    readonly format: "sidekick" | "iaido";
  }
  | {
    /** Every problem found, in document order. */
    readonly problems: readonly ConfigProblem[];
  };

/**
 * Formats a problem as `file:line:col: path: message`, the way compilers do,
 * so that editors and terminals can jump to it.
 *
 * @param problem The problem.
 * @returns One line of text.
 *
 * @example Usage
 * ```ts
 * import { formatProblem } from "./problem.ts";
 * import assert from "node:assert/strict";
 * const line = formatProblem({
 *   file: "a.yaml", line: 3, col: 7, path: "listeners[0].policy",
 *   message: "'fast' is not a policy; use least, random or round-robin",
 * });
 * assert.equal(line, "a.yaml:3:7: listeners[0].policy: 'fast' is not a policy; use least, random or round-robin");
 * ```
 */
export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`;
  return problem.path === ""
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.path}: ${problem.message}`;
}

/**
 * The optimal-string-alignment (restricted Damerau-Levenshtein) distance:
 * insertions, deletions, substitutions and swaps of two neighbours each count 1.
 *
 * @param a One word.
 * @param b Another word.
 * @returns The number of edits from `a` to `b`.
 *
 * @example Usage
 * ```ts
 * import { editDistance } from "./problem.ts";
 * import assert from "node:assert/strict";
 * assert.equal(editDistance("polcy", "policy"), 1);
 * assert.equal(editDistance("plociy", "policy"), 2);
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[rows - 1][cols - 1];
}

/**
 * The candidate closest to a misspelt word, ignoring case, if it is at most
 * `maxDistance` edits away and those edits change less than half of the word
 * (so that `v3` does not "mean" `v1`). Ties go to the earlier candidate.
 *
 * @param word What the user wrote.
 * @param candidates What is valid at that place.
 * @param maxDistance The most edits still considered a typo. @default 2
 * @returns The suggestion, or undefined when nothing is close.
 *
 * @example Usage
 * ```ts
 * import { closestMatch } from "./problem.ts";
 * import assert from "node:assert/strict";
 * assert.equal(closestMatch("polcy", ["kind", "policy", "sites"]), "policy");
 * assert.equal(closestMatch("bindaddress", ["bindAddress"]), "bindAddress");
 * assert.equal(closestMatch("zzz", ["policy"]), undefined);
 * assert.equal(closestMatch("v3", ["off", "v1", "v2"]), undefined);
 * ```
 */
export function closestMatch(
  word: string,
  candidates: readonly string[],
  maxDistance = 2,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= maxDistance && bestDistance * 2 < word.length ? best : undefined;
}

/**
 * Joins choices for a message: `a`, `a or b`, `a, b or c`.
 *
 * @param choices The accepted values.
 * @returns The readable list.
 *
 * @example Usage
 * ```ts
 * import { listChoices } from "./problem.ts";
 * import assert from "node:assert/strict";
 * assert.equal(listChoices(["least", "random", "round-robin"]), "least, random or round-robin");
 * ```
 */
export function listChoices(choices: readonly string[]): string {
  if (choices.length <= 1) return choices.join("");
  return `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
}

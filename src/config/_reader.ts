/**
 * Private to `src/config`: walks a parsed YAML document and reads typed values
 * out of it, recording a located {@linkcode ConfigProblem} for every bad value
 * instead of stopping at the first. Readers return `undefined` both for an
 * absent value and for a bad one; callers fall back to the default, and the
 * result is only used when no problem was recorded.
 *
 * @module
 */

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Pair,
  parseDocument,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "npm:yaml@^2.9.1";
import { withGrantedEnvOnly } from "./_env_guard.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { closestMatch, type ConfigProblem, listChoices } from "./problem.ts";

/** A YAML node after alias resolution. */
export type Node = Scalar | YAMLMap | YAMLSeq;

/** A value with its document path and source offset (of the alias, if it was one). */
export interface Val {
  readonly node: Node;
  readonly path: string;
  readonly at: number;
}

const DURATION_HINT = "use e.g. 5s, 1m30s";

/** `listeners` + `health` -> `listeners.health`. */
export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Sorts problems by line, then column (stable, so one place keeps its order). */
export function byPlace(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** Describes a node for a message: `'fast'`, `70000`, `true`, `a map`, `a list`. */
export function show(node: Node): string {
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  const v = node.value;
  if (typeof v === "string") return `'${v}'`;
  if (v === null || v === undefined) return "an empty value";
  return String(v);
}

/** The key text that starts at an offset (quotes removed). */
function keyAt(text: string, offset: number): string {
  const m = /^(?:"([^"]*)"|'([^']*)'|([^:\n]*?))\s*:/.exec(text.slice(offset));
  return m === null ? text.slice(offset).split("\n")[0] : m[1] ?? m[2] ?? m[3];
}

function friendly(code: string, message: string, text: string, pos: [number, number]): string {
  switch (code) {
    case "MULTIPLE_DOCS":
      return "YAML syntax error: a config file holds one document; remove the '---' separator";
    case "DUPLICATE_KEY":
      return `key '${keyAt(text, pos[0])}' appears twice in the same map; keep one`;
    case "TAB_AS_INDENT":
      return "YAML syntax error: tabs are not allowed as indentation; indent with spaces";
    default:
      return `YAML syntax error: ${message.replace(/\s+/g, " ").trim()}`;
  }
}

/** Collects problems and warnings while reading one document. */
export class Reader {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  readonly file: string;
  readonly #lc: LineCounter;
  readonly #doc: Document;

  private constructor(file: string, lc: LineCounter, doc: Document) {
    this.file = file;
    this.#lc = lc;
    this.#doc = doc;
  }

  /**
   * Parses YAML text. Syntax errors end reading (the tree is unreliable after
   * them), except duplicate keys, which are recorded and reading goes on.
   */
  static parse(text: string, file: string): { reader: Reader; root: Val | undefined } | {
    problems: ConfigProblem[];
  } {
    const lc = new LineCounter();
    const doc = withGrantedEnvOnly(() =>
      parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
    );
    const reader = new Reader(file, lc, doc);
    let fatal = false;
    for (const e of doc.errors) {
      reader.problem(e.pos[0], "", friendly(e.code, e.message, text, e.pos));
      if (e.code !== "DUPLICATE_KEY") fatal = true;
    }
    for (const w of doc.warnings) {
      reader.problem(w.pos[0], "", `YAML: ${w.message.replace(/\s+/g, " ").trim()}`);
    }
    if (fatal) return { problems: reader.problems };
    const contents = doc.contents;
    if (contents === null) return { reader, root: undefined };
    return { reader, root: reader.resolve(contents, "") };
  }

  /** The 1-based line and column of a source offset. */
  where(offset: number): { line: number; col: number } {
    return this.#lc.linePos(offset);
  }

  /** Records a problem at an offset; returns undefined for convenient `return r.problem(...)`. */
  problem(at: number, path: string, message: string): undefined {
    this.problems.push({ file: this.file, ...this.where(at), path, message });
    return undefined;
  }

  /** Records a warning at an offset. */
  warn(at: number, path: string, message: string): void {
    this.warnings.push({ file: this.file, ...this.where(at), path, message });
  }

  /** Resolves aliases; an alias without its anchor is a problem. */
  resolve(node: unknown, path: string): Val | undefined {
    if (isAlias(node)) {
      const at = node.range?.[0] ?? 0;
      const target = node.resolve(this.#doc);
      if (target === undefined) {
        return this.problem(
          at,
          path,
          `alias *${node.source} has no anchor &${node.source} before it`,
        );
      }
      return { node: target, path, at };
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) {
      return { node: node as Node, path, at: node.range?.[0] ?? 0 };
    }
    return undefined;
  }

  /** The value of a key of a map, without any checks (undefined when it is not a map or lacks the key). */
  peek(v: Val | undefined, key: string): Val | undefined {
    if (v === undefined || !isMap(v.node)) return undefined;
    const pair = v.node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair === undefined || pair.value === null) return undefined;
    if (isScalar(pair.value) && pair.value.value === null) return undefined;
    return this.resolve(pair.value, join(v.path, key));
  }

  /** The plain-text keys of a map (empty when it is not a map). */
  keys(v: Val | undefined): string[] {
    if (v === undefined || !isMap(v.node)) return [];
    return v.node.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : []));
  }

  /** A map with only the given keys; others are problems with a suggestion. */
  map(
    v: Val | undefined,
    keys: readonly string[],
    misplaced?: (key: string) => string | undefined,
  ): Fields | undefined {
    if (v === undefined) return undefined;
    if (!isMap(v.node)) {
      return this.problem(
        v.at,
        v.path,
        `${show(v.node)} is not a map; use keys ${listChoices(keys)}`,
      );
    }
    return new Fields(this, v, keys, misplaced);
  }

  /** The items of a list. */
  seq(v: Val | undefined, hint: string): Val[] | undefined {
    if (v === undefined) return undefined;
    if (!isSeq(v.node)) return this.problem(v.at, v.path, `${show(v.node)} is not a list; ${hint}`);
    const items: Val[] = [];
    v.node.items.forEach((item, i) => {
      const val = this.resolve(item, `${v.path}[${i}]`);
      if (val !== undefined) items.push(val);
    });
    return items;
  }

  /** Text; numbers are taken as their decimal text. */
  text(v: Val | undefined, hint: string): string | undefined {
    if (v === undefined) return undefined;
    if (isScalar(v.node) && typeof v.node.value === "string") return v.node.value;
    if (isScalar(v.node) && typeof v.node.value === "number") return String(v.node.value);
    return this.problem(v.at, v.path, `${show(v.node)} is not text; ${hint}`);
  }

  /** true or false. */
  bool(v: Val | undefined): boolean | undefined {
    if (v === undefined) return undefined;
    if (isScalar(v.node) && typeof v.node.value === "boolean") return v.node.value;
    return this.problem(v.at, v.path, `${show(v.node)} is not true or false`);
  }

  /** A whole number in `min..max`. */
  int(v: Val | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (v === undefined) return undefined;
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `${min}..${max}`;
    const n = isScalar(v.node) ? v.node.value : undefined;
    if (typeof n !== "number" || !Number.isInteger(n)) {
      return this.problem(v.at, v.path, `${show(v.node)} is not a whole number; use ${range}`);
    }
    if (n < min || n > max) return this.problem(v.at, v.path, `${n} is out of range; use ${range}`);
    return n;
  }

  /** A port number in `min..65535`. */
  port(v: Val | undefined, min: 0 | 1): number | undefined {
    if (v === undefined) return undefined;
    const n = isScalar(v.node) ? v.node.value : undefined;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > 65535) {
      return this.problem(v.at, v.path, `${show(v.node)} is not a port; use ${min}..65535`);
    }
    return n;
  }

  /**
   * A Go duration (`5s`, `1m30s`), in ms. A unit is required except for 0.
   * With `negative`, a leading `-` is accepted (iaido's "negative turns it off").
   */
  duration(v: Val | undefined, min = 0, negative = false): number | undefined {
    if (v === undefined) return undefined;
    const raw = isScalar(v.node) ? v.node.value : undefined;
    if (raw === 0) return this.#atLeast(v, 0, min);
    if (typeof raw === "number") {
      return this.problem(v.at, v.path, `${raw} is not a duration; add a unit, e.g. ${raw}s`);
    }
    if (typeof raw !== "string") {
      return this.problem(v.at, v.path, `${show(v.node)} is not a duration; ${DURATION_HINT}`);
    }
    const sign = negative && raw.startsWith("-") ? -1 : 1;
    const body = sign < 0 ? raw.slice(1) : raw;
    if (/^\+?[0-9.]+$/.test(body) && Number(body) !== 0) {
      return this.problem(v.at, v.path, `'${raw}' is not a duration; add a unit, e.g. ${body}s`);
    }
    let ms: number;
    try {
      ms = parseDuration(body);
    } catch {
      return this.problem(v.at, v.path, `'${raw}' is not a duration; ${DURATION_HINT}`);
    }
    return sign < 0 ? -ms : this.#atLeast(v, ms, min);
  }

  #atLeast(v: Val, ms: number, min: number): number | undefined {
    if (ms >= min) return ms;
    return this.problem(
      v.at,
      v.path,
      `${show(v.node)} is too short; use at least ${formatDuration(min)}`,
    );
  }

  /** One of fixed words; a near miss gets a suggestion. */
  oneOf<T extends string>(
    v: Val | undefined,
    choices: readonly T[],
    what: string,
    ignoreCase = false,
  ): T | undefined {
    if (v === undefined) return undefined;
    const raw = isScalar(v.node) ? v.node.value : undefined;
    if (typeof raw === "string") {
      const found = choices.find((c) =>
        ignoreCase ? c.toLowerCase() === raw.toLowerCase() : c === raw
      );
      if (found !== undefined) return found;
    }
    const near = typeof raw === "string" ? closestMatch(raw, choices) : undefined;
    const hint = near === undefined ? "" : ` (did you mean '${near}'?)`;
    return this.problem(
      v.at,
      v.path,
      `${show(v.node)} is not ${what}; use ${listChoices(choices)}${hint}`,
    );
  }
}

/** The checked keys of one map. */
export class Fields {
  readonly path: string;
  readonly at: number;
  readonly #r: Reader;
  readonly #pairs = new Map<string, Pair>();

  constructor(
    reader: Reader,
    v: Val,
    keys: readonly string[],
    misplaced?: (key: string) => string | undefined,
  ) {
    this.#r = reader;
    this.path = v.path;
    this.at = v.at;
    for (const pair of (v.node as YAMLMap).items) {
      const keyNode = pair.key;
      const at = isScalar(keyNode) ? keyNode.range?.[0] ?? v.at : v.at;
      if (
        !isScalar(keyNode) ||
        (typeof keyNode.value !== "string" && typeof keyNode.value !== "number")
      ) {
        reader.problem(at, v.path, "a key must be plain text");
        continue;
      }
      const key = String(keyNode.value);
      const path = join(v.path, key);
      if (key === "<<") {
        reader.problem(at, path, "merge keys (<<) are not supported; repeat the keys instead");
      } else if (!keys.includes(key)) {
        const near = closestMatch(key, keys);
        reader.problem(
          at,
          path,
          misplaced?.(key) ??
            (near === undefined
              ? `unknown key '${key}'; use ${listChoices(keys)}`
              : `unknown key '${key}'; did you mean '${near}'?`),
        );
      } else if (!this.#pairs.has(key)) {
        this.#pairs.set(key, pair);
      }
    }
  }

  /** Whether the key is present (even with an empty value). */
  has(key: string): boolean {
    return this.#pairs.has(key);
  }

  /** The offset of a present key, else of the map. */
  keyAt(key: string): number {
    const k = this.#pairs.get(key)?.key;
    return isScalar(k) ? k.range?.[0] ?? this.at : this.at;
  }

  /** The value of a key; an empty value (`key:`) counts as absent. */
  get(key: string): Val | undefined {
    const pair = this.#pairs.get(key);
    if (pair === undefined) return undefined;
    const value = pair.value;
    if (value === null || (isScalar(value) && value.value === null)) return undefined;
    return this.#r.resolve(value, join(this.path, key));
  }

  /** The value of a required key; a missing or empty one is a problem. */
  require(key: string, hint: string): Val | undefined {
    const v = this.get(key);
    if (v !== undefined) return v;
    const where = this.has(key) ? "is empty" : "is missing";
    return this.#r.problem(this.keyAt(key), join(this.path, key), `${where}; ${hint}`);
  }
}

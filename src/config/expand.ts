/**
 * Host-range expansion for endpoint arguments, compatible with minio/sidekick:
 * `{START...END}` ranges (decimal, or hex when not decimal, with zero padding)
 * and, beyond it, `{A,B,C}` lists. Several groups in one string expand to the
 * cartesian product with the leftmost group varying fastest.
 *
 * Differences from minio/pkg `ellipses.go`, on purpose:
 * - a SITE argument expands per pool, so ranged and literal pools can mix;
 * - when START or END is not decimal, both are read as hex (minio read
 *   `{10...1f}` as decimal 10 to hex 0x1f);
 * - hex digits may be upper case (minio accepted lower case only); output
 *   is lower case either way;
 * - the expansion is capped at {@linkcode MAX_EXPANSION} endpoints.
 *
 * Everything here is pure: no I/O.
 *
 * @module
 */

/** The most endpoints one pattern or one SITE argument may expand to. */
export const MAX_EXPANSION = 10_000;

const ACCEPTED = "expected {START...END} or {A,B,C}";
const RANGE = /^([0-9a-fA-F]+)\.\.\.([0-9a-fA-F]+)$/;
const DECIMAL = /^[0-9]+$/;
const LIST_ITEM = /^[0-9A-Za-z._:-]+$/;

/** One brace group: `size` values, read by index. */
interface Group {
  readonly size: number;
  item(index: number): string;
}

/** A string split into literal text around brace groups. */
interface Parsed {
  /** Always `groups.length + 1` entries. */
  readonly literals: readonly string[];
  readonly groups: readonly Group[];
  /** Product of the group sizes (1 with no groups). */
  readonly count: bigint;
}

/** Where a pattern sits, for error messages. */
interface Source {
  /** The whole text the user wrote. */
  readonly text: string;
  /** Index in `text` where the pattern starts. */
  readonly offset: number;
}

/**
 * Expands every `{START...END}` range and `{A,B,C}` list in one string.
 *
 * START and END are decimal, or hex (lowercase output) when either is not
 * decimal; START must not exceed END. Values are zero padded to the length of
 * END when START has a leading zero and more than one digit, or when END
 * starts with a zero. With several groups the result is their cartesian
 * product, leftmost group varying fastest. Square brackets (IPv6 literals)
 * are plain text. A string without braces is returned as is.
 *
 * @param pattern The text to expand, such as `http://h{1...4}:9000`.
 * @returns The expanded strings, in order.
 * @throws {SyntaxError} On unbalanced, nested, empty or malformed braces, or
 * a range whose START exceeds END; the message gives the character position.
 * @throws {RangeError} When the expansion exceeds {@linkcode MAX_EXPANSION}.
 *
 * @example Ranges, padding and lists
 * ```ts
 * import { expandPattern } from "./expand.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(expandPattern("http://h{1...3}:9000"), [
 *   "http://h1:9000",
 *   "http://h2:9000",
 *   "http://h3:9000",
 * ]);
 * assert.deepEqual(expandPattern("n{08...10}"), ["n08", "n09", "n10"]);
 * assert.deepEqual(expandPattern("h{1...2}:900{1...2}"), ["h1:9001", "h2:9001", "h1:9002", "h2:9002"]);
 * assert.deepEqual(expandPattern("10.0.0.{1,7}"), ["10.0.0.1", "10.0.0.7"]);
 * assert.deepEqual(expandPattern("http://[::1]:9000"), ["http://[::1]:9000"]);
 * assert.throws(() => expandPattern("http://h{1...}"), SyntaxError);
 * ```
 */
export function expandPattern(pattern: string): string[] {
  const source = { text: pattern, offset: 0 };
  const parsed = parsePattern(pattern, source);
  checkCount(parsed.count, `'${pattern}'`);
  return materialize(parsed);
}

/**
 * Expands a SITE argument: a comma-separated list of pools whose endpoints
 * all form one site. Commas inside braces belong to `{A,B,C}` lists and do
 * not split. Each pool is expanded on its own (unlike minio/sidekick, which
 * expanded only when every pool had a range), and the results are joined in
 * order. Whitespace around a pool is ignored.
 *
 * @param arg The SITE argument, such as `http://a{1...2}:9000,http://b:9000`.
 * @returns The endpoints of the site, in order.
 * @throws {SyntaxError} On an empty pool (a stray comma) or a malformed pool;
 * positions in the message count from the start of `arg`.
 * @throws {RangeError} When the whole site exceeds {@linkcode MAX_EXPANSION}.
 *
 * @example Mixed pools
 * ```ts
 * import { expandSite } from "./expand.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(expandSite("http://a{1...2}:9000,http://b:9000"), [
 *   "http://a1:9000",
 *   "http://a2:9000",
 *   "http://b:9000",
 * ]);
 * assert.deepEqual(expandSite("http://h{1,3}:9000"), ["http://h1:9000", "http://h3:9000"]);
 * assert.throws(() => expandSite("http://a:9000,"), SyntaxError);
 * ```
 */
export function expandSite(arg: string): string[] {
  const pools = splitPools(arg);
  const parsed: Parsed[] = [];
  let total = 0n;
  for (let k = 0; k < pools.length; k++) {
    const { text, offset } = pools[k];
    if (text === "") {
      throw new SyntaxError(
        `Cannot expand site '${arg}' as pool ${k + 1} of ${pools.length} is empty: ` +
          "write endpoints separated by single commas, like http://a:9000,http://b{1...4}:9000",
      );
    }
    const p = parsePattern(text, { text: arg, offset });
    total += p.count;
    checkCount(total, `site '${arg}'`);
    parsed.push(p);
  }
  return parsed.flatMap(materialize);
}

/** Splits at commas outside braces; each pool is trimmed, with its start index. */
function splitPools(arg: string): { text: string; offset: number }[] {
  const pools: { text: string; offset: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= arg.length; i++) {
    const ch = arg[i];
    if (ch === "{") depth++;
    else if (ch === "}") depth = Math.max(0, depth - 1);
    else if (i === arg.length || (ch === "," && depth === 0)) {
      const raw = arg.slice(start, i);
      const lead = raw.length - raw.trimStart().length;
      pools.push({ text: raw.trim(), offset: start + lead });
      start = i + 1;
    }
  }
  return pools;
}

function parsePattern(pattern: string, source: Source): Parsed {
  const literals: string[] = [];
  const groups: Group[] = [];
  let count = 1n;
  let literalStart = 0;
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === "}") throw syntaxError(source, i, `'}' has no matching '{'; ${ACCEPTED}`);
    if (ch !== "{") {
      i++;
      continue;
    }
    let close = -1;
    for (let j = i + 1; j < pattern.length; j++) {
      if (pattern[j] === "{") throw syntaxError(source, j, `braces cannot nest; ${ACCEPTED}`);
      if (pattern[j] === "}") {
        close = j;
        break;
      }
    }
    if (close < 0) throw syntaxError(source, i, `'{' is never closed; ${ACCEPTED}`);
    literals.push(pattern.slice(literalStart, i));
    const group = parseGroup(pattern.slice(i + 1, close), source, i);
    groups.push(group);
    count *= BigInt(group.size);
    i = close + 1;
    literalStart = i;
  }
  literals.push(pattern.slice(literalStart));
  return { literals, groups, count };
}

function parseGroup(body: string, source: Source, at: number): Group {
  if (body === "") throw syntaxError(source, at, `the braces are empty; ${ACCEPTED}`);
  if (body.includes("...")) return parseRange(body, source, at);
  if (body.includes(",")) return parseList(body, source, at);
  throw syntaxError(source, at, ACCEPTED);
}

function parseRange(body: string, source: Source, at: number): Group {
  const match = RANGE.exec(body);
  if (match === null) throw syntaxError(source, at, ACCEPTED);
  const [, startText, endText] = match;
  const radix = DECIMAL.test(startText) && DECIMAL.test(endText) ? 10 : 16;
  const prefix = radix === 16 ? "0x" : "";
  const start = BigInt(prefix + startText);
  const end = BigInt(prefix + endText);
  if (start > end) {
    throw syntaxError(
      source,
      at,
      `range start ${startText} is greater than end ${endText}; ` +
        `expected {START...END} with START <= END, such as {${endText}...${startText}}`,
    );
  }
  const size = end - start + 1n;
  checkCount(size, `'${source.text}'`);
  const padded = (startText.length > 1 && startText.startsWith("0")) || endText.startsWith("0");
  const width = padded ? endText.length : 0;
  return {
    size: Number(size),
    item: (index) => (start + BigInt(index)).toString(radix).padStart(width, "0"),
  };
}

function parseList(body: string, source: Source, at: number): Group {
  const items = body.split(",");
  const seen = new Set<string>();
  for (const item of items) {
    if (item === "") {
      throw syntaxError(source, at, `the list has an empty item; ${ACCEPTED}`);
    }
    if (!LIST_ITEM.test(item)) {
      throw syntaxError(
        source,
        at,
        `list item '${item}' may hold only letters, digits, '.', '-', '_' and ':'; ${ACCEPTED}`,
      );
    }
    if (seen.has(item)) {
      throw syntaxError(source, at, `list item '${item}' is repeated; ${ACCEPTED}`);
    }
    seen.add(item);
  }
  return { size: items.length, item: (index) => items[index] };
}

/** Builds every combination, leftmost group varying fastest. */
function materialize(parsed: Parsed): string[] {
  const { literals, groups } = parsed;
  const total = Number(parsed.count);
  const out: string[] = new Array(total);
  for (let index = 0; index < total; index++) {
    let rest = index;
    let text = literals[0];
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g];
      text += group.item(rest % group.size) + literals[g + 1];
      rest = Math.floor(rest / group.size);
    }
    out[index] = text;
  }
  return out;
}

function checkCount(count: bigint, what: string): void {
  if (count > BigInt(MAX_EXPANSION)) {
    throw new RangeError(
      `Cannot expand ${what} as it yields ${count} endpoints: at most ${MAX_EXPANSION} are ` +
        "allowed; narrow the ranges or split them",
    );
  }
}

/** A SyntaxError naming the text and the 1-based character (code point) position. */
function syntaxError(source: Source, index: number, detail: string): SyntaxError {
  const position = [...source.text.slice(0, source.offset + index)].length + 1;
  return new SyntaxError(`Cannot expand '${source.text}' at character ${position}: ${detail}`);
}

/**
 * Durations in Go's `time.ParseDuration` syntax (`5s`, `1m30s`, `250ms`), as
 * minio/sidekick and iaido flags take them, plus plain seconds (`5`, `0.5`)
 * as minio/sidekick's old README wrote them. Values are whole milliseconds.
 *
 * @module
 */

const EXPECTED = "expected a Go duration like 5s, 1m30s, 250ms or plain seconds";

/** A number the way Go writes one in a duration: `5`, `5.`, `5.25`, `.25`. */
const NUMBER = String.raw`(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)`;
/** `ms` before `m` and `s`, so that `5ms` is one component. */
const UNIT = "(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)";
const SECONDS = new RegExp(`^${NUMBER}$`);
const GO_DURATION = new RegExp(`^(?:${NUMBER}${UNIT})+$`);
const COMPONENT = new RegExp(`(${NUMBER})(${UNIT})`, "g");

const UNIT_MS: Readonly<Record<string, number>> = {
  "ns": 1e-6,
  "us": 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  "ms": 1,
  "s": 1_000,
  "m": 60_000,
  "h": 3_600_000,
};

/**
 * Parses a Go duration, or a plain non-negative number of seconds.
 *
 * Go's units are accepted: `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, each
 * after a decimal number with an optional fraction, several in a row
 * (`1h2m3.5s`); a leading `+` is allowed as in Go. A bare number means
 * seconds. The result is rounded to the nearest millisecond, but a positive
 * duration never rounds down to 0: `100us` gives 1.
 *
 * @param text The duration text.
 * @returns The duration in whole milliseconds.
 * @throws {SyntaxError} When the text is empty, negative, has spaces, lacks
 * a unit between components or uses an unknown unit.
 * @throws {RangeError} When the duration exceeds `Number.MAX_SAFE_INTEGER` ms.
 *
 * @example Go syntax and plain seconds
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("1m30s"), 90_000);
 * assert.equal(parseDuration("1.5h"), 5_400_000);
 * assert.equal(parseDuration("250ms"), 250);
 * assert.equal(parseDuration("5"), 5_000);
 * assert.equal(parseDuration("0"), 0);
 * assert.throws(() => parseDuration("-5s"), SyntaxError);
 * ```
 */
export function parseDuration(text: string): number {
  const body = text.startsWith("+") ? text.slice(1) : text;
  let ms: number;
  if (SECONDS.test(body)) {
    ms = Number(body) * 1_000;
  } else if (GO_DURATION.test(body)) {
    ms = 0;
    for (const [, value, unit] of body.matchAll(COMPONENT)) ms += Number(value) * UNIT_MS[unit];
  } else {
    throw new SyntaxError(`Cannot parse duration '${text}'${reason(text)}: ${EXPECTED}`);
  }
  const rounded = Math.round(ms);
  if (!Number.isSafeInteger(rounded)) {
    throw new RangeError(
      `Cannot use duration '${text}' as it exceeds ${Number.MAX_SAFE_INTEGER} ms: use a shorter duration`,
    );
  }
  return rounded === 0 && ms > 0 ? 1 : rounded;
}

/**
 * Formats milliseconds the way Go's `Duration.String` does, with zero units
 * left out: `1m30s`, `1h`, `1.5s`, `250ms`, `0s`. The result parses back to
 * the same value with {@linkcode parseDuration}.
 *
 * @param ms A whole, non-negative number of milliseconds.
 * @returns The duration text.
 * @throws {RangeError} When `ms` is negative, fractional or not a safe integer.
 *
 * @example Shortest Go-style text
 * ```ts
 * import { formatDuration } from "./duration.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatDuration(90_000), "1m30s");
 * assert.equal(formatDuration(3_600_000), "1h");
 * assert.equal(formatDuration(1_500), "1.5s");
 * assert.equal(formatDuration(250), "250ms");
 * assert.equal(formatDuration(0), "0s");
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(
      `Cannot format duration ${ms} ms: expected a whole, non-negative number of milliseconds`,
    );
  }
  if (ms === 0) return "0s";
  if (ms < 1_000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const millis = ms % 60_000;
  let text = "";
  if (hours > 0) text += `${hours}h`;
  if (minutes > 0) text += `${minutes}m`;
  if (millis > 0) {
    const whole = Math.floor(millis / 1_000);
    const fraction = String(millis % 1_000).padStart(3, "0").replace(/0+$/, "");
    text += fraction === "" ? `${whole}s` : `${whole}.${fraction}s`;
  }
  return text;
}

/** Says what is wrong with an unparseable duration, when it can tell. */
function reason(text: string): string {
  if (text.trim() === "") return " as it is empty";
  if (text.startsWith("-")) return " as it is negative";
  if (/\s/.test(text)) return " as it contains spaces";
  for (const [, unit] of text.matchAll(/[0-9.]([a-zA-Z\u00b5\u03bc]+)/g)) {
    if (!(unit in UNIT_MS)) return ` as '${unit}' is not a unit (use ns, us, ms, s, m or h)`;
  }
  return "";
}

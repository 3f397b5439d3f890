/**
 * Rates as written in config files and flags: `100/s`, `6000/m`, `5/h`, or
 * a count per any duration (`10/250ms`), as requests (or connections) per
 * second; and the per-client limits built from them.
 *
 * @module
 */

import { formatDuration, parseDuration } from "./duration.ts";
import type { PerClientLimits } from "./schema.ts";

const RATE = /^\s*([0-9]+(?:\.[0-9]+)?)\s*\/\s*([0-9]*\.?[0-9]*[a-zµμ]+)\s*$/;

/**
 * Parses a rate.
 *
 * @param text Like `100/s`, `6000/m`, `10/250ms`; `0` turns the rate off.
 * @returns Per second (0 = off).
 * @throws {SyntaxError} When the text is not COUNT/UNIT.
 *
 * @example Usage
 * ```ts
 * import { parseRate } from "./rate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseRate("100/s"), 100);
 * assert.equal(parseRate("60/m"), 1);
 * assert.equal(parseRate("5/500ms"), 10);
 * assert.equal(parseRate("0"), 0);
 * ```
 */
export function parseRate(text: string): number {
  if (text.trim() === "0") return 0;
  const m = RATE.exec(text);
  if (m === null) {
    throw new SyntaxError(`'${text}' is not a rate; use COUNT/UNIT, like 100/s or 6000/m`);
  }
  const unit = /^[a-zµμ]+$/.test(m[2]) ? `1${m[2]}` : m[2];
  let ms: number;
  try {
    ms = parseDuration(unit);
  } catch {
    throw new SyntaxError(`'${text}' has an unknown unit '${m[2]}'; use s, m or h, like 100/s`);
  }
  if (ms <= 0) throw new SyntaxError(`'${text}' divides by zero time; use e.g. 100/s`);
  return (Number(m[1]) * 1000) / ms;
}

/**
 * Writes a rate back the way {@linkcode parseRate} reads it.
 *
 * @param perSec Per second.
 * @returns `100/s`, or per minute or hour when that is a whole number; `0` for off.
 *
 * @example Usage
 * ```ts
 * import { formatRate } from "./rate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatRate(100), "100/s");
 * assert.equal(formatRate(0.5), "30/m");
 * ```
 */
export function formatRate(perSec: number): string {
  if (perSec === 0) return "0";
  if (Number.isInteger(perSec)) return `${perSec}/s`;
  const perMinute = perSec * 60;
  if (Math.abs(perMinute - Math.round(perMinute)) < 1e-9) return `${Math.round(perMinute)}/m`;
  const perHour = perSec * 3600;
  if (Math.abs(perHour - Math.round(perHour)) < 1e-9) return `${Math.round(perHour)}/h`;
  return `${Math.round(perSec * 1000)}/${formatDuration(1000_000)}`;
}

/**
 * Per-client limits with the burst filled in: one second's worth of the
 * rate when not given (at least 1).
 *
 * @param connections Most open connections per client IP (0 = unlimited).
 * @param ratePerSec Requests per second per client IP (0 = unlimited).
 * @param burst The bucket's size. @default max(1, ceil(ratePerSec))
 * @returns The limits, or undefined when both are off.
 *
 * @example Usage
 * ```ts
 * import { perClientLimits } from "./rate.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(perClientLimits(10, 50), { connections: 10, ratePerSec: 50, burst: 50 });
 * assert.equal(perClientLimits(0, 0), undefined);
 * ```
 */
export function perClientLimits(
  connections: number,
  ratePerSec: number,
  burst?: number,
): PerClientLimits | undefined {
  if (connections <= 0 && ratePerSec <= 0) return undefined;
  return { connections, ratePerSec, burst: burst ?? Math.max(1, Math.ceil(ratePerSec)) };
}

/**
 * The resilience flags of the minio-style command line: probe thresholds
 * (`--health-rise`, `--health-fall`), slow start, the panic threshold, the
 * passive failure threshold and outlier ejection. Pure: flag values in,
 * health settings out.
 *
 * @module
 */

import { parseDuration } from "../duration.ts";
import { DEFAULT_OUTLIER, DEFAULT_PASSIVE } from "../defaults.ts";
import type { HealthSpec } from "../schema.ts";

/** Flag values as parsed (see `flags.ts`). */
type Values = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

/**
 * The flags of this file and the health keys they set (for `--config` overrides).
 *
 * @example Usage
 * ```ts
 * import { RESILIENCE_FLAGS } from "./health_flags.ts";
 * RESILIENCE_FLAGS["health-rise"]; // "rise"
 * ```
 */
export const RESILIENCE_FLAGS: Readonly<Record<string, keyof HealthSpec>> = {
  "health-rise": "rise",
  "health-fall": "fall",
  "slow-start": "slowStartMs",
  "panic-threshold": "panicPercent",
  "passive-failures": "passive",
  "passive-window": "passive",
  "outlier-ejection": "outlier",
};

function whole(values: Values, name: string, min: number, max: number): number | undefined {
  const v = values[name];
  if (typeof v !== "string") return undefined;
  const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) {
    const range = max >= 1e9 ? `${min} or more` : `${min}..${max}`;
    throw new TypeError(`--${name} must be a whole number ${range}, got '${v}'`);
  }
  return n;
}

function span(values: Values, name: string, min: number): number | undefined {
  const v = values[name];
  if (typeof v !== "string") return undefined;
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (e) {
    throw new TypeError(`--${name}: ${(e as Error).message}`);
  }
  if (ms < min) throw new TypeError(`--${name} must be at least ${min} ms, got '${v}'`);
  return ms;
}

/**
 * The health settings the resilience flags give (only those given).
 *
 * @param values The flags.
 * @returns The health fields to merge.
 * @throws {TypeError} Naming the flag, the bad value and what is accepted.
 *
 * @example Usage
 * ```ts
 * import { healthFromFlags } from "./health_flags.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(healthFromFlags({ "health-rise": "3", "slow-start": "30s" }), { rise: 3, slowStartMs: 30_000 });
 * ```
 */
export function healthFromFlags(values: Values): Partial<HealthSpec> {
  const rise = whole(values, "health-rise", 1, 1e9);
  const fall = whole(values, "health-fall", 1, 1e9);
  const slowStartMs = span(values, "slow-start", 0);
  const panicPercent = whole(values, "panic-threshold", 0, 100);
  const failures = whole(values, "passive-failures", 1, 1e9);
  const windowMs = span(values, "passive-window", 1);
  const out: { -readonly [K in keyof HealthSpec]?: HealthSpec[K] } = {};
  if (rise !== undefined) out.rise = rise;
  if (fall !== undefined) out.fall = fall;
  if (slowStartMs !== undefined) out.slowStartMs = slowStartMs;
  if (panicPercent !== undefined) out.panicPercent = panicPercent;
  if (failures !== undefined || windowMs !== undefined) {
    out.passive = {
      failures: failures ?? DEFAULT_PASSIVE.failures,
      windowMs: windowMs ?? DEFAULT_PASSIVE.windowMs,
    };
  }
  if (values["outlier-ejection"] === true) out.outlier = DEFAULT_OUTLIER;
  return out;
}

/**
 * Private to `src/config`: the resilience keys of `health` (slow start,
 * panic threshold, the passive failure threshold, outlier ejection), read
 * from a sidekick-schema file and written back normalised.
 *
 * @module
 */

import { isScalar } from "npm:yaml@^2.9.1";
import { DEFAULT_OUTLIER, DEFAULT_PASSIVE } from "./defaults.ts";
import { type Fields, type Reader, type Val } from "./_reader.ts";
import type { HealthSpec, OutlierSpec, PassiveSpec } from "./schema.ts";

/** The resilience keys of `health`. */
export const RESILIENCE_KEYS = ["slowStart", "panicThreshold", "passive", "outlier"] as const;

const PASSIVE_KEYS = ["failures", "window"] as const;
const OUTLIER_KEYS = [
  "consecutive5xx",
  "consecutiveGatewayErrors",
  "baseEjection",
  "maxEjection",
  "maxEjectedPercent",
] as const;

/** Reads `slowStart`, `panicThreshold`, `passive` and `outlier` of a `health` map. */
export function readResilience(
  r: Reader,
  h: Fields,
  base: HealthSpec,
): Pick<HealthSpec, "slowStartMs" | "panicPercent" | "passive" | "outlier"> {
  const slowStartMs = r.duration(h.get("slowStart")) ?? base.slowStartMs;
  const panicPercent = r.int(h.get("panicThreshold"), 0, 100) ?? base.panicPercent;
  const passive = readPassive(r, h.get("passive"), base.passive);
  const outlier = readOutlier(r, h.get("outlier"), base.outlier);
  return {
    ...(slowStartMs === undefined ? {} : { slowStartMs }),
    ...(panicPercent === undefined ? {} : { panicPercent }),
    ...(passive === undefined ? {} : { passive }),
    ...(outlier === undefined ? {} : { outlier }),
  };
}

function readPassive(
  r: Reader,
  v: Val | undefined,
  base: PassiveSpec | undefined,
): PassiveSpec | undefined {
  const f = r.map(v, PASSIVE_KEYS);
  if (f === undefined) return base;
  const from = base ?? DEFAULT_PASSIVE;
  return {
    failures: r.int(f.get("failures"), 1) ?? from.failures,
    windowMs: r.duration(f.get("window"), 1) ?? from.windowMs,
  };
}

/** `outlier: true` (the defaults), `false` (off), or a map of settings. */
function readOutlier(
  r: Reader,
  v: Val | undefined,
  base: OutlierSpec | undefined,
): OutlierSpec | undefined {
  if (v === undefined) return base;
  if (isScalar(v.node)) {
    const on = r.bool(v);
    return on === true ? DEFAULT_OUTLIER : undefined;
  }
  const f = r.map(v, OUTLIER_KEYS);
  if (f === undefined) return base;
  const from = base ?? DEFAULT_OUTLIER;
  return {
    consecutive5xx: r.int(f.get("consecutive5xx"), 0) ?? from.consecutive5xx,
    consecutiveGatewayErrors: r.int(f.get("consecutiveGatewayErrors"), 0) ??
      from.consecutiveGatewayErrors,
    baseEjectionMs: r.duration(f.get("baseEjection"), 1) ?? from.baseEjectionMs,
    maxEjectionMs: r.duration(f.get("maxEjection"), 1) ?? from.maxEjectionMs,
    maxEjectedPercent: r.int(f.get("maxEjectedPercent"), 0, 100) ?? from.maxEjectedPercent,
  };
}

/**
 * The resilience keys that are set, normalised for `--check` output
 * (durations as text). Keys left out mean their defaults: slow start and
 * panic off, 3 failures in 10 s, no outlier ejection.
 */
export function formatResilience(
  h: HealthSpec,
  d: (ms: number) => string,
): Record<string, unknown> {
  const p = h.passive;
  const o = h.outlier;
  return {
    ...(h.slowStartMs === undefined ? {} : { slowStart: d(h.slowStartMs) }),
    ...(h.panicPercent === undefined ? {} : { panicThreshold: h.panicPercent }),
    ...(p === undefined ? {} : { passive: { failures: p.failures, window: d(p.windowMs) } }),
    ...(o === undefined ? {} : {
      outlier: {
        consecutive5xx: o.consecutive5xx,
        consecutiveGatewayErrors: o.consecutiveGatewayErrors,
        baseEjection: d(o.baseEjectionMs),
        maxEjection: d(o.maxEjectionMs),
        maxEjectedPercent: o.maxEjectedPercent,
      },
    }),
  };
}

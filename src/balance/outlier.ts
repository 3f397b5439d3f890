/**
 * Passive health: what real traffic says about an endpoint. Two rules, both
 * pure decisions over a small per-endpoint record with an injected time:
 *
 * - The failure threshold (always on): a failure seen after a connection was
 *   made (a reset, a truncated body, no response, a response-header timeout)
 *   counts; `failures` of them in a row within `windowMs` take the endpoint
 *   out. A complete exchange starts the count again. (A refused connect is
 *   no such ambiguity: it takes the endpoint out at once, as in
 *   minio/sidekick.)
 * - Outlier ejection (opt-in, Envoy's model): `consecutive5xx` responses
 *   with a 5xx status (or a transport failure), or `consecutiveGatewayErrors`
 *   502/503/504 responses (or transport failures), eject the endpoint for
 *   `baseEjectionMs` times the number of its ejections, at most
 *   `maxEjectionMs`; at most `maxEjectedPercent` of a cluster is ejected at
 *   once (always at least one endpoint may be).
 *
 * The cluster applies both and guards the last up endpoint of a site.
 *
 * @module
 */

import type { OutlierSpec, PassiveSpec } from "../config/schema.ts";

/** The failure threshold of passive health (see {@linkcode PassiveSpec}). */
export type PassiveThreshold = PassiveSpec;

/** Outlier ejection settings (see {@linkcode OutlierSpec}). */
export type OutlierRules = OutlierSpec;

/**
 * What real traffic has shown of one endpoint (owner: the endpoint; the
 * cluster changes it through the functions of this module).
 *
 * @example Usage
 * ```ts
 * import { PassiveRecord } from "./outlier.ts";
 * new PassiveRecord().failures; // 0
 * ```
 */
export class PassiveRecord {
  /** Failures in a row after a connection was made, in the current window. */
  failures = 0;
  /** When the first of them happened (ms). */
  windowStart = 0;
  /** 5xx responses or transport failures in a row. */
  fiveXx = 0;
  /** 502/503/504 responses or transport failures in a row. */
  gateway = 0;
  /** Outlier ejections over the endpoint's life. */
  ejections = 0;
  /** The multiplier of the next ejection's length (ejections in a row, not forgiven yet). */
  streak = 0;
  /** When the last ejection ended (ms), 0 before any. */
  lastEjectionEnd = 0;
}

/**
 * Counts one failure seen after a connection was made.
 *
 * @param rec The endpoint's record (changed).
 * @param now The current time (ms).
 * @param threshold The failure threshold.
 * @returns Whether the threshold is reached (the endpoint should go out).
 *
 * @example Usage
 * ```ts
 * import { countFailure, PassiveRecord } from "./outlier.ts";
 * import assert from "node:assert/strict";
 * const rec = new PassiveRecord();
 * const t = { failures: 2, windowMs: 1000 };
 * assert.equal(countFailure(rec, 0, t), false);
 * assert.equal(countFailure(rec, 5000, t), false); // the window passed: a new count
 * assert.equal(countFailure(rec, 5500, t), true);
 * ```
 */
export function countFailure(
  rec: PassiveRecord,
  now: number,
  threshold: PassiveThreshold,
): boolean {
  if (rec.failures === 0 || now - rec.windowStart > threshold.windowMs) {
    rec.failures = 0;
    rec.windowStart = now;
  }
  rec.failures++;
  return rec.failures >= threshold.failures;
}

/**
 * Notes how an attempt ended, for the failure count and outlier ejection.
 * Allocation-free: it runs for every request.
 *
 * @param rec The endpoint's record (changed).
 * @param status The HTTP status relayed (0 for TCP, UDP, or none).
 * @param failed Whether the attempt ended in a transport failure blamed on the endpoint.
 *
 * @example Usage
 * ```ts
 * import { noteOutcome, PassiveRecord } from "./outlier.ts";
 * import assert from "node:assert/strict";
 * const rec = new PassiveRecord();
 * noteOutcome(rec, 503, false);
 * noteOutcome(rec, 500, false);
 * assert.equal(rec.fiveXx, 2);
 * assert.equal(rec.gateway, 0); // a 500 breaks a run of gateway errors
 * noteOutcome(rec, 200, false);
 * assert.equal(rec.fiveXx, 0);
 * ```
 */
export function noteOutcome(rec: PassiveRecord, status: number, failed: boolean): void {
  if (failed) {
    rec.fiveXx++;
    rec.gateway++;
    return;
  }
  if (status >= 500 && status <= 599) {
    rec.fiveXx++;
    if (status >= 502 && status <= 504) rec.gateway++;
    else rec.gateway = 0;
    rec.failures = 0; // a whole response: the transport works
    return;
  }
  rec.failures = 0;
  rec.fiveXx = 0;
  rec.gateway = 0;
}

/**
 * Whether the record calls for an outlier ejection.
 *
 * @param rec The endpoint's record.
 * @param rules The outlier settings.
 * @returns True when a run of 5xx or gateway errors reached its limit.
 *
 * @example Usage
 * ```ts
 * import { outlierTripped, PassiveRecord } from "./outlier.ts";
 * const rec = new PassiveRecord();
 * rec.gateway = 5;
 * outlierTripped(rec, { consecutive5xx: 0, consecutiveGatewayErrors: 5, baseEjectionMs: 1, maxEjectionMs: 1, maxEjectedPercent: 10 }); // true
 * ```
 */
export function outlierTripped(rec: PassiveRecord, rules: OutlierRules): boolean {
  return (rules.consecutive5xx > 0 && rec.fiveXx >= rules.consecutive5xx) ||
    (rules.consecutiveGatewayErrors > 0 && rec.gateway >= rules.consecutiveGatewayErrors);
}

/**
 * Whether one more endpoint may be ejected now.
 *
 * @param ejected Endpoints of the cluster ejected now.
 * @param total Endpoints of the cluster.
 * @param maxPercent The most that may be ejected at once (percent).
 * @returns True when ejecting one more stays within the share (one is always allowed).
 *
 * @example Usage
 * ```ts
 * import { mayEject } from "./outlier.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mayEject(0, 2, 10), true); // at least one
 * assert.equal(mayEject(1, 10, 10), false);
 * assert.equal(mayEject(1, 10, 20), true);
 * ```
 */
export function mayEject(ejected: number, total: number, maxPercent: number): boolean {
  return ejected === 0 || ejected + 1 <= Math.floor((total * maxPercent) / 100);
}

/**
 * Records an outlier ejection and says how long it lasts: the base time
 * times the ejections in a row, at most the maximum. An endpoint that stayed
 * in for `maxEjectionMs` since its last ejection ended is forgiven: its
 * multiplier starts again at one.
 *
 * @param rec The endpoint's record (changed: counts, runs cleared).
 * @param now The current time (ms).
 * @param rules The outlier settings.
 * @returns The time the ejection ends (ms).
 *
 * @example Usage
 * ```ts
 * import { eject, PassiveRecord } from "./outlier.ts";
 * import assert from "node:assert/strict";
 * const rules = { consecutive5xx: 5, consecutiveGatewayErrors: 0, baseEjectionMs: 1000, maxEjectionMs: 2500, maxEjectedPercent: 10 };
 * const rec = new PassiveRecord();
 * assert.equal(eject(rec, 0, rules), 1000);
 * assert.equal(eject(rec, 1000, rules), 3000); // 2 x base
 * assert.equal(eject(rec, 3000, rules), 5500); // capped at 2.5 s
 * assert.equal(eject(rec, 100_000, rules), 101_000); // forgiven
 * ```
 */
export function eject(rec: PassiveRecord, now: number, rules: OutlierRules): number {
  if (rec.streak > 0 && now - rec.lastEjectionEnd >= rules.maxEjectionMs) rec.streak = 0;
  rec.streak++;
  rec.ejections++;
  const until = now + Math.min(rules.baseEjectionMs * rec.streak, rules.maxEjectionMs);
  rec.lastEjectionEnd = until;
  rec.fiveXx = 0;
  rec.gateway = 0;
  rec.failures = 0;
  return until;
}

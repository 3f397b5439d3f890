/**
 * Private to `src/config`: reads a listener's per-client limits from its
 * `limits:` map (`perClientConnections`, `perClientRate`, `perClientBurst`).
 *
 * @module
 */

import { isScalar } from "npm:yaml@^2.9.1";
import { type Fields, type Reader, show } from "./_reader.ts";
import { parseRate, perClientLimits } from "./rate.ts";
import type { PerClientLimits } from "./schema.ts";

/** The per-client keys of `limits:`, the only ones TCP and UDP listeners have there. */
export const PER_CLIENT_KEYS = ["perClientConnections", "perClientRate", "perClientBurst"] as const;

/**
 * Reads the per-client keys of a `limits:` map.
 *
 * @param r The reader.
 * @param l The `limits:` fields (undefined when absent).
 * @returns The limits, or undefined when off (or bad: a problem was recorded).
 */
export function readPerClient(r: Reader, l: Fields | undefined): PerClientLimits | undefined {
  if (l === undefined) return undefined;
  const connections = r.int(l.get("perClientConnections"), 0) ?? 0;
  const rateVal = l.get("perClientRate");
  let rate = 0;
  if (rateVal !== undefined) {
    const raw = isScalar(rateVal.node) ? rateVal.node.value : undefined;
    if (raw === 0) rate = 0;
    else if (typeof raw !== "string") {
      r.problem(
        rateVal.at,
        rateVal.path,
        `${show(rateVal.node)} is not a rate; use COUNT/UNIT, like 100/s or 6000/m`,
      );
    } else {
      try {
        rate = parseRate(raw);
      } catch (e) {
        r.problem(rateVal.at, rateVal.path, (e as Error).message);
      }
    }
  }
  const burstVal = l.get("perClientBurst");
  const burst = r.int(burstVal, 1);
  if (burstVal !== undefined && rate === 0 && rateVal === undefined) {
    r.problem(burstVal.at, burstVal.path, "is the bucket of perClientRate; set perClientRate too");
  }
  return perClientLimits(connections, rate, burst);
}

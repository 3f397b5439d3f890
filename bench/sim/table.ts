/**
 * The simulation's result rows and their markdown table.
 *
 * @module
 */

import { BACKEND_NAMES, type BackendName } from "./backends.ts";

/** What one scenario measured. */
export interface SimRow {
  /** The scenario's name. */
  readonly scenario: string;
  /** Requests the clients completed or gave up on. */
  readonly requests: number;
  /** Median latency seen by the clients, in ms. */
  readonly p50Ms: number;
  /** 99th percentile latency seen by the clients, in ms. */
  readonly p99Ms: number;
  /** Answers that were not 2xx, by status. */
  readonly statuses: ReadonlyMap<number, number>;
  /** Requests that got no answer (connection error or timeout). */
  readonly transport: number;
  /** Reads each backend received. */
  readonly reads: Readonly<Record<BackendName, number>>;
}

/** The table's column headers, in order. */
export const COLUMNS: readonly string[] = [
  "scenario",
  "requests",
  "p50 ms",
  "p99 ms",
  "errors",
  "errors %",
  "non-2xx",
  "transport",
  ...BACKEND_NAMES.map((n) => `${n} %`),
];

/**
 * The value at quantile `q` of ascending `sorted` values (nearest rank).
 *
 * @param sorted Values in ascending order.
 * @param q A quantile in [0, 1].
 * @returns The value, or 0 when there is none.
 *
 * @example Usage
 * ```ts
 * import { quantile } from "./table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
 * ```
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

function cells(row: SimRow): string[] {
  const non2xx = [...row.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
  const errors = [...row.statuses.values()].reduce((a, b) => a + b, 0) + row.transport;
  const total = BACKEND_NAMES.reduce((sum, n) => sum + row.reads[n], 0);
  const share = (n: BackendName) => total === 0 ? "0.0" : (100 * row.reads[n] / total).toFixed(1);
  return [
    row.scenario,
    String(row.requests),
    row.p50Ms.toFixed(1),
    row.p99Ms.toFixed(1),
    String(errors),
    row.requests === 0 ? "0.0" : (100 * errors / row.requests).toFixed(1),
    non2xx.length === 0 ? "-" : non2xx.join(" "),
    String(row.transport),
    ...BACKEND_NAMES.map(share),
  ];
}

/**
 * Formats rows as a markdown table: one line per scenario, the share of
 * reads each backend received in percent.
 *
 * @param rows The measured scenarios.
 * @returns The table, lines joined by `\n`.
 *
 * @example Usage
 * ```ts
 * import { formatTable } from "./table.ts";
 * import assert from "node:assert/strict";
 * const reads = { "fast-a": 1, "fast-b": 1, slow: 0, flapping: 0, early: 0, dead: 0 };
 * const row = { scenario: "least", requests: 2, p50Ms: 1, p99Ms: 2, statuses: new Map(), transport: 0, reads };
 * assert.equal(formatTable([row]).split("\n").length, 3);
 * ```
 */
export function formatTable(rows: readonly SimRow[]): string {
  const body = rows.map(cells);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((r) => r[i].length)));
  const line = (r: readonly string[]) =>
    `| ${r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  const rule = `| ${
    widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ")
  } |`;
  return [line(COLUMNS), rule, ...body.map(line)].join("\n");
}

/**
 * The live terminal table, as a pure function of a stats snapshot and the
 * terminal's size: minio/sidekick's columns (SITE, HOST, STATUS, CALLS,
 * FAILURES, Rx, Tx, TOTAL DOWNTIME, LAST DOWNTIME, MIN LATENCY, MAX LATENCY)
 * for HTTP listeners, TIER and IN-FLIGHT instead of SITE for TCP and UDP
 * ones, one header line per listener, and the latest events at the bottom.
 * Columns that do not fit the width are dropped from the right; rows that
 * do not fit the height are counted in a last line.
 *
 * @module
 */

import type { EndpointStats, ListenerStats, SidecarStats } from "../sidecar.ts";
import { goDuration, humanBytes } from "../observe/log.ts";

/**
 * What one frame of the table shows.
 *
 * @example Usage
 * ```ts
 * import type { TableView } from "./table_render.ts";
 * const view: TableView = { stats: { state: "running", listeners: [] }, uptimeMs: 1000, events: [] };
 * ```
 */
export interface TableView {
  /** The sidecar's state. */
  readonly stats: SidecarStats;
  /** How long the table has run (ms). */
  readonly uptimeMs: number;
  /** The latest event lines, oldest first (shown when there is room). */
  readonly events: readonly string[];
}

/**
 * Options of {@linkcode renderTable}.
 *
 * @example Usage
 * ```ts
 * import type { RenderOptions } from "./table_render.ts";
 * const options: RenderOptions = { width: 120, height: 40, color: false };
 * ```
 */
export interface RenderOptions {
  /** Columns of the terminal. */
  readonly width: number;
  /** Rows of the terminal. */
  readonly height: number;
  /** Color the STATUS cells (ANSI SGR). @default false */
  readonly color?: boolean;
}

interface Column {
  readonly title: string;
  readonly cell: (e: EndpointStats) => string;
  /** Numbers are right-aligned. */
  readonly right?: boolean;
}

const DASH = "-";

function latency(ms: number | undefined): string {
  return ms === undefined ? DASH : goDuration(ms);
}

/** Downtime to 0.1 s, as minio/sidekick's table shows it. */
function downtime(ms: number | undefined): string {
  return goDuration(Math.round((ms ?? 0) / 100) * 100);
}

function status(e: EndpointStats): string {
  if (e.draining === true) return "DRAINING";
  return e.status === "up" ? "UP" : "DOWN";
}

/** Columns after the first (SITE or TIER) one, in the order they are dropped last to first. */
const COMMON: readonly Column[] = [
  { title: "HOST", cell: (e) => e.endpoint },
  { title: "STATUS", cell: status },
  { title: "CALLS", cell: (e) => String(e.requests), right: true },
  { title: "FAILURES", cell: (e) => String(e.failures), right: true },
  { title: "Rx", cell: (e) => humanBytes(e.rxBytes ?? 0), right: true },
  { title: "Tx", cell: (e) => humanBytes(e.txBytes ?? 0), right: true },
  { title: "TOTAL DOWNTIME", cell: (e) => downtime(e.downtimeMs), right: true },
  { title: "LAST DOWNTIME", cell: (e) => downtime(e.lastDowntimeMs), right: true },
  { title: "MIN LATENCY", cell: (e) => latency(e.minLatencyMs), right: true },
  { title: "MAX LATENCY", cell: (e) => latency(e.maxLatencyMs), right: true },
];

const HTTP_COLUMNS: readonly Column[] = [
  { title: "SITE", cell: (e) => String(e.site + 1), right: true },
  ...COMMON,
];

const L4_COLUMNS: readonly Column[] = [
  { title: "TIER", cell: (e) => String(e.site), right: true },
  COMMON[0],
  COMMON[1],
  { title: "IN-FLIGHT", cell: (e) => String(e.inFlight), right: true },
  ...COMMON.slice(2),
];

const GAP = "  ";
/** Columns kept however narrow the terminal: SITE (TIER), HOST, STATUS. */
const KEPT = 3;

/**
 * A duration for the header: `45s`, `12m05s`, `3h04m`, `2d03h`.
 *
 * @param ms The duration (ms).
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { formatUptime } from "./table_render.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatUptime(725_000), "12m05s");
 * ```
 */
export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

function cut(text: string, width: number): string {
  if (width <= 0) return "";
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/** Cuts from the left, keeping the end (a host's port tells endpoints apart). */
function cutLeft(text: string, width: number): string {
  if (width <= 0) return "";
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}

function headerLine(l: ListenerStats, uptimeMs: number): string {
  const address = l.address === null ? "(not bound)" : `${l.address.hostname}:${l.address.port}`;
  const up = l.endpoints.filter((e) => e.status === "up" && e.draining !== true).length;
  const name = l.name === l.kind ? "" : ` "${l.name}"`;
  const parts = [
    `${l.kind.toUpperCase()}${name} ${address}`,
    `policy ${l.policy ?? DASH}`,
    `up ${up}/${l.endpoints.length}`,
  ];
  if (l.servingSite !== undefined) {
    const noun = l.kind === "http" ? "site" : "tier";
    const shown = l.kind === "http" ? l.servingSite + 1 : l.servingSite;
    parts.push(l.servingSite < 0 ? "NO ENDPOINT AVAILABLE" : `serving ${noun} ${shown}`);
  }
  parts.push(`uptime ${formatUptime(uptimeMs)}`);
  return parts.join(" · ");
}

/** Fits the columns to the width: columns go from the right, then HOST shrinks. */
function fitColumns(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number,
): { count: number; widths: number[] } {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r[i].length)));
  let count = columns.length;
  const total = () => widths.slice(0, count).reduce((a, b) => a + b, 0) + GAP.length * (count - 1);
  while (count > KEPT && total() > width) count--;
  if (total() > width) widths[1] = Math.max(4, widths[1] - (total() - width));
  return { count, widths };
}

function listenerLines(l: ListenerStats, options: RenderOptions): string[] {
  const columns = l.kind === "http" ? HTTP_COLUMNS : L4_COLUMNS;
  const rows = l.endpoints.map((e) => columns.map((c) => c.cell(e)));
  const { count, widths } = fitColumns(columns, rows, options.width);
  const line = (cells: readonly string[], paint: boolean) =>
    cells.slice(0, count).map((text, i) => {
      const w = widths[i];
      const t = i === 1 ? cutLeft(text, w) : cut(text, w);
      const padded = columns[i].right === true ? t.padStart(w) : t.padEnd(w);
      if (!paint || columns[i].title !== "STATUS") return padded;
      const sgr = t === "UP" ? "32" : t === "DOWN" ? "31" : "33";
      return `\x1b[${sgr}m${padded}\x1b[0m`;
    }).join(GAP).trimEnd();
  return [
    line(columns.map((c) => c.title), false),
    ...rows.map((r) => line(r, options.color === true)),
  ];
}

/**
 * Renders one frame of the table: the title line, then per listener a
 * header line (kind, name, address, policy, endpoints up, serving site or
 * tier, uptime) and its endpoints, then the latest events when rows are
 * left. No line is longer than `width` (color codes aside) and there are at
 * most `height` lines.
 *
 * @param view The snapshot to show.
 * @param options The terminal's size, and color.
 * @returns The frame: lines joined by `\n`, no escape codes but colors.
 *
 * @example Usage
 * ```ts
 * import { renderTable } from "./table_render.ts";
 * import assert from "node:assert/strict";
 * const frame = renderTable({
 *   stats: { state: "running", listeners: [{
 *     name: "http-0", kind: "http", address: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
 *     connections: 0, policy: "least", servingSite: 0,
 *     endpoints: [{ endpoint: "http://127.0.0.1:9000", site: 0, status: "up", inFlight: 0, requests: 3, failures: 0 }],
 *   }] },
 *   uptimeMs: 5000,
 *   events: [],
 * }, { width: 120, height: 10 });
 * assert.match(frame, /SITE  HOST/);
 * assert.match(frame, /http:\/\/127\.0\.0\.1:9000  UP/);
 * ```
 */
export function renderTable(view: TableView, options: RenderOptions): string {
  const { width, height } = options;
  const title = `sidekick · ${view.stats.state} · uptime ${formatUptime(view.uptimeMs)}`;
  const body: string[] = [];
  for (const l of view.stats.listeners) {
    body.push("", cut(headerLine(l, view.uptimeMs), width), ...listenerLines(l, options));
  }
  const lines = [cut(title, width), ...body];
  if (lines.length > height) {
    const kept = lines.slice(0, Math.max(0, height - 1));
    const hidden = lines.length - kept.length;
    kept.push(cut(`… ${hidden} more line${hidden === 1 ? "" : "s"}: enlarge the terminal`, width));
    return kept.slice(0, height).join("\n");
  }
  const room = height - lines.length - 2;
  if (room > 0 && view.events.length > 0) {
    lines.push("", "EVENTS");
    for (const e of view.events.slice(-room)) lines.push(cut(e, width));
  }
  return lines.join("\n");
}

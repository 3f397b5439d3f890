/**
 * The metrics of the sidecar as a whole, rendered from
 * {@linkcode SidecarStats} and appended to the endpoint metrics of
 * `metrics.ts`: sidekick's own responses by status, failovers, reloads,
 * build information and the process's resource use.
 *
 * @module
 */

import type { SidecarStats } from "./stats.ts";
import { buildInfo } from "./build_info.ts";
import { escapeLabelValue, formatValue } from "./metrics.ts";
import { type ProcessInfo, readProcessInfo } from "./process_info.ts";

function block(name: string, type: string, help: string, lines: readonly string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${lines.map((l) => `${l}\n`).join("")}`;
}

/**
 * Renders the sidecar-wide families (each with HELP and TYPE, every line
 * ending with a newline).
 *
 * Families: `sidekick_own_responses_total{listener,status}`,
 * `sidekick_failovers_total{listener}`, `sidekick_failbacks_total{listener}`,
 * `sidekick_retries_total{listener}`,
 * `sidekick_reloads_total{result}`, `sidekick_last_reload_timestamp_seconds`,
 * `sidekick_build_info{version,deno,v8,typescript}`,
 * `process_resident_memory_bytes`, `process_cpu_seconds_total`,
 * `process_start_time_seconds` and, where they can be counted,
 * `process_open_fds`.
 *
 * @param stats The sidecar's stats.
 * @param process The process reading. @default read now
 * @returns The exposition text.
 *
 * @example Usage
 * ```ts
 * import { renderSidecarMetrics } from "./sidecar_metrics.ts";
 * import assert from "node:assert/strict";
 * const text = renderSidecarMetrics({ state: "running", listeners: [] });
 * assert.ok(text.includes('sidekick_reloads_total{result="success"} 0'));
 * ```
 */
export function renderSidecarMetrics(
  stats: SidecarStats,
  process: ProcessInfo = readProcessInfo(),
): string {
  const own: string[] = [], failovers: string[] = [], failbacks: string[] = [];
  const retries: string[] = [];
  for (const l of stats.listeners) {
    const listener = `listener="${escapeLabelValue(l.name)}"`;
    const statuses = [...(l.ownResponses ?? new Map<number, number>())].sort(([a], [b]) => a - b);
    for (const [status, n] of statuses) {
      own.push(`sidekick_own_responses_total{${listener},status="${status}"} ${n}`);
    }
    failovers.push(`sidekick_failovers_total{${listener}} ${l.failovers ?? 0}`);
    failbacks.push(`sidekick_failbacks_total{${listener}} ${l.failbacks ?? 0}`);
    retries.push(`sidekick_retries_total{${listener}} ${l.retries ?? 0}`);
  }
  const r = stats.reloads ?? { succeeded: 0, failed: 0, lastAt: null };
  const b = buildInfo();
  const out = [
    block(
      "sidekick_own_responses_total",
      "counter",
      "Responses sidekick wrote itself instead of relaying one: 502/504 when no endpoint " +
        "answered, 400/414/431 for bad requests, and its own paths, by status.",
      own,
    ),
    block(
      "sidekick_failovers_total",
      "counter",
      "Times new work moved to a later site (tier) because the earlier ones had no endpoint up.",
      failovers,
    ),
    block(
      "sidekick_failbacks_total",
      "counter",
      "Times new work moved back to an earlier site (tier) that recovered.",
      failbacks,
    ),
    block(
      "sidekick_retries_total",
      "counter",
      "Attempts on another endpoint after an attempt failed in transport (HTTP).",
      retries,
    ),
    block("sidekick_reloads_total", "counter", "Configuration reloads, by result.", [
      `sidekick_reloads_total{result="success"} ${r.succeeded}`,
      `sidekick_reloads_total{result="failure"} ${r.failed}`,
    ]),
    block(
      "sidekick_last_reload_timestamp_seconds",
      "gauge",
      "When the last reload (either result) finished, seconds since the epoch; 0 before any.",
      [`sidekick_last_reload_timestamp_seconds ${r.lastAt === null ? 0 : r.lastAt / 1000}`],
    ),
    block("sidekick_build_info", "gauge", "Always 1; the labels say what runs.", [
      `sidekick_build_info{version="${escapeLabelValue(b.version)}",deno="${
        escapeLabelValue(b.deno)
      }",v8="${escapeLabelValue(b.v8)}",typescript="${escapeLabelValue(b.typescript)}"} 1`,
    ]),
    block("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [
      `process_resident_memory_bytes ${process.rssBytes}`,
    ]),
    block("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.", [
      `process_cpu_seconds_total ${formatValue(process.cpuSeconds)}`,
    ]),
    block(
      "process_start_time_seconds",
      "gauge",
      "Start time of the process since the epoch in seconds.",
      [`process_start_time_seconds ${formatValue(process.startTimeSeconds)}`],
    ),
  ];
  if (process.openFds !== null) {
    out.push(block("process_open_fds", "gauge", "Number of open file descriptors.", [
      `process_open_fds ${process.openFds}`,
    ]));
  }
  return out.join("");
}

/**
 * The process's own resource use, read where the platform and the granted
 * permissions allow (no prompt is ever opened): resident memory and CPU time
 * always, open file descriptors only with full read access (Deno asks for
 * `--allow-all` to list `/proc/self/fd`).
 *
 * @module
 */

import process from "node:process";

/**
 * One reading of the process's resource use.
 *
 * @example Usage
 * ```ts
 * import type { ProcessInfo } from "./process_info.ts";
 * const p: ProcessInfo = { rssBytes: 1, cpuSeconds: 0.5, openFds: null, startTimeSeconds: 0 };
 * ```
 */
export interface ProcessInfo {
  /** Resident set size. */
  readonly rssBytes: number;
  /** User plus system CPU time. */
  readonly cpuSeconds: number;
  /** Open file descriptors, or null when they cannot be counted here. */
  readonly openFds: number | null;
  /** When the process started, seconds since the epoch. */
  readonly startTimeSeconds: number;
}

const STARTED = (Date.now() - performance.now()) / 1000;

/**
 * Reads the process's resource use now.
 *
 * @returns The reading.
 *
 * @example Usage
 * ```ts
 * import { readProcessInfo } from "./process_info.ts";
 * import assert from "node:assert/strict";
 * assert.ok(readProcessInfo().rssBytes > 0);
 * ```
 */
export function readProcessInfo(): ProcessInfo {
  const cpu = process.cpuUsage();
  return {
    rssBytes: Deno.memoryUsage().rss,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    openFds: countOpenFds(),
    startTimeSeconds: Math.round(STARTED * 1000) / 1000,
  };
}

function countOpenFds(): number | null {
  if (Deno.build.os !== "linux") return null;
  // Only with full read access: a narrower grant would be refused, and none would prompt.
  if (Deno.permissions.querySync({ name: "read" }).state !== "granted") return null;
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n;
  } catch {
    return null;
  }
}

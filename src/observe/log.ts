/**
 * Console lines in minio/sidekick's formats: `LOG` lines for health
 * transitions and trace lines per request, as text or JSON. Formatting is
 * pure; writing is one call to a sink. Nothing here runs unless asked for.
 *
 * @module
 */

import type { LogSpec } from "../config/schema.ts";
import type { HealthEvent } from "../health/checker.ts";

/**
 * One traced request.
 *
 * @example Usage
 * ```ts
 * import type { TraceRecord } from "./log.ts";
 * const r: TraceRecord = {
 *   time: 0, endpoint: "http://127.0.0.1:9000", client: "127.0.0.1", method: "GET", path: "/a", query: "",
 *   status: 200, rx: 100, tx: 2048, latencyMs: 1.5, ttfbMs: 1.2,
 * };
 * ```
 */
export interface TraceRecord {
  /** When the request started (ms since epoch). */
  readonly time: number;
  /** The endpoint that served it (or "" when none did). */
  readonly endpoint: string;
  /** The client's IP. */
  readonly client: string;
  /** Method. */
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** Query without `?`. */
  readonly query: string;
  /** Status sent to the client. */
  readonly status: number;
  /** Bytes received from the client (head and body). */
  readonly rx: number;
  /** Bytes sent to the client (head and body). */
  readonly tx: number;
  /** Total time (ms). */
  readonly latencyMs: number;
  /** Time to the first response byte (ms). */
  readonly ttfbMs: number;
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Formats a health transition like minio/sidekick's `LOG` line.
 *
 * @param event The transition.
 * @param json JSON instead of text.
 * @param now The time (ms).
 * @returns One line, without a newline.
 *
 * @example Usage
 * ```ts
 * import { formatHealthEvent } from "./log.ts";
 * import assert from "node:assert/strict";
 * const line = formatHealthEvent(
 *   { endpoint: "http://h:9000", status: "down", detail: "connection refused", downtimeMs: 0 }, false, 0,
 * );
 * assert.equal(line, "LOG  : 00:00:00.000  http://h:9000 is down: connection refused");
 * ```
 */
export function formatHealthEvent(event: HealthEvent, json: boolean, now: number): string {
  if (json) {
    return JSON.stringify({
      Type: "LOG",
      Endpoint: event.endpoint,
      Error: event.status === "down" ? event.detail : "",
      Status: event.status === "up" ? "online" : "offline",
      Downtime: event.downtimeMs * 1e6,
      Timestamp: new Date(now).toISOString(),
    });
  }
  const tail = event.status === "down"
    ? `is down: ${event.detail}`
    : `is up Downtime duration: ${(event.downtimeMs / 1000).toFixed(1)}s`;
  return `LOG  : ${clock(now)}  ${event.endpoint} ${tail}`;
}

/**
 * Whether a request with this status is traced under `spec`.
 *
 * @param spec Log settings.
 * @param status The response status.
 * @returns True to trace.
 *
 * @example Usage
 * ```ts
 * import { shouldTrace } from "./log.ts";
 * import { DEFAULT_LOG } from "../config/schema.ts";
 * shouldTrace({ ...DEFAULT_LOG, trace: "all", errorsOnly: true }, 200); // false
 * ```
 */
export function shouldTrace(spec: LogSpec, status: number): boolean {
  if (spec.quiet || spec.trace === "off") return false;
  if (spec.errorsOnly && (status < 400 || status > 599)) return false;
  return spec.statusCodes.length === 0 || spec.statusCodes.includes(status);
}

/**
 * Formats a traced request like minio/sidekick's short trace.
 *
 * @param r The request.
 * @param json JSON instead of text.
 * @returns One line, without a newline.
 *
 * @example Usage
 * ```ts
 * import { formatTrace } from "./log.ts";
 * import assert from "node:assert/strict";
 * const line = formatTrace({
 *   time: 0, endpoint: "http://h:9000", client: "10.0.0.1", method: "GET", path: "/a", query: "x=1",
 *   status: 200, rx: 100, tx: 2048, latencyMs: 1.25, ttfbMs: 1,
 * }, false);
 * assert.equal(line, "LOG: 00:00:00.000 [200 OK]  http://h:9000 GET /a?x=1 10.0.0.1  1.25ms  ↑ 100 B ↓ 2.0 KiB");
 * ```
 */
export function formatTrace(r: TraceRecord, json: boolean): string {
  const statusMsg = STATUS_TEXT[r.status] ?? "";
  if (json) {
    return JSON.stringify({
      type: "Bucket",
      host: r.endpoint,
      time: new Date(r.time).toISOString(),
      client: r.client,
      callStats: {
        rx: r.rx,
        tx: r.tx,
        latency: r.latencyMs * 1e6,
        timetofirstbyte: r.ttfbMs * 1e6,
      },
      statusCode: r.status,
      statusMsg,
      method: r.method,
      path: r.path,
      query: r.query,
    });
  }
  const target = r.query === "" ? r.path : `${r.path}?${r.query}`;
  return `LOG: ${
    clock(r.time)
  } [${r.status} ${statusMsg}]  ${r.endpoint} ${r.method} ${target} ${r.client}  ` +
    `${Number(r.latencyMs.toFixed(2))}ms  ↑ ${humanBytes(r.rx)} ↓ ${humanBytes(r.tx)}`;
}

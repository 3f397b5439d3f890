/**
 * Console lines in minio/sidekick's formats: `LOG` lines for health
 * transitions and trace lines per request, as text or JSON, short or
 * `--debug` (multi-line, with headers). Formatting is pure; writing is one
 * call to a sink. Nothing here runs unless tracing is on.
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
  /** The endpoint that served it (or the last one tried; "" when none was). */
  readonly endpoint: string;
  /** The client's IP. */
  readonly client: string;
  /** Method. */
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** Query without `?`. */
  readonly query: string;
  /** Status sent to the client (0 when the connection ended before a response). */
  readonly status: number;
  /** Bytes received from the client (head and body). */
  readonly rx: number;
  /** Bytes sent to the client (head and body). */
  readonly tx: number;
  /** Total time (ms). */
  readonly latencyMs: number;
  /** Time to the first response byte (ms). */
  readonly ttfbMs: number;
  /** Request header lines as sent by the client (`--debug` only). */
  readonly requestHeaders?: readonly (readonly [string, string])[] | undefined;
  /** Response header lines as sent by the endpoint (`--debug` only). */
  readonly responseHeaders?: readonly (readonly [string, string])[] | undefined;
  /** Why a traced health check failed (`callStats.healthError`); absent for requests. */
  readonly healthError?: string;
}

const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Request Entity Too Large",
  414: "Request URI Too Long",
  416: "Requested Range Not Satisfiable",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/**
 * go-humanize `IBytes`: `100 B`, `2.0 KiB`, `15 KiB`, `1.5 MiB` (one decimal below 10).
 *
 * @param n A byte count.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { humanBytes } from "./log.ts";
 * import assert from "node:assert/strict";
 * assert.equal(humanBytes(2048), "2.0 KiB");
 * ```
 */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1024)), units.length - 1);
  const v = Math.floor((n / 1024 ** e) * 10 + 0.5) / 10;
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[e]}`;
}

/**
 * A time as Go's `time.Time` marshals to JSON (RFC 3339 with the fraction's
 * trailing zeros trimmed): `2024-01-02T15:04:05.12Z`, `1970-01-01T00:00:00Z`.
 *
 * @param ms Milliseconds since the epoch.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { goTime } from "./log.ts";
 * import assert from "node:assert/strict";
 * assert.equal(goTime(0), "1970-01-01T00:00:00Z");
 * assert.equal(goTime(120), "1970-01-01T00:00:00.12Z");
 * ```
 */
export function goTime(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString();
  return iso.replace(/\.?0*Z$/, "Z");
}

/**
 * A duration as Go prints a `time.Duration` rounded to microseconds:
 * `350µs`, `1.25ms`, `2.5s`, `1m2.5s`.
 *
 * @param ms The duration in milliseconds.
 * @returns The text.
 *
 * @example Usage
 * ```ts
 * import { goDuration } from "./log.ts";
 * import assert from "node:assert/strict";
 * assert.equal(goDuration(0.35), "350µs");
 * assert.equal(goDuration(1.25), "1.25ms");
 * assert.equal(goDuration(62_500), "1m2.5s");
 * ```
 */
export function goDuration(ms: number): string {
  const us = Math.round(ms * 1000);
  if (us === 0) return "0s";
  if (us < 1000) return `${us}µs`;
  if (us < 1_000_000) return `${trimZeros((us / 1000).toFixed(3))}ms`;
  const totalSeconds = us / 1e6;
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = `${trimZeros((totalSeconds - minutes * 60).toFixed(6))}s`;
  if (minutes === 0) return seconds;
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours}h${minutes % 60}m${seconds}` : `${minutes}m${seconds}`;
}

function trimZeros(fixed: string): string {
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/**
 * Formats a health transition like minio/sidekick's `LOG` line. Text:
 * `LOG  : 15:04:05.000  <endpoint> is down: <error>` and `... is up Downtime
 * duration: 1.5s`. JSON: `Type, Endpoint, Error, Status (up/down), Downtime
 * (ns), Timestamp`, where `Error` and `Downtime` are left out when empty, as
 * the original's `omitempty` does (`Error` is the message; the original
 * marshals its Go error value as `{}`).
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
  const error = event.status === "down" ? event.detail : "";
  const downtimeNs = event.status === "up" ? Math.round(event.downtimeMs * 1e6) : 0;
  if (json) {
    return JSON.stringify({
      Type: "LOG",
      Endpoint: event.endpoint,
      ...(error !== "" ? { Error: error } : {}),
      Status: event.status,
      ...(downtimeNs > 0 ? { Downtime: downtimeNs } : {}),
      Timestamp: goTime(now),
    });
  }
  const tail = error !== ""
    ? `: ${error}`
    : downtimeNs > 0
    ? ` Downtime duration: ${goDuration(event.downtimeMs)}`
    : "";
  return `LOG  : ${clock(now)}  ${event.endpoint} is ${event.status}${tail}`;
}

/**
 * Whether a request with this status is traced under `spec` (the status
 * filters `--errors` and `--status-code`, `--quiet`, and trace off).
 *
 * @param spec Log settings.
 * @param status The response status.
 * @returns True to trace.
 *
 * @example Usage
 * ```ts
 * import { shouldTrace } from "./log.ts";
 * import { DEFAULT_LOG } from "../config/defaults.ts";
 * shouldTrace({ ...DEFAULT_LOG, trace: "all", errorsOnly: true }, 200); // false
 * ```
 */
export function shouldTrace(spec: LogSpec, status: number): boolean {
  if (spec.quiet || spec.trace === "off") return false;
  if (spec.errorsOnly && (status < 400 || status > 599)) return false;
  return spec.statusCodes.length === 0 || spec.statusCodes.includes(status);
}

/**
 * The `--trace minio` rule of minio/sidekick: only requests whose path is a
 * substring of the endpoint's health check URL.
 *
 * @param spec Log settings.
 * @param path The request path.
 * @param healthUrl The endpoint's health URL (`http://host:port/base/health/path`).
 * @returns True when the mode lets the request be traced.
 *
 * @example Usage
 * ```ts
 * import { traceModeAllows } from "./log.ts";
 * import { DEFAULT_LOG } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const spec = { ...DEFAULT_LOG, trace: "minio" as const };
 * assert.equal(traceModeAllows(spec, "/minio/health/live", "http://h:9000/minio/health/live"), true);
 * assert.equal(traceModeAllows(spec, "/bucket/object", "http://h:9000/minio/health/live"), false);
 * ```
 */
export function traceModeAllows(spec: LogSpec, path: string, healthUrl: string): boolean {
  return spec.trace !== "minio" || healthUrl.includes(path);
}

/**
 * Formats a traced request like minio/sidekick: the short one-line trace, or
 * with `debug` the multi-line trace with every header (bodies appear as
 * `<BODY>`: the proxy streams them and keeps no copy).
 *
 * @param r The request.
 * @param json JSON instead of text.
 * @param debug The `--debug` form.
 * @returns The text, without a final newline.
 *
 * @example Usage
 * ```ts
 * import { formatTrace } from "./log.ts";
 * import assert from "node:assert/strict";
 * const line = formatTrace({
 *   time: 0, endpoint: "http://h:9000", client: "10.0.0.1", method: "GET", path: "/a", query: "x=1",
 *   status: 200, rx: 100, tx: 2048, latencyMs: 1.25, ttfbMs: 1,
 * }, false);
 * assert.equal(
 *   line,
 *   "   LOG: 00:00:00.000 [200 OK]  http://h:9000 GET /a?x=1 10.0.0.1          1.25ms       ↑ 100 B ↓ 2.0 KiB",
 * );
 * ```
 */
export function formatTrace(r: TraceRecord, json: boolean, debug = false): string {
  if (debug) return json ? debugJson(r) : debugText(r);
  const statusMsg = STATUS_TEXT[r.status] ?? "";
  if (json) {
    return JSON.stringify({
      type: "TRACE",
      host: r.endpoint,
      time: goTime(r.time),
      client: r.client,
      callStats: {
        rx: r.rx,
        tx: r.tx,
        latency: Math.round(r.latencyMs * 1e6),
        timetofirstbyte: Math.round(r.ttfbMs * 1e6),
        healthError: r.healthError ?? null,
      },
      statusCode: r.status,
      statusMsg,
      method: r.method,
      path: r.path,
      query: r.query,
    });
  }
  const target = r.query === "" ? r.path : `${r.path}?${r.query}`;
  const latency = goDuration(r.latencyMs).padStart(2);
  return `   LOG: ${
    clock(r.time)
  } [${r.status} ${statusMsg}]  ${r.endpoint} ${r.method} ${target} ` +
    `${r.client} ${goPad(15 - r.client.length)}  ${latency}${goPad(12 - utf8Length(latency))}` +
    ` ↑ ${humanBytes(r.rx)} ↓ ${humanBytes(r.tx)}`;
}

/** What Go's `fmt.Sprintf("%*s", width, " ")` prints: spaces to |width|, at least one. */
function goPad(width: number): string {
  return " ".repeat(Math.max(1, Math.abs(width)));
}

/** Go's `len` of a string: its UTF-8 bytes (`µ` counts 2). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) n++;
  return n;
}

function debugText(r: TraceRecord): string {
  const p = `DEBUG: ${r.endpoint} `;
  const target = r.query === "" ? r.path : `${r.path}?${r.query}`;
  const lines = [`${p}[REQUEST] ${clock(r.time)}`, `${p}${r.method} ${target}`];
  for (const [k, v] of r.requestHeaders ?? []) lines.push(`${p}${k}: ${v}`);
  lines.push(`${p}<BODY>`);
  lines.push(
    `${p}[RESPONSE] [${clock(r.time + r.latencyMs)}] [ Duration ${goDuration(r.latencyMs)}  ` +
      `↑ ${humanBytes(r.rx)}  ↓ ${humanBytes(r.tx)} ]`,
  );
  lines.push(`${p}${r.status} ${STATUS_TEXT[r.status] ?? ""}`);
  for (const [k, v] of r.responseHeaders ?? []) lines.push(`${p}${k}: ${v}`);
  lines.push(`${p}<BODY>`);
  return lines.join("\n");
}

function headerMap(lines: readonly (readonly [string, string])[] | undefined) {
  const out: Record<string, string[]> = {};
  for (const [k, v] of lines ?? []) (out[k] ??= []).push(v);
  return out;
}

function debugJson(r: TraceRecord): string {
  return JSON.stringify({
    type: "DEBUG",
    nodename: r.endpoint,
    request: {
      time: goTime(r.time),
      method: r.method,
      path: r.path,
      rawquery: r.query,
      headers: headerMap(r.requestHeaders),
      body: "<BODY>",
      client: r.client,
    },
    response: {
      time: goTime(r.time + r.latencyMs),
      headers: headerMap(r.responseHeaders),
      body: "<BODY>",
      statuscode: r.status,
    },
    stats: {
      rx: r.rx,
      tx: r.tx,
      latency: Math.round(r.latencyMs * 1e6),
      timetofirstbyte: Math.round(r.ttfbMs * 1e6),
    },
  });
}

/**
 * A trace sink that formats each record as `spec` says and writes it.
 *
 * @param spec Log settings (`json`, `debug`).
 * @param write Takes one formatted record (one line, or several with `debug`).
 * @returns The sink, for the HTTP proxy's `onTrace` option.
 *
 * @example Usage
 * ```ts
 * import { traceWriter } from "./log.ts";
 * import { DEFAULT_LOG } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const sink = traceWriter({ ...DEFAULT_LOG, trace: "all", json: true }, (l) => lines.push(l));
 * sink({ time: 0, endpoint: "e", client: "c", method: "GET", path: "/", query: "", status: 200, rx: 1, tx: 2, latencyMs: 1, ttfbMs: 1 });
 * assert.equal(JSON.parse(lines[0]).statusCode, 200);
 * ```
 */
export function traceWriter(
  spec: LogSpec,
  write: (text: string) => void,
): (r: TraceRecord) => void {
  return (r) => write(formatTrace(r, spec.json, spec.debug));
}

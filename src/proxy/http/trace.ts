/**
 * Request tracing for the HTTP core: what a traced exchange captures (only
 * when tracing is on, so an untraced request makes no strings), and the
 * {@linkcode TraceRecord} handed to the sink when the filters let it through.
 *
 * @module
 */

import type { LogSpec } from "../../config/schema.ts";
import { shouldTrace, traceModeAllows, type TraceRecord } from "../../observe/log.ts";
import { latin1 } from "./ascii.ts";
import { F_NAME, F_NAME_END, F_VALUE, F_VALUE_END, FIELD_STRIDE } from "./message_head.ts";
import type { MessageHead } from "./message_head.ts";
import type { ExchangeState } from "./relay.ts";

/**
 * What a traced exchange (HTTP/1.1 or an h2 stream) tells its trace record.
 *
 * @example Usage
 * ```ts
 * import type { TraceSource } from "./trace.ts";
 * const x: TraceSource = {
 *   status: 200, target: "/a", tried: null, wallStart: Date.now(), method: "GET", rx: 0, tx: 2,
 *   start: performance.now(), firstByteAt: 0, requestHeaders: undefined, responseHeaders: undefined,
 * };
 * ```
 */
export type TraceSource = Pick<
  ExchangeState,
  | "status"
  | "target"
  | "tried"
  | "wallStart"
  | "method"
  | "rx"
  | "tx"
  | "start"
  | "firstByteAt"
  | "requestHeaders"
  | "responseHeaders"
>;

/**
 * Where traces go and which ones: the log settings and the sink.
 *
 * @example Usage
 * ```ts
 * import type { HttpTracer } from "./trace.ts";
 * import { DEFAULT_LOG } from "../../config/defaults.ts";
 * const tracer: HttpTracer = { spec: { ...DEFAULT_LOG, trace: "all" }, sink: (r) => console.log(r.path) };
 * ```
 */
export interface HttpTracer {
  /** Mode, filters and form (`debug` captures headers). */
  readonly spec: LogSpec;
  /** Takes each record that passes the filters; a sink that throws is ignored. */
  readonly sink: (record: TraceRecord) => void;
}

/**
 * The header lines of a parsed head, as text pairs.
 *
 * @param buf The buffer the head was parsed from.
 * @param head The parse.
 * @returns `[name, value]` per line, in order.
 *
 * @example Usage
 * ```ts
 * import { headerPairs } from "./trace.ts";
 * import { MessageHead, parseResponseHead } from "./head.ts";
 * import assert from "node:assert/strict";
 * const buf = new TextEncoder().encode("HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
 * const head = new MessageHead(4);
 * parseResponseHead({ buf, start: 0 }, buf.length, head, 4);
 * assert.deepEqual(headerPairs(buf, head), [["A", "1"]]);
 * ```
 */
export function headerPairs(buf: Uint8Array, head: MessageHead): [string, string][] {
  const f = head.fields, out: [string, string][] = [];
  for (let h = 0; h < head.headerCount; h++) {
    const o = h * FIELD_STRIDE;
    out.push([
      latin1(buf, f[o + F_NAME], f[o + F_NAME_END]),
      latin1(buf, f[o + F_VALUE], f[o + F_VALUE_END]),
    ]);
  }
  return out;
}

/**
 * Captures the request's method, target and (for `debug`) headers, before the
 * body pump can reuse the buffer they are in.
 *
 * @param x The exchange (tracing).
 * @param buf The client buffer.
 * @param head The request head.
 * @param debug Whether to keep the header lines.
 *
 * @example Usage
 * ```ts ignore
 * if (x.tracing) captureRequest(x, buf, head, tracer.spec.debug);
 * ```
 */
export function captureRequest(
  x: ExchangeState,
  buf: Uint8Array,
  head: MessageHead,
  debug: boolean,
): void {
  x.method = latin1(buf, head.methodStart, head.methodEnd);
  x.target = latin1(buf, head.pathStart, head.targetEnd);
  if (debug) x.requestHeaders = headerPairs(buf, head);
}

/**
 * Hands a finished exchange to the tracer's sink if the filters let it
 * through (status filters, `quiet`, and the `minio` mode's health-URL rule).
 *
 * @param tracer The tracer.
 * @param x The finished exchange.
 * @param client The client's IP.
 *
 * @example Usage
 * ```ts ignore
 * if (x.tracing) emitTrace(tracer, x, "127.0.0.1");
 * ```
 */
export function emitTrace(tracer: HttpTracer, x: TraceSource, client: string): void {
  const spec = tracer.spec;
  if (!shouldTrace(spec, x.status)) return;
  const q = x.target.indexOf("?");
  const path = q >= 0 ? x.target.slice(0, q) : x.target === "" ? "/" : x.target;
  const e = x.tried;
  if (spec.trace === "minio") {
    if (e === null) return;
    if (!traceModeAllows(spec, path, e.key + e.spec.basePath + e.healthPath)) return;
  }
  const end = performance.now();
  const record: TraceRecord = {
    time: x.wallStart,
    endpoint: e?.key ?? "",
    client,
    method: x.method,
    path,
    query: q >= 0 ? x.target.slice(q + 1) : "",
    status: x.status,
    rx: x.rx,
    tx: x.tx,
    latencyMs: end - x.start,
    ttfbMs: x.firstByteAt === 0 ? end - x.start : x.firstByteAt - x.start,
    requestHeaders: x.requestHeaders,
    responseHeaders: x.responseHeaders,
  };
  try {
    tracer.sink(record);
  } catch {
    // a sink's failure is its own
  }
}

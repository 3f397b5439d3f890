/**
 * Health probes over HTTP/2, on one client session per probe: a GET of the
 * health path (an HTTP probe of an `h2c`/`h2` endpoint) and the gRPC health
 * protocol (`grpc.health.v1.Health/Check`, passing on SERVING). `h2c` and
 * `http` endpoints are spoken to in cleartext with prior knowledge; `h2` and
 * `https` endpoints over TLS with ALPN `h2`, with the proxy's TLS settings.
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";
import { type Clock, SYSTEM_CLOCK } from "../pool/clock.ts";
import { dialEndpoint } from "../pool/dial.ts";
import { H2Session, type H2Stream, H2StreamError } from "../h2/session.ts";
import { errorName } from "../h2/frame.ts";
import {
  authority,
  type HttpProbeOptions,
  type ProbeResult,
  runProbe,
  statusResult,
} from "./http_probe.ts";

/**
 * Options of {@linkcode probeH2}: those of the HTTP/1.1 probe (the path is
 * unused by the gRPC check; TLS applies to `h2` and `https` endpoints), and
 * the gRPC service.
 *
 * @example Usage
 * ```ts
 * import type { H2ProbeOptions } from "./h2_probe.ts";
 * const grpc: H2ProbeOptions = { path: "/", port: 0, timeoutMs: 1000, grpcService: "" };
 * ```
 */
export interface H2ProbeOptions extends HttpProbeOptions {
  /** When set, a gRPC health check of this service ("" = the server) instead of a GET. */
  readonly grpcService?: string | undefined;
  /** The session's clock (its SETTINGS timeout). @default SYSTEM_CLOCK */
  readonly clock?: Clock;
}

/** The gRPC health check's path. */
export const GRPC_HEALTH_PATH = "/grpc.health.v1.Health/Check";

/** The names of `HealthCheckResponse.ServingStatus`, by number. */
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/** Most bytes of a probe's response body read (a health answer is a few bytes). */
const MAX_BODY = 16 * 1024;

/**
 * Probes one endpoint over HTTP/2: a GET of `options.path`, or the gRPC
 * health check when `options.grpcService` is set.
 *
 * @param endpoint The endpoint.
 * @param options Path or gRPC service, port, timeout, TLS.
 * @returns Whether it passed; never rejects.
 *
 * @example Usage
 * ```ts ignore
 * import { probeH2 } from "./h2_probe.ts";
 * const r = await probeH2({ scheme: "h2c", host: "127.0.0.1", port: 50051, basePath: "" }, {
 *   path: "/", port: 0, timeoutMs: 1_000, grpcService: "",
 * });
 * ```
 */
export function probeH2(endpoint: EndpointSpec, options: H2ProbeOptions): Promise<ProbeResult> {
  const port = options.port || endpoint.port;
  const tls = endpoint.scheme === "h2" || endpoint.scheme === "https";
  return runProbe(options, async ({ signal, own }) => {
    const conn = own(
      await dialEndpoint({ scheme: tls ? "h2" : "h2c", host: endpoint.host, port }, {
        port,
        timeoutMs: options.timeoutMs,
        tls: options.tls,
        addresses: options.addresses,
        signal,
      }),
    );
    const session = own(
      new H2Session(conn, { role: "client", clock: options.clock ?? SYSTEM_CLOCK }),
    );
    const running = session.run();
    const grpc = options.grpcService !== undefined;
    const fields = [
      ":method",
      grpc ? "POST" : "GET",
      ":scheme",
      tls ? "https" : "http",
      ":authority",
      authority(endpoint.host, port),
      ":path",
      grpc ? GRPC_HEALTH_PATH : options.path,
      "user-agent",
      "sidekick-health",
    ];
    try {
      return await exchange(session, fields, options);
    } catch (e) {
      if (!(e instanceof H2StreamError) || signal.aborted) throw e;
      // A peer that does not speak HTTP/2 ends the session before any answer.
      return {
        passed: false,
        detail: `no HTTP/2 answer (stream reset: ${errorName(e.code)}); ` +
          "an HTTP/1.1-only endpoint does this: write it as http:// or https://",
      };
    } finally {
      session.close();
      await running;
    }
  });
}

/** Sends the probe's request (a GET, or the gRPC check when a service is set) and judges the answer. */
async function exchange(
  session: H2Session,
  fields: string[],
  options: H2ProbeOptions,
): Promise<ProbeResult> {
  if (options.grpcService === undefined) {
    const stream = session.request(fields, true);
    const head = await stream.response();
    stream.reset(); // the body is not needed
    return statusResult(Number(field(head, ":status")), options.statuses);
  }
  fields.push("content-type", "application/grpc", "te", "trailers");
  const stream = session.request(fields, false);
  await stream.write(grpcFrame(healthCheckRequest(options.grpcService)));
  await stream.end();
  return await grpcHealthResult(stream);
}

/** Reads a gRPC health answer: HTTP 200, grpc-status 0, and a HealthCheckResponse. */
async function grpcHealthResult(stream: H2Stream): Promise<ProbeResult> {
  const head = await stream.response();
  const status = field(head, ":status");
  if (status !== "200") return { passed: false, detail: `HTTP status ${status}` };
  const body = new Uint8Array(MAX_BODY);
  let got = 0;
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {
    const n = Math.min(chunk.length, MAX_BODY - got);
    body.set(chunk.subarray(0, n), got);
    got += n;
  }
  // A trailers-only answer (an error) carries grpc-status in the head.
  const trailers = stream.trailers ?? head;
  const code = field(trailers, "grpc-status");
  if (code !== "0") {
    const message = field(trailers, "grpc-message");
    return {
      passed: false,
      detail: `grpc-status ${code ?? "missing"}${
        message ? ` (${decodeURIComponent(message)})` : ""
      }`,
    };
  }
  const serving = healthStatus(body.subarray(0, got));
  if (serving < 0) return { passed: false, detail: "malformed HealthCheckResponse" };
  return {
    passed: serving === 1,
    detail: SERVING_STATUS[serving] ?? `serving status ${serving}`,
  };
}

/**
 * The value of the first field named `name` in a flat field list.
 *
 * @param fields `[name0, value0, name1, value1, ...]`.
 * @param name A lowercase name.
 * @returns Its value, or undefined.
 *
 * @example Usage
 * ```ts
 * import { field } from "./h2_probe.ts";
 * import assert from "node:assert/strict";
 * assert.equal(field([":status", "200", "grpc-status", "0"], "grpc-status"), "0");
 * ```
 */
export function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * One gRPC message frame: a zero compression flag, the length (4 bytes, big
 * endian), then the message.
 *
 * @param message The serialised message.
 * @returns The frame.
 *
 * @example Usage
 * ```ts
 * import { grpcFrame } from "./h2_probe.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...grpcFrame(new Uint8Array([8, 1]))], [0, 0, 0, 0, 2, 8, 1]);
 * ```
 */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/**
 * A serialised `grpc.health.v1.HealthCheckRequest { string service = 1; }`.
 *
 * @param service The service name ("" = the whole server: an empty message).
 * @returns The protobuf bytes.
 *
 * @example Usage
 * ```ts
 * import { healthCheckRequest } from "./h2_probe.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...healthCheckRequest("a")], [0x0a, 1, 97]);
 * assert.equal(healthCheckRequest("").length, 0);
 * ```
 */
export function healthCheckRequest(service: string): Uint8Array {
  const name = new TextEncoder().encode(service);
  if (name.length === 0) return name;
  const out: number[] = [0x0a];
  for (let n = name.length;; n >>>= 7) {
    if (n < 0x80) {
      out.push(n);
      break;
    }
    out.push((n & 0x7f) | 0x80);
  }
  return new Uint8Array([...out, ...name]);
}

/**
 * The serving status in a gRPC-framed `HealthCheckResponse { ServingStatus
 * status = 1; }` (other fields skipped; a missing status is 0, UNKNOWN).
 *
 * @param body The response body: one gRPC frame, uncompressed.
 * @returns The status number, or -1 when the body is not such a message.
 *
 * @example Usage
 * ```ts
 * import { healthStatus } from "./h2_probe.ts";
 * import assert from "node:assert/strict";
 * assert.equal(healthStatus(new Uint8Array([0, 0, 0, 0, 2, 8, 1])), 1);
 * assert.equal(healthStatus(new Uint8Array([1, 0, 0, 0, 2, 8, 1])), -1);
 * ```
 */
export function healthStatus(body: Uint8Array): number {
  if (body.length < 5 || body[0] !== 0) return -1;
  const length = new DataView(body.buffer, body.byteOffset).getUint32(1);
  if (body.length !== 5 + length) return -1;
  let status = 0;
  let i = 5;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; i < body.length && shift < 35; shift += 7) {
      const b = body[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    throw new RangeError("truncated varint");
  };
  try {
    while (i < body.length) {
      const tag = varint();
      const wire = tag & 7;
      if (wire === 0) {
        const v = varint();
        if (tag >>> 3 === 1) status = v;
      } else if (wire === 2) i += varint();
      else if (wire === 5) i += 4;
      else if (wire === 1) i += 8;
      else return -1;
    }
  } catch {
    return -1;
  }
  return i === body.length ? status : -1;
}

/**
 * Responses that sidekick writes itself: codec errors, the minio/sidekick
 * compatible 502 body, and `/v1/health`.
 *
 * @module
 */

import { bytes } from "./ascii.ts";

/**
 * Reason phrases of the statuses sidekick writes itself (others get none).
 *
 * @example Usage
 * ```ts
 * import { REASONS } from "./responses.ts";
 * REASONS[502]; // "Bad Gateway"
 * ```
 */
export const REASONS: Readonly<Record<number, string>> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** The reason of the 502 when no site has an available endpoint (minio/sidekick's error text). */
export const ALL_OFFLINE_REASON = "all backend servers are offline";

/** The Message of the 502 when no site has an available endpoint, as minio/sidekick words it. */
export const ALL_OFFLINE = `The remote server returned an error (${ALL_OFFLINE_REASON})`;

/**
 * The Message of minio/sidekick's 502 after the last attempt failed.
 *
 * @param lastError What failed ({@linkcode ALL_OFFLINE} when nothing was tried).
 * @returns `The remote server returned an error (...)`.
 *
 * @example Usage
 * ```ts
 * import { backendDownMessage } from "./responses.ts";
 * backendDownMessage("connection refused"); // "The remote server returned an error (connection refused)"
 * ```
 */
export function backendDownMessage(lastError: string): string {
  return lastError === "" ? ALL_OFFLINE : `The remote server returned an error (${lastError})`;
}

/** The header line on sidekick's own answers (`/v1/health`, the 502), as minio/sidekick sends it. */
export const SERVER_SIDEKICK = bytes("Server: SideKick\r\n");

/** The header line on proxied responses, as minio/sidekick's `modifyResponse` adds it. */
export const X_PROXY_TRUE = bytes("X-Proxy: true\r\n");

/**
 * A complete response with a plain-text body (for errors the codec finds).
 *
 * @param status The status code.
 * @param message One line saying what was wrong.
 * @param close Whether to announce `Connection: close`.
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { textResponse } from "./responses.ts";
 * new TextDecoder().decode(textResponse(400, "bad", true)).split("\r\n")[0]; // "HTTP/1.1 400 Bad Request"
 * ```
 */
export function textResponse(status: number, message: string, close: boolean): Uint8Array {
  const body = bytes(`${message}\n`);
  const head = bytes(
    `HTTP/1.1 ${status} ${
      REASONS[status] ?? "Error"
    }\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${body.length}\r\n${close ? "Connection: close\r\n" : ""}\r\n`,
  );
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * How sidekick's own error answer ends its head.
 *
 * @example Usage
 * ```ts
 * import type { OwnReplyOptions } from "./responses.ts";
 * const options: OwnReplyOptions = { status: 504, close: true, identify: true };
 * ```
 */
export interface OwnReplyOptions {
  /** The status (502, or 504 for a response-header timeout). */
  readonly status: number;
  /** Whether to announce `Connection: close`. */
  readonly close: boolean;
  /** Whether to send `Server: SideKick`. */
  readonly identify: boolean;
}

/**
 * The minio/sidekick 502: `Retry-After: 120`, `Content-Type: application/xml`
 * (which the original forgot), `Server: SideKick`, and its body byte for
 * byte: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>BackendDown</Code>...`.
 *
 * @param message What failed: {@linkcode ALL_OFFLINE} or "The remote server returned an error (...)".
 * @param resource The request path.
 * @param options The status, whether to close, whether to send `Server: SideKick`.
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { ALL_OFFLINE, backendDownResponse } from "./responses.ts";
 * const options = { status: 502, close: false, identify: true };
 * const text = new TextDecoder().decode(backendDownResponse(ALL_OFFLINE, "/bucket", options));
 * text.endsWith("<Resource>/bucket</Resource></Error>"); // true
 * ```
 */
export function backendDownResponse(
  message: string,
  resource: string,
  options: OwnReplyOptions,
): Uint8Array {
  const { status, close, identify } = options;
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>BackendDown</Code>` +
    `<Message>${escapeXml(message)}</Message><Resource>${escapeXml(resource)}</Resource></Error>`;
  const length = new TextEncoder().encode(body).length;
  return bytes(
    `HTTP/1.1 ${status} ${
      REASONS[status]
    }\r\nContent-Type: application/xml\r\nRetry-After: 120\r\n` +
      `${identify ? "Server: SideKick\r\n" : ""}Content-Length: ${length}\r\n` +
      `${close ? "Connection: close\r\n" : ""}\r\n${body}`,
  );
}

const HEALTH_OK = bytes("HTTP/1.1 200 OK\r\nServer: SideKick\r\nContent-Length: 0\r\n\r\n");
const HEALTH_OK_CLOSE = bytes(
  "HTTP/1.1 200 OK\r\nServer: SideKick\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
);
const HEALTH_OK_ANON = bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
const HEALTH_OK_ANON_CLOSE = bytes(
  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
);

/**
 * The answer to `/v1/health`.
 *
 * @param state Whether any site is available, or the process is draining.
 * @param close Whether to announce `Connection: close`.
 * @param identify Whether to send `Server: SideKick`.
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { healthResponse } from "./responses.ts";
 * new TextDecoder().decode(healthResponse("up", false)).startsWith("HTTP/1.1 200"); // true
 * ```
 */
export function healthResponse(
  state: "up" | "down" | "draining",
  close: boolean,
  identify = true,
): Uint8Array {
  if (state === "up") {
    if (identify) return close ? HEALTH_OK_CLOSE : HEALTH_OK;
    return close ? HEALTH_OK_ANON_CLOSE : HEALTH_OK_ANON;
  }
  if (state === "draining") return textResponse(503, "sidekick is shutting down", close);
  return backendDownResponse(ALL_OFFLINE, "/v1/health", { status: 502, close, identify });
}

const PATH_HEALTH = bytes("/v1/health");
const PATH_METRICS = bytes("/.prometheus/metrics");
const PATH_CERTIFICATES = bytes("/v1/certificates");

/** Not one of sidekick's own paths: the request is proxied. */
export const ROUTE_PROXY = 0;
/** `/v1/health` */
export const ROUTE_HEALTH = 1;
/** `/.prometheus/metrics` */
export const ROUTE_METRICS = 2;
/** `/v1/certificates` */
export const ROUTE_CERTIFICATES = 3;

function isPath(buf: Uint8Array, start: number, end: number, path: Uint8Array): boolean {
  if (end - start < path.length) return false;
  for (let i = 0; i < path.length; i++) if (buf[start + i] !== path[i]) return false;
  return end - start === path.length || buf[start + path.length] === 63; // ?
}

/**
 * Which of sidekick's own paths a request target is, without making a string.
 * These paths are answered by sidekick and never reach an endpoint.
 *
 * @param buf The buffer.
 * @param start Start of the origin-form path.
 * @param end End of the target.
 * @param metrics Whether `/.prometheus/metrics` is served here (else it is proxied).
 * @returns One of the `ROUTE_*` constants.
 *
 * @example Usage
 * ```ts
 * import { ownRoute, ROUTE_METRICS, ROUTE_PROXY } from "./responses.ts";
 * import assert from "node:assert/strict";
 * const t = new TextEncoder().encode("/.prometheus/metrics?x");
 * assert.equal(ownRoute(t, 0, t.length), ROUTE_METRICS);
 * assert.equal(ownRoute(t, 0, t.length, false), ROUTE_PROXY);
 * ```
 */
export function ownRoute(buf: Uint8Array, start: number, end: number, metrics = true): number {
  if (end - start < 10) return ROUTE_PROXY;
  const c = buf[start + 1];
  if (c === 118 /* v */) {
    if (isPath(buf, start, end, PATH_HEALTH)) return ROUTE_HEALTH;
    if (isPath(buf, start, end, PATH_CERTIFICATES)) return ROUTE_CERTIFICATES;
  } else if (c === 46 /* . */ && metrics && isPath(buf, start, end, PATH_METRICS)) {
    return ROUTE_METRICS;
  }
  return ROUTE_PROXY;
}

/**
 * A 200 response with a body of the given type (HEAD: the head only).
 *
 * @param contentType The Content-Type.
 * @param body The body.
 * @param isHead Whether the request was HEAD.
 * @param close Whether to announce `Connection: close`.
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { bodyResponse } from "./responses.ts";
 * new TextDecoder().decode(bodyResponse("text/plain", "x", false, false)).endsWith("\r\n\r\nx"); // true
 * ```
 */
export function bodyResponse(
  contentType: string,
  body: string,
  isHead: boolean,
  close: boolean,
): Uint8Array {
  const b = new TextEncoder().encode(body);
  const head = bytes(
    `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nContent-Length: ${b.length}\r\n` +
      `${close ? "Connection: close\r\n" : ""}\r\n`,
  );
  if (isHead) return head;
  const out = new Uint8Array(head.length + b.length);
  out.set(head);
  out.set(b, head.length);
  return out;
}

/**
 * The answer to `/v1/certificates`: the PEM of a generated certificate, or
 * 404 "no configured certificates found" (as minio/sidekick).
 *
 * @param pem The certificate, or null when none was generated.
 * @param isHead Whether the request was HEAD.
 * @param close Whether to announce `Connection: close`.
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { certificatesResponse } from "./responses.ts";
 * new TextDecoder().decode(certificatesResponse(null, false, false)).startsWith("HTTP/1.1 404"); // true
 * ```
 */
export function certificatesResponse(
  pem: string | null,
  isHead: boolean,
  close: boolean,
): Uint8Array {
  if (pem === null) return textResponse(404, "no configured certificates found", close);
  return bodyResponse("application/x-pem-file", pem, isHead, close);
}

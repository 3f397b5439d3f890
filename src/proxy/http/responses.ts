/**
 * Responses that sidekick writes itself: codec errors, the minio/sidekick
 * compatible 502 body, and `/v1/health`.
 *
 * @module
 */

import { bytes } from "./ascii.ts";

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
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

/** The message of the 502 when no site has an available endpoint. */
export const ALL_OFFLINE = "all backend servers are offline";

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
 * The minio/sidekick 502: `Retry-After: 120`, `Content-Type: application/xml`
 * (which the original forgot) and an S3-style error body.
 *
 * @param message What failed: {@linkcode ALL_OFFLINE} or "The remote server returned an error (...)".
 * @param resource The request path.
 * @param close Whether to announce `Connection: close`.
 * @param status The status (502, or 504 for a response-header timeout).
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { ALL_OFFLINE, backendDownResponse } from "./responses.ts";
 * const text = new TextDecoder().decode(backendDownResponse(ALL_OFFLINE, "/bucket", false));
 * text.endsWith("<Resource>/bucket</Resource></Error>"); // true
 * ```
 */
export function backendDownResponse(
  message: string,
  resource: string,
  close: boolean,
  status = 502,
): Uint8Array {
  const body = `<Error><Code>BackendDown</Code><Message>${escapeXml(message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource></Error>`;
  const length = new TextEncoder().encode(body).length;
  return bytes(
    `HTTP/1.1 ${status} ${
      REASONS[status]
    }\r\nContent-Type: application/xml\r\nRetry-After: 120\r\n` +
      `Content-Length: ${length}\r\n${close ? "Connection: close\r\n" : ""}\r\n${body}`,
  );
}

const HEALTH_OK = bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
const HEALTH_OK_CLOSE = bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

/**
 * The answer to `/v1/health`.
 *
 * @param state Whether any site is available, or the process is draining.
 * @param close Whether to announce `Connection: close`.
 * @returns The response bytes.
 *
 * @example Usage
 * ```ts
 * import { healthResponse } from "./responses.ts";
 * new TextDecoder().decode(healthResponse("up", false)).startsWith("HTTP/1.1 200"); // true
 * ```
 */
export function healthResponse(state: "up" | "down" | "draining", close: boolean): Uint8Array {
  if (state === "up") return close ? HEALTH_OK_CLOSE : HEALTH_OK;
  if (state === "draining") return textResponse(503, "sidekick is shutting down", close);
  return backendDownResponse(ALL_OFFLINE, "/v1/health", close);
}

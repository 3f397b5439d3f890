/**
 * The field lists of a stream relayed to an HTTP/2 endpoint: the request
 * fields sent upstream and the response fields (and trailers) sent back.
 * The same rules as the HTTP/1.1 writer (`writer.ts`), through the same
 * header kinds (`fieldKind` of `fields.ts`): hop-by-hop fields dropped, `te:
 * trailers` kept, X-Forwarded-For merged with the client's address appended,
 * X-Forwarded-Host, X-Forwarded-Proto and X-Real-IP replaced, the endpoint's
 * base path put before the path.
 *
 * @module
 */

import {
  fieldKind,
  H_CONNECTION,
  H_HOST,
  H_KEEP_ALIVE,
  H_PROXY_CONNECTION,
  H_TE,
  H_TRAILER,
  H_TRANSFER_ENCODING,
  H_UPGRADE,
  H_X_REAL_IP,
  H_XF_HOST,
  H_XF_PROTO,
  H_XFF,
} from "./fields.ts";

/**
 * The client facts that go into the forwarding fields.
 *
 * @example Usage
 * ```ts
 * import type { H2ClientInfo } from "./h2_upstream_fields.ts";
 * const info: H2ClientInfo = { clientIp: "10.0.0.1", tls: true };
 * ```
 */
export interface H2ClientInfo {
  /** The client's IP address. */
  readonly clientIp: string;
  /** Whether the client connection is TLS (X-Forwarded-Proto). */
  readonly tls: boolean;
}

/** Whether a field of this kind is connection-specific: never relayed (RFC 9113 8.2.2, RFC 9110 7.6.1). */
function hopByHop(kind: number): boolean {
  return kind === H_CONNECTION || kind === H_KEEP_ALIVE || kind === H_PROXY_CONNECTION ||
    kind === H_TRANSFER_ENCODING || kind === H_UPGRADE || kind === H_TRAILER;
}

/**
 * The request fields sent to an HTTP/2 endpoint for a client's request.
 *
 * - Pseudo-headers first, in the client's order; `:path` gets `basePath`
 *   before it (`*` stays); `:authority` comes from Host when the client sent
 *   none (Host is then not sent: RFC 9113 8.3.1).
 * - Hop-by-hop fields are dropped; `te` is sent as `trailers` when it listed
 *   trailers (gRPC needs it), else dropped.
 * - `x-forwarded-for` merges the client's values in order and appends the
 *   client's address; `x-forwarded-host` (the authority),
 *   `x-forwarded-proto` and `x-real-ip` replace any the client sent.
 *
 * @param head The client's fields (flat `[name, value, ...]`, lowercase names, pseudo-headers first).
 * @param info The client's address and whether it came over TLS.
 * @param basePath The endpoint's base path ("" or `/base`, no trailing slash).
 * @returns The fields to send.
 *
 * @example Usage
 * ```ts
 * import { upstreamRequestFields } from "./h2_upstream_fields.ts";
 * import assert from "node:assert/strict";
 * const head = [":method", "POST", ":scheme", "http", ":authority", "svc", ":path", "/a.B/C",
 *   "te", "trailers", "x-forwarded-for", "1.1.1.1"];
 * assert.deepEqual(upstreamRequestFields(head, { clientIp: "10.0.0.1", tls: false }, ""), [
 *   ":method", "POST", ":scheme", "http", ":authority", "svc", ":path", "/a.B/C",
 *   "te", "trailers", "x-forwarded-for", "1.1.1.1, 10.0.0.1", "x-forwarded-host", "svc",
 *   "x-forwarded-proto", "http", "x-real-ip", "10.0.0.1",
 * ]);
 * ```
 */
export function upstreamRequestFields(
  head: readonly string[],
  info: H2ClientInfo,
  basePath: string,
): string[] {
  const out: string[] = [];
  let authority: string | undefined;
  let host: string | undefined;
  let xff = "";
  let i = 0;
  for (; i + 1 < head.length && head[i].charCodeAt(0) === 58 /* : */; i += 2) {
    const name = head[i], value = head[i + 1];
    if (name === ":authority") authority = value;
    out.push(name, name === ":path" && basePath !== "" ? withBase(basePath, value) : value);
  }
  for (; i + 1 < head.length; i += 2) {
    const name = head[i], value = head[i + 1];
    const kind = fieldKind(name);
    if (kind === H_XFF) {
      if (value !== "") xff += `${value}, `;
    } else if (kind === H_HOST) {
      host ??= value;
    } else if (kind === H_TE) {
      if (/(^|,)\s*trailers\s*(;|,|$)/i.test(value)) out.push("te", "trailers");
    } else if (
      !hopByHop(kind) && kind !== H_XF_HOST && kind !== H_XF_PROTO && kind !== H_X_REAL_IP
    ) {
      out.push(name, value);
    }
  }
  if (authority === undefined && host !== undefined) {
    authority = host;
    insertPseudo(out, ":authority", host);
  }
  out.push("x-forwarded-for", xff + info.clientIp);
  if (authority !== undefined && authority !== "") out.push("x-forwarded-host", authority);
  out.push("x-forwarded-proto", info.tls ? "https" : "http", "x-real-ip", info.clientIp);
  return out;
}

/**
 * The fields relayed as they are: a response head or trailers sent back to
 * the client, or request trailers sent on; connection-specific fields (and
 * `te`) dropped, `extra` appended (the `x-proxy: true` of minio/sidekick on
 * a response head, when the listener adds it).
 *
 * @param head The fields (`:status` first, or trailers).
 * @param extra Fields to append (flat), or null.
 * @returns The fields to send.
 *
 * @example Usage
 * ```ts
 * import { endToEndFields } from "./h2_upstream_fields.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   endToEndFields([":status", "200", "connection", "x", "grpc-status", "0"], ["x-proxy", "true"]),
 *   [":status", "200", "grpc-status", "0", "x-proxy", "true"],
 * );
 * ```
 */
export function endToEndFields(
  head: readonly string[],
  extra: readonly string[] | null,
): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < head.length; i += 2) {
    const kind = fieldKind(head[i]);
    if (!hopByHop(kind) && kind !== H_TE) out.push(head[i], head[i + 1]);
  }
  if (extra !== null) out.push(...extra);
  return out;
}

/** `basePath` before a path: `/a` becomes `/base/a`, `?q` becomes `/base/?q`, `*` stays. */
function withBase(basePath: string, path: string): string {
  if (path === "*") return path;
  return path === "" || path.charCodeAt(0) === 63 /* ? */ ? `${basePath}/${path}` : basePath + path;
}

/** Inserts a pseudo-header after the others (they must come first). */
function insertPseudo(out: string[], name: string, value: string): void {
  let at = 0;
  while (at < out.length && out[at].charCodeAt(0) === 58) at += 2;
  out.splice(at, 0, name, value);
}

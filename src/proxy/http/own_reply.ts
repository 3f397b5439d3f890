/**
 * The answers an HTTP/1.1 connection writes itself, never relayed: its own
 * routes (`/v1/health`, `/.prometheus/metrics`, `/v1/certificates`), the
 * 502/504 when no endpoint answered, and the errors it tells a client
 * (400, 429, 503, ...). Each is counted by status on the listener.
 *
 * @module
 */

import { latin1 } from "./ascii.ts";
import type { MessageHead } from "./head.ts";
import type { HttpConnectionContext } from "./context.ts";
import { type ExchangeState, sendToClient } from "./relay.ts";
import {
  backendDownMessage,
  backendDownResponse,
  bodyResponse,
  certificatesResponse,
  healthResponse,
  ROUTE_HEALTH,
  ROUTE_METRICS,
} from "./responses.ts";

/**
 * What a shed client is told when sidekick itself is out of resources.
 *
 * @example Usage
 * ```ts
 * import { SHED } from "./own_reply.ts";
 * import { textResponse } from "./responses.ts";
 * const response = textResponse(503, SHED, true);
 * ```
 */
export const SHED = "sidekick is out of file descriptors or memory; try again shortly";

/**
 * Counts one response that sidekick wrote itself (never a relayed one).
 *
 * @param counts The listener's own responses, by status.
 * @param status The status written.
 *
 * @example Usage
 * ```ts
 * import { countOwn } from "./own_reply.ts";
 * const counts = new Map<number, number>();
 * countOwn(counts, 431);
 * counts.get(431); // 1
 * ```
 */
export function countOwn(counts: Map<number, number>, status: number): void {
  counts.set(status, (counts.get(status) ?? 0) + 1);
}

/**
 * Writes a response sidekick made itself, as the exchange's answer.
 *
 * @param ctx The listener (where it is counted).
 * @param x The exchange (its status and bytes sent).
 * @param conn The client connection.
 * @param status The response's status.
 * @param data The whole response.
 * @returns Resolves when written.
 *
 * @example Usage
 * ```ts ignore
 * import { reply } from "./own_reply.ts";
 * await reply(ctx, x, client.conn, 503, textResponse(503, SHED, true));
 * ```
 */
export function reply(
  ctx: HttpConnectionContext,
  x: ExchangeState,
  conn: Deno.Conn,
  status: number,
  data: Uint8Array,
): Promise<void> {
  x.status = status;
  countOwn(ctx.ownResponses, status);
  return sendToClient(x, conn, data);
}

/**
 * Answers `/v1/health`, `/.prometheus/metrics` or `/v1/certificates`.
 *
 * @param ctx The listener.
 * @param x The exchange.
 * @param conn The client connection.
 * @param route Which one (a `ROUTE_*` of `responses.ts`, not `ROUTE_PROXY`).
 * @param isHead Whether the request is a HEAD (no body is sent).
 * @param close Whether the response says `Connection: close`.
 * @returns Resolves when written.
 *
 * @example Usage
 * ```ts ignore
 * import { ownResponse } from "./own_reply.ts";
 * await ownResponse(ctx, x, client.conn, ROUTE_HEALTH, false, false);
 * ```
 */
export function ownResponse(
  ctx: HttpConnectionContext,
  x: ExchangeState,
  conn: Deno.Conn,
  route: number,
  isHead: boolean,
  close: boolean,
): Promise<void> {
  if (route === ROUTE_HEALTH) {
    const state = ctx.draining ? "draining" : ctx.cluster.anyAvailable() ? "up" : "down";
    const identify = ctx.spec.proxyHeaders !== false;
    return reply(ctx, x, conn, state === "up" ? 200 : 502, healthResponse(state, close, identify));
  }
  if (route === ROUTE_METRICS) {
    const m = ctx.metrics();
    return reply(ctx, x, conn, 200, bodyResponse(m.contentType, m.body, isHead, close));
  }
  const pem = ctx.certificates;
  return reply(ctx, x, conn, pem === null ? 404 : 200, certificatesResponse(pem, isHead, close));
}

/**
 * Answers a request no endpoint served: minio/sidekick's 502, or 504 when
 * it timed out.
 *
 * @param ctx The listener.
 * @param x The exchange (`timedOut` picks 504).
 * @param conn The client connection.
 * @param buf The buffer holding the request head.
 * @param head The parsed request head (its path is named in the body).
 * @param lastError The last attempt's error.
 * @param close Whether the response says `Connection: close`.
 * @returns Resolves when written.
 *
 * @example Usage
 * ```ts ignore
 * import { answerNoBackend } from "./own_reply.ts";
 * await answerNoBackend(ctx, x, client.conn, buf, head, lastError, !keepAlive);
 * ```
 */
export function answerNoBackend(
  ctx: HttpConnectionContext,
  x: ExchangeState,
  conn: Deno.Conn,
  buf: Uint8Array,
  head: MessageHead,
  lastError: string,
  close: boolean,
): Promise<void> {
  const message = backendDownMessage(lastError);
  const status = x.timedOut ? 504 : 502;
  return reply(
    ctx,
    x,
    conn,
    status,
    backendDownResponse(message, requestPath(buf, head), {
      status,
      close,
      identify: ctx.spec.proxyHeaders !== false,
    }),
  );
}

/** The request's path without its query. */
function requestPath(buf: Uint8Array, head: MessageHead): string {
  const t = latin1(buf, head.pathStart, head.targetEnd);
  const q = t.indexOf("?");
  return q >= 0 ? t.slice(0, q) : t;
}

/**
 * The answers an HTTP/1.1 connection writes itself, never relayed: its own
 * routes (`/v1/health`, `/.prometheus/metrics`, `/v1/certificates`), the
 * 502/504 when no endpoint answered, and the errors it tells a client
 * (400, 429, 503, ...). Each is counted by status on the listener.
 *
 * @module
 */

import type { BufferedSocket } from "../socket.ts";
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
 * Where an answer of sidekick's own goes: the connection, which keeps these
 * (an `HttpConnection` is one).
 *
 * @example Usage
 * ```ts ignore
 * import type { ReplyTarget } from "./own_reply.ts";
 * const target: ReplyTarget = connection;
 * ```
 */
export interface ReplyTarget {
  /** The listener (where answers are counted). */
  readonly ctx: HttpConnectionContext;
  /** The exchange being answered (its status and bytes sent). */
  readonly exchange: ExchangeState;
  /** The client socket. */
  readonly client: BufferedSocket;
}

/**
 * Writes a response sidekick made itself, as the exchange's answer.
 *
 * @param t The connection.
 * @param status The response's status.
 * @param data The whole response.
 * @returns Resolves when written.
 *
 * @example Usage
 * ```ts ignore
 * import { reply } from "./own_reply.ts";
 * await reply(connection, 503, textResponse(503, SHED, true));
 * ```
 */
export function reply(t: ReplyTarget, status: number, data: Uint8Array): Promise<void> {
  const x = t.exchange;
  x.status = status;
  countOwn(t.ctx.ownResponses, status);
  return sendToClient(x, t.client.conn, data);
}

/**
 * Answers `/v1/health`, `/.prometheus/metrics` or `/v1/certificates`.
 *
 * @param t The connection.
 * @param route Which one (a `ROUTE_*` of `responses.ts`, not `ROUTE_PROXY`).
 * @param isHead Whether the request is a HEAD (no body is sent).
 * @param close Whether the response says `Connection: close`.
 * @returns Resolves when written.
 *
 * @example Usage
 * ```ts ignore
 * import { ownResponse } from "./own_reply.ts";
 * await ownResponse(connection, ROUTE_HEALTH, false, false);
 * ```
 */
export function ownResponse(
  t: ReplyTarget,
  route: number,
  isHead: boolean,
  close: boolean,
): Promise<void> {
  const ctx = t.ctx;
  if (route === ROUTE_HEALTH) {
    const state = ctx.draining ? "draining" : ctx.cluster.anyAvailable() ? "up" : "down";
    const identify = ctx.spec.proxyHeaders !== false;
    return reply(t, state === "up" ? 200 : 502, healthResponse(state, close, identify));
  }
  if (route === ROUTE_METRICS) {
    const m = ctx.metrics();
    return reply(t, 200, bodyResponse(m.contentType, m.body, isHead, close));
  }
  const pem = ctx.certificates;
  return reply(t, pem === null ? 404 : 200, certificatesResponse(pem, isHead, close));
}

/**
 * Answers a request no endpoint served: minio/sidekick's 502, or 504 when
 * it timed out.
 *
 * @param t The connection (its exchange's `timedOut` picks 504).
 * @param path The request's path, without its query (named in the body).
 * @param lastError The last attempt's error.
 * @param close Whether the response says `Connection: close`.
 * @returns Resolves when written.
 *
 * @example Usage
 * ```ts ignore
 * import { answerNoBackend } from "./own_reply.ts";
 * await answerNoBackend(connection, requestPath(buf, head), lastError, !keepAlive);
 * ```
 */
export function answerNoBackend(
  t: ReplyTarget,
  path: string,
  lastError: string,
  close: boolean,
): Promise<void> {
  const message = backendDownMessage(lastError);
  const status = t.exchange.timedOut ? 504 : 502;
  return reply(
    t,
    status,
    backendDownResponse(message, path, {
      status,
      close,
      identify: t.ctx.spec.proxyHeaders !== false,
    }),
  );
}

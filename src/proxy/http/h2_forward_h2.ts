/**
 * PLACEHOLDER (branch h2-down) until the h2-up branch's version of this file
 * is merged: an h2 stream whose leased endpoint speaks HTTP/2 itself
 * (`h2://`, `h2c://`) would be forwarded stream to stream here. This version
 * forwards nothing and the stream is answered 502; the endpoint is not
 * blamed. The lead replaces this file with h2-up's at merge.
 *
 * @module
 */

import type { Lease } from "../../balance/lease.ts";
import type { Clock } from "../../pool/clock.ts";
import type { HttpConnectionContext } from "./context.ts";
import type { H2Exchange } from "./h2_state.ts";
import { BAD_RESPONSE, type ExchangeOutcome } from "./retry.ts";

/**
 * Where a listener keeps its client sessions to h2 endpoints (owned by
 * h2-up's code; created on first use). The listener closes it when it
 * closes.
 *
 * @example Usage
 * ```ts
 * import type { H2UpstreamSlot } from "./h2_forward_h2.ts";
 * const slot: H2UpstreamSlot = { current: null };
 * ```
 */
export interface H2UpstreamSlot {
  /** The registry of upstream h2 sessions, or null before the first h2 endpoint is used. */
  current: { close(): void } | null;
}

/**
 * What an h2 stream handler passes along for one stream.
 *
 * @example Usage
 * ```ts ignore
 * const sctx: H2StreamContext = { listener: ctx, clientIp: "127.0.0.1", tls: true, clock, upstreamH2: { current: null } };
 * ```
 */
export interface H2StreamContext {
  /** The listener (spec, cluster, HTTP/1.1 pool, own-response counts, clock). */
  readonly listener: HttpConnectionContext;
  /** The client's IP address. */
  readonly clientIp: string;
  /** Whether the client came over TLS (X-Forwarded-Proto). */
  readonly tls: boolean;
  /** The listener's clock (client h2 sessions need one). */
  readonly clock: Clock;
  /** The listener's upstream h2 sessions. */
  readonly upstreamH2: H2UpstreamSlot;
}

/**
 * Forwards one h2 stream to an h2 endpoint. PLACEHOLDER: answers nothing
 * and returns `BAD_RESPONSE` (no retry, no blame), so the stream handler
 * answers 502 "h2 endpoints are not available in this build".
 *
 * The stream is `x.stream` (its request fields in `stream.head`, the facts
 * in `x.req`, the forwarding facts in `x.info`); the endpoint is
 * `lease.endpoint`. Call `lease.reached()` once connected; set `x.status`,
 * `x.answeredAt`, `x.rx`/`x.tx`, `x.upstreamError` as the HTTP/1.1 attempt
 * does (`h2_to_h1.ts`); return the outcome for `shouldRetry`.
 *
 * @param _ctx The stream's context.
 * @param x The stream's exchange.
 * @param _lease The lease on an `h2`/`h2c` endpoint.
 * @returns How the attempt ended.
 *
 * @example Usage
 * ```ts ignore
 * const outcome = await forwardStreamToH2(sctx, x, lease);
 * ```
 */
export function forwardStreamToH2(
  _ctx: H2StreamContext,
  x: H2Exchange,
  _lease: Lease,
): Promise<ExchangeOutcome> {
  x.upstreamError = "h2 endpoints are not available in this build";
  return Promise.resolve(BAD_RESPONSE);
}

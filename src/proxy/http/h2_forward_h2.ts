/**
 * Client HTTP/2 streams to endpoints that speak HTTP/2 (`h2c://`, `h2://`):
 * the entry point of the serving code. {@linkcode forwardStreamToH2} is one
 * try inside the serving code's own lease loop, which decides retries with
 * `shouldRetry`, blames and releases the lease with the outcome filled in
 * here, exactly as for an HTTP/1.1 endpoint. The relay itself is in
 * `h2_upstream_stream.ts`.
 *
 * @module
 */

import type { Attempt, Lease } from "../../balance/lease.ts";
import type { Clock } from "../../pool/clock.ts";
import type { H2Stream } from "../../h2/session.ts";
import type { HttpConnectionContext } from "./context.ts";
import {
  attemptStreamToH2,
  type H2ForwardContext,
  H2StreamExchange,
} from "./h2_upstream_stream.ts";
import type { ExchangeOutcome } from "./retry.ts";

/**
 * Whether an endpoint speaks HTTP/2 (its streams go through
 * {@linkcode forwardStreamToH2}).
 *
 * @param scheme The endpoint's scheme.
 * @returns True for `h2c` and `h2`.
 *
 * @example Usage
 * ```ts
 * import { speaksH2 } from "./h2_forward_h2.ts";
 * import assert from "node:assert/strict";
 * assert.equal(speaksH2("h2c"), true);
 * assert.equal(speaksH2("https"), false);
 * ```
 */
export function speaksH2(scheme: string): boolean {
  return scheme === "h2c" || scheme === "h2";
}

/**
 * Where a listener keeps its client sessions to HTTP/2 endpoints, for the
 * serving code that passes it along. The sessions are the listener's
 * `HttpConnectionContext.h2` (one registry for HTTP/1.1 and HTTP/2
 * clients); this slot stays empty and is kept for the serving code's shape.
 *
 * @example Usage
 * ```ts
 * import type { H2UpstreamSlot } from "./h2_forward_h2.ts";
 * const slot: H2UpstreamSlot = { current: null };
 * ```
 */
export interface H2UpstreamSlot {
  /** Unused (see above); closed by the listener when set. */
  current: { close(): void } | null;
}

/**
 * What an HTTP/2 stream handler passes along for one stream.
 *
 * @example Usage
 * ```ts ignore
 * import type { H2StreamContext } from "./h2_forward_h2.ts";
 * const sctx: H2StreamContext = { listener: ctx, clientIp: "127.0.0.1", tls: true, clock, upstreamH2: { current: null } };
 * ```
 */
export interface H2StreamContext {
  /** The listener (spec, cluster, pools; the upstream HTTP/2 sessions in `h2`). */
  readonly listener: HttpConnectionContext;
  /** The client's IP address. */
  readonly clientIp: string;
  /** Whether the client came over TLS (X-Forwarded-Proto). */
  readonly tls: boolean;
  /** The listener's clock (the response-header timer). */
  readonly clock: Clock;
  /** See {@linkcode H2UpstreamSlot}. */
  readonly upstreamH2: H2UpstreamSlot;
}

/**
 * What {@linkcode forwardStreamToH2} reads and fills of the serving code's
 * per-stream exchange: the stream and its attempts in, the lease outcome
 * (status, bytes, when the head came) and the reason of a failure out.
 *
 * @example Usage
 * ```ts ignore
 * import type { H2StreamAttempt } from "./h2_forward_h2.ts";
 * const x: H2StreamAttempt = exchange; // the serving code's H2Exchange
 * ```
 */
export interface H2StreamAttempt {
  /** The client's stream (its request fields in `head`). */
  readonly stream: H2Stream | null;
  /** The request's attempt state (its lease held). */
  readonly attempt: Attempt;
  /** The status relayed (0 when none). */
  status: number;
  /** When the response head came (`performance.now()`), 0 when none did. */
  answeredAt: number;
  /** Client body bytes sent on. */
  rx: number;
  /** Response body bytes sent back. */
  tx: number;
  /** Why the try failed, for the 502. */
  upstreamError: string;
  /** The try ended at the response-header timeout (answer 504). */
  timedOut: boolean;
  /** The client reset the stream. */
  clientGone: boolean;
  /** Whether the request may go out again when nothing came back. */
  replaySafe: boolean;
  /** The client's side of the stream was read to its end (nothing left to refuse). */
  pumpDone: boolean;
}

/** The relay state of each client stream, across its tries. */
const relays = new WeakMap<H2Stream, H2StreamExchange>();

/**
 * One try of a client HTTP/2 stream on the leased HTTP/2 endpoint, inside
 * the serving code's lease loop: it opens the upstream stream (marking the
 * lease reached), relays both ways, and fills `x` as an HTTP/1.1 attempt
 * does; the caller decides retries with `shouldRetry(outcome, x.attempt, x,
 * policy)`, blames and releases the lease. Before a response head nothing
 * is sent to the client (the caller answers 502/504 when no retry serves
 * it); after one the client's stream is answered here, reset when the
 * endpoint's is. A retry is possible only while none of the client's body
 * went out (`x.replaySafe` is updated).
 *
 * @param sctx The stream's context.
 * @param x The serving code's exchange of the stream.
 * @param lease The lease on an `h2`/`h2c` endpoint.
 * @returns How the try ended.
 *
 * @example Usage
 * ```ts ignore
 * import { forwardStreamToH2 } from "./h2_forward_h2.ts";
 * const outcome = await forwardStreamToH2(sctx, x, lease);
 * ```
 */
export async function forwardStreamToH2(
  sctx: H2StreamContext,
  x: H2StreamAttempt,
  lease: Lease,
): Promise<ExchangeOutcome> {
  const stream = x.stream!;
  let relay = relays.get(stream);
  if (relay === undefined) {
    relay = new H2StreamExchange(stream, { clientIp: sctx.clientIp, tls: sctx.tls }, x.attempt);
    relays.set(stream, relay);
  }
  const ctx: H2ForwardContext = {
    spec: sctx.listener.spec,
    h2: sctx.listener.h2,
    clock: sctx.clock,
  };
  const outcome = await attemptStreamToH2(ctx, relay, lease);
  x.status = relay.status;
  x.answeredAt = relay.answeredAt;
  x.rx = relay.rx;
  x.tx = relay.tx;
  x.upstreamError = relay.upstreamError;
  x.timedOut = relay.timedOut;
  x.clientGone ||= relay.clientGone;
  x.replaySafe &&= relay.replaySafe;
  x.pumpDone = relay.requestEnded;
  return outcome;
}

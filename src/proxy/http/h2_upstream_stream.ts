/**
 * One client HTTP/2 stream relayed to an HTTP/2 endpoint (`h2c://`, `h2://`)
 * on one stream of a multiplexed upstream session, one try at a time: the
 * request fields re-sent with the forwarding fields of the HTTP/1.1 path,
 * DATA both ways at once (bidirectional streaming; each side is read only
 * once the other side took the previous chunk, so flow-control windows
 * propagate end to end), trailers both ways (gRPC's `grpc-status` passes),
 * RST_STREAM both ways. `h2_forward_h2.ts` wraps it for the serving code.
 *
 * @module
 */

import type { HttpListenerSpec } from "../../config/schema.ts";
import type { Attempt, Lease } from "../../balance/lease.ts";
import type { TransportError } from "../../balance/endpoint.ts";
import type { Clock } from "../../pool/clock.ts";
import { field } from "../../health/h2_probe.ts";
import { H2_ERROR, H2Stream, H2StreamError } from "../../h2/session.ts";
import { errorName } from "../../h2/frame.ts";
import { failedBeforeHead, HeadClock, openUpstream } from "./h2_upstream_attempt.ts";
import type { H2Upstream } from "./h2_upstream.ts";
import { endToEndFields, type H2ClientInfo, upstreamRequestFields } from "./h2_upstream_fields.ts";
import { CLIENT_GONE, DONE_KEEP, type ExchangeOutcome, RESPONSE_CUT, TIMED_OUT } from "./retry.ts";

/**
 * What the relay of a stream to an HTTP/2 endpoint needs from its listener. The HTTP
 * listener (`HttpProxy`) provides it; the downstream HTTP/2 serving passes
 * it on.
 *
 * @example Usage
 * ```ts ignore
 * import type { H2ForwardContext } from "./h2_upstream_stream.ts";
 * const ctx: H2ForwardContext = { spec, h2: proxy.h2Upstream, clock: SYSTEM_CLOCK };
 * ```
 */
export interface H2ForwardContext {
  /** The listener's spec: `timeouts.responseHeaderMs`, `limits.maxAttempts`, `proxyHeaders`. */
  readonly spec: HttpListenerSpec;
  /** The sessions to the HTTP/2 endpoints. */
  readonly h2: H2Upstream;
  /** Times the response-header timeout. */
  readonly clock: Clock;
}

const GRPC_TYPE = /^application\/grpc/;
const PENDING: unique symbol = Symbol("pending");
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);

/** Resolves with `p`'s value if it is already settled, else with PENDING (never waits). */
function peek<T>(p: Promise<T>): Promise<T | typeof PENDING> {
  return Promise.race([p, Promise.resolve(PENDING)]);
}

/**
 * One client stream relayed to HTTP/2 endpoints, across its attempts: the
 * lease outcome of the current attempt (bytes, status, error), what the
 * client's body allows (a retry is possible only before any of it was
 * sent), and the text of the last failure for the 502 the caller answers.
 * Make one per client stream, with the {@linkcode Attempt} of its leases;
 * it wraps the stream's `onReset` (a client reset cancels the upstream
 * stream of the attempt in progress, then calls the hook set before).
 *
 * @example Usage
 * ```ts ignore
 * import { H2StreamExchange } from "./h2_upstream_stream.ts";
 * const x = new H2StreamExchange(stream, { clientIp: "127.0.0.1", tls: false }, attempt);
 * ```
 */
export class H2StreamExchange {
  /** The client's stream. */
  readonly downstream: H2Stream;
  /** The client's address and transport (forwarding fields). */
  readonly info: H2ClientInfo;
  /** The request's leases. */
  readonly attempt: Attempt;
  /** Lease outcome: client body bytes sent on. */
  rx = 0;
  /** Lease outcome: response body bytes sent back. */
  tx = 0;
  /** Lease outcome: the status relayed (0 when none). */
  status = 0;
  /** Lease outcome: the transport error of the attempt. */
  error: TransportError = "none";
  /** Lease outcome: when the response head arrived (`performance.now()`), 0 when none did. */
  answeredAt = 0;
  /** Why the last attempt failed, for the 502 (or 504) the caller answers. */
  upstreamError = "";
  /** The last attempt ended at the response-header timeout: the caller answers 504. */
  timedOut = false;
  /** The client reset its stream: nobody to answer. */
  clientGone = false;
  /** Some of the client's body went to an endpoint: the request cannot go to another. */
  bodySent = false;
  /** The client's side has ended (END_STREAM seen by a read). */
  requestEnded = false;
  /** The pending read of the client's body, shared by the attempts until a chunk is sent. */
  #pending: Promise<Uint8Array | null> | null = null;
  /** Whether the method may be repeated (RFC 9110 9.2.2). */
  readonly #idempotent: boolean;
  /** Starts the response-header clock when the client's side ends. */
  #onRequestEnd: (() => void) | null = null;

  /**
   * @param downstream The client's stream (its request head complete).
   * @param info The client's address and whether it came over TLS.
   * @param attempt The request's attempt state (reset by the caller).
   */
  constructor(downstream: H2Stream, info: H2ClientInfo, attempt: Attempt) {
    this.downstream = downstream;
    this.info = info;
    this.attempt = attempt;
    this.#idempotent = IDEMPOTENT.has(field(downstream.head, ":method") ?? "");
    const before = downstream.onReset; // the serving code's own hook still runs
    downstream.onReset = (code) => {
      this.clientGone = true;
      this.#onClientReset?.();
      before?.(code);
    };
  }

  /** Resets the upstream stream of the attempt in progress. */
  #onClientReset: (() => void) | null = null;

  /** Whether the request may go out again when nothing came back: an idempotent method, no body sent. */
  get replaySafe(): boolean {
    return this.#idempotent && !this.bodySent;
  }

  /** The next chunk of the client's body (the same promise until {@linkcode consumed}). */
  read(): Promise<Uint8Array | null> {
    return this.#pending ??= this.downstream.read();
  }

  /** The chunk read was sent on (or the end seen): the next read is a new one. */
  consumed(): void {
    this.#pending = null;
  }

  /**
   * Starts an attempt: clears the lease outcome, wires the client's reset to
   * `up`, and `onRequestEnd` to the end of the client's side.
   */
  begin(up: H2Stream | null, onRequestEnd: (() => void) | null): void {
    this.rx =
      this.tx =
      this.status =
      this.answeredAt =
        0;
    this.error = "none";
    this.timedOut = false;
    this.upstreamError = "";
    this.#onClientReset = up === null ? null : () => up.reset(H2_ERROR.CANCEL);
    this.#onRequestEnd = onRequestEnd;
  }

  /** The client's side ended (its END_STREAM read). */
  ended(): void {
    this.requestEnded = true;
    this.consumed();
    this.#onRequestEnd?.();
  }
}

/**
 * One try of a client stream on the leased HTTP/2 endpoint, for a caller
 * that runs its own retry loop (it decides with `shouldRetry(outcome,
 * x.attempt, x, policy)`, blames and releases the lease; the serving code
 * does, through `forwardStreamToH2`): opens the upstream stream (marking
 * the lease reached), relays both ways, and classifies the end. `x` holds
 * the lease outcome (bytes, status, `answeredAt`) and `x.upstreamError`.
 *
 * @param ctx The listener.
 * @param x The client stream's exchange state.
 * @param lease The lease on an `h2c`/`h2` endpoint (not released here).
 * @returns How the try ended.
 *
 * @example Usage
 * ```ts ignore
 * import { attemptStreamToH2 } from "./h2_upstream_stream.ts";
 * const outcome = await attemptStreamToH2(ctx, x, lease);
 * ```
 */
export async function attemptStreamToH2(
  ctx: H2ForwardContext,
  x: H2StreamExchange,
  lease: Lease,
): Promise<ExchangeOutcome> {
  x.begin(null, null);
  const attempt = x.attempt;
  if (x.clientGone) return CLIENT_GONE;
  const fields = upstreamRequestFields(x.downstream.head, x.info, lease.endpoint.spec.basePath);
  // A request whose end is already here (no body: a GET, a finished unary call) ends with its HEADERS.
  const first = x.requestEnded ? null : await peek(x.read());
  if (first === null && !x.requestEnded) x.ended();
  const endStream = x.requestEnded && x.downstream.trailers === null;
  const up = await openUpstream(ctx.h2, attempt, fields, endStream);
  if (!(up instanceof H2Stream)) {
    x.upstreamError = up.error;
    return up.outcome;
  }
  // The response-header clock starts once the whole request is sent (gRPC: no clock).
  const grpc = GRPC_TYPE.test(field(x.downstream.head, "content-type") ?? "");
  const clock = new HeadClock(ctx.clock, grpc ? 0 : ctx.spec.timeouts.responseHeaderMs, () => {
    x.timedOut = true;
    up.reset(H2_ERROR.CANCEL);
  });
  x.begin(up, () => clock.arm());
  if (x.clientGone) {
    up.reset(H2_ERROR.CANCEL);
    return CLIENT_GONE;
  }
  if (endStream) clock.arm();
  const pump = endStream ? null : pumpRequest(x, up);
  let head: string[];
  try {
    head = await up.response();
  } catch (e) {
    clock.answered();
    await settle(pump);
    if (x.clientGone) return CLIENT_GONE;
    if (x.timedOut) return TIMED_OUT;
    const failure = failedBeforeHead(e, x.bodySent, attempt);
    x.upstreamError = failure.error;
    return failure.outcome;
  }
  clock.answered();
  x.answeredAt = performance.now();
  x.status = Number(field(head, ":status") ?? 0);
  const extra = ctx.spec.proxyHeaders === false ? null : X_PROXY;
  const relayed = await relayResponse(x, up, endToEndFields(head, extra));
  if (pump !== null) {
    // The response is complete before the request: the client may stop sending (RFC 9113 8.1).
    if (relayed === DONE_KEEP && !x.requestEnded) x.downstream.reset(H2_ERROR.NO_ERROR);
    await settle(pump);
  }
  return relayed;
}

const X_PROXY = ["x-proxy", "true"];

/** Relays the response body and trailers to the client; resets mirror each other. */
async function relayResponse(
  x: H2StreamExchange,
  up: H2Stream,
  head: string[],
): Promise<ExchangeOutcome> {
  const down = x.downstream;
  try {
    const first = up.read(); // one read in flight: the same promise is awaited below
    let chunk = await peek(first);
    // A response that ended with its head (gRPC's trailers-only errors) goes out as one HEADERS.
    if (chunk === null && up.trailers === null) {
      down.sendHeaders(head, true);
      return DONE_KEEP;
    }
    down.sendHeaders(head, false);
    if (chunk === PENDING) chunk = await first;
    for (; chunk !== null; chunk = await up.read()) {
      await down.write(chunk);
      x.tx += chunk.length;
    }
    const trailers = up.trailers;
    await down.end(trailers === null ? undefined : endToEndFields(trailers, null));
    return DONE_KEEP;
  } catch (e) {
    if (x.clientGone) {
      up.reset(H2_ERROR.CANCEL);
      return CLIENT_GONE;
    }
    // The endpoint's stream was reset (or its session died) mid-response: so is the client's.
    const code = e instanceof H2StreamError ? e.code : H2_ERROR.INTERNAL_ERROR;
    x.upstreamError = `the endpoint reset the stream mid-response (${errorName(code)})`;
    down.reset(code === H2_ERROR.NO_ERROR ? H2_ERROR.CANCEL : code);
    return RESPONSE_CUT;
  }
}

/** Sends the client's body and trailers on `up`, chunk by chunk. Never rejects. */
async function pumpRequest(x: H2StreamExchange, up: H2Stream): Promise<void> {
  try {
    for (;;) {
      const chunk = await x.read();
      if (chunk === null) {
        x.ended();
        const trailers = x.downstream.trailers;
        await up.end(trailers === null ? undefined : endToEndFields(trailers, null));
        return;
      }
      // From here the body is spent on this endpoint, whatever happens to the write.
      x.bodySent = true;
      x.consumed();
      await up.write(chunk);
      x.rx += chunk.length;
    }
  } catch {
    // A reset on either side: the response side reports it.
    if (x.clientGone) up.reset(H2_ERROR.CANCEL);
  }
}

async function settle(p: Promise<void> | null): Promise<void> {
  if (p !== null) await p;
}

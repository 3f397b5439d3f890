/**
 * What one HTTP attempt ended with, and the one place that decides whether
 * to retry and whom to blame. {@linkcode shouldRetry} is pure: the outcome
 * of the exchange, the request's attempt state, the request and the policy
 * in, a decision out.
 *
 * @module
 */

import type { TransportError } from "../../balance/endpoint.ts";

/** Done; the client connection stays open. */
export const DONE_KEEP = 0;
/** Done; the client connection closes. */
export const DONE_CLOSE = 1;
/** The connect (or TLS handshake) to the endpoint failed. */
export const CONNECT_FAILED = 2;
/** sidekick ran out of a local resource (file descriptors) dialing: shed the client. */
export const LOCAL_FAILED = 3;
/** Writing the request failed: nothing of the client's was consumed beyond the buffer. */
export const SEND_FAILED = 4;
/** The request was sent and the connection closed with no byte of a response. */
export const NO_RESPONSE = 5;
/** No response head within the response-header timeout. */
export const TIMED_OUT = 6;
/** Part of a response head came, then the connection closed. */
export const PARTIAL_RESPONSE = 7;
/** The response head was malformed or too large, or a 101 answered no upgrade. */
export const BAD_RESPONSE = 8;
/** The response was relayed in part, then the endpoint's side ended early. */
export const RESPONSE_CUT = 9;
/** The client went away (or its body could not be relayed): nobody to answer. */
export const CLIENT_GONE = 10;
/**
 * The endpoint refused the request before processing it (an HTTP/2 stream
 * reset with REFUSED_STREAM, or a session at its stream limit), nothing of
 * the client's body consumed: another endpoint may take it, no blame.
 */
export const REFUSED = 11;

/**
 * How an attempt of an HTTP exchange ended.
 *
 * @example Usage
 * ```ts
 * import { type ExchangeOutcome, NO_RESPONSE } from "./retry.ts";
 * const o: ExchangeOutcome = NO_RESPONSE;
 * ```
 */
export type ExchangeOutcome =
  | typeof DONE_KEEP
  | typeof DONE_CLOSE
  | typeof CONNECT_FAILED
  | typeof LOCAL_FAILED
  | typeof SEND_FAILED
  | typeof NO_RESPONSE
  | typeof TIMED_OUT
  | typeof PARTIAL_RESPONSE
  | typeof BAD_RESPONSE
  | typeof RESPONSE_CUT
  | typeof CLIENT_GONE
  | typeof REFUSED;

/** Decision bit: try again. */
export const RETRY = 1;
/** Decision bit: the endpoint is to blame (it goes down, or is ejected). */
export const BLAME = 2;
/** Decision bit: try again on the same endpoint, on a new connection (the pooled one was stale). */
export const FRESH = 4;

/** What the attempt state says about the try that just ended. */
export interface RetryAttempt {
  /** Endpoints leased for this request so far. */
  readonly count: number;
  /** Whether the connection came from the idle pool. */
  readonly reused: boolean;
}

/** What the request allows. */
export interface RetryRequest {
  /** Whether it may be sent again when nothing came back (idempotent, no body). */
  readonly replaySafe: boolean;
}

/** The listener's retry policy. */
export interface RetryPolicy {
  /** Most endpoints one request is tried on. */
  readonly maxAttempts: number;
}

/**
 * Decides what follows an attempt: a combination of {@linkcode RETRY},
 * {@linkcode BLAME} and {@linkcode FRESH}, or 0 to stop without blame.
 *
 * - A pooled connection that the endpoint had closed (the request could not
 *   be written, or nothing came back for a replay-safe request) is nobody's
 *   fault: the same endpoint is tried once more on a new connection, which
 *   does not count as another attempt. A dead endpoint then refuses that
 *   connect and is blamed, and the request goes elsewhere.
 * - A refused connect, a write that failed or a replay-safe request that got
 *   no byte back on a new connection blame the endpoint and go elsewhere
 *   while attempts remain.
 * - A timeout, a partial head or a response cut short blame the endpoint
 *   and stop (the client gets 504, 502 or a truncated response).
 * - A stream the endpoint refused unprocessed (HTTP/2) goes elsewhere while
 *   attempts remain, without blame.
 * - A local resource error, a malformed response, a client that left, and a
 *   finished exchange stop without blame.
 *
 * @param outcome How the attempt ended.
 * @param attempt The request's attempt state.
 * @param request What the request allows.
 * @param policy The retry limits.
 * @returns The decision bits.
 *
 * @example Usage
 * ```ts
 * import { BLAME, CONNECT_FAILED, FRESH, NO_RESPONSE, RETRY, shouldRetry } from "./retry.ts";
 * import assert from "node:assert/strict";
 * const policy = { maxAttempts: 3 };
 * const get = { replaySafe: true };
 * assert.equal(shouldRetry(NO_RESPONSE, { count: 1, reused: true }, get, policy), RETRY | FRESH);
 * assert.equal(shouldRetry(CONNECT_FAILED, { count: 1, reused: false }, get, policy), RETRY | BLAME);
 * assert.equal(shouldRetry(CONNECT_FAILED, { count: 3, reused: false }, get, policy), BLAME);
 * ```
 */
export function shouldRetry(
  outcome: ExchangeOutcome,
  attempt: RetryAttempt,
  request: RetryRequest,
  policy: RetryPolicy,
): number {
  const more = attempt.count < policy.maxAttempts ? RETRY : 0;
  switch (outcome) {
    case CONNECT_FAILED:
      return BLAME | more;
    case SEND_FAILED:
      return attempt.reused ? RETRY | FRESH : BLAME | more;
    case NO_RESPONSE:
      if (!request.replaySafe) return attempt.reused ? 0 : BLAME;
      return attempt.reused ? RETRY | FRESH : BLAME | more;
    case TIMED_OUT:
    case PARTIAL_RESPONSE:
    case RESPONSE_CUT:
      return BLAME;
    case REFUSED:
      return more;
    default:
      return 0;
  }
}

/**
 * What failed in an attempt, in the words of the 502 and of the endpoint's
 * blame: the connect error as it was, "response header timeout", or the
 * read error ("connection to the endpoint failed" when the endpoint just
 * closed).
 *
 * @param outcome How the attempt ended (not done).
 * @param x Whether the response-header deadline passed, and the error text of the attempt.
 * @returns The words.
 *
 * @example Usage
 * ```ts
 * import { attemptError, NO_RESPONSE } from "./retry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(attemptError(NO_RESPONSE, { timedOut: false, upstreamError: "" }), "connection to the endpoint failed");
 * ```
 */
export function attemptError(
  outcome: ExchangeOutcome,
  x: { readonly timedOut: boolean; readonly upstreamError: string },
): string {
  if (outcome === CONNECT_FAILED || outcome === LOCAL_FAILED) return x.upstreamError;
  if (x.timedOut) return "response header timeout";
  return x.upstreamError || "connection to the endpoint failed";
}

/**
 * The transport error kind of an attempt's outcome, for its lease.
 *
 * @param outcome How the attempt ended.
 * @param reused Whether its connection came from the idle pool (a failure there is `stale`).
 * @returns The kind.
 *
 * @example Usage
 * ```ts
 * import { NO_RESPONSE, transportError } from "./retry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(transportError(NO_RESPONSE, true), "stale");
 * assert.equal(transportError(NO_RESPONSE, false), "reset");
 * ```
 */
export function transportError(outcome: ExchangeOutcome, reused: boolean): TransportError {
  switch (outcome) {
    case CONNECT_FAILED:
      return "connect";
    case LOCAL_FAILED:
      return "local";
    case TIMED_OUT:
      return "timeout";
    case SEND_FAILED:
    case NO_RESPONSE:
      return reused ? "stale" : "reset";
    case PARTIAL_RESPONSE:
    case RESPONSE_CUT:
      return "reset";
    default:
      return "none";
  }
}

/**
 * What every attempt on an HTTP/2 endpoint does, whatever the client speaks
 * (an HTTP/2 stream, `h2_forward_h2.ts`; an HTTP/1.1 request,
 * `h2_upstream_h1.ts`): open the upstream stream on the leased endpoint,
 * time the response head, and classify a failure before it.
 *
 * @module
 */

import type { Attempt } from "../../balance/lease.ts";
import type { Clock, Timer } from "../../pool/clock.ts";
import { isLocalResourceError } from "../../pool/dial.ts";
import { H2_ERROR, type H2Stream, H2StreamError } from "../../h2/session.ts";
import { errorName } from "../../h2/frame.ts";
import { H2BusyError, type H2Upstream } from "./h2_upstream.ts";
import {
  CONNECT_FAILED,
  type ExchangeOutcome,
  LOCAL_FAILED,
  NO_RESPONSE,
  REFUSED,
  SEND_FAILED,
} from "./retry.ts";

/**
 * An attempt that ended before a response head: how, and why in words (for
 * the 502 the client gets when no other endpoint serves it).
 *
 * @example Usage
 * ```ts
 * import type { AttemptFailure } from "./h2_upstream_attempt.ts";
 * import { CONNECT_FAILED } from "./retry.ts";
 * const f: AttemptFailure = { outcome: CONNECT_FAILED, error: "connection refused" };
 * ```
 */
export interface AttemptFailure {
  /** The outcome for `shouldRetry`. */
  readonly outcome: ExchangeOutcome;
  /** What happened. */
  readonly error: string;
}

/**
 * Opens the upstream stream of an attempt on its leased endpoint (a reused
 * session unless `attempt.fresh`), sets `attempt.reused`, and marks the
 * lease reached.
 *
 * @param h2 The listener's sessions.
 * @param attempt The request's attempt state, its lease held on an `h2c`/`h2` endpoint.
 * @param fields The request fields.
 * @param endStream Whether the request ends with its HEADERS.
 * @returns The stream, or how opening it failed: a connect failure, a local
 *   shortage, or every session busy (REFUSED: try elsewhere).
 *
 * @example Usage
 * ```ts ignore
 * const up = await openUpstream(ctx.h2, attempt, fields, true);
 * if (!(up instanceof H2Stream)) return up.outcome;
 * ```
 */
export async function openUpstream(
  h2: H2Upstream,
  attempt: Attempt,
  fields: readonly string[],
  endStream: boolean,
): Promise<H2Stream | AttemptFailure> {
  const lease = attempt.lease;
  try {
    const opened = await h2.open(lease.endpoint, fields, endStream, attempt.fresh);
    attempt.reused = opened.reused;
    lease.reached();
    return opened.stream;
  } catch (e) {
    const error = errorText(e);
    if (e instanceof H2BusyError) return { outcome: REFUSED, error };
    return { outcome: isLocalResourceError(e) ? LOCAL_FAILED : CONNECT_FAILED, error };
  }
}

/**
 * How an upstream stream that failed before its response head ended: a
 * stream refused unprocessed goes elsewhere (on a new session first when
 * the refusing one was reused: it was going away), unless some of the body
 * was sent; anything else is no response.
 *
 * @param e What `response()` rejected with.
 * @param body Whether some of the request body went out on this stream.
 * @param attempt The attempt (was its session reused?).
 * @returns The outcome and the reason.
 *
 * @example Usage
 * ```ts
 * import { failedBeforeHead } from "./h2_upstream_attempt.ts";
 * import { H2_ERROR, H2StreamError } from "../../h2/session.ts";
 * import { Attempt } from "../../balance/lease.ts";
 * import { REFUSED } from "./retry.ts";
 * import assert from "node:assert/strict";
 * const refused = new H2StreamError(H2_ERROR.REFUSED_STREAM, "refused");
 * assert.equal(failedBeforeHead(refused, false, new Attempt()).outcome, REFUSED);
 * ```
 */
export function failedBeforeHead(e: unknown, body: boolean, attempt: Attempt): AttemptFailure {
  if (!(e instanceof H2StreamError)) return { outcome: NO_RESPONSE, error: errorText(e) };
  const error = `the endpoint reset the stream (${errorName(e.code)})`;
  if (e.code !== H2_ERROR.REFUSED_STREAM || body) return { outcome: NO_RESPONSE, error };
  return { outcome: attempt.reused ? SEND_FAILED : REFUSED, error };
}

/**
 * The response-header timeout of one upstream stream: armed once the
 * request is sent, never after the head came; on expiry it calls `onFire`
 * (which resets the stream).
 *
 * @example Usage
 * ```ts
 * import { HeadClock } from "./h2_upstream_attempt.ts";
 * import { SYSTEM_CLOCK } from "../../pool/clock.ts";
 * const clock = new HeadClock(SYSTEM_CLOCK, 60_000, () => {});
 * clock.arm();
 * clock.answered(); // cancels it
 * ```
 */
export class HeadClock {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #onFire: () => void;
  #timer: Timer | null = null;
  #done = false;

  /**
   * @param clock The listener's clock.
   * @param ms The timeout; 0 = none.
   * @param onFire Called at the deadline.
   */
  constructor(clock: Clock, ms: number, onFire: () => void) {
    this.#clock = clock;
    this.#ms = ms;
    this.#onFire = onFire;
  }

  /** The request is sent: the clock runs (once). */
  arm(): void {
    if (this.#done || this.#timer !== null || this.#ms <= 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#done = true;
      this.#onFire();
    }, this.#ms);
  }

  /** The head came (or the attempt ended): stopped for good. */
  answered(): void {
    this.#done = true;
    this.#timer?.cancel();
    this.#timer = null;
  }
}

/**
 * The words for an attempt's error.
 *
 * @param e What was thrown.
 * @returns "connection refused", "connect timed out", or the message.
 *
 * @example Usage
 * ```ts
 * import { errorText } from "./h2_upstream_attempt.ts";
 * import assert from "node:assert/strict";
 * assert.equal(errorText(new Deno.errors.ConnectionRefused("x")), "connection refused");
 * ```
 */
export function errorText(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (e instanceof Deno.errors.TimedOut) return "connect timed out";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Stall detection for the HTTP listener's sweeper: a request body that
 * pauses too long (nginx's `client_body_timeout`), a client that does not
 * read its response (nginx's `send_timeout`) and the optional whole-request
 * deadline. Nothing runs per request or per chunk: the sweeper compares a
 * connection's byte counters with what it saw last time, so a slow but
 * steady peer is never cut by the idle timeouts.
 *
 * @module
 */

import type { HttpTimeouts } from "../../config/schema.ts";

/** Nothing to cut. */
export const STALL_NONE = 0;
/** The request body paused longer than `requestBodyMs`. */
export const STALL_BODY = 1;
/** A write to the client stayed blocked longer than `responseWriteMs`. */
export const STALL_WRITE = 2;
/** The request ran longer than `requestMs`. */
export const STALL_DEADLINE = 3;

/**
 * What the sweeper remembers of one connection between two sweeps.
 *
 * @example Usage
 * ```ts
 * import { StallClock } from "./stall.ts";
 * const clock = new StallClock();
 * clock.seen; // -1: nothing seen yet
 * ```
 */
export class StallClock {
  /** The progress count seen last (-1 = not watching). */
  seen = -1;
  /** When that count was first seen (ms, the listener's clock). */
  since = 0;
}

/**
 * What one connection is doing, as the sweeper sees it.
 *
 * @example Usage
 * ```ts
 * import type { StallProbe } from "./stall.ts";
 * const p: StallProbe = { waitingBody: true, waitingWrite: false, progress: 10, startedAt: 0 };
 * ```
 */
export interface StallProbe {
  /** Waiting for more of the client's request body. */
  readonly waitingBody: boolean;
  /** A write to the client is in flight. */
  readonly waitingWrite: boolean;
  /** Bytes moved so far either way (any change is progress). */
  readonly progress: number;
  /** When the request started (ms, the listener's clock); 0 when no request is in flight or no deadline is set. */
  readonly startedAt: number;
}

/**
 * Decides whether a connection stalled. Pure but for `clock`, which it
 * updates.
 *
 * @param clock The connection's memory between sweeps.
 * @param probe What the connection is doing now.
 * @param now The current time (ms, same clock as `startedAt`).
 * @param t The listener's timeouts.
 * @returns One of the `STALL_*` constants.
 *
 * @example Usage
 * ```ts
 * import { checkStall, STALL_BODY, STALL_NONE, StallClock } from "./stall.ts";
 * import { DEFAULT_HTTP_TIMEOUTS } from "../../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const t = { ...DEFAULT_HTTP_TIMEOUTS, requestBodyMs: 100 };
 * const clock = new StallClock();
 * const probe = { waitingBody: true, waitingWrite: false, progress: 5, startedAt: 1 };
 * assert.equal(checkStall(clock, probe, 1000, t), STALL_NONE);
 * assert.equal(checkStall(clock, probe, 1100, t), STALL_BODY);
 * ```
 */
export function checkStall(
  clock: StallClock,
  probe: StallProbe,
  now: number,
  t: HttpTimeouts,
): number {
  if (probe.startedAt > 0 && t.requestMs > 0 && now - probe.startedAt >= t.requestMs) {
    return STALL_DEADLINE;
  }
  const limit = probe.waitingBody ? t.requestBodyMs : probe.waitingWrite ? t.responseWriteMs : 0;
  if (limit <= 0) {
    clock.seen = -1;
    return STALL_NONE;
  }
  if (probe.progress !== clock.seen) {
    clock.seen = probe.progress;
    clock.since = now;
    return STALL_NONE;
  }
  if (now - clock.since < limit) return STALL_NONE;
  return probe.waitingBody ? STALL_BODY : STALL_WRITE;
}

/**
 * Connections cut by each stall timeout, for metrics.
 *
 * @example Usage
 * ```ts
 * import { STALL_BODY, TimeoutCounts } from "./stall.ts";
 * const counts = new TimeoutCounts();
 * counts.count(STALL_BODY);
 * counts.requestBody; // 1
 * ```
 */
export class TimeoutCounts {
  /** Cut by the request-body idle timeout. */
  requestBody = 0;
  /** Cut by the response-write idle timeout. */
  responseWrite = 0;
  /** Cut by the whole-request deadline. */
  request = 0;

  /**
   * Counts one verdict of {@linkcode checkStall}.
   *
   * @param verdict A `STALL_*` constant.
   */
  count(verdict: number): void {
    if (verdict === STALL_BODY) this.requestBody++;
    else if (verdict === STALL_WRITE) this.responseWrite++;
    else if (verdict === STALL_DEADLINE) this.request++;
  }
}

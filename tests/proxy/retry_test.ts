/**
 * The retry and blame decision, without sockets: every outcome of an HTTP
 * attempt against the attempt state, the request and the policy.
 */

import assert from "node:assert/strict";
import {
  BAD_RESPONSE,
  BLAME,
  CLIENT_GONE,
  CONNECT_FAILED,
  DONE_CLOSE,
  DONE_KEEP,
  type ExchangeOutcome,
  FRESH,
  LOCAL_FAILED,
  NO_RESPONSE,
  PARTIAL_RESPONSE,
  REFUSED,
  RESPONSE_CUT,
  RETRY,
  SEND_FAILED,
  shouldRetry,
  TIMED_OUT,
} from "../../src/proxy/http/retry.ts";

const policy = { maxAttempts: 3 };
const GET = { replaySafe: true };
const POST = { replaySafe: false };
const fresh = (count: number) => ({ count, reused: false });
const pooled = (count: number) => ({ count, reused: true });

Deno.test("shouldRetry: a stale pooled connection is tried again on a new one, blaming nobody", () => {
  assert.equal(shouldRetry(NO_RESPONSE, pooled(1), GET, policy), RETRY | FRESH);
  assert.equal(
    shouldRetry(SEND_FAILED, pooled(1), POST, policy),
    RETRY | FRESH,
    "nothing consumed",
  );
  // even on the last attempt: the fresh connection is part of the same one
  assert.equal(shouldRetry(NO_RESPONSE, pooled(3), GET, policy), RETRY | FRESH);
  // a POST that may have been processed is never replayed, and nobody is blamed
  assert.equal(shouldRetry(NO_RESPONSE, pooled(1), POST, policy), 0);
});

Deno.test("shouldRetry: a new connection that fails blames the endpoint and goes elsewhere while attempts remain", () => {
  for (const outcome of [CONNECT_FAILED, SEND_FAILED] as const) {
    assert.equal(shouldRetry(outcome, fresh(1), POST, policy), RETRY | BLAME);
    assert.equal(shouldRetry(outcome, fresh(3), POST, policy), BLAME, "no attempts left");
  }
  assert.equal(shouldRetry(NO_RESPONSE, fresh(2), GET, policy), RETRY | BLAME);
  assert.equal(shouldRetry(NO_RESPONSE, fresh(1), POST, policy), BLAME, "a POST is not replayed");
});

Deno.test("shouldRetry: timeouts, partial heads and cut responses blame and stop; the rest stop blameless", () => {
  for (const outcome of [TIMED_OUT, PARTIAL_RESPONSE, RESPONSE_CUT] as const) {
    assert.equal(shouldRetry(outcome, fresh(1), GET, policy), BLAME);
    assert.equal(shouldRetry(outcome, pooled(1), GET, policy), BLAME);
  }
  const blameless: ExchangeOutcome[] = [
    DONE_KEEP,
    DONE_CLOSE,
    LOCAL_FAILED,
    BAD_RESPONSE,
    CLIENT_GONE,
  ];
  for (const outcome of blameless) {
    assert.equal(shouldRetry(outcome, fresh(1), GET, policy), 0, `outcome ${outcome}`);
  }
});

Deno.test("shouldRetry: a stale connection never loops: the retry's connection is new, so its failure blames", () => {
  let attempt = pooled(1);
  let decision = shouldRetry(NO_RESPONSE, attempt, GET, policy);
  assert.equal(decision & FRESH, FRESH);
  attempt = fresh(1); // the retry dials
  decision = shouldRetry(CONNECT_FAILED, attempt, GET, policy);
  assert.equal(decision, RETRY | BLAME, "the dead endpoint is blamed and the request goes on");
});

Deno.test("shouldRetry: an HTTP/2 stream refused unprocessed goes elsewhere without blame, POST too", () => {
  assert.equal(shouldRetry(REFUSED, fresh(1), POST, policy), RETRY);
  assert.equal(shouldRetry(REFUSED, pooled(1), GET, policy), RETRY);
  assert.equal(shouldRetry(REFUSED, fresh(3), POST, policy), 0, "no attempts left: 502, no blame");
});

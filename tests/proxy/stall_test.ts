import assert from "node:assert/strict";
import { DEFAULT_HTTP_TIMEOUTS } from "../../src/config/defaults.ts";
import {
  checkStall,
  STALL_BODY,
  STALL_DEADLINE,
  STALL_NONE,
  STALL_WRITE,
  StallClock,
} from "../../src/proxy/http/stall.ts";

const t = { ...DEFAULT_HTTP_TIMEOUTS, requestBodyMs: 1000, responseWriteMs: 2000, requestMs: 0 };
const probe = (progress: number, body = true, write = false) => ({
  waitingBody: body,
  waitingWrite: write,
  progress,
  startedAt: 1,
});

Deno.test("checkStall(): one byte a second never trips a one-second body timeout swept every 250 ms", () => {
  const clock = new StallClock();
  for (let now = 0; now < 60_000; now += 250) {
    assert.equal(checkStall(clock, probe(Math.floor(now / 999)), now, t), STALL_NONE, `at ${now}`);
  }
});

Deno.test("checkStall(): a pause of the body, then of a write, each trips its own timeout", () => {
  const clock = new StallClock();
  assert.equal(checkStall(clock, probe(10), 0, t), STALL_NONE);
  assert.equal(checkStall(clock, probe(10), 999, t), STALL_NONE);
  assert.equal(checkStall(clock, probe(10), 1000, t), STALL_BODY);
  const w = new StallClock();
  assert.equal(checkStall(w, probe(10, false, true), 0, t), STALL_NONE);
  assert.equal(checkStall(w, probe(10, false, true), 1999, t), STALL_NONE);
  assert.equal(checkStall(w, probe(10, false, true), 2000, t), STALL_WRITE);
});

Deno.test("checkStall(): waiting on the backend is never a stall; a timeout of 0 is off", () => {
  const clock = new StallClock();
  for (const now of [0, 10_000, 100_000]) {
    assert.equal(checkStall(clock, probe(5, false, false), now, t), STALL_NONE);
  }
  const off = { ...t, requestBodyMs: 0 };
  assert.equal(checkStall(clock, probe(5), 0, off), STALL_NONE);
  assert.equal(checkStall(clock, probe(5), 1e9, off), STALL_NONE);
});

Deno.test("checkStall(): the request deadline cuts even a steady peer", () => {
  const clock = new StallClock();
  const d = { ...t, requestMs: 5000 };
  assert.equal(checkStall(clock, probe(1), 4000, d), STALL_NONE);
  assert.equal(checkStall(clock, probe(2), 5001, d), STALL_DEADLINE);
});

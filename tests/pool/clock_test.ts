import assert from "node:assert/strict";
import { runtimeOf, sleep, SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("FakeClock: advance fires due timers in due order at their due time; cancelled ones never", async () => {
  const clock = new FakeClock(0);
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
  const tick = clock.setInterval(() => seen.push(`i@${clock.now()}`), 15);
  clock.setTimeout(() => seen.push("never"), 5).cancel();
  clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20); // same due time: creation order
  await clock.advance(30);
  assert.deepEqual(seen, ["a@10", "i@15", "b@20", "c@20", "i@30"]);
  assert.equal(clock.now(), 30);
  tick.cancel();
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock: work a timer starts settles before the next timer fires", async () => {
  const clock = new FakeClock(0);
  const seen: string[] = [];
  clock.setTimeout(() => Promise.resolve().then(() => seen.push("first's follow-up")), 1);
  clock.setTimeout(() => seen.push("second"), 2);
  await clock.advance(2);
  assert.deepEqual(seen, ["first's follow-up", "second"]);
});

Deno.test("sleep: resolves after the time on the clock, or at once on abort (no timer left)", async () => {
  const clock = new FakeClock(0);
  let done = false;
  const slept = sleep(clock, 100).then(() => done = true);
  await clock.advance(99);
  assert.equal(done, false);
  await clock.advance(1);
  await slept;
  assert.equal(done, true);
  const ac = new AbortController();
  const aborted = sleep(clock, 1_000, ac.signal);
  ac.abort();
  await aborted;
  assert.equal(clock.pending, 0);
  await sleep(SYSTEM_CLOCK, 1, ac.signal); // already aborted: no timer at all
});

Deno.test("runtimeOf: the cluster's time is the clock's", async () => {
  const clock = new FakeClock(5);
  const runtime = runtimeOf(clock, () => 0.5);
  await clock.advance(10);
  assert.equal(runtime.now(), 15);
  assert.equal(runtime.random(), 0.5);
});

import assert from "node:assert/strict";
import { nextTierSince, shouldPromote, shouldShed } from "../../src/balance/promotion.ts";

Deno.test("nextTierSince() keeps the start of a continuous run and resets on a gap", () => {
  let h = nextTierSince([], [false, true], 0);
  assert.deepEqual(h, [null, 0]);
  h = nextTierSince(h, [true, true], 100);
  h = nextTierSince(h, [true, true], 200);
  assert.deepEqual(h, [100, 0]);
  h = nextTierSince(h, [false, true], 300); // full or down for one sample
  h = nextTierSince(h, [true, true], 400);
  assert.deepEqual(h, [400, 0]);
  assert.deepEqual(
    nextTierSince(h, [true, true, true], 500),
    [400, 0, 500],
    "a reload added a tier",
  );
});

Deno.test("shouldPromote() follows an injected clock: due after afterMs plus the connection's smear share", () => {
  const history = nextTierSince(nextTierSince([], [false, true], 0), [true, true], 1000);
  const base = { tier: 1, tierSince: history, afterMs: 500, smearMs: 200 };
  const closesAt = (random: number) => {
    for (let now = 1000; now <= 3000; now += 10) {
      if (shouldPromote({ ...base, now, random })) return now;
    }
    return -1;
  };
  assert.equal(closesAt(0), 1500);
  assert.equal(closesAt(0.5), 1600);
  assert.equal(closesAt(0.99), 1700);
  // Spread: ten connections with evenly spread draws close over the window, not in one tick.
  const times = Array.from({ length: 10 }, (_, i) => closesAt(i / 10));
  assert.equal(new Set(times).size, 10);
  assert.ok(Math.min(...times) >= 1500 && Math.max(...times) <= 1700);
});

Deno.test("shouldPromote() never promotes tier 0, with promotion off, or when no better tier is available", () => {
  const now = 1_000_000;
  const input = { tier: 1, tierSince: [0, 0], afterMs: 500, smearMs: 0, now, random: 0 };
  assert.equal(shouldPromote(input), true);
  assert.equal(shouldPromote({ ...input, tier: 0 }), false);
  assert.equal(shouldPromote({ ...input, afterMs: 0 }), false);
  assert.equal(shouldPromote({ ...input, tierSince: [null, 0] }), false);
  assert.equal(shouldPromote({ ...input, tierSince: [now - 499, 0] }), false, "not long enough");
  assert.equal(
    shouldPromote({ ...input, tier: 2, tierSince: [null, now - 500, 0] }),
    true,
    "tier 1 is better than 2",
  );
  assert.equal(
    shouldPromote({ ...input, tier: 1, tierSince: [null, 0, 0] }),
    false,
    "the own tier does not count",
  );
});

Deno.test("shouldShed() closes draining connections smeared over the window", () => {
  assert.equal(shouldShed(1000, 1000, 1000, 0), true);
  assert.equal(shouldShed(1000, 1249, 1000, 0.25), false);
  assert.equal(shouldShed(1000, 1250, 1000, 0.25), true);
  assert.equal(shouldShed(1000, 1998, 1000, 0.999), false);
  assert.equal(shouldShed(1000, 1999, 1000, 0.999), true);
});

import assert from "node:assert/strict";
import { createPolicy, LeastInFlightPolicy, RoundRobinPolicy } from "../../src/balance/policy.ts";
import { POLICY_NAMES, type PolicyName } from "../../src/config/schema.ts";
import { mulberry32 } from "../_helpers/random.ts";

interface Candidate {
  inFlight: number;
  readonly ok: boolean;
  readonly weight?: number;
}

const isOk = (c: Candidate) => c.ok;

function candidates(mask: readonly boolean[], load = 0): Candidate[] {
  return mask.map((ok) => ({ inFlight: load, ok }));
}

/** Counts picks per index over `calls` selections. */
function tally(
  name: PolicyName,
  list: readonly Candidate[],
  calls: number,
  seed: number,
): number[] {
  const policy = createPolicy(name);
  const random = mulberry32(seed);
  const counts = new Array<number>(list.length).fill(0);
  const pick = { now: 0, key: -1 };
  for (let call = 0; call < calls; call++) {
    pick.now = call;
    pick.key = Math.floor(random() * 2 ** 32); // a new client each time (hash)
    const i = policy.select(list, isOk, random, pick);
    assert.ok(i >= 0 && i < list.length, `index ${i} in range`);
    counts[i]++;
  }
  return counts;
}

/** Pearson's chi-square statistic of observed counts against a uniform split. */
function chiSquare(observed: readonly number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  const expected = total / observed.length;
  return observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
}

/** Chi-square critical value for 2 degrees of freedom at p = 0.001. */
const CHI_SQUARE_DF2_P001 = 13.816;

/** The contract every policy keeps, whatever its algorithm. */
function policyConformance(name: PolicyName): void {
  Deno.test(`${name}: has its name`, () => {
    assert.equal(createPolicy(name).name, name);
  });

  Deno.test(`${name}: returns -1 for an empty list or when nothing is eligible`, () => {
    const policy = createPolicy(name);
    const random = mulberry32(1);
    assert.equal(policy.select([], isOk, random), -1);
    for (let n = 1; n <= 6; n++) {
      assert.equal(policy.select(candidates(new Array(n).fill(false)), isOk, random), -1);
    }
    // A policy that saw nothing eligible still works afterwards.
    assert.equal(policy.select(candidates([false, true]), isOk, random), 1);
  });

  Deno.test(`${name}: never returns an ineligible index`, () => {
    const policy = createPolicy(name);
    const random = mulberry32(0xbeef);
    for (let iteration = 0; iteration < 3_000; iteration++) {
      const n = Math.floor(random() * 9);
      const list = Array.from({ length: n }, () => ({
        inFlight: Math.floor(random() * 4),
        ok: random() < 0.5,
      }));
      const i = policy.select(list, isOk, random);
      if (list.some(isOk)) {
        assert.ok(Number.isInteger(i) && i >= 0 && i < n, `index ${i} of ${n}`);
        assert.ok(list[i].ok, `index ${i} is eligible`);
      } else {
        assert.equal(i, -1);
      }
    }
  });

  Deno.test(`${name}: always returns the only eligible candidate`, () => {
    const policy = createPolicy(name);
    const random = mulberry32(99);
    for (let iteration = 0; iteration < 500; iteration++) {
      const n = 1 + Math.floor(random() * 8);
      const only = Math.floor(random() * n);
      const list = Array.from({ length: n }, (_, i) => ({
        inFlight: Math.floor(random() * 4),
        ok: i === only,
      }));
      assert.equal(policy.select(list, isOk, random), only);
    }
  });

  Deno.test(`${name}: with equal load picks every eligible candidate evenly`, () => {
    const list = candidates([true, false, true, true, false, true]);
    const calls = 12_000;
    const counts = tally(name, list, calls, 7);
    assert.equal(counts[1], 0);
    assert.equal(counts[4], 0);
    for (const i of [0, 2, 3, 5]) {
      if (name === "round-robin") {
        assert.equal(counts[i], calls / 4, `round-robin is exactly even: ${counts}`);
      } else {
        assert.ok(Math.abs(counts[i] / calls - 1 / 4) < 0.03, `near 1/4 each: ${counts}`);
      }
    }
  });

  Deno.test(`${name}: honours weights under load (closed loop, 16 in flight)`, () => {
    // Weights 1, 2, 5 (and an ineligible 3): each pick holds its candidate
    // for a while; one random request of those in flight ends before each pick.
    const list: Candidate[] = [
      { inFlight: 0, ok: true, weight: 1 },
      { inFlight: 0, ok: false, weight: 3 },
      { inFlight: 0, ok: true, weight: 2 },
      { inFlight: 0, ok: true, weight: 5 },
    ];
    const policy = createPolicy(name);
    const random = mulberry32(0x5eed);
    const held: number[] = [];
    const counts = [0, 0, 0, 0];
    const picks = 16_000;
    const pick = { now: 0, key: -1 };
    for (let call = 0; call < picks; call++) {
      if (held.length === 16) {
        const done = held.splice(Math.floor(random() * held.length), 1)[0];
        list[done].inFlight--;
      }
      pick.now = call;
      pick.key = Math.floor(random() * 2 ** 32);
      const i = policy.select(list, isOk, random, pick);
      counts[i]++;
      list[i].inFlight++;
      held.push(i);
    }
    assert.equal(counts[1], 0);
    const shares = counts.map((c) => c / picks);
    for (const [i, weight] of [[0, 1], [2, 2], [3, 5]]) {
      assert.ok(
        Math.abs(shares[i] - weight / 8) < 0.04,
        `${name}: share ${shares[i].toFixed(3)} of weight ${weight} near ${weight / 8} (${shares})`,
      );
    }
  });
}

for (const name of POLICY_NAMES) policyConformance(name);

Deno.test("createPolicy() returns a fresh instance each time", () => {
  for (const name of POLICY_NAMES) assert.notEqual(createPolicy(name), createPolicy(name));
});

Deno.test("least: picks the minimum in-flight among the eligible", () => {
  const policy = new LeastInFlightPolicy();
  const random = mulberry32(3);
  const loads = [4, 1, 2].map((inFlight) => ({ inFlight, ok: true }));
  assert.equal(policy.select(loads, isOk, random), 1);
  // The globally least loaded candidate is not eligible: the next best wins.
  const masked = [{ inFlight: 0, ok: false }, { inFlight: 3, ok: true }, { inFlight: 2, ok: true }];
  assert.equal(policy.select(masked, isOk, random), 2);
  for (let iteration = 0; iteration < 2_000; iteration++) {
    const n = 1 + Math.floor(random() * 8);
    const list = Array.from({ length: n }, () => ({
      inFlight: Math.floor(random() * 5),
      ok: random() < 0.7,
    }));
    const i = policy.select(list, isOk, random);
    const eligible = list.filter(isOk);
    if (eligible.length === 0) continue;
    assert.equal(list[i].inFlight, Math.min(...eligible.map((c) => c.inFlight)));
  }
});

Deno.test("least: breaks ties uniformly (measured over 30,000 picks)", () => {
  // Tied at load 1: indices 0, 2 and 4. Index 1 is busier; index 3 is idle
  // but not eligible, so it must not count.
  const list: Candidate[] = [
    { inFlight: 1, ok: true },
    { inFlight: 3, ok: true },
    { inFlight: 1, ok: true },
    { inFlight: 0, ok: false },
    { inFlight: 1, ok: true },
  ];
  const picks = 30_000;
  const counts = tally("least", list, picks, 0xc0ffee);
  assert.equal(counts[1] + counts[3], 0);
  const tied = [counts[0], counts[2], counts[4]];
  const shares = tied.map((c) => c / picks);
  for (const share of shares) {
    assert.ok(Math.abs(share - 1 / 3) <= 0.02, `share ${share} within 1/3 ± 0.02 (${shares})`);
  }
  const statistic = chiSquare(tied);
  assert.ok(statistic < CHI_SQUARE_DF2_P001, `chi-square ${statistic} (${tied})`);
});

Deno.test("least: tie-break uniformity holds across seeds and tie sizes", () => {
  for (let k = 2; k <= 6; k++) {
    const list = candidates(new Array(k).fill(true), 2);
    const picks = 6_000 * k;
    const counts = tally("least", list, picks, 1_000 + k);
    for (const c of counts) assert.ok(Math.abs(c / picks - 1 / k) <= 0.02, `k=${k}: ${counts}`);
  }
});

Deno.test("round-robin: cycles in order and skips ineligible candidates", () => {
  const policy = new RoundRobinPolicy();
  const random = mulberry32(5);
  const list = candidates([true, false, true, false, true]);
  const picks = Array.from({ length: 7 }, () => policy.select(list, isOk, random));
  assert.deepEqual(picks, [0, 2, 4, 0, 2, 4, 0]);
});

Deno.test("round-robin: does not stall when the candidate list shrinks", () => {
  const policy = new RoundRobinPolicy();
  const random = mulberry32(6);
  const five = candidates([true, true, true, true, true]);
  assert.deepEqual(
    Array.from({ length: 4 }, () => policy.select(five, isOk, random)),
    [0, 1, 2, 3],
  );
  // The cursor now points past the end of a two-element list.
  const two = five.slice(0, 2);
  const picks = Array.from({ length: 6 }, () => policy.select(two, isOk, random));
  for (const i of picks) assert.ok(i === 0 || i === 1, `index ${i} within the new list`);
  assert.equal(picks.filter((i) => i === 0).length, 3, `alternates: ${picks}`);
  for (let k = 1; k < picks.length; k++) assert.notEqual(picks[k], picks[k - 1]);
  // Shrinking to one and growing back keeps it going.
  assert.equal(policy.select(five.slice(0, 1), isOk, random), 0);
  const grown = Array.from({ length: 5 }, () => policy.select(five, isOk, random));
  assert.deepEqual([...grown].sort(), [0, 1, 2, 3, 4]);
});

Deno.test("round-robin: weights 5, 1, 1 go a a b a c a a, as nginx's smooth weighted round robin", () => {
  const policy = new RoundRobinPolicy();
  const list = [5, 1, 1].map((weight) => ({ inFlight: 0, ok: true, weight }));
  const picks = Array.from({ length: 14 }, () => policy.select(list, isOk, mulberry32(1)));
  assert.deepEqual(picks, [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
});

Deno.test("least: compares in flight per unit of weight", () => {
  const policy = new LeastInFlightPolicy();
  // 4 in flight on weight 4 (1 each) beats 2 on weight 1.
  const list = [{ inFlight: 2, ok: true, weight: 1 }, { inFlight: 4, ok: true, weight: 4 }];
  assert.equal(policy.select(list, isOk, mulberry32(2)), 1);
});

Deno.test("round-robin: never consults the random source", () => {
  const policy = createPolicy("round-robin");
  const random = () => {
    throw new Error("round-robin must be deterministic");
  };
  assert.deepEqual(
    Array.from({ length: 4 }, () => policy.select(candidates([true, true, true]), isOk, random)),
    [0, 1, 2, 0],
  );
});

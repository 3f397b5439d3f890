import assert from "node:assert/strict";
import { HashPolicy, rendezvousOwner } from "../../src/balance/rendezvous.ts";
import { createPolicy } from "../../src/balance/policy.ts";
import { hashBytes, hashString } from "../../src/balance/key_hash.ts";
import { mulberry32 } from "../_helpers/random.ts";

interface Candidate {
  readonly inFlight: number;
  readonly hashId: number;
  ok: boolean;
  readonly weight?: number;
}

const isOk = (c: Candidate) => c.ok;
const endpoints = (n: number, weight?: (i: number) => number): Candidate[] =>
  Array.from({ length: n }, (_, i) => ({
    inFlight: 0,
    hashId: hashString(`http://10.0.0.${i + 1}:9000`),
    ok: true,
    ...(weight === undefined ? {} : { weight: weight(i) }),
  }));
const keys = (n: number) => Array.from({ length: n }, (_, i) => hashString(`client-${i}`));

Deno.test("hash: the same key goes to the same endpoint (sticky)", () => {
  const policy = new HashPolicy(createPolicy("least"));
  const list = endpoints(5);
  const random = mulberry32(1);
  for (const key of keys(200)) {
    const pick = { now: 0, key };
    const first = policy.select(list, isOk, random, pick);
    for (let k = 0; k < 5; k++) assert.equal(policy.select(list, isOk, random, pick), first);
  }
});

Deno.test("hash: when 1 of N endpoints leaves, only its keys move (~1/N)", () => {
  const all = keys(20_000);
  for (const n of [3, 5, 10]) {
    const list = endpoints(n);
    const before = all.map((k) => list[rendezvousOwner(list, k)].hashId);
    const rest = list.filter((_, i) => i !== 1); // endpoint 1 leaves
    const after = all.map((k) => rest[rendezvousOwner(rest, k)].hashId);
    let moved = 0;
    for (let k = 0; k < all.length; k++) {
      if (before[k] !== after[k]) {
        moved++;
        assert.equal(before[k], list[1].hashId, "only keys of the endpoint that left move");
      }
    }
    const share = moved / all.length;
    console.log(
      `hash: 1 of ${n} leaves, ${(share * 100).toFixed(2)}% of keys move (ideal ${
        (100 / n).toFixed(2)
      }%)`,
    );
    assert.ok(Math.abs(share - 1 / n) < 0.02, `moved ${share} with n=${n}`);
  }
});

Deno.test("hash: an unavailable owner's keys go to the fallback; the others stay", () => {
  const policy = new HashPolicy(createPolicy("least"));
  const list = endpoints(4);
  const random = mulberry32(5);
  const all = keys(4_000);
  const owners = all.map((key) => policy.select(list, isOk, random, { now: 0, key }));
  list[2].ok = false;
  const spread = [0, 0, 0, 0];
  all.forEach((key, k) => {
    const i = policy.select(list, isOk, random, { now: 0, key });
    assert.notEqual(i, 2);
    if (owners[k] !== 2) assert.equal(i, owners[k]);
    else spread[i]++;
  });
  // The fallback (least, all idle: random) spreads them over the rest.
  for (const i of [0, 1, 3]) assert.ok(spread[i] > 200, `${spread}`);
  list[2].ok = true;
  all.forEach((key, k) =>
    assert.equal(policy.select(list, isOk, random, { now: 0, key }), owners[k])
  );
});

Deno.test("hash: without a key the fallback policy picks", () => {
  const policy = new HashPolicy(createPolicy("round-robin"));
  const list = endpoints(3);
  const random = mulberry32(2);
  const picks = Array.from({ length: 6 }, () => policy.select(list, isOk, random));
  assert.deepEqual(picks, [0, 1, 2, 0, 1, 2]);
});

Deno.test("hash: weighted rendezvous gives each endpoint keys in proportion to its weight", () => {
  const list = endpoints(3, (i) => [1, 2, 5][i]);
  const counts = [0, 0, 0];
  const all = keys(40_000);
  for (const key of all) counts[rendezvousOwner(list, key)]++;
  const shares = counts.map((c) => c / all.length);
  [1, 2, 5].forEach((w, i) => assert.ok(Math.abs(shares[i] - w / 8) < 0.015, `${shares}`));
});

Deno.test("hash: bytes and strings hash alike (a header value and an address)", () => {
  const b = new TextEncoder().encode("xx10.0.0.7yy");
  assert.equal(hashBytes(b, 2, 10), hashString("10.0.0.7"));
  assert.notEqual(hashString("10.0.0.7"), hashString("10.0.0.8"));
});

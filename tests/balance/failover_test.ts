import assert from "node:assert/strict";
import { selectEndpoint as selectFrom } from "../../src/balance/failover.ts";
import { createPolicy, type Policy, type RandomSource } from "../../src/balance/policy.ts";
import { POLICY_NAMES } from "../../src/config/schema.ts";
import { mulberry32 } from "../_helpers/random.ts";

interface Node {
  readonly name: string;
  inFlight: number;
  up: boolean;
}

function node(name: string, up = true): Node {
  return { name, inFlight: 0, up };
}

const isUp = (n: Node) => n.up;

/** The choice object spelled out per call, as the tests read best. */
function selectEndpoint(
  sites: Node[][],
  policies: Policy[],
  eligible: (n: Node) => boolean,
  random: RandomSource,
): Node | undefined {
  return selectFrom({ sites, policies, eligible, random });
}

for (const name of POLICY_NAMES) {
  Deno.test(`selectEndpoint() with ${name}: the first site with an eligible endpoint wins`, () => {
    const policy = [createPolicy(name), createPolicy(name), createPolicy(name)];
    const random = mulberry32(1);
    const site1 = [node("a1"), node("a2")];
    const site2 = [node("b1"), node("b2")];
    for (let call = 0; call < 50; call++) {
      const chosen = selectEndpoint([site1, site2], policy, isUp, random);
      assert.ok(chosen !== undefined && site1.includes(chosen), chosen?.name);
    }
    // One endpoint of site 1 down is not enough to fail over.
    site1[0].up = false;
    for (let call = 0; call < 20; call++) {
      assert.equal(selectEndpoint([site1, site2], policy, isUp, random), site1[1]);
    }
  });

  Deno.test(`selectEndpoint() with ${name}: fails over, then goes back`, () => {
    const policy = [createPolicy(name), createPolicy(name), createPolicy(name)];
    const random = mulberry32(2);
    const site1 = [node("a1"), node("a2")];
    const site2 = [node("b1", false), node("b2")];
    const site3 = [node("c1")];
    const sites = [site1, site2, site3];

    for (const n of site1) n.up = false;
    for (let call = 0; call < 20; call++) {
      assert.equal(selectEndpoint(sites, policy, isUp, random), site2[1]);
    }
    site2[1].up = false;
    assert.equal(selectEndpoint(sites, policy, isUp, random), site3[0]);

    site1[1].up = true;
    for (let call = 0; call < 20; call++) {
      assert.equal(selectEndpoint(sites, policy, isUp, random), site1[1]);
    }
  });

  Deno.test(`selectEndpoint() with ${name}: returns undefined when nothing is eligible`, () => {
    const policy = [createPolicy(name), createPolicy(name), createPolicy(name)];
    const random = mulberry32(3);
    assert.equal(selectEndpoint([], policy, isUp, random), undefined);
    assert.equal(selectEndpoint([[], []], policy, isUp, random), undefined);
    const sites = [[node("a1", false)], [], [node("b1", false), node("b2", false)]];
    assert.equal(selectEndpoint(sites, policy, isUp, random), undefined);
    // An empty site is skipped, not a dead end.
    sites[2][0].up = true;
    assert.equal(selectEndpoint(sites, policy, isUp, random), sites[2][0]);
  });
}

Deno.test("selectEndpoint() honours the eligibility predicate, e.g. endpoints already tried", () => {
  const policy = [createPolicy("least"), createPolicy("least")];
  const random = mulberry32(4);
  const site1 = [node("a1"), node("a2")];
  const site2 = [node("b1")];
  const tried = new Set<Node>();
  const eligible = (n: Node) => n.up && !tried.has(n);
  const order: string[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const chosen = selectEndpoint([site1, site2], policy, eligible, random);
    if (chosen === undefined) break;
    tried.add(chosen);
    order.push(chosen.name);
  }
  assert.deepEqual(order.slice(0, 2).sort(), ["a1", "a2"]);
  assert.deepEqual(order.slice(2), ["b1"]);
});

Deno.test("selectEndpoint() uses the policy inside a site (least in flight)", () => {
  const policy = [createPolicy("least"), createPolicy("least")];
  const random = mulberry32(5);
  const site1 = [node("a1"), node("a2"), node("a3")];
  site1[0].inFlight = 5;
  site1[1].inFlight = 1;
  site1[2].inFlight = 3;
  const site2 = [{ ...node("b1"), inFlight: 0 }];
  assert.equal(selectEndpoint([site1, site2], policy, isUp, random), site1[1]);
});

import assert from "node:assert/strict";
import {
  type HealthState,
  type HealthThresholds,
  initialHealthState,
  markDown,
  nextHealthState,
} from "../../src/health/state.ts";

/** Feeds results at times 1, 2, 3, ... and returns every state seen. */
function run(
  start: HealthState,
  results: readonly boolean[],
  thresholds: HealthThresholds,
): HealthState[] {
  const states: HealthState[] = [];
  let state = start;
  results.forEach((passed, k) => {
    state = nextHealthState(state, passed, thresholds, k + 1);
    states.push(state);
  });
  return states;
}

const RISE2_FALL3: HealthThresholds = { rise: 2, fall: 3 };

Deno.test("initialHealthState() starts up or down with no streak", () => {
  assert.deepEqual(initialHealthState(true, 7), { status: "up", streak: 0, since: 7 });
  assert.deepEqual(initialHealthState(false, 7), { status: "down", streak: 0, since: 7 });
});

Deno.test("nextHealthState() needs `rise` consecutive passes to come up", () => {
  const states = run(initialHealthState(false, 0), [true, true], RISE2_FALL3);
  assert.deepEqual(states, [
    { status: "down", streak: 1, since: 0 },
    { status: "up", streak: 0, since: 2 },
  ]);
});

Deno.test("nextHealthState() needs `fall` consecutive failures to go down", () => {
  const states = run(initialHealthState(true, 0), [false, false, false], RISE2_FALL3);
  assert.deepEqual(states, [
    { status: "up", streak: 1, since: 0 },
    { status: "up", streak: 2, since: 0 },
    { status: "down", streak: 0, since: 3 },
  ]);
});

Deno.test("nextHealthState() resets the streak on an agreeing result", () => {
  // Up: two failures, a pass, then it takes three fresh failures to go down.
  const up = run(
    initialHealthState(true, 0),
    [false, false, true, false, false, false],
    RISE2_FALL3,
  );
  assert.deepEqual(up.map((s) => s.status), ["up", "up", "up", "up", "up", "down"]);
  assert.deepEqual(up.map((s) => s.streak), [1, 2, 0, 1, 2, 0]);
  assert.equal(up[5].since, 6);
  // Down: pass, fail, pass, pass.
  const down = run(initialHealthState(false, 0), [true, false, true, true], RISE2_FALL3);
  assert.deepEqual(down.map((s) => s.status), ["down", "down", "down", "up"]);
  assert.deepEqual(down.map((s) => s.streak), [1, 0, 1, 0]);
});

Deno.test("nextHealthState() moves `since` only on transitions", () => {
  const results = [true, true, true, false, false, true, false, false, false, true];
  const states = run(initialHealthState(false, 0), results, RISE2_FALL3);
  let previous = initialHealthState(false, 0);
  states.forEach((state, k) => {
    if (state.status === previous.status) assert.equal(state.since, previous.since, `step ${k}`);
    else assert.equal(state.since, k + 1, `step ${k} is a transition`);
    previous = state;
  });
  assert.deepEqual(states.map((s) => s.status), [
    "down",
    "up",
    "up",
    "up",
    "up",
    "up",
    "up",
    "up",
    "down",
    "down",
  ]);
});

Deno.test("nextHealthState() with rise 1 and fall 1 flips on one result", () => {
  const t = { rise: 1, fall: 1 };
  const states = run(initialHealthState(false, 0), [true, false, false, true, true], t);
  assert.deepEqual(states, [
    { status: "up", streak: 0, since: 1 },
    { status: "down", streak: 0, since: 2 },
    { status: "down", streak: 0, since: 2 },
    { status: "up", streak: 0, since: 4 },
    { status: "up", streak: 0, since: 4 },
  ]);
});

Deno.test("nextHealthState() returns a fresh object only when something changed", () => {
  const t = RISE2_FALL3;
  const steady = initialHealthState(true, 0);
  assert.equal(nextHealthState(steady, true, t, 5), steady);
  const counting = nextHealthState(steady, false, t, 5);
  assert.notEqual(counting, steady);
  const reset = nextHealthState(counting, true, t, 6);
  assert.notEqual(reset, counting);
  assert.deepEqual(reset, { status: "up", streak: 0, since: 0 });
  assert.equal(nextHealthState(reset, true, t, 7), reset);
  const down = initialHealthState(false, 0);
  assert.equal(nextHealthState(down, false, t, 5), down);
  // The input is never mutated.
  assert.deepEqual(steady, { status: "up", streak: 0, since: 0 });
  assert.deepEqual(counting, { status: "up", streak: 1, since: 0 });
});

Deno.test("nextHealthState() property: status follows the rise/fall rule", () => {
  // A plain reference model over many deterministic result sequences.
  for (let seed = 0; seed < 256; seed++) {
    const results = Array.from({ length: 8 }, (_, bit) => ((seed >> bit) & 1) === 1);
    for (const t of [{ rise: 1, fall: 1 }, { rise: 2, fall: 3 }, { rise: 3, fall: 2 }]) {
      let up = false;
      let streak = 0;
      let state = initialHealthState(false, 0);
      results.forEach((passed, k) => {
        if (passed === up) streak = 0;
        else if (++streak >= (up ? t.fall : t.rise)) {
          up = !up;
          streak = 0;
        }
        state = nextHealthState(state, passed, t, k + 1);
        assert.equal(state.status, up ? "up" : "down", `${results} ${JSON.stringify(t)} @${k}`);
        assert.equal(state.streak, streak);
      });
    }
  }
});

Deno.test("markDown() takes an endpoint down at once", () => {
  const up = initialHealthState(true, 0);
  assert.deepEqual(markDown(up, 9), { status: "down", streak: 0, since: 9 });
  // Even while failures were already being counted.
  const counting = nextHealthState(up, false, RISE2_FALL3, 3);
  assert.deepEqual(markDown(counting, 9), { status: "down", streak: 0, since: 9 });
  // Already down: the same object, `since` unchanged.
  const down = initialHealthState(false, 4);
  assert.equal(markDown(down, 9), down);
});

Deno.test("markDown() then passes: `rise` passes bring it back up", () => {
  const down = markDown(initialHealthState(true, 0), 1);
  const states = run(down, [true, true], RISE2_FALL3);
  assert.deepEqual(states.map((s) => s.status), ["down", "up"]);
});

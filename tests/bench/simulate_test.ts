/**
 * The policy simulator (`deno task simulate`) stays runnable: a short run of
 * two scenarios through a real sidecar gives a well-formed table, and the
 * misbehaving backends misbehave as the README's table says they do.
 *
 * @module
 */

import assert from "node:assert/strict";
import { formatTable, runSimulation, SCENARIOS } from "../../bench/simulate.ts";
import {
  BACKEND_NAMES,
  DEFAULT_TIMELINE,
  HEALTH_PATH,
  startBackends,
} from "../../bench/sim/backends.ts";
import { COLUMNS } from "../../bench/sim/table.ts";

Deno.test("simulate: two scenarios give one well-formed table row each", async () => {
  const scenarios = SCENARIOS.filter((s) => s.name === "least" || s.name === "round-robin");
  assert.equal(scenarios.length, 2);
  const rows = await runSimulation(scenarios, { workers: 2, durationMs: 1_000 });
  const lines = formatTable(rows).split("\n");
  assert.equal(lines.length, 4);
  for (const line of lines) {
    assert.equal(line.split("|").length - 2, COLUMNS.length, line);
  }
  assert.deepEqual(lines[0].split("|").slice(1, -1).map((c) => c.trim()), [...COLUMNS]);
  const [least, roundRobin] = rows;
  assert.deepEqual([least.scenario, roundRobin.scenario], ["least", "round-robin"]);
  for (const row of rows) {
    assert.ok(row.requests > 10, row.scenario);
    assert.equal(row.reads.dead, 0, "nothing reaches a dead backend");
    assert.ok(row.p50Ms <= row.p99Ms, row.scenario);
  }
  // Least in flight keeps a 200 ms backend to a small share; round robin gives it its turn.
  assert.ok(least.reads["fast-a"] > least.reads.slow * 5);
  assert.ok(roundRobin.reads.slow > 0);
  assert.ok(roundRobin.p99Ms > DEFAULT_TIMELINE.slowMs * 0.9);
});

/** Polls `url` every 20 ms for `ms` and returns the states seen, repeats collapsed. */
async function observe(
  client: Deno.HttpClient,
  url: string,
  ms: number,
  onState?: (state: string) => Promise<void>,
): Promise<string[]> {
  const states: string[] = [];
  const until = performance.now() + ms;
  for (let i = 0; i < 1_000 && performance.now() < until; i++) {
    let state: string;
    try {
      const res = await fetch(url, { client });
      await res.body?.cancel();
      state = String(res.status);
    } catch {
      state = "refused";
    }
    if (states.at(-1) !== state) {
      states.push(state);
      await onState?.(state);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return states;
}

Deno.test("simulate: the ready-too-early backend answers its probe 200 while reads get 404", async () => {
  const backends = startBackends({
    ...DEFAULT_TIMELINE,
    earlyFirstRestartMs: 200,
    earlyDownMs: 300,
    earlyNotFoundMs: 600,
  });
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const early = backends.urls[BACKEND_NAMES.indexOf("early")];
    backends.begin();
    const probes: number[] = [];
    const states = await observe(client, `${early}/object`, 1_500, async (state) => {
      if (state !== "404") return;
      const res = await fetch(`${early}${HEALTH_PATH}`, { client });
      await res.body?.cancel();
      probes.push(res.status);
    });
    assert.deepEqual(states, ["200", "refused", "404", "200"]);
    assert.deepEqual(probes, [200]);
  } finally {
    client.close();
    await backends.close();
  }
});

Deno.test("simulate: the flapping backend fails everything, probe too, then recovers", async () => {
  const backends = startBackends({ ...DEFAULT_TIMELINE, flapUpMs: 300, flapDownMs: 300 });
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const flapping = backends.urls[BACKEND_NAMES.indexOf("flapping")];
    backends.begin();
    assert.deepEqual(await observe(client, `${flapping}${HEALTH_PATH}`, 800), [
      "200",
      "503",
      "200",
    ]);
  } finally {
    client.close();
    await backends.close();
  }
});

/**
 * The bench's soak script (bench/soak.ts) in seconds rather than minutes:
 * it starts sidekick, loads it, samples its RSS on the given period during
 * and after the load, prints the curve and the verdict against idle, and
 * stops every process it started.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("bench/soak.ts: 3 s of load sampled every second, 2 s after, prints the RSS curve and the verdict", async () => {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-run=deno,ps,taskset",
      `${ROOT}bench/soak.ts`,
      "--seconds",
      "3",
      "--after",
      "2",
      "--every",
      "1",
      "--concurrency",
      "4",
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const rows = text.split("\n").filter((l) => /^\| \d+ \| (idle|load|after) \|/.test(l));
  const phases = rows.map((r) => r.split("|")[2].trim());
  assert.equal(phases[0], "idle");
  assert.equal(phases.filter((p) => p === "load").length, 3, text);
  assert.equal(phases.filter((p) => p === "after").length, 2, text);
  for (const row of rows) {
    const mb = Number(row.split("|")[3]);
    assert.ok(mb > 10 && mb < 2000, `an RSS in MB: ${row}`);
  }
  const loaded = rows.filter((r) => r.includes("| load |")).map((r) => Number(r.split("|")[4]));
  assert.ok(loaded[2] > loaded[0] && loaded[0] > 0, `requests grow under load: ${loaded}`);
  assert.match(
    text,
    /idle [\d.]+ MB, peak [\d.]+ MB, 2 s after the load [\d.]+ MB: (back|NOT back) within 10% of idle; \d+ requests, 0 failed/,
  );
});

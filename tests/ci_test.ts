/**
 * One gate: `deno task ok` runs every check and the suite, and both CI
 * (`.ci/run`) and the release workflow call it rather than their own lists.
 */

import assert from "node:assert/strict";
import { parse } from "yaml";

const ROOT = new URL("../", import.meta.url);

Deno.test("ci: deno task ok runs fmt, lint, type check of every entry, doc lint and the tests", async () => {
  const { tasks, exports } = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.equal(tasks.ok, "deno task check && deno task test");
  const check = String(tasks.check).split(" && ");
  assert.deepEqual(check.slice(0, 2), ["deno fmt --check", "deno lint"]);
  const entries = Object.values(exports as Record<string, string>).map((p) => p.slice(2)).sort();
  const typed = check.find((c) => c.startsWith("deno check "))?.split(" ").slice(2).sort();
  const documented = check.find((c) => c.startsWith("deno doc --lint "))?.split(" ").slice(3)
    .sort();
  assert.deepEqual(typed, entries, "deno check covers every export");
  assert.deepEqual(documented, entries, "deno doc --lint covers every export");
  assert.match(tasks.test, /^deno test --doc --sanitize-ops --sanitize-resources /);
  for (const path of ["tests/", "src/", "README.md", ...entries]) {
    assert.ok(tasks.test.split(" ").includes(path), `deno task test runs ${path}`);
  }
  assert.ok(!/(^| )-A( |$)|--allow-all/.test(tasks.test), "scoped permissions only");
});

Deno.test("ci: .ci/run installs Deno from npm and calls deno task ok; release.yml calls it too", async () => {
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  const steps = ci.split("\n").filter((l) => l.startsWith("step "));
  assert.deepEqual(steps, ["step deno task ok"]);
  assert.match(ci, /npm install [^\n]*"deno@\$DENO_VERSION"/);
  const workflow = parse(await Deno.readTextFile(new URL(".github/workflows/release.yml", ROOT)));
  const runs: string[] = workflow.jobs.release.steps.map((s: { run?: string }) => s.run ?? "");
  assert.equal(runs.filter((r) => /^deno task ok$/m.test(r)).length, 1);
  assert.ok(!runs.some((r) => /^deno (fmt|lint|check|task test)\b/m.test(r)), "no second list");
});

/**
 * The README's install step, as a new user follows it from a checkout:
 * `deno install -g -n sidekick ...` gives a `sidekick` command that runs.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("README: the checkout install step gives a working sidekick command", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const line = /^deno install -g -n sidekick (.*) \.\/mod\.ts$/m.exec(readme);
  assert.ok(line, "the README has the checkout install line");
  const jsr = /^deno install -g -n sidekick (.*) jsr:@sidekick\/cli$/m.exec(readme);
  assert.ok(jsr, "the README has the JSR install line");
  // Scoped grants only: never -A, never a bare --allow-net.
  for (const flags of [line[1], jsr[1]]) {
    assert.doesNotMatch(flags, /(^| )(-A|--allow-all|--allow-net)( |$)/, flags);
  }
  // The grant both lines install is what `permissions` prints for the README's example.
  const ask = /^deno run jsr:@sidekick\/cli (permissions .*)\n# (--allow-net=\S+)$/m.exec(readme);
  assert.ok(ask, "the README asks `permissions` first and shows its answer");
  const printed = await new Deno.Command("deno", {
    args: ["run", "--no-prompt", "mod.ts", ...shellWords(ask[1])],
    cwd: ROOT,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(printed.code, 0, new TextDecoder().decode(printed.stderr));
  assert.equal(new TextDecoder().decode(printed.stdout).split("\n")[0], ask[2]);
  assert.ok(line[1].split(" ").includes(ask[2]), line[1]);
  assert.ok(jsr[1].split(" ").includes(ask[2]), jsr[1]);
  const root = await Deno.makeTempDir();
  try {
    const install = await new Deno.Command("deno", {
      args: ["install", "-g", "--root", root, "-n", "sidekick", ...line[1].split(" "), "./mod.ts"],
      cwd: ROOT,
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
    // The installed command is a shell script ending in `exec deno run ARGS "$@"`; run that line.
    const script = await Deno.readTextFile(`${root}/bin/sidekick`);
    const exec = /^exec deno (.*) "\$@"$/m.exec(script);
    assert.ok(exec, script);
    const args = exec[1].split(" ").map((a) => a.replace(/^'(.*)'$/, "$1"));
    const help = await new Deno.Command("deno", {
      args: [...args, "--help"],
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(help.stdout);
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
    assert.match(out, /^sidekick - high-performance sidecar load balancer/);
    assert.match(out, /^ {2}sidekick permissions /m);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Splits the README's one-line commands: spaces separate, single quotes group. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

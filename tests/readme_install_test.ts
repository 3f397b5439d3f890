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
  assert.match(readme, /^deno install -g -n sidekick --allow-net jsr:@sidekick\/cli$/m);
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

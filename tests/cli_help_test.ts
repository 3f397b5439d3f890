/**
 * The command line's help as a new user meets it: `--help` lists the
 * subcommands, each subcommand has its own `--help`, `sidekick help` works,
 * and the help of `--log`, `-q` and durations says what they do.
 */

import assert from "node:assert/strict";
import { runCli } from "./_helpers/cli.ts";

Deno.test("--help lists the subcommands; sidekick help prints the same; flags say what they do", async () => {
  const help = await runCli([], ["--help"]);
  assert.equal(help.code, 0);
  assert.equal(help.stderr, "");
  for (const command of ["check", "l4", "permissions", "help"]) {
    assert.match(help.stdout, new RegExp(`^  sidekick ${command}\\b`, "m"), command);
  }
  assert.match(
    help.stdout,
    /^ {2}--log, -l +console output like minio\/sidekick: trace every request/m,
  );
  assert.match(
    help.stdout,
    /^ {2}--quiet, -q +print only errors: no LOG lines, traces or startup/m,
  );
  assert.match(help.stdout, /^ {2}--no-proxy-headers +do not send Server: SideKick/m);
  assert.match(
    help.stdout,
    /plain seconds \(5\)\. In a config file a duration\s+always has a unit/,
  );
  const viaCommand = await runCli([], ["help"]);
  assert.equal(viaCommand.code, 0);
  assert.equal(viaCommand.stdout, help.stdout);
});

Deno.test("every subcommand has its own --help, and sidekick help COMMAND prints it", async () => {
  for (const command of ["check", "l4", "permissions"]) {
    const own = await runCli([], [command, "--help"]);
    assert.equal(own.code, 0, `${command} --help: ${own.stderr}`);
    assert.match(own.stdout, new RegExp(`^sidekick ${command} - `), command);
    assert.match(own.stdout, new RegExp(`USAGE:\\n {2}sidekick ${command}`), command);
    const viaHelp = await runCli([], ["help", command]);
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.stdout, own.stdout, `help ${command}`);
  }
  const wrong = await runCli([], ["help", "chek"]);
  assert.equal(wrong.code, 2);
  assert.equal(
    wrong.stderr.trim(),
    "sidekick help: no command 'chek' (did you mean check?); the commands are check, l4, permissions, help",
  );
});

Deno.test("an unknown flag or a flag without its value is one line in our words, exit 2", async () => {
  const typo = await runCli([], ["--helth-path", "/ready", "http://127.0.0.1:9000"]);
  assert.equal(typo.code, 2);
  assert.equal(
    typo.stderr.trim(),
    "sidekick: unknown flag --helth-path (did you mean --health-path?); sidekick --help lists them all",
  );
  const negative = await runCli([], ["-d", "-5s", "http://127.0.0.1:9000"]);
  assert.equal(negative.code, 2);
  assert.match(
    negative.stderr.trim(),
    /^sidekick: --health-duration: Cannot parse duration '-5s' as it is negative: expected a Go duration/,
  );
  assert.equal(negative.stderr.trim().split("\n").length, 1);
});

Deno.test("sidekick help --help prints help's own help", async () => {
  for (const flag of ["--help", "-h"]) {
    const own = await runCli([], ["help", flag]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^sidekick help - show help/);
  }
});

Deno.test("a subcommand given an unknown flag says so in one line, exit 2", async () => {
  const check = await runCli([], ["check", "--strict", "sidekick.yaml"]);
  assert.equal(check.code, 2);
  assert.equal(
    check.stderr.trim(),
    "sidekick check: unknown flag --strict; it takes only FILE (sidekick check --help)",
  );
  const l4 = await runCli([], ["l4", "127.0.0.1:0", "--backend=127.0.0.1:9"]);
  assert.equal(l4.code, 2);
  assert.equal(
    l4.stderr.trim(),
    "sidekick l4: unknown flag --backend=127.0.0.1:9 (did you mean backends=?); " +
      "it takes BIND and key=value arguments (sidekick l4 --help)",
  );
});

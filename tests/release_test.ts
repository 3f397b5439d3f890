/**
 * The release path: the `deno compile` command lines of scripts/compile.ts
 * (targets, baked permissions, narrowing), its offline check-only mode, and
 * .github/workflows/release.yml. No binary is built: `deno compile` needs to
 * download its runtime, and tests stay on loopback.
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import {
  BUILD_VARIABLES,
  compileArgs,
  DEFAULT_V8_FLAGS,
  ENV_VARIABLES,
  outputPath,
  parseCompileCommand,
  parseGrant,
  runtimeFlags,
  TARGETS,
} from "../scripts/compile.ts";
import { envName, FLAGS, mergeEnv } from "../src/config/compat/flags.ts";
import { parseSideLbArgs } from "../src/config/compat/sidelb.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The value of `--allow-X=...` in a command line, "all" for a bare `--allow-X`, undefined when absent. */
function grantIn(args: readonly string[], name: string): string | undefined {
  const flag = `--allow-${name}`;
  const found = args.filter((a) => a === flag || a.startsWith(`${flag}=`));
  assert.ok(found.length <= 1, `${flag} given ${found.length} times`);
  if (found.length === 0) return undefined;
  return found[0] === flag ? "all" : found[0].slice(flag.length + 1);
}

Deno.test("TARGETS are the four release targets, named like minio/sidekick's downloads", () => {
  assert.deepEqual(TARGETS.map((t) => [t.triple, outputPath(t)]), [
    ["x86_64-unknown-linux-gnu", "dist/sidekick-linux-amd64"],
    ["aarch64-unknown-linux-gnu", "dist/sidekick-linux-arm64"],
    ["x86_64-apple-darwin", "dist/sidekick-darwin-amd64"],
    ["aarch64-apple-darwin", "dist/sidekick-darwin-arm64"],
  ]);
});

Deno.test("compileArgs() builds the full default command line for every target", () => {
  const env = `--allow-env=${ENV_VARIABLES.join(",")}`;
  for (const t of TARGETS) {
    assert.deepEqual(compileArgs(t), [
      "compile",
      "--target",
      t.triple,
      "--output",
      `dist/sidekick-${t.os}-${t.arch}`,
      "--frozen-lockfile",
      "--exclude-unused-npm",
      "--no-prompt",
      "--allow-net",
      "--allow-read",
      env,
      "--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20",
      "cli.ts",
    ]);
  }
});

Deno.test("compileArgs() bakes in no write, run, sys, ffi, import or all-permission grant by default", () => {
  const args = compileArgs(TARGETS[0]);
  for (const bad of ["-A", "--allow-all", "--allow-write", "--allow-run", "--allow-sys"]) {
    assert.ok(!args.some((a) => a === bad || a.startsWith(`${bad}=`)), `${bad} in ${args}`);
  }
  assert.ok(!args.some((a) => /^--allow-(ffi|import)/.test(a)));
  assert.deepEqual(DEFAULT_V8_FLAGS, ["--max-semi-space-size=2", "--heap-growing-percent=20"]);
});

Deno.test("ENV_VARIABLES is SIDEKICK_<FLAG> for every flag, SIDEKICK_SITES, SIDELB_* and yaml's two", () => {
  const flags = FLAGS.filter((f) => f.name !== "help" && f.name !== "version");
  assert.deepEqual(ENV_VARIABLES, [
    ...flags.map((f) => envName(f.name)),
    "SIDEKICK_SITES",
    "SIDELB_BIND_ADDR",
    "SIDELB_BACKENDS",
    "SIDELB_MODE",
    "SIDELB_PROTO",
    "SIDELB_RING_DOMAIN",
    "SIDELB_HEALTH_SOCKET",
    "LOG_TOKENS",
    "LOG_STREAM",
  ]);
  assert.ok(ENV_VARIABLES.includes("SIDEKICK_HEALTH_PATH"));
  assert.ok(
    !ENV_VARIABLES.includes("SIDEKICK_HELP") && !ENV_VARIABLES.includes("SIDEKICK_VERSION"),
  );
  assert.equal(new Set(ENV_VARIABLES).size, ENV_VARIABLES.length);
});

Deno.test("ENV_VARIABLES covers every variable the flag and SideLB parsers actually read", () => {
  const read = new Set<string>();
  mergeEnv({}, [], (name) => {
    read.add(name);
    return undefined;
  });
  // No arguments, so every SIDELB_* variable is consulted (an argument would win).
  const sidelb: Record<string, string> = {
    SIDELB_BIND_ADDR: "127.0.0.1:5432",
    SIDELB_BACKENDS: "127.0.0.1:5433",
  };
  const recorder = new Proxy(sidelb, {
    get(target, name) {
      if (typeof name !== "string") return undefined;
      read.add(name);
      return target[name];
    },
  });
  parseSideLbArgs([], recorder);
  assert.ok(read.size > FLAGS.length - 2, `only ${[...read].join(", ")} were read`);
  for (const name of ["SIDEKICK_SITES", "SIDELB_BIND_ADDR", "SIDELB_RING_DOMAIN"]) {
    assert.ok(read.has(name), `${name} was not read`);
  }
  for (const name of read) {
    assert.ok(ENV_VARIABLES.includes(name), `${name} is read but not granted`);
  }
});

Deno.test("narrowing: SIDEKICK_ALLOW_* bake exactly the given lists, '' none and '*' any", () => {
  const env: Record<string, string> = {
    SIDEKICK_ALLOW_NET: "0.0.0.0:8080, minio1:9000,minio2:9000",
    SIDEKICK_ALLOW_READ: "",
    SIDEKICK_ALLOW_ENV: "SIDEKICK_SITES",
    SIDEKICK_ALLOW_WRITE: "/etc/sidekick",
    SIDEKICK_V8_FLAGS: "--max-old-space-size=64",
  };
  const cmd = parseCompileCommand([], (k) => env[k]);
  assert.equal(cmd.mode, "compile");
  assert.equal(cmd.targets.length, 4);
  const args = compileArgs(cmd.targets[3], cmd.options);
  assert.equal(grantIn(args, "net"), "0.0.0.0:8080,minio1:9000,minio2:9000");
  assert.equal(grantIn(args, "read"), undefined);
  assert.equal(grantIn(args, "env"), "SIDEKICK_SITES");
  assert.equal(grantIn(args, "write"), "/etc/sidekick");
  assert.ok(args.includes("--v8-flags=--max-old-space-size=64"));
  assert.equal(args[args.indexOf("--output") + 1], "dist/sidekick-darwin-arm64");

  const wide = parseCompileCommand([], (k) => ({ SIDEKICK_ALLOW_WRITE: "*" } as never)[k]);
  assert.equal(grantIn(compileArgs(TARGETS[0], wide.options), "write"), "all");
  assert.deepEqual(BUILD_VARIABLES.slice().sort(), Object.keys(env).sort());
});

Deno.test("narrowing: an argument wins over its variable; targets by triple or os-arch", () => {
  const cmd = parseCompileCommand(
    ["--allow-net=127.0.0.1:8080", "--target", "linux-arm64", "--target", "x86_64-apple-darwin"],
    (k) => ({ SIDEKICK_ALLOW_NET: "0.0.0.0:1" } as Record<string, string>)[k],
  );
  assert.deepEqual(cmd.targets.map((t) => t.triple), [
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
  ]);
  assert.deepEqual(runtimeFlags(cmd.options).slice(0, 3), [
    "--no-prompt",
    "--allow-net=127.0.0.1:8080",
    "--allow-read",
  ]);
  assert.equal(parseCompileCommand(["--check-only"]).mode, "check");
  assert.equal(parseCompileCommand(["--dry-run"]).mode, "dry-run");
  assert.equal(parseGrant(" * "), "all");
});

Deno.test("bad build options are refused with what is accepted", () => {
  assert.throws(() => parseCompileCommand(["--target", "x86_64-pc-windows-msvc"]), {
    name: "TypeError",
    message: /'x86_64-pc-windows-msvc'.*x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu/,
  });
  assert.throws(() => parseCompileCommand(["--allow-al"]), TypeError);
  assert.throws(() => parseCompileCommand(["--v8-flags=max-old-space-size=1"]), /start with '--'/);
  assert.throws(() => runtimeFlags({ net: [] }), {
    name: "RangeError",
    message: /without network/,
  });
});

async function runCompileScript(args: string[]): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--allow-read=.",
      "--allow-write=dist",
      "--allow-run=deno",
      `--allow-env=${BUILD_VARIABLES.join(",")}`,
      "scripts/compile.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text };
}

Deno.test("scripts/compile.ts --dry-run prints one deno compile line per target", async () => {
  const { code, out } = await runCompileScript(["--dry-run"]);
  assert.equal(code, 0, out);
  const lines = out.trim().split("\n");
  assert.deepEqual(lines, TARGETS.map((t) => `deno ${compileArgs(t).join(" ")}`));
});

Deno.test("scripts/compile.ts --check-only passes offline: flags, types, graph, CLI under baked flags", async () => {
  const { code, out } = await runCompileScript(["--check-only"]);
  assert.equal(code, 0, out);
  assert.match(out, /ok {2}deno compile --help lists .*--allow-env .*--target --v8-flags/);
  assert.match(out, /ok {2}deno check --frozen-lockfile cli\.ts/);
  assert.match(
    out,
    /ok {2}deno info: \d+ modules, local \+ node: \+ npm:\S*yaml@[\d.]+, no dynamic import/,
  );
  assert.match(
    out,
    /ok {2}deno run --no-prompt --allow-net --allow-read .*cli\.ts --version: sidekick \d/,
  );
  assert.match(out, /ok {2}\.\.\. cli\.ts check examples\/cockroach\/sidekick\.yaml/);
});

Deno.test("scripts/compile.ts --check-only runs the CLI under a narrowed set too", async () => {
  const { code, out } = await runCompileScript([
    "--check-only",
    "--allow-net=127.0.0.1:8080,127.0.0.1:9000",
    "--allow-read=",
    "--allow-env=SIDEKICK_SITES",
    "--target",
    "linux-amd64",
  ]);
  assert.equal(code, 0, out);
  assert.match(
    out,
    /ok {2}deno run --no-prompt --allow-net=127\.0\.0\.1:8080,127\.0\.0\.1:9000 --allow-env=SIDEKICK_SITES --v8-flags=\S+ cli\.ts --version/,
  );
  assert.match(out, /config file check skipped/);
});

// ---------------------------------------------------------------------------
// .github/workflows/release.yml

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly "working-directory"?: string;
}

interface Workflow {
  readonly on: { readonly push: { readonly tags: readonly string[] } };
  readonly permissions: Record<string, string>;
  readonly jobs: Record<string, { readonly steps: readonly Step[] }>;
}

async function workflow(): Promise<{ wf: Workflow; steps: readonly Step[] }> {
  const wf = parse(await Deno.readTextFile(`${ROOT}.github/workflows/release.yml`)) as Workflow;
  const jobs = Object.values(wf.jobs);
  assert.equal(jobs.length, 1, "one release job, so its steps run in order");
  return { wf, steps: jobs[0].steps };
}

function stepIndex(steps: readonly Step[], test: (s: Step) => boolean, what: string): number {
  const i = steps.findIndex(test);
  assert.ok(i >= 0, `no step ${what}`);
  return i;
}

const runs = (re: RegExp) => (s: Step) => s.run !== undefined && re.test(s.run);

Deno.test("release.yml runs on v* tags only, with contents and id-token write", async () => {
  const { wf } = await workflow();
  assert.deepEqual(Object.keys(wf.on), ["push"]);
  assert.deepEqual(wf.on.push, { tags: ["v*"] });
  assert.deepEqual(wf.permissions, { contents: "write", "id-token": "write" });
});

Deno.test("release.yml pins the Deno version of .ci/run", async () => {
  const { steps } = await workflow();
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  const pinned = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  assert.ok(pinned !== undefined, ".ci/run has no DENO_VERSION=");
  const setup = steps.filter((s) => s.uses?.startsWith("denoland/setup-deno@"));
  assert.equal(setup.length, 1);
  assert.equal(String(setup[0].with?.["deno-version"]).replace(/^v/, ""), pinned);
});

Deno.test("release.yml checks, tests, compiles, checksums, releases, then publishes", async () => {
  const { steps } = await workflow();
  const checkout = stepIndex(
    steps,
    (s) => s.uses?.startsWith("actions/checkout@") ?? false,
    "checkout",
  );
  const version = stepIndex(
    steps,
    runs(/GITHUB_REF_NAME.*v\$\{pkg\}/),
    "comparing tag and version",
  );
  const test = stepIndex(steps, runs(/^deno task ok$/m), "running deno task ok");
  const dry = stepIndex(steps, runs(/^deno publish --dry-run$/m), "deno publish --dry-run");
  const compile = stepIndex(steps, runs(/^bash scripts\/compile\.sh$/m), "compiling");
  const sums = stepIndex(steps, runs(/sha256sum .*> SHA256SUMS/), "writing SHA256SUMS");
  const release = stepIndex(
    steps,
    (s) => s.uses?.startsWith("softprops/action-gh-release@") ?? false,
    "creating the GitHub release",
  );
  const publish = stepIndex(steps, runs(/^deno publish$/m), "deno publish");
  const order = [checkout, version, test, dry, compile, sums, release, publish];
  assert.deepEqual(order, [...order].sort((a, b) => a - b), `steps out of order: ${order}`);
  assert.ok(!/--token/.test(steps[publish].run ?? ""), "JSR publishing uses OIDC, not a token");

  assert.equal(steps[sums]["working-directory"], "dist");
  const names = TARGETS.map((t) => outputPath(t, "").slice(1));
  assert.deepEqual(
    steps[sums].run!.match(/sha256sum (.*) > SHA256SUMS/)![1].split(" "),
    names,
  );
  assert.match(steps[sums].run!, /sha256sum -c SHA256SUMS/);
  const files = String(steps[release].with?.files).trim().split("\n").map((x) => x.trim());
  assert.deepEqual(files, [...TARGETS.map((t) => outputPath(t)), "dist/SHA256SUMS"]);
  assert.equal(steps[release].with?.fail_on_unmatched_files, true);
});

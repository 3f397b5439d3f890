import assert from "node:assert/strict";
import { validateConfig } from "../src/config/validate.ts";
import { CliProcess, runCli } from "./_helpers/cli.ts";
import { echoServer, endedAfter } from "./_helpers/echo.ts";
import { HOST } from "./_helpers/net.ts";
import { freePort } from "./_helpers/sidecar.ts";

/** Runs `fn` with a fresh temp dir, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_iaido_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FILE_PERMS = (dir: string) => [
  "--no-prompt",
  `--allow-read=${dir}`,
  `--allow-write=${dir}`,
  "--allow-env=LOG_TOKENS,LOG_STREAM",
];

Deno.test("iaido's --bootstrapAddr (camelCase, also =VALUE) writes the same file as --bootstrap-addr", async () => {
  await inTempDir(async (dir) => {
    const written: string[] = [];
    for (
      const flag of [["--bootstrapAddr", "127.0.0.1"], ["--bootstrapAddr=127.0.0.1"], [
        "--bootstrap-addr",
        "127.0.0.1",
      ]]
    ) {
      const file = `${dir}/iaido-${written.length}.yaml`;
      // iaido's README quickstart, flag for flag.
      const r = await runCli(FILE_PERMS(dir), [
        "-c",
        file,
        ...flag,
        "--bootstrap",
        "26257:127.0.0.1:26258",
        "--bootstrap",
        "26257:127.0.0.1:26259",
        "--bootstrap",
        "8080:127.0.0.1:8181",
      ]);
      assert.equal(r.code, 0, r.stderr);
      written.push(await Deno.readTextFile(file));
    }
    assert.match(written[0], /bindAddress: 127\.0\.0\.1:26257/);
    assert.match(written[0], /bindAddress: 127\.0\.0\.1:8080/);
    assert.equal(written[1], written[0]);
    assert.equal(written[2], written[0]);
  });
});

Deno.test("iaido's --check with -c prints the normalised file and exits 0, or exits 1 naming file:line:col", async () => {
  await inTempDir(async (dir) => {
    const good = `${dir}/iaido.yaml`;
    await Deno.writeTextFile(
      good,
      `frontends:
  - bindAddress: 127.0.0.1:26257
    backendPool:
      maintenanceTime: 2s
      tiers:
        - targets:
            - hosts: [127.0.0.1]
              port: 26258
`,
    );
    for (
      const args of [["--check", "-c", good], ["-c", good, "--check"], [
        "--config",
        good,
        "--check",
      ]]
    ) {
      const r = await runCli(FILE_PERMS(dir), args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /address: 127\.0\.0\.1:26257/);
      assert.match(r.stdout, /drainDelay: 2s/, "maintenanceTime is kept, as drainDelay");
      assert.doesNotMatch(r.stderr, /maintenanceTime/, "maintenanceTime is no longer warned about");
    }
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      bad,
      "frontends:\n  - bindAddress: 127.0.0.1:1\n    backendPool: {}\n",
    );
    const r = await runCli(FILE_PERMS(dir), ["--check", "-c", bad]);
    assert.equal(r.code, 1, "iaido's log.Fatal exit code");
    assert.match(r.stderr, new RegExp(`${bad}:3:\\d+: .*tiers`));
    assert.equal(r.stdout, "");
  });
});

Deno.test("iaido's --reloadPeriod is accepted (also =VALUE); a bad value names the flag", async () => {
  await inTempDir(async (dir) => {
    const file = `${dir}/iaido.yaml`;
    await Deno.writeTextFile(
      file,
      "frontends:\n  - bindAddress: 127.0.0.1:1\n    backendPool:\n      tiers:\n        - targets: [{hosts: [127.0.0.1], port: 2}]\n",
    );
    const ok = await runCli(FILE_PERMS(dir), ["--reloadPeriod", "5s", "--check", "-c", file]);
    assert.equal(ok.code, 0, ok.stderr);
    const ok2 = await runCli(FILE_PERMS(dir), ["--reloadPeriod=250ms", "--check", "-c", file]);
    assert.equal(ok2.code, 0, ok2.stderr);
    const bad = await runCli(FILE_PERMS(dir), ["--reloadPeriod", "soon", "-c", file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^sidekick: --reload-period: .*soon/m);
  });
});

Deno.test("iaido's maintenanceTime becomes drainDelayMs (default 30s); sidekick's drainDelay key sets it too", () => {
  const iaido = (pool: string) =>
    validateConfig(
      `frontends:\n  - bindAddress: 127.0.0.1:1\n    backendPool:\n${pool}      tiers:\n        - targets: [{hosts: [127.0.0.1], port: 2}]\n`,
      "iaido.yaml",
    );
  const set = iaido("      maintenanceTime: 45s\n");
  assert.ok("config" in set && set.config.listeners[0].kind === "tcp");
  assert.equal(set.config.listeners[0].drainDelayMs, 45_000);
  assert.deepEqual(set.warnings, []);
  const unset = iaido("");
  assert.ok("config" in unset && unset.config.listeners[0].kind === "tcp");
  assert.equal(unset.config.listeners[0].drainDelayMs, 30_000, "iaido's default");
  const ours = validateConfig(
    "listeners:\n  - kind: tcp\n    address: 127.0.0.1:1\n    tiers: [{endpoints: [127.0.0.1:2]}]\n    drainDelay: 10s\n",
    "s.yaml",
  );
  assert.ok("config" in ours && ours.config.listeners[0].kind === "tcp");
  assert.equal(ours.config.listeners[0].drainDelayMs, 10_000);
});

Deno.test("iaido file: a backend removed by a reload keeps its connection for maintenanceTime (T..3T), then sheds it", async () => {
  const a = echoServer();
  const b = echoServer();
  const dir = await Deno.makeTempDir({ prefix: "sidekick_iaido_" });
  const file = `${dir}/iaido.yaml`;
  const write = (port: number) =>
    Deno.writeTextFile(
      file,
      `frontends:
  - bindAddress: ${HOST}:${listen}
    backendPool:
      maintenanceTime: 1s
      tiers:
        - targets:
            - hosts: [${HOST}]
              port: ${port}
`,
    );
  const listen = await freePort();
  try {
    await write(a.port);
    await using cli = new CliProcess(
      ["--no-prompt", `--allow-net=${HOST}`, `--allow-read=${dir}`],
      ["-c", file],
    );
    await cli.ports();
    const conn = await Deno.connect({ hostname: HOST, port: listen });
    try {
      assert.ok((await endedAfter(conn, Date.now(), 300)) >= 300, "relays to backend a");
      await write(b.port);
      cli.child.kill("SIGHUP");
      await cli.waitFor(/reloaded/);
      const start = Date.now();
      const ended = await endedAfter(conn, start, 8_000);
      assert.ok(ended >= 800, `kept about maintenanceTime at least (closed after ${ended} ms)`);
      assert.ok(ended < 4_500, `and shed before 3T and a sweep (after ${ended} ms)`);
    } finally {
      try {
        conn.close();
      } catch {
        // closed by sidekick
      }
    }
    const fresh = await Deno.connect({ hostname: HOST, port: listen });
    assert.ok((await endedAfter(fresh, Date.now(), 300)) >= 300, "new connections go to b");
    fresh.close();
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0, cli.stderr);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("iaido's exit codes: a missing -c file and a --bootstrap onto an existing file without -f exit 1, as iaido's log.Fatal", async () => {
  await inTempDir(async (dir) => {
    const missing = await runCli(FILE_PERMS(dir), ["-c", `${dir}/nope.yaml`]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /nope\.yaml/);
    const file = `${dir}/iaido.yaml`;
    const boot = ["-c", file, "--bootstrapAddr", "127.0.0.1", "-b", "26257:127.0.0.1:26258"];
    assert.equal((await runCli(FILE_PERMS(dir), boot)).code, 0);
    const again = await runCli(FILE_PERMS(dir), boot);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /exists/);
    assert.equal((await runCli(FILE_PERMS(dir), [...boot, "-f"])).code, 0, "-f overwrites");
  });
});

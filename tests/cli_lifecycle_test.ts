import assert from "node:assert/strict";
import { CliProcess, runCli } from "./_helpers/cli.ts";

const YAML_ENV = "--allow-env=LOG_TOKENS,LOG_STREAM";

/**
 * A backend; `arrived` resolves when a request for /slow reached it, which
 * is answered after `delayMs`, or at `shutdown()` (which does not wait for it).
 */
function backend(
  name: string,
  delayMs = 0,
): Deno.HttpServer<Deno.NetAddr> & { arrived: Promise<void> } {
  const { promise: arrived, resolve } = Promise.withResolvers<void>();
  const stop = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/slow") resolve();
    if (path === "/slow" && delayMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => timer = setTimeout(r, delayMs)), stop.promise]);
      clearTimeout(timer);
    }
    return new Response(`${name} ${path}`);
  });
  const serverShutdown = server.shutdown.bind(server);
  const shutdown = () => {
    stop.resolve();
    return serverShutdown();
  };
  return Object.assign(server, { arrived, shutdown });
}

function httpConfig(port: number, backends: number[], grace = "5s"): string {
  return `gracePeriod: ${grace}
listeners:
  - kind: http
    address: 127.0.0.1:${port}
    sites:
      - endpoints: [${backends.map((p) => `http://127.0.0.1:${p}`).join(", ")}]
    health:
      active: false
`;
}

async function get(port: number, path: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return await r.text();
}

Deno.test("--config serves the file; SIGHUP reloads it; a broken file keeps the old config serving", async () => {
  const a = backend("A"), b = backend("B");
  const dir = await Deno.makeTempDir();
  const file = `${dir}/sidekick.yaml`;
  try {
    // Port 0 stays the same listener across reloads: it keeps the port it got.
    await Deno.writeTextFile(file, httpConfig(0, [a.addr.port]));
    await using cli = new CliProcess(["--allow-net=127.0.0.1", `--allow-read=${dir}`, YAML_ENV], [
      "-c",
      file,
    ]);
    const [port] = await cli.ports();
    assert.equal(await get(port, "/x"), "A /x");
    await Deno.writeTextFile(file, httpConfig(0, [b.addr.port]));
    cli.child.kill("SIGHUP");
    await cli.waitFor(/reloaded/);
    assert.equal(await get(port, "/y"), "B /y");
    await Deno.writeTextFile(
      file,
      httpConfig(0, [a.addr.port]).replace("kind: http", "kind: htp"),
    );
    cli.child.kill("SIGHUP");
    await cli.waitFor(/reload failed \(SIGHUP\)[\s\S]*kind/);
    assert.equal(await get(port, "/z"), "B /z", "the old config keeps serving");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
  } finally {
    await a.shutdown();
    await b.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a change of the config file reloads without a signal", async () => {
  const a = backend("A"), b = backend("B");
  const dir = await Deno.makeTempDir();
  const file = `${dir}/sidekick.yaml`;
  try {
    // Port 0 stays the same listener across reloads: it keeps the port it got.
    await Deno.writeTextFile(file, httpConfig(0, [a.addr.port]));
    await using cli = new CliProcess(["--allow-net=127.0.0.1", `--allow-read=${dir}`, YAML_ENV], [
      "-c",
      file,
    ]);
    const [port] = await cli.ports();
    // Atomic replace, as editors and ConfigMap updates do.
    await Deno.writeTextFile(`${file}.tmp`, httpConfig(0, [b.addr.port]));
    await Deno.rename(`${file}.tmp`, file);
    await cli.waitFor(/reloaded \(.*changed\)/);
    assert.equal(await get(port, "/"), "B /");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
  } finally {
    await a.shutdown();
    await b.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM lets a slow in-flight request finish and exits 0 within the grace period", async () => {
  const slow = backend("S", 700);
  try {
    await using cli = new CliProcess(["--allow-net=127.0.0.1"], [
      "-a",
      "127.0.0.1:0",
      "-d",
      "0",
      `http://127.0.0.1:${slow.addr.port}`,
    ]);
    const [port] = await cli.ports();
    const inFlight = get(port, "/slow");
    await slow.arrived;
    const t0 = Date.now();
    cli.child.kill("SIGTERM");
    assert.equal(await inFlight, "S /slow");
    assert.equal(await cli.exitCode(), 0);
    assert.ok(Date.now() - t0 < 5_000, "exits within the grace period");
    assert.match(cli.stderr, /draining/);
  } finally {
    await slow.shutdown();
  }
});

Deno.test("a second SIGTERM exits 1 at once", async () => {
  const slow = backend("S", 4_000);
  try {
    await using cli = new CliProcess(["--allow-net=127.0.0.1"], [
      "-a",
      "127.0.0.1:0",
      "-d",
      "0",
      `http://127.0.0.1:${slow.addr.port}`,
    ]);
    const [port] = await cli.ports();
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.text()).catch(() =>
      "cut"
    );
    await slow.arrived;
    cli.child.kill("SIGTERM");
    await cli.waitFor(/draining/);
    const t0 = Date.now();
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 1);
    assert.ok(Date.now() - t0 < 2_000, "the second signal does not wait for the drain");
    await inFlight;
  } finally {
    await slow.shutdown();
  }
});

Deno.test("check: a file with three mistakes gives three located lines and exit 2", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/bad.yaml`;
  try {
    await Deno.writeTextFile(
      file,
      `listeners:
  - kind: http
    address: 127.0.0.1:99999
    polcy: least
    sites:
      - endpoints: [http://127.0.0.1:9000]
    health:
      interval: fast
`,
    );
    const r = await runCli([`--allow-read=${dir}`, YAML_ENV], ["check", file]);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines.join("\n"), /bad\.yaml:3:\d+: .*address/);
    assert.match(lines.join("\n"), /bad\.yaml:4:5: .*did you mean 'policy'/);
    assert.match(lines.join("\n"), /bad\.yaml:8:\d+: .*interval.*'fast'/);
    const ok = await runCli([`--allow-read=.`, YAML_ENV], ["check", "examples/sidekick.yaml"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /listeners:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("permissions prints the exact flags; running with one missing fails in one line, exit 1", async () => {
  const b = backend("B"), h = backend("H");
  try {
    const [bp, hp] = [b.addr.port, h.addr.port];
    const args = ["-a", "127.0.0.1:0", "--health-port", `${hp}`, `http://127.0.0.1:${bp}`];
    const p = await runCli([], ["permissions", ...args]);
    assert.equal(p.code, 0, p.stderr);
    const flags = p.stdout.split("\n")[0];
    assert.equal(flags, `--allow-net=127.0.0.1:0,127.0.0.1:${bp},127.0.0.1:${hp}`);
    const missing = await runCli([`--allow-net=127.0.0.1:0,127.0.0.1:${bp}`], args);
    assert.equal(missing.code, 1);
    const lines = missing.stderr.trim().split("\n");
    assert.equal(lines.length, 1, missing.stderr);
    assert.match(
      lines[0],
      new RegExp(`missing permission --allow-net=127\\.0\\.0\\.1:${hp} \\(to health-check`),
    );
    assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/, "no stack trace");
    // Exactly the printed flags are enough to start and serve.
    await using exact = new CliProcess([flags], args);
    const [port] = await exact.ports();
    assert.equal(await get(port, "/x"), "B /x");
    exact.child.kill("SIGTERM");
    assert.equal(await exact.exitCode(), 0);
  } finally {
    await b.shutdown();
    await h.shutdown();
  }
});

Deno.test("--bootstrap writes an iaido-style starter file and refuses to overwrite without --force", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/boot.yaml`;
  const perms = [`--allow-read=${dir}`, `--allow-write=${dir}`, YAML_ENV];
  try {
    const first = await runCli(perms, [
      "-c",
      file,
      "-b",
      "26257:127.0.0.1:26258",
      "--bootstrap-addr",
      "127.0.0.1",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(await Deno.readTextFile(file), /26258/);
    const again = await runCli(perms, ["-c", file, "-b", "26257:127.0.0.1:26259"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /--force/);
    const bad = await runCli(perms, ["-c", file, "-b", "nonsense", "-f"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^sidekick: --bootstrap 'nonsense': expected LOCALPORT:HOST:PORT/);
    const forced = await runCli(perms, ["-c", file, "-b", "26257:127.0.0.1:26259", "-f"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(await Deno.readTextFile(file), /26259/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("l4: SideLB's grammar serves TCP through mod.ts; a bad argument is a clear error, exit 2", async () => {
  const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of echo) {
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      if (n !== null) await conn.write(buf.subarray(0, n));
      conn.close();
    }
  })();
  try {
    await using cli = new CliProcess(["--allow-net=127.0.0.1"], [
      "l4",
      "127.0.0.1:0",
      `backends=127.0.0.1:${echo.addr.port}`,
      "mode=least-connections",
    ]);
    const [port] = await cli.ports();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    conn.close();
    assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "ping");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
    const bad = await runCli(["--allow-net=127.0.0.1"], ["l4", "127.0.0.1:0", "mode=fastest"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /mode=fastest/);
  } finally {
    echo.close();
    await serving;
  }
});

/**
 * `--json`: every line sidekick writes, on both streams, is one JSON object,
 * from the startup summary to the outage warnings and the last drain line.
 */
import assert from "node:assert/strict";
import { refusedPort } from "./_helpers/backends.ts";
import { delay } from "./_helpers/net.ts";
import { runCli } from "./_helpers/cli.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The CLI with both streams collected as they come. */
class Collected implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly #done: Promise<void>;

  constructor(args: readonly string[], permissions: readonly string[] = ["--allow-net=127.0.0.1"]) {
    this.child = new Deno.Command("deno", {
      args: ["run", ...permissions, `${ROOT}mod.ts`, ...args],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (s: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this[into] += chunk;
    };
    this.#done = Promise.all([read(this.child.stdout, "stdout"), read(this.child.stderr, "stderr")])
      .then(() => {});
  }

  async until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}\nstderr:\n${this.stderr}`);
      }
      await delay(50);
    }
  }

  async exit(): Promise<number> {
    const status = await this.child.status;
    await this.#done;
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.exit();
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l !== "").map((l) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`not a JSON line: ${l}`);
    }
  });
}

Deno.test("--json: startup, health, outage warnings, traces, reload and drain are all JSON lines", async () => {
  const a = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("A"));
  let aClosed = false;
  try {
    const dead = refusedPort();
    await using cli = new Collected([
      "--json",
      "--log",
      "-d",
      "200ms",
      "-a",
      "127.0.0.1:0",
      `http://127.0.0.1:${a.addr.port}`,
      `http://127.0.0.1:${dead}`,
    ]);
    await cli.until(() => cli.stderr.includes('"event":"listening"'), "listening");
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(cli.stderr)?.[1]);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/x`)).text(), "A");
    await cli.until(() => cli.stdout.includes('"statusCode":200'), "a trace line");
    await a.shutdown();
    aClosed = true;
    await cli.until(() => cli.stderr.includes("no endpoint available"), "the outage warning");
    cli.child.kill("SIGHUP");
    await cli.until(() => cli.stderr.includes('"event":"reloaded"'), "the reload");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exit(), 0);

    const err = jsonLines(cli.stderr), out = jsonLines(cli.stdout);
    const summary = err.find((l) => l.event === "listener");
    assert.deepEqual(summary?.sites, [
      { name: "site1", endpoints: [`http://127.0.0.1:${a.addr.port}`] },
      { name: "site2", endpoints: [`http://127.0.0.1:${dead}`] },
    ]);
    assert.equal(summary?.level, "info");
    assert.equal(typeof summary?.time, "string");
    const warning = err.find((l) => l.event === "no_endpoint_available");
    assert.equal(warning?.level, "warning");
    assert.deepEqual(warning?.endpoints, [
      {
        endpoint: `http://127.0.0.1:${a.addr.port}`,
        status: "down",
        lastProbe: "connection refused",
      },
      { endpoint: `http://127.0.0.1:${dead}`, status: "down", lastProbe: "connection refused" },
    ]);
    assert.ok(
      out.some((l) => l.Type === "LOG" && l.Endpoint === `http://127.0.0.1:${a.addr.port}`),
      "LOG lines go to stdout, as minio/sidekick prints them",
    );
    assert.ok(err.some((l) => l.event === "draining" && l.graceMs === 5000));
    assert.ok(out.some((l) => l.statusCode === 200 && l.path === "/x"));
  } finally {
    if (!aClosed) await a.shutdown();
  }
});

Deno.test("--json: a usage error is a JSON line too", async () => {
  const { code, stderr, stdout } = await runCli([], ["--json", "--no-such-flag", "http://h:1"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  const [line, ...rest] = jsonLines(stderr);
  assert.deepEqual(rest, []);
  assert.equal(line.level, "error");
  assert.match(String(line.message), /no-such-flag/);
});

Deno.test("log.json in a file: a reload's +added -removed, the drain and the summary are JSON lines", async () => {
  const a = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("A"));
  const b = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("B"));
  const dir = await Deno.makeTempDir();
  const file = `${dir}/sidekick.yaml`;
  const config = (port: number) =>
    `log:
  json: true
listeners:
  - kind: http
    name: web
    address: 127.0.0.1:0
    sites:
      - endpoints: [http://127.0.0.1:${port}]
    health:
      active: false
`;
  try {
    await Deno.writeTextFile(file, config(a.addr.port));
    await using cli = new Collected(["-c", file], [
      "--allow-net=127.0.0.1",
      `--allow-read=${dir}`,
      "--allow-env=LOG_TOKENS,LOG_STREAM",
    ]);
    await cli.until(() => cli.stderr.includes('"event":"listening"'), "listening");
    await Deno.writeTextFile(file, config(b.addr.port));
    cli.child.kill("SIGHUP");
    await cli.until(() => cli.stderr.includes('"event":"reload"'), "the reload event");
    await cli.until(() => cli.stderr.includes('"event":"drain"'), "the drain event");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exit(), 0);
    const err = jsonLines(cli.stderr);
    assert.equal(jsonLines(cli.stdout).length, 0);
    const reload = err.find((l) => l.event === "reload");
    assert.deepEqual(reload?.changes, [
      `+http://127.0.0.1:${b.addr.port}`,
      `-http://127.0.0.1:${a.addr.port}`,
    ]);
    assert.equal(reload?.listener, "web");
    const drain = err.find((l) => l.event === "drain");
    assert.equal(drain?.endpoint, `http://127.0.0.1:${a.addr.port}`);
    assert.equal(err.find((l) => l.event === "listener")?.listener, "web");
  } finally {
    await a.shutdown();
    await b.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

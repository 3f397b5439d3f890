import assert from "node:assert/strict";
import { parseCommandLine as parseWithEnv, UsageError } from "../cli.ts";
import type { SidecarConfig } from "../src/config/schema.ts";

const NO_ENV = () => undefined;

/** The config a command line gives with an empty environment (asserts it is one). */
function configOf(
  args: string[],
  env: (name: string) => string | undefined = NO_ENV,
): SidecarConfig {
  const parsed = parseWithEnv(args, env);
  assert.ok(typeof parsed === "object", `expected a config for ${args.join(" ")}`);
  return parsed.config;
}

function parseCommandLine(args: string[]) {
  return parseWithEnv(args, NO_ENV);
}

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("parseCommandLine() builds one HTTP listener with minio's defaults", () => {
  const config = configOf(["http://127.0.0.1:{9001...9003}", "http://127.0.0.1:9100"]);
  const [l] = config.listeners;
  assert.equal(l.hostname, "0.0.0.0");
  assert.equal(l.port, 8080);
  assert.deepEqual(l.cluster.sites.map((s) => s.endpoints.map((e) => e.port)), [
    [9001, 9002, 9003],
    [9100],
  ]);
  assert.equal(l.cluster.health.path, "/");
  assert.equal(l.cluster.health.intervalMs, 5000);
  assert.equal(l.cluster.health.active, true);
  assert.equal(l.cluster.policy, "least");
});

Deno.test("parseCommandLine() takes short flags, adds the leading slash, and 0 turns probes off", () => {
  const config = configOf(["-a", "127.0.0.1:9", "-p", "ready", "-d", "0", "h:1"]);
  const h = config.listeners[0].cluster.health;
  assert.equal(h.path, "/ready");
  assert.equal(h.active, false);
  assert.equal(config.listeners[0].hostname, "127.0.0.1");
});

Deno.test("parseCommandLine() takes grouped short booleans, -d5s, -p=/x and values after --", () => {
  const config = configOf(["-il", "-d5s", "-p=/x", "--", "h:1"]);
  const l = config.listeners[0];
  assert.ok(l.kind === "http");
  assert.equal(l.upstreamTls?.insecure, true);
  assert.equal(l.cluster.health.intervalMs, 5000);
  assert.equal(l.cluster.health.path, "/x");
  assert.equal(config.log?.trace, "all", "-l");
});

Deno.test("parseCommandLine() accepts Go durations and plain seconds", () => {
  for (const [text, ms] of [["1m30s", 90_000], ["250ms", 250], ["3", 3000]] as const) {
    const config = configOf(["-d", text, "h:1"]);
    assert.equal(config.listeners[0].cluster.health.intervalMs, ms);
  }
});

Deno.test("parseCommandLine() names the flag or argument in every usage error", () => {
  const cases: [string[], RegExp][] = [
    [["-d", "5x", "h:1"], /^--health-duration: .*5x/],
    [["-a", "nowhere", "h:1"], /^--address: .*nowhere/],
    [["-a", ":70000", "h:1"], /^--address: .*0\.\.65535, got 70000/],
    [["http://h{1...}"], /^SITE1 'http:\/\/h\{1\.\.\.\}': .*character 9/],
    [["ftp://h:1"], /scheme must be http, https, h2c or h2/],
    [["--nope", "h:1"], /^unknown flag --nope; sidekick --help lists them all$/],
    [
      ["--health-duratoin", "5s", "h:1"],
      /^unknown flag --health-duratoin \(did you mean --health-duration\?\); sidekick --help/,
    ],
    [["--adress=:1", "h:1"], /^unknown flag --adress \(did you mean --address\?\)/],
    [["-z", "h:1"], /^unknown flag -z; sidekick --help lists them all$/],
    [["-health-path", "/x", "h:1"], /did you mean --health-path\?.*long flags take two dashes/],
    [["-d", "-5s", "h:1"], /^--health-duration: Cannot parse duration '-5s' as it is negative/],
    [["-d"], /^-d\/--health-duration needs a value; e\.g\. -d VALUE/],
    [["h:1", "--health-path"], /^--health-path needs a value/],
    [["-d", "--log", "h:1"], /^-d\/--health-duration needs a value, but --log follows it/],
    [["--log=yes", "h:1"], /^--log takes no value; write --log alone, without '=yes'$/],
    [["-il=1", "h:1"], /^unknown flag -il=1/],
    [["--health-port", "70000", "h:1"], /^--health-port must be 0\.\.65535, got 70000$/],
    [
      ["--host-balance", "fastest", "h:1"],
      /^--host-balance must be least, random, round-robin, p2c or hash, got 'fastest'$/,
    ],
    [["--tls-max", "1.1", "h:1"], /^--tls-max must be 1\.2 or 1\.3, got '1\.1'$/],
    [["--status-code", "99", "h:1"], /^--status-code must be a status 100\.\.599, got '99'$/],
    [["--health-status", "2xx", "h:1"], /^--health-status: '2xx' is not a status or range/],
    [["--client-cert", "c.pem", "h:1"], /--client-cert and --client-key go together/],
    [["--health-timeout=-1s", "h:1"], /^--health-timeout: .*negative/],
    [["--failback-delay", "soon", "h:1"], /^--failback-delay: /],
    [["--dns-ttl=soon", "h:1"], /^--dns-ttl: Cannot parse duration 'soon'/],
    [
      ["--trace=everything", "h:1"],
      /^--trace must be all, application or minio, got 'everything'$/,
    ],
    [["--health-status=700", "h:1"], /^--health-status: '700' is not a status or range/],
    [["--address=[::1]:x", "h:1"], /^--address: Cannot listen on '\[::1\]:x'/],
    [["--key-password", "secret", "h:1"], /--key-password decrypts --key; give --key too/],
    [["--cert", "c.pem", "h:1"], /--cert and --key go together/],
    [
      ["--auto-tls-host", "localhost", "--cert", "c", "--key", "k", "h:1"],
      /--auto-tls-host makes its own/,
    ],
  ];
  for (const [args, pattern] of cases) {
    assert.throws(() => parseCommandLine(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${args.join(" ")}: ${e}`);
      assert.match(e.message, pattern);
      // Our own words, never node:util parseArgs' ("Unknown option '--x'. To specify...").
      assert.doesNotMatch(e.message, /Unknown option|To specify|Option '|ambiguous/);
      return true;
    });
  }
});

Deno.test("parseCommandLine() maps every implemented minio/sidekick flag into the config", () => {
  const config = configOf([
    "--health-port=9999",
    "--health-timeout=3s",
    "--health-optimistic",
    "--host-balance=random",
    "-r",
    "minio/health/cluster/read",
    "--failback-delay=30s",
    "--health-status=200-204,301",
    "-i",
    "--cacert=ca.pem",
    "--dns-ttl=1m",
    "-l",
    "--json",
    "-e",
    "--status-code=500",
    "--status-code=502",
    "http://a:1",
    "http://b:1",
  ]);
  const [l] = config.listeners;
  assert.equal(l.kind, "http");
  if (l.kind !== "http") return;
  const h = l.cluster.health;
  assert.deepEqual(
    [h.port, h.timeoutMs, h.optimistic, h.statuses],
    [9999, 3000, true, [[200, 204], [301, 301]]],
  );
  assert.equal(l.cluster.policy, "random");
  assert.equal(l.cluster.failbackDelayMs, 30_000);
  assert.equal(l.cluster.sites[0].healthPath, undefined);
  assert.equal(l.cluster.sites[1].healthPath, "/minio/health/cluster/read");
  assert.deepEqual(l.upstreamTls, {
    caFile: "ca.pem",
    certFile: undefined,
    keyFile: undefined,
    insecure: true,
  });
  assert.equal(l.cluster.dns?.ttlMs, 60_000);
  assert.deepEqual([config.log?.json, config.log?.errorsOnly, config.log?.statusCodes], [
    true,
    true,
    [500, 502],
  ]);
});

Deno.test("parseCommandLine() warns instead of silently swapping the path when -r has one site", () => {
  const parsed = parseWithEnv(["-p", "/live", "-r", "/read", "http://a:1"], NO_ENV);
  assert.ok(typeof parsed === "object");
  assert.equal(parsed.config.listeners[0].cluster.sites[0].healthPath, undefined);
  assert.equal(parsed.config.listeners[0].cluster.health.path, "/live");
  assert.match(parsed.warnings[0], /with one site, sidekick checks \/live/);
});

Deno.test("parseCommandLine() takes flags and sites from SIDEKICK_* variables; flags win", () => {
  const env: Record<string, string> = {
    SIDEKICK_HEALTH_PATH: "/from-env",
    SIDEKICK_ADDRESS: "127.0.0.1:7000",
    SIDEKICK_HEALTH_OPTIMISTIC: "true",
    SIDEKICK_SITES: "http://a:1,http://b:1 http://c:1",
  };
  const config = configOf(["-a", "127.0.0.1:7001"], (k) => env[k]);
  const [l] = config.listeners;
  assert.equal(l.port, 7001);
  assert.equal(l.cluster.health.path, "/from-env");
  assert.equal(l.cluster.health.optimistic, true);
  assert.deepEqual(l.cluster.sites.map((s) => s.endpoints.length), [2, 1]);
  assert.throws(
    () => configOf(["h:1"], (k) => k === "SIDEKICK_LOG" ? "maybe" : undefined),
    /^UsageError: SIDEKICK_LOG must be true or false, got 'maybe'$/,
  );
});

Deno.test("parseCommandLine() returns help and version requests", () => {
  assert.equal(parseCommandLine([]), "help");
  assert.equal(parseCommandLine(["--help"]), "help");
  assert.equal(parseCommandLine(["-v"]), "version");
});

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args: ["run", "--allow-net=127.0.0.1", `${ROOT}mod.ts`, ...args],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("the command line: no argument prints help and exits 1; a bad flag is one line, exit 2", async () => {
  const none = await runCli([]);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /USAGE:\n {2}sidekick \[FLAGS\] SITE1 \[SITE2\.\.\]/);
  const bad = await runCli(["--health-duration", "soon", "http://127.0.0.1:1"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /^sidekick: --health-duration: .*'soon'/);
});

Deno.test("mod.ts as the main module serves as the CLI and exits 0 on SIGTERM", async () => {
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`backend saw ${new URL(req.url).pathname}`),
  );
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      `${ROOT}mod.ts`,
      "-a",
      "127.0.0.1:0",
      "-d",
      "0",
      `http://127.0.0.1:${backend.addr.port}`,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    const deadline = Date.now() + 15_000;
    let port = 0;
    while (port === 0 && Date.now() < deadline) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) port = Number(m[1]);
    }
    assert.ok(port > 0, `no listening line in: ${text}`);
    const r = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(await r.text(), "backend saw /hello");
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
  } finally {
    await lines.cancel();
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    await backend.shutdown();
  }
});

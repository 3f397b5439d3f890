/**
 * Every example config, run the way a new user would: ask
 * `sidekick permissions --config FILE` (with read access to FILE only), then
 * run with exactly the printed flags plus `--no-prompt`, and send traffic
 * through every listener. Temp copies point the examples at loopback ports
 * of backends started here.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { fixture, readFixture, startTlsBackend } from "./fixtures/harness.ts";
import { CliProcess, runCli } from "./_helpers/cli.ts";
import { delay, HOST } from "./_helpers/net.ts";
import {
  freePort,
  halfCloseExchange,
  startHalfCloseEcho,
  startSlowBackend,
  startUdpBackend,
  udpExchange,
} from "./_helpers/sidecar.ts";

const ROOT = new URL("../", import.meta.url).pathname;
type Doc = Record<string, unknown>;
type Item = Record<string, unknown>;

/** Backends of every kind, started once per test and closed at its end. */
async function startBackends() {
  const http = startSlowBackend("http");
  const http2 = startSlowBackend("http");
  const https = startTlsBackend(() => new Response("https"));
  const tcp = [startHalfCloseEcho(), startHalfCloseEcho(), startHalfCloseEcho()];
  const udp = [await startUdpBackend(), await startUdpBackend()];
  const close = async () => {
    await Promise.all([http.close(), http2.close(), https.close(), ...tcp.map((t) => t.close())]);
    await Promise.all(udp.map((u) => u.close()));
  };
  return { http, http2, https, tcp, udp, close };
}
type Backends = Awaited<ReturnType<typeof startBackends>>;

/** What each listener of a rewritten example is, in listener order. */
type Kind = "http" | "https" | "tcp" | "udp";

async function retry<T>(what: string, attempt: () => Promise<T>, ok: (t: T) => boolean) {
  let last: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      last = await attempt();
      if (ok(last as T)) return last as T;
    } catch (e) {
      last = e;
    }
    await delay(250);
  }
  assert.fail(`${what}: no traffic through it; last: ${last}`);
}

async function checkTraffic(kind: Kind, port: number): Promise<void> {
  const address = { transport: "tcp" as const, hostname: HOST, port };
  if (kind === "http" || kind === "https") {
    const client = kind === "https"
      ? Deno.createHttpClient({ caCerts: [readFixture("ca.pem")] })
      : undefined;
    try {
      await retry(`${kind} listener :${port}`, async () => {
        const r = await fetch(`${kind}://${HOST}:${port}/bucket`, client ? { client } : {});
        return await r.text();
      }, (body) => body === "http:/bucket");
    } finally {
      client?.close();
    }
  } else if (kind === "tcp") {
    await retry(
      `tcp listener :${port}`,
      () => halfCloseExchange(address, 5),
      (r) => r === "got 5 bytes after EOF",
    );
  } else {
    await retry(
      `udp listener :${port}`,
      () => udpExchange(address, ["ping"], 500),
      (r) => r[0] === "echo:ping",
    );
  }
}

/** The flags `sidekick permissions ARGS` prints, asked with `asking` permissions only. */
async function printedFlags(asking: string[], args: string[]): Promise<string[]> {
  const r = await runCli(["--no-prompt", ...asking], ["permissions", ...args]);
  assert.equal(r.code, 0, `sidekick permissions ${args.join(" ")}:\n${r.stderr}`);
  assert.equal(r.stderr, "", "nothing on stderr (no permission trouble)");
  const flags = r.stdout.split("\n")[0].split(" ");
  assert.ok(flags.every((f) => /^--allow-(net|read|env|write)=\S+$/.test(f)), r.stdout);
  return flags;
}

/** Runs the CLI under exactly `flags` plus --no-prompt and checks each listener. */
async function serveAndCheck(flags: string[], args: string[], kinds: Kind[]): Promise<string> {
  await using cli = new CliProcess(["--no-prompt", ...flags], args);
  const ports = await cli.ports(kinds.length);
  for (const [i, kind] of kinds.entries()) await checkTraffic(kind, ports[i]);
  cli.child.kill("SIGTERM");
  assert.equal(await cli.exitCode(), 0, cli.stderr);
  assert.doesNotMatch(cli.stderr, /NotCapable|Requires \w+ access|missing permission|not serving/);
  return cli.stderr;
}

async function runExample(file: string, rewrite: (doc: Doc) => Kind[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_perm_" });
  try {
    const doc = parse(await Deno.readTextFile(`${ROOT}${file}`)) as Doc;
    const kinds = rewrite(doc);
    const copy = `${dir}/${file.replaceAll("/", "_")}`;
    await Deno.writeTextFile(copy, stringify(doc));
    const flags = await printedFlags([`--allow-read=${copy}`], ["--config", copy]);
    await serveAndCheck(flags, ["--config", copy], kinds);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const at = async () => `${HOST}:${await freePort()}`;

Deno.test("examples/sidekick.yaml (HTTPS, TCP, UDP) serves under exactly the printed permissions", async () => {
  const b = await startBackends();
  try {
    const addresses = [await at(), await at(), `${HOST}:${await freePort("udp")}`];
    await runExample("examples/sidekick.yaml", (doc) => {
      const [http, tcp, udp] = doc.listeners as Item[];
      http.address = addresses[0];
      const sites = http.sites as Item[];
      sites[0].endpoints = [b.http.url, {
        address: `http://${HOST}:${b.tcp[0].port}`,
        disabled: true,
      }];
      sites[1].endpoints = [`${b.https.url}/s3`];
      http.tls = { cert: fixture("server.pem"), key: fixture("server-key.pem") };
      http.upstreamTls = {
        ca: fixture("ca.pem"),
        cert: fixture("client.pem"),
        key: fixture("client-key.pem"),
      };
      tcp.address = addresses[1];
      const tiers = tcp.tiers as Item[];
      tiers[0].endpoints = [`${HOST}:${b.tcp[0].port}`, `${HOST}:${b.tcp[1].port}`];
      tiers[1].endpoints = [`${HOST}:${b.tcp[2].port}`];
      udp.address = addresses[2];
      (udp.tiers as Item[])[0].endpoints = b.udp.map((u) => u.address);
      return ["https", "tcp", "udp"];
    });
  } finally {
    await b.close();
  }
});

Deno.test("examples/iaido-cockroach.yaml (iaido's schema) serves under exactly the printed permissions", async () => {
  const b = await startBackends();
  try {
    const addresses = [await at(), await at()];
    await runExample("examples/iaido-cockroach.yaml", (doc) => {
      const [sql, ui] = doc.frontends as Item[];
      const targets = (f: Item, t: number) =>
        ((f.backendPool as Item).tiers as Item[])[t].targets as Item[];
      sql.bindAddress = addresses[0];
      targets(sql, 0).forEach((t, i) => t.port = b.tcp[i].port);
      targets(sql, 1)[0].port = b.tcp[2].port;
      ui.bindAddress = `tcp:${addresses[1]}`;
      // The third target is the disabled one: any other port.
      targets(ui, 0).forEach((t, i) => t.port = i < 2 ? b.tcp[i].port : b.http.port);
      targets(ui, 1)[0].port = b.tcp[2].port;
      return ["tcp", "tcp"];
    });
  } finally {
    await b.close();
  }
});

Deno.test("examples/cockroach/sidekick.yaml (TCP tiers, HTTP) serves under exactly the printed permissions", async () => {
  const b = await startBackends();
  try {
    const addresses = [await at(), await at()];
    await runExample("examples/cockroach/sidekick.yaml", (doc) => {
      const [sql, console] = doc.listeners as Item[];
      sql.address = addresses[0];
      const tiers = sql.tiers as Item[];
      tiers[0].endpoints = [`${HOST}:${b.tcp[0].port}`, `${HOST}:${b.tcp[1].port}`];
      tiers[1].endpoints = [`${HOST}:${b.tcp[2].port}`];
      console.address = addresses[1];
      const [a, b2] = console.sites as Item[];
      a.endpoints = [b.http.url];
      b2.endpoints = [b.http2.url];
      return ["tcp", "http"];
    });
  } finally {
    await b.close();
  }
});

Deno.test("SideLB command lines (TCP and UDP, with the UDS health check) serve under exactly the printed permissions", async () => {
  const b = await startBackends();
  const dir = await Deno.makeTempDir({ prefix: "sidekick_perm_" });
  try {
    const socket = `${dir}/sidelb.sock`;
    for (
      const [kind, args] of [
        ["udp", [`${HOST}:${await freePort("udp")}`, `backends=${b.udp[0].address}`, "proto=udp"]],
        ["tcp", [`${HOST}:${await freePort()}`, `backends=${HOST}:${b.tcp[0].port}`]],
      ] as const
    ) {
      const l4 = ["l4", ...args, `health_socket=${socket}`];
      const flags = await printedFlags([], l4);
      assert.ok(flags.includes(`--allow-write=${socket}`), "the health socket is in the flags");
      await serveAndCheck(flags, l4, [kind]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await b.close();
  }
});

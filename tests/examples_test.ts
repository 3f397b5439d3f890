/**
 * Every example under examples/ is valid: YAML parses; the command lines in
 * the Kubernetes manifest, the compose file and the systemd files are
 * accepted by the CLI's parser, and the `deno run` permissions written next
 * to them are exactly what `sidekick permissions` computes; the CockroachDB
 * config validates; and examples/embed.ts runs end to end on loopback.
 */

import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { parseCommandLine } from "../cli.ts";
import { permissionFlags, requiredPermissions } from "../src/cli/permissions.ts";
import { validateConfig } from "../src/config/validate.ts";
import type { HttpListenerSpec, SidecarConfig, TcpListenerSpec } from "../src/config/schema.ts";
import { DEFAULT_V8_FLAGS } from "../scripts/compile.ts";
import { main, startService } from "../examples/embed.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const EXAMPLES = `${ROOT}examples`;
const NO_ENV = () => undefined;

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await yamlFiles(path));
    else if (/\.ya?ml$/.test(e.name)) out.push(path);
  }
  return out.sort();
}

/** The config of a sidekick command line, with an empty environment. */
function configOf(args: readonly string[], env: (name: string) => string | undefined = NO_ENV) {
  const parsed = parseCommandLine(args, env);
  assert.ok(typeof parsed === "object", `not a config: ${args.join(" ")}`);
  assert.deepEqual(parsed.warnings, []);
  return parsed.config;
}

function http(config: SidecarConfig): HttpListenerSpec {
  assert.equal(config.listeners.length, 1);
  const [l] = config.listeners;
  assert.equal(l.kind, "http");
  return l as HttpListenerSpec;
}

function endpointsOf(l: HttpListenerSpec): string[][] {
  return l.cluster.sites.map((s) => s.endpoints.map((e) => `${e.scheme}://${e.host}:${e.port}`));
}

/**
 * Splits `deno run FLAGS jsr:@sidekick/cli@VERSION ARGS` into its parts and
 * checks the permission flags are exactly those `sidekick permissions ARGS`
 * prints, plus `--no-prompt` and the release binaries' V8 flags.
 */
async function checkDenoRun(argv: readonly string[], where: string) {
  assert.equal(argv[0], "run", `${where}: deno run`);
  const at = argv.findIndex((a) => a.startsWith("jsr:@sidekick/cli@"));
  assert.ok(at > 0, `${where}: runs jsr:@sidekick/cli@VERSION`);
  const { version } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(argv[at], `jsr:@sidekick/cli@${version}`, `${where}: pins this version`);
  const denoFlags = argv.slice(1, at);
  const args = argv.slice(at + 1);
  const config = configOf(args);
  const expected = permissionFlags(requiredPermissions(config));
  const granted = denoFlags.filter((f) => /^(-A|--allow-|-[NRWE]\b)/.test(f));
  assert.deepEqual(granted, expected, `${where}: the permissions of 'sidekick permissions'`);
  assert.ok(denoFlags.includes("--no-prompt"), `${where}: --no-prompt`);
  return { config, denoFlags, args };
}

Deno.test("every YAML example parses without errors or warnings", async () => {
  const files = await yamlFiles(EXAMPLES);
  for (
    const name of [
      "cockroach/sidekick.yaml",
      "compose/docker-compose.yaml",
      "kubernetes/sidekick-sidecar.yaml",
      "sidekick.yaml",
    ]
  ) {
    assert.ok(files.includes(`${EXAMPLES}/${name}`), `examples/${name} is missing`);
  }
  for (const file of files) {
    const docs = parseAllDocuments(await Deno.readTextFile(file), { merge: true });
    assert.ok(Array.isArray(docs) && docs.length > 0, file);
    for (const doc of docs) {
      assert.deepEqual(doc.errors.map((e) => e.message), [], file);
      assert.deepEqual(doc.warnings.map((e) => e.message), [], file);
    }
  }
});

// ---------------------------------------------------------------------------
// Kubernetes

interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number | string };
  readonly tcpSocket?: { readonly port: number | string };
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: readonly string[];
  readonly restartPolicy?: string;
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly resources?: {
    readonly requests?: Record<string, string>;
    readonly limits?: Record<string, string>;
  };
  readonly securityContext?: Record<string, unknown>;
}

Deno.test("kubernetes: the sidekick sidecar's arguments parse, with least-privilege deno flags", async () => {
  const doc = parse(await Deno.readTextFile(`${EXAMPLES}/kubernetes/sidekick-sidecar.yaml`));
  assert.equal(doc.kind, "Deployment");
  assert.equal(doc.apiVersion, "apps/v1");
  const spec = doc.spec.template.spec;
  assert.equal(spec.securityContext.runAsNonRoot, true);
  const all: Container[] = [...(spec.initContainers ?? []), ...spec.containers];
  const sidekick = all.find((c) => c.name === "sidekick");
  const app = all.find((c) => c.name === "app");
  assert.ok(sidekick !== undefined && app !== undefined);
  // A native sidecar: restartable init container.
  assert.ok(spec.initContainers.includes(sidekick));
  assert.equal(sidekick.restartPolicy, "Always");
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  const denoVersion = /^DENO_VERSION=(\S+)$/m.exec(ci)![1];
  assert.equal(sidekick.image, `denoland/deno:distroless-${denoVersion}`);

  const { config, denoFlags } = await checkDenoRun(sidekick.args!, "kubernetes");
  assert.ok(denoFlags.includes(`--v8-flags=${DEFAULT_V8_FLAGS.join(",")}`));
  const l = http(config);
  assert.equal(l.cluster.health.path, "/minio/health/ready");
  assert.deepEqual(endpointsOf(l), [[1, 2, 3, 4].map((i) => `http://minio${i}:9000`)]);
  // The kubelet probes the pod IP, so sidekick must listen on all interfaces.
  assert.equal(l.hostname, "0.0.0.0");

  const portOf = (p: number | string) =>
    typeof p === "number" ? p : sidekick.ports!.find((x) => x.name === p)!.containerPort;
  assert.equal(sidekick.readinessProbe?.httpGet?.path, "/v1/health");
  assert.equal(portOf(sidekick.readinessProbe!.httpGet!.port), l.port);
  assert.equal(portOf(sidekick.startupProbe!.tcpSocket!.port), l.port);
  assert.equal(sidekick.livenessProbe?.httpGet, undefined, "MinIO down must not restart clients");

  for (const c of [sidekick, app]) {
    assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${c.name} requests`);
    assert.ok(c.resources?.limits?.memory, `${c.name} memory limit`);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name);
    assert.equal(c.securityContext?.runAsNonRoot, true, c.name);
    assert.deepEqual((c.securityContext?.capabilities as { drop: string[] }).drop, ["ALL"]);
  }
  const endpoint = app.env?.find((e) => e.name === "AWS_ENDPOINT_URL")?.value;
  assert.equal(endpoint, `http://127.0.0.1:${l.port}`);
});

// ---------------------------------------------------------------------------
// docker compose

Deno.test("compose: four MinIO servers and a sidekick whose command parses and names them", async () => {
  const doc = parse(await Deno.readTextFile(`${EXAMPLES}/compose/docker-compose.yaml`), {
    merge: true,
  });
  const services = doc.services as Record<string, Record<string, unknown>>;
  const minios = Object.keys(services).filter((n) => n !== "sidekick").sort();
  assert.deepEqual(minios, ["minio1", "minio2", "minio3", "minio4"]);
  for (const name of minios) {
    const s = services[name];
    assert.match(String(s.image), /minio\/minio/);
    assert.match(String(s.command), /^server .*http:\/\/minio\{1\.\.\.4\}\/data\{1\.\.\.2\}$/);
    assert.ok((s.expose as string[]).includes("9000"), `${name} exposes 9000`);
    assert.equal(s.hostname, name);
  }
  const sidekick = services.sidekick;
  const { config } = await checkDenoRun(sidekick.command as string[], "compose");
  const l = http(config);
  assert.equal(l.cluster.health.path, "/minio/health/ready");
  assert.deepEqual(endpointsOf(l), [minios.map((n) => `http://${n}:9000`)]);
  assert.deepEqual(sidekick.ports, [`127.0.0.1:${l.port}:${l.port}`]);
  assert.deepEqual([...(sidekick.depends_on as string[])].sort(), minios);
  assert.equal(sidekick.read_only, true);
});

// ---------------------------------------------------------------------------
// CockroachDB

Deno.test("cockroach: the TCP tiers config validates, on loopback only", async () => {
  const file = "examples/cockroach/sidekick.yaml";
  const result = validateConfig(await Deno.readTextFile(`${ROOT}${file}`), file);
  assert.ok("config" in result, JSON.stringify("problems" in result ? result.problems : ""));
  assert.equal(result.format, "sidekick");
  assert.deepEqual(result.warnings, []);
  const { config } = result;
  assert.equal(config.gracePeriodMs, 30_000);
  assert.deepEqual(config.listeners.map((l) => [l.kind, l.name, `${l.hostname}:${l.port}`]), [
    ["tcp", "sql", "127.0.0.1:26257"],
    ["http", "console", "127.0.0.1:8080"],
  ]);
  const sql = config.listeners[0] as TcpListenerSpec;
  assert.deepEqual(
    sql.cluster.sites.map((t) => [t.name, t.endpoints.map((e) => e.port), t.maxConnections]),
    [["region-a", [26258, 26259, 26260], 64], ["region-b", [26261, 26262], 64]],
  );
  assert.equal(sql.cluster.sites[1].forcePromotionAfterMs, 60_000);
  assert.equal(sql.cluster.health.kind, "tcp");
  assert.equal(sql.idleMs, 3_600_000);
  const console = config.listeners[1] as HttpListenerSpec;
  assert.equal(console.cluster.health.path, "/health?ready=1");
  assert.equal(console.cluster.failbackDelayMs, 30_000);
  for (const l of config.listeners) {
    for (const e of l.cluster.sites.flatMap((s) => s.endpoints)) {
      assert.equal(e.host, "127.0.0.1", `${l.name}: ${e.host}`);
    }
  }
  // Everything it needs is loopback and the file (yaml's LOG_* reads are skipped unless granted).
  const p = requiredPermissions(config, { files: [file], yaml: true });
  assert.ok(p.net.every((e) => e.value.startsWith("127.0.0.1:")));
  assert.deepEqual(p.env.map((e) => e.value), []);
});

// ---------------------------------------------------------------------------
// systemd

/** KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, optional quotes). */
function parseEnvironmentFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    assert.ok(m !== null, `not KEY=VALUE: ${line}`);
    const v = m[2];
    out[m[1]] = /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v;
  }
  return out;
}

/** A unit file: section -> key -> values (a key may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head !== null) {
      section = head[1];
      out[section] = {};
      continue;
    }
    const m = /^(\w+)=(.*)$/.exec(line);
    assert.ok(m !== null && section !== "", `bad unit line: ${line}`);
    (out[section][m[1]] ??= []).push(m[2]);
  }
  return out;
}

Deno.test("systemd: SIDEKICK_OPTIONS and SIDEKICK_SITES from the default file parse", async () => {
  const env = parseEnvironmentFile(await Deno.readTextFile(`${EXAMPLES}/systemd/sidekick.default`));
  // Unquoted $VAR in ExecStart= is split on whitespace.
  const options = env.SIDEKICK_OPTIONS.split(/\s+/).filter((x) => x !== "");
  const sites = env.SIDEKICK_SITES.split(/\s+/).filter((x) => x !== "");
  const config = configOf([...options, ...sites]);
  const l = http(config);
  assert.equal(`${l.hostname}:${l.port}`, "127.0.0.1:8000");
  assert.equal(l.cluster.health.path, "/minio/health/ready");
  assert.deepEqual(
    endpointsOf(l),
    [1, 2].map((s) => [1, 2, 3, 4].map((i) => `http://site${s}-minio${i}:9000`)),
  );
  assert.equal(config.log?.health, true);
  // The same sites from the environment alone (the binary also reads SIDEKICK_SITES).
  assert.deepEqual(configOf(options, (k) => env[k]), config);
});

Deno.test("systemd: the unit runs the binary with both variables, restarts, and is hardened", async () => {
  const unit = parseUnit(await Deno.readTextFile(`${EXAMPLES}/systemd/sidekick.service`));
  const s = unit.Service;
  const one = (key: string) => {
    assert.equal(s[key]?.length, 1, `${key}= once`);
    return s[key][0];
  };
  assert.equal(one("EnvironmentFile"), "/etc/default/sidekick");
  assert.equal(one("ExecStart"), "/usr/local/bin/sidekick $SIDEKICK_OPTIONS $SIDEKICK_SITES");
  assert.equal(unit.Unit.AssertFileIsExecutable[0], "/usr/local/bin/sidekick");
  assert.match(one("ExecReload"), /kill -HUP \$MAINPID/);
  assert.equal(one("Restart"), "always");
  assert.equal(one("RestartPreventExitStatus"), "2");
  assert.equal(one("LimitNOFILE"), "65536");
  for (
    const [key, value] of [
      ["DynamicUser", "yes"],
      ["NoNewPrivileges", "yes"],
      ["ProtectSystem", "strict"],
      ["ProtectHome", "yes"],
      ["PrivateTmp", "yes"],
      ["PrivateDevices", "yes"],
      ["CapabilityBoundingSet", ""],
      ["RestrictNamespaces", "yes"],
      ["LockPersonality", "yes"],
    ]
  ) {
    assert.equal(one(key), value, key);
  }
  assert.ok(s.MemoryDenyWriteExecute === undefined, "V8's JIT needs W+X memory");
  assert.deepEqual(unit.Install.WantedBy, ["multi-user.target"]);
  const env = parseEnvironmentFile(await Deno.readTextFile(`${EXAMPLES}/systemd/sidekick.default`));
  for (const v of one("ExecStart").match(/\$\w+/g)!) assert.ok(v.slice(1) in env, `${v} is set`);
});

// ---------------------------------------------------------------------------
// embedding (real sockets)

function backend(name: string, hits: Map<string, number>): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/health") return new Response("ok");
    hits.set(name, (hits.get(name) ?? 0) + 1);
    return new Response(`${name} ${path}`);
  });
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

Deno.test("embed.ts: the service calls its backends through the in-process sidecar and survives one going away", async () => {
  const hits = new Map<string, number>();
  const a = backend("a", hits);
  const b = backend("b", hits);
  const url = (s: Deno.HttpServer<Deno.NetAddr>) => `http://127.0.0.1:${s.addr.port}`;
  let bClosed = false;
  try {
    await using service = await startService({
      backends: [url(a), url(b)],
      port: 0,
      healthIntervalMs: 200,
      graceMs: 500,
    });
    const at = `http://127.0.0.1:${service.addr.port}`;
    assert.match(service.upstream, /^http:\/\/127\.0\.0\.1:\d+$/);

    for (let i = 0; i < 20; i++) {
      const { status, body } = await getJson(`${at}/api/items/${i}?x=1`);
      assert.equal(status, 200);
      assert.deepEqual(body, {
        status: 200,
        body: `${(body as { body: string }).body[0]} /items/${i}`,
      });
    }
    assert.equal((hits.get("a") ?? 0) + (hits.get("b") ?? 0), 20);

    const r = await fetch(`${at}/healthz`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    const state = await getJson(`${at}/`);
    const endpoints = (state.body as { endpoints: { endpoint: string; status: string }[] })
      .endpoints;
    assert.deepEqual(endpoints.map((e) => [e.endpoint, e.status]), [
      [url(a), "up"],
      [url(b), "up"],
    ]);

    await b.shutdown();
    bClosed = true;
    for (let i = 0; i < 10; i++) {
      const { status, body } = await getJson(`${at}/api/after`);
      assert.equal(status, 200);
      assert.deepEqual(body, { status: 200, body: "a /after" });
    }

    const miss = await fetch(`${at}/nope`);
    assert.equal(miss.status, 404);
    await miss.body?.cancel();
  } finally {
    await a.shutdown();
    if (!bClosed) await b.shutdown();
  }
});

Deno.test("embed.ts: main() runs with demo backends until its signal aborts", async () => {
  const lines: string[] = [];
  const stop = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<string>();
  const done = main([], {
    signal: stop.signal,
    port: 0,
    log: (line) => {
      lines.push(line);
      const m = /^service on (\S+)/.exec(line);
      if (m !== null) resolve(m[1]);
    },
  });
  const at = await listening;
  const { status, body } = await getJson(`${at}/api/hello`);
  assert.equal(status, 200);
  assert.match((body as { body: string }).body, /^hello from backend [ab] \(\/hello\)$/);
  stop.abort();
  await done;
  assert.ok(lines.some((l) => /backend http:\/\/127\.0\.0\.1:\d+ is up/.test(l)), lines.join("\n"));
});

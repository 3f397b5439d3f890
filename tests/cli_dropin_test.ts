import assert from "node:assert/strict";
import { applyFlagOverrides } from "../src/config/compat/overrides.ts";
import { UsageError } from "../src/config/compat/flags.ts";
import { httpListener, tcpListener } from "../src/config/builders.ts";
import { CliProcess } from "./_helpers/cli.ts";

/** `count` consecutive free ports (so that a `{START...END}` range can name them), or null. */
function consecutivePorts(count: number): number[] | null {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const held: Deno.Listener[] = [];
    try {
      for (let i = 0; i < count; i++) {
        held.push(Deno.listen({ hostname: "127.0.0.1", port: base + i }));
      }
      return held.map((l) => (l.addr as Deno.NetAddr).port);
    } catch {
      // one was taken: try another base
    } finally {
      for (const l of held) l.close();
    }
  }
  return null;
}

Deno.test("minio/sidekick's README command line, with loopback ranges, balances and fails over unchanged", async () => {
  const ports = consecutivePorts(6);
  assert.ok(ports !== null, "no six consecutive free ports");
  const names = ["s1-a", "s1-b", "s1-c", "s1-d", "s2-a", "s2-b"];
  const servers = new Map<number, Deno.HttpServer<Deno.NetAddr>>();
  const start = (i: number) =>
    servers.set(
      ports[i],
      Deno.serve({ hostname: "127.0.0.1", port: ports[i], onListen() {} }, (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/minio/health/ready") return new Response("");
        return new Response(names[i]);
      }),
    );
  names.forEach((_, i) => start(i));
  try {
    // sidekick --health-path=/minio/health/ready --address :8000 http://site1-minio{1...4}:9000 http://site2-minio{1...4}:9000
    await using cli = new CliProcess(["--allow-net=127.0.0.1"], [
      "--health-path=/minio/health/ready",
      "--address",
      "127.0.0.1:0",
      "--health-duration",
      "200ms",
      `http://127.0.0.1:{${ports[0]}...${ports[3]}}`,
      `http://127.0.0.1:{${ports[4]}...${ports[5]}}`,
    ]);
    const [port] = await cli.ports();
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 4; i++) {
      seen.add(await (await fetch(`http://127.0.0.1:${port}/bucket/object`)).text());
    }
    assert.deepEqual(
      [...seen].sort(),
      ["s1-a", "s1-b", "s1-c", "s1-d"],
      "site 1 serves, over its whole range",
    );
    for (let i = 0; i < 4; i++) {
      await servers.get(ports[i])!.shutdown();
      servers.delete(ports[i]);
    }
    let body = "";
    for (let i = 0; i < 40 && !body.startsWith("s2-"); i++) {
      const r = await fetch(`http://127.0.0.1:${port}/bucket/object`);
      body = await r.text();
      if (!body.startsWith("s2-")) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(body, /^s2-/, "site 2 takes over when all of site 1 is down");
    start(1);
    let back = "";
    for (let i = 0; i < 40 && back !== "s1-b"; i++) {
      back = await (await fetch(`http://127.0.0.1:${port}/bucket/object`)).text();
      if (back !== "s1-b") await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(back, "s1-b", "traffic fails back to site 1 once it recovers");
    const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
  } finally {
    for (const s of servers.values()) await s.shutdown();
  }
});

Deno.test("iaido's bootstrap output serves TCP traffic", async () => {
  const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of echo) {
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      if (n !== null) await conn.write(buf.subarray(0, n));
      conn.close();
    }
  })();
  const dir = await Deno.makeTempDir();
  const file = `${dir}/iaido.yaml`;
  try {
    const [local, diag] = consecutivePorts(2) ?? [0, 0];
    // What `iaido -b LOCAL:127.0.0.1:PORT --bootstrapAddr 127.0.0.1` writes (with a free
    // diagnostics port instead of 13013).
    await Deno.writeTextFile(
      file,
      `diagAddr: 127.0.0.1:${diag}
frontends:
- backendPool:
    tiers:
    - targets:
      - hosts:
        - 127.0.0.1
        port: ${echo.addr.port}
  bindAddress: 127.0.0.1:${local}
`,
    );
    await using cli = new CliProcess([
      "--allow-net=127.0.0.1",
      `--allow-read=${dir}`,
      "--allow-env=LOG_TOKENS,LOG_STREAM",
    ], ["-c", file]);
    const [port] = await cli.ports();
    assert.equal(port, local);
    // diagAddr is served by the admin listener, with iaido's paths.
    const admin = await cli.waitFor(/sidekick admin on http:\/\/127\.0\.0\.1:(\d+)\//);
    assert.ok(diag === 0 || Number(admin[1]) === diag);
    const base = `http://127.0.0.1:${admin[1]}`;
    assert.equal(await (await fetch(`${base}/healthz`)).text(), "OK\n");
    assert.match(await (await fetch(`${base}/statusz`)).text(), /TCP:\[127\.0\.0\.1\]:/);
    assert.doesNotMatch(cli.stderr, /warning/);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("iaido"));
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    conn.close();
    assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "iaido");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
  } finally {
    echo.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyFlagOverrides(): flags given with --config override the file; others are refused", () => {
  const file = {
    listeners: [
      httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]]),
      tcpListener("127.0.0.1:5432", [["127.0.0.1:5433"]]),
    ],
  };
  const out = applyFlagOverrides(file, {
    "health-path": "/ready",
    "health-duration": "0",
    "host-balance": "round-robin",
    address: "127.0.0.1:9999",
    json: true,
  });
  const [http, tcp] = out.listeners;
  assert.equal(http.kind, "http");
  assert.deepEqual(
    [http.port, http.cluster.health.path, http.cluster.health.active, http.cluster.policy],
    [9999, "/ready", false, "round-robin"],
  );
  assert.equal(tcp, file.listeners[1], "non-HTTP listeners are left alone");
  assert.equal(out.log?.json, true);
  assert.equal(applyFlagOverrides(file, {}), file);
  assert.throws(
    () =>
      applyFlagOverrides({ listeners: [...file.listeners, file.listeners[0]] }, { address: ":1" }),
    (e: unknown) => e instanceof UsageError && /has 2/.test(e.message),
  );
  assert.throws(
    () => applyFlagOverrides(file, { "health-port": "70000" }),
    /--health-port must be 0\.\.65535, got 70000/,
  );
});

Deno.test("applyFlagOverrides(): --no-proxy-headers turns the file's proxy headers off", () => {
  const file = { listeners: [httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]])] };
  const [http] = applyFlagOverrides(file, { "no-proxy-headers": true }).listeners;
  assert.ok(http.kind === "http");
  assert.equal(http.proxyHeaders, false);
  assert.equal(file.listeners[0].proxyHeaders, undefined, "on unless turned off");
});

/**
 * The published surface: what mod.ts and ./unstable export, deno.json's
 * exports, and that another project imports our entry points by URL without
 * our deno.json (so no bare specifier may rely on our import map).
 */

import assert from "node:assert/strict";
import * as mod from "../mod.ts";
import * as unstable from "../unstable.ts";

const ROOT = new URL("../", import.meta.url);

/** mod.ts's run-time exports; a change here is a change of the stable API. */
const STABLE = [
  "DEFAULT_DNS",
  "DEFAULT_GRACE_PERIOD_MS",
  "DEFAULT_HASH",
  "DEFAULT_HEALTH",
  "DEFAULT_HTTP2",
  "DEFAULT_HTTP_LIMITS",
  "DEFAULT_HTTP_TIMEOUTS",
  "DEFAULT_LOG",
  "DEFAULT_OUTLIER",
  "DEFAULT_PASSIVE",
  "POLICY_NAMES",
  "createSidecar",
  "expandPattern",
  "expandSite",
  "formatDuration",
  "httpListener",
  "parseDuration",
  "parseEndpoint",
  "parseHashKey",
  "parseL4Endpoint",
  "parseListenAddress",
  "parseStatusList",
  "tcpListener",
  "udpListener",
];

Deno.test("surface: mod.ts exports the stable API only; the cores are in ./unstable", async () => {
  assert.deepEqual(Object.keys(mod).sort(), [...STABLE].sort());
  for (const core of ["HttpProxy", "TcpProxy", "UdpProxy", "Cluster", "Endpoint", "BufferPool"]) {
    assert.equal(typeof (unstable as Record<string, unknown>)[core], "function", core);
  }
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assert.deepEqual(config.exports, {
    ".": "./mod.ts",
    "./unstable": "./unstable.ts",
    "./cli": "./cli.ts",
  });
  const docs = await Deno.readTextFile(new URL("unstable.ts", ROOT));
  assert.match(docs.slice(0, docs.indexOf("@module")), /@experimental/);
});

Deno.test("surface: another project imports mod.ts, ./unstable and ./cli by URL, without our import map", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sidekick-foreign-" });
  try {
    // A project of its own: its deno.json maps nothing of ours.
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports: {} }));
    const yaml = `${dir}/sidekick.yaml`;
    await Deno.writeTextFile(
      yaml,
      "listeners:\n  - kind: tcp\n    address: 127.0.0.1:0\n    tiers: [{ endpoints: [127.0.0.1:1] }]\n",
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { createSidecar, parseDuration, tcpListener } from "${new URL("mod.ts", ROOT)}";
import { Cluster } from "${new URL("unstable.ts", ROOT)}";
import { main } from "${new URL("cli.ts", ROOT)}";

await using sidecar = createSidecar({ listeners: [tcpListener("127.0.0.1:0", [["127.0.0.1:1"]])] }, {
  firstProbeWaitMs: 0,
});
const [addr] = await sidecar.start();
console.log(JSON.stringify({ port: addr.port, ms: parseDuration("1m30s"), cluster: typeof Cluster }));
Deno.exitCode = await main(["check", ${JSON.stringify(yaml)}]); // parses YAML with npm:yaml
`,
    );
    const out = await new Deno.Command("deno", {
      args: [
        "run",
        "--check",
        "--allow-net=127.0.0.1",
        `--allow-read=${dir}`,
        "--allow-env=LOG_TOKENS,LOG_STREAM",
        "main.ts",
      ],
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    const first = JSON.parse(stdout.split("\n")[0]);
    assert.ok(first.port > 0);
    assert.deepEqual({ ms: first.ms, cluster: first.cluster }, { ms: 90_000, cluster: "function" });
    assert.match(stdout, /127\.0\.0\.1:1/, "sidekick check printed the normalised config");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

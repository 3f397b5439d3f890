import assert from "node:assert/strict";
import { bootstrapConfig, writeBootstrap } from "../../../src/config/compat/bootstrap.ts";
import { UsageError } from "../../../src/config/compat/flags.ts";
import { formatProblem } from "../../../src/config/problem.ts";
import { type SidecarConfig } from "../../../src/config/schema.ts";
import { DEFAULT_LOG } from "../../../src/config/defaults.ts";
import { tcpListener } from "../../../src/config/builders.ts";
import { validateConfig } from "../../../src/config/validate.ts";

const HEADER = [
  "# Written by sidekick --bootstrap in iaido's format, which sidekick reads as is.",
  "# `sidekick check FILE` shows it in sidekick's schema with every default filled in.",
];

function load(text: string): SidecarConfig {
  const result = validateConfig(text, "boot.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  assert.deepEqual(result.warnings, []);
  return result.config;
}

Deno.test("bootstrapConfig() writes iaido's README quickstart", () => {
  const text = bootstrapConfig([
    "26257:127.0.0.1:26260",
    "26257:127.0.0.1:26258",
    "26257:127.0.0.1:26259",
    "8080:127.0.0.1:8181",
  ], "127.0.0.1");
  assert.equal(
    text,
    [
      ...HEADER,
      "# (iaido would also write diagAddr: 127.0.0.1:13013; add it to serve the admin listener there.)",
      "frontends:",
      "  - bindAddress: 127.0.0.1:26257",
      "    backendPool:",
      "      tiers:",
      "        - targets:",
      "            - hosts:",
      "                - 127.0.0.1",
      "              port: 26258",
      "            - hosts:",
      "                - 127.0.0.1",
      "              port: 26259",
      "            - hosts:",
      "                - 127.0.0.1",
      "              port: 26260",
      "  - bindAddress: 127.0.0.1:8080",
      "    backendPool:",
      "      tiers:",
      "        - targets:",
      "            - hosts:",
      "                - 127.0.0.1",
      "              port: 8181",
      "",
    ].join("\n"),
  );
});

Deno.test("bootstrapConfig() groups hosts per remote port, sorted, like iaido's test", () => {
  const text = bootstrapConfig(
    ["8080:127.0.0.2:8080,8080:127.0.0.1:8080", "26257:127.0.0.1:26258", "26257:127.0.0.1:26257"],
    "0.0.0.0",
  );
  assert.equal(
    text,
    [
      ...HEADER,
      "# (iaido would also write diagAddr: 0.0.0.0:13013; add it to serve the admin listener there.)",
      "frontends:",
      "  - bindAddress: 0.0.0.0:26257",
      "    backendPool:",
      "      tiers:",
      "        - targets:",
      "            - hosts:",
      "                - 127.0.0.1",
      "              port: 26257",
      "            - hosts:",
      "                - 127.0.0.1",
      "              port: 26258",
      "  - bindAddress: 0.0.0.0:8080",
      "    backendPool:",
      "      tiers:",
      "        - targets:",
      "            - hosts:",
      "                - 127.0.0.1",
      "                - 127.0.0.2",
      "              port: 8080",
      "",
    ].join("\n"),
  );
});

Deno.test("bootstrapConfig() takes unbracketed IPv6 hosts and brackets an IPv6 address", () => {
  const text = bootstrapConfig(["5432:::1:5433", "5432:[fe80::2]:5433", "5432:::1:5433"], "::1");
  assert.ok(text.includes('  - bindAddress: "[::1]:5432"\n'), text);
  assert.deepEqual(load(text), {
    log: DEFAULT_LOG,
    gracePeriodMs: 5_000,
    listeners: [iaidoTcp("[::1]:5432", [["[::1]:5433", "[fe80::2]:5433"]])],
  });
});

/** A TCP listener as an iaido frontend gives it. */
function iaidoTcp(address: string, tiers: string[][], perAddress = false) {
  const base = tcpListener(address, tiers, {
    name: `tcp:${address}`,
    idleMs: 3_600_000,
    drainDelayMs: 30_000,
  });
  return {
    ...base,
    cluster: {
      ...base.cluster,
      sites: base.cluster.sites.map((s) => ({ ...s, maxConnections: 0, forcePromotionAfterMs: 0 })),
      health: {
        ...base.cluster.health,
        ejectMs: 1_000,
        statuses: [[200, 200]] as [number, number][],
        optimistic: false,
        udpPayload: "ping",
      },
      failbackDelayMs: 0,
      dns: { perAddress, ttlMs: 1_000 },
    },
  };
}

Deno.test("bootstrapConfig() output loads back to the same config as iaido's own file", () => {
  const specs = ["26257:10.0.0.2:26257", "26257:10.0.0.1:26257", "8080:db.internal:8080"];
  const ours = load(bootstrapConfig(specs, "127.0.0.1"));
  assert.deepEqual(ours.listeners, [
    iaidoTcp("127.0.0.1:26257", [["10.0.0.1:26257", "10.0.0.2:26257"]]),
    iaidoTcp("127.0.0.1:8080", [["db.internal:8080"]], true),
  ]);
  // What iaido's --bootstrap writes for the same specs (every default spelt out).
  const iaido = validateConfig(
    `diagAddr: 127.0.0.1:13013
frontends:
  - backendPool:
      latencyBucket: 10ms
      maintenanceTime: 30s
      tiers:
        - dialFailureTimeout: 1s
          forcePromotionAfter: 0s
          maxBackendConnections: 0
          targets:
            - hosts: [10.0.0.1, 10.0.0.2]
              port: 26257
    bindAddress: 127.0.0.1:26257
    idleDuration: 1h0m0s
    rebalanceDuration: 10s
  - backendPool:
      tiers:
        - targets:
            - hosts: [db.internal]
              port: 8080
    bindAddress: 127.0.0.1:8080
gracePeriod: 5s
`,
    "iaido.yaml",
  );
  assert.ok("config" in iaido);
  // The same, but for the admin listener that iaido's diagAddr opens (ours leaves it out).
  const { admin, ...rest } = iaido.config;
  assert.deepEqual(admin, { hostname: "127.0.0.1", port: 13013 });
  assert.deepEqual(ours, rest);
});

Deno.test("bootstrapConfig() with no --bootstrap-addr listens on all interfaces", () => {
  const config = load(bootstrapConfig(["9000:a:9001"], ""));
  assert.equal(config.listeners[0].hostname, "0.0.0.0");
  assert.equal(config.listeners[0].port, 9000);
});

Deno.test("bootstrapConfig() names the bad spec", async (t) => {
  const cases: [string[], string][] = [
    [[], "--bootstrap needs LOCALPORT:HOST:PORT, like --bootstrap 26257:127.0.0.1:26258"],
    [["26257"], "--bootstrap '26257': expected LOCALPORT:HOST:PORT, like 26257:127.0.0.1:26258"],
    [["a:b:c"], "--bootstrap 'a:b:c': expected LOCALPORT:HOST:PORT, like 26257:127.0.0.1:26258"],
    [["70000:h:1"], "--bootstrap '70000:h:1': LOCALPORT 70000 is not a port; use 1..65535"],
    [["1:h:0"], "--bootstrap '1:h:0': PORT 0 is not a port; use 1..65535"],
    [["1::2"], "--bootstrap '1::2': HOST '' is not a hostname or IP"],
  ];
  for (const [specs, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => bootstrapConfig(specs, "127.0.0.1"), new UsageError(message));
    });
  }
});

Deno.test("writeBootstrap() refuses to overwrite without force, and overwrites with it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/iaido.yaml`;
    const first = bootstrapConfig(["1:a:2"], "127.0.0.1");
    const second = bootstrapConfig(["3:b:4"], "127.0.0.1");
    await writeBootstrap(path, first, false);
    assert.equal(await Deno.readTextFile(path), first);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
    await assert.rejects(
      () => writeBootstrap(path, second, false),
      (e: Error) => {
        assert.ok(e instanceof Deno.errors.AlreadyExists);
        assert.equal(
          e.message,
          `Cannot write the bootstrapped config to '${path}' as it already exists: pass --force to overwrite it`,
        );
        return true;
      },
    );
    assert.equal(await Deno.readTextFile(path), first);
    await writeBootstrap(path, second, true);
    assert.equal(await Deno.readTextFile(path), second);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

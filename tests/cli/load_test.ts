import assert from "node:assert/strict";
import {
  checkConfigFile,
  ConfigError,
  loadConfigFile,
  readConfigFile,
} from "../../src/cli/load.ts";

const VALID =
  "listeners:\n  - kind: tcp\n    address: 127.0.0.1:26257\n    tiers:\n      - endpoints: [127.0.0.1:26258]\n";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_load_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadConfigFile() reads and validates a real file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sidekick.yaml`;
    await Deno.writeTextFile(path, VALID);
    const { config, warnings, format } = await loadConfigFile(path);
    assert.equal(format, "sidekick");
    assert.deepEqual(warnings, []);
    assert.equal(config.listeners[0].kind, "tcp");
    assert.equal(config.listeners[0].port, 26257);
  });
});

Deno.test("loadConfigFile() reads iaido files; diagAddr is the admin listener", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/iaido.yaml`;
    await Deno.writeTextFile(
      path,
      "diagAddr: 127.0.0.1:6060\nfrontends:\n  - bindAddress: 127.0.0.1:26257\n    backendPool:\n" +
        "      tiers: [{targets: [{hosts: [127.0.0.1], port: 26258}]}]\n",
    );
    const { config, warnings, format } = await loadConfigFile(path);
    assert.equal(format, "iaido");
    assert.equal(config.listeners[0].name, "tcp:127.0.0.1:26257");
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.admin, { hostname: "127.0.0.1", port: 6060 });
  });
});

Deno.test("loadConfigFile() throws a ConfigError listing every problem", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      path,
      "gracePeriod: soon\nlisteners:\n  - kind: tpc\n    tiers: [{endpoints: [a:1]}]\n",
    );
    await assert.rejects(() => loadConfigFile(path), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 2);
      assert.equal(
        e.message,
        `${path}:1:14: gracePeriod: 'soon' is not a duration; use e.g. 5s, 1m30s\n` +
          `${path}:3:11: listeners[0].kind: 'tpc' is not a listener kind; use http, tcp or udp (did you mean 'tcp'?)`,
      );
      return true;
    });
  });
});

Deno.test("loadConfigFile() names a missing file and says what to do", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/nope.yaml`;
    await assert.rejects(() => loadConfigFile(path), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotFound);
      assert.equal(
        e.message,
        `Cannot read config file '${path}' as it does not exist: check the path, or write a starter with ` +
          `sidekick --config ${path} --bootstrap LOCALPORT:HOST:PORT`,
      );
      return true;
    });
  });
});

Deno.test("readConfigFile() explains a directory", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(() => readConfigFile(dir), (e: Error) => {
      assert.equal(
        e.message,
        `Cannot read config file '${dir}' as it is a directory: name a YAML file`,
      );
      return true;
    });
  });
});

Deno.test({
  name: "readConfigFile() names the --allow-read flag that is missing",
  permissions: { read: false },
  async fn() {
    await assert.rejects(() => readConfigFile("/etc/sidekick.yaml"), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotCapable);
      assert.equal(
        e.message,
        "Cannot read config file '/etc/sidekick.yaml' as read access was not granted: " +
          "run deno with --allow-read=/etc/sidekick.yaml",
      );
      return true;
    });
  },
});

Deno.test("checkConfigFile() prints the normalised config or every problem", async () => {
  await withTempDir(async (dir) => {
    const good = `${dir}/good.yaml`;
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(good, VALID);
    await Deno.writeTextFile(bad, "listeners:\n  - kind: tcp\n    polcy: least\n");
    const ok = await checkConfigFile(good);
    assert.ok(ok.ok);
    assert.ok(
      ok.normalized.startsWith(
        `# ${good}, normalised by sidekick check: every default is filled in.\ngracePeriod: 5s\n`,
      ),
    );
    const failed = await checkConfigFile(bad);
    assert.ok(!failed.ok);
    assert.equal(
      failed.report,
      `${bad}:2:5: listeners[0].tiers: is missing; list the tiers in failover order, each with endpoints: [HOST:PORT]\n` +
        `${bad}:3:5: listeners[0].polcy: unknown key 'polcy'; did you mean 'policy'?`,
    );
  });
});

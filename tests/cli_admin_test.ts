/**
 * `--admin` and `admin:` through the real command line: the admin listener
 * starts with the sidecar, counts reloads (a file that fails to load too),
 * and a taken admin address stops the start with one clear line.
 */

import assert from "node:assert/strict";
import { CliProcess, runCli } from "./_helpers/cli.ts";

const YAML_ENV = "--allow-env=LOG_TOKENS,LOG_STREAM";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

function config(port: number, backend: number, adminPort: number): string {
  return `listeners:
  - kind: http
    address: 127.0.0.1:${port}
    sites:
      - endpoints: [http://127.0.0.1:${backend}]
    health:
      interval: 100ms
admin:
  address: 127.0.0.1:${adminPort}
`;
}

async function metric(adminPort: number, line: RegExp): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return line.exec(text)?.[1] ?? `no match for ${line} in:\n${text}`;
}

Deno.test("admin: in the file, served by the CLI; reloads are counted, failed ones too", async () => {
  const backend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("ok"),
  );
  const dir = await Deno.makeTempDir();
  const file = `${dir}/sidekick.yaml`;
  try {
    const port = freePort(), adminPort = freePort();
    await Deno.writeTextFile(file, config(port, backend.addr.port, adminPort));
    await using cli = new CliProcess(["--allow-net=127.0.0.1", `--allow-read=${dir}`, YAML_ENV], [
      "-c",
      file,
    ]);
    const m = await cli.waitFor(/sidekick admin on http:\/\/127\.0\.0\.1:(\d+)\//);
    assert.equal(Number(m[1]), adminPort);
    assert.equal(await (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).text(), "OK\n");
    const status = await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json();
    assert.equal(status.listeners[0].sites[0].endpoints[0].status, "up");

    // SIGHUP with the file unchanged: one successful reload.
    cli.child.kill("SIGHUP");
    await cli.waitFor(/reloaded \(SIGHUP\)/);
    // Changes are picked up by the file watcher (no signal, so each is one reload). A new
    // admin address is not applied by a reload: it says so.
    await Deno.writeTextFile(file, config(port, backend.addr.port, freePort()));
    await cli.waitFor(
      /reloaded \(.* changed\)\nsidekick: warning: a new admin address takes effect on restart/,
    );
    assert.equal(await (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).text(), "OK\n");
    await Deno.writeTextFile(file, "listeners: [\n");
    await cli.waitFor(/reload failed \(.* changed\)/);
    assert.equal(
      await metric(adminPort, /^sidekick_reloads_total\{result="success"\} (\d+)$/m),
      "2",
    );
    assert.equal(
      await metric(adminPort, /^sidekick_reloads_total\{result="failure"\} (\d+)$/m),
      "1",
    );
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
  } finally {
    await backend.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--admin on a taken address: one line naming it, exit 1", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await runCli(["--allow-net=127.0.0.1"], [
      "-a",
      `127.0.0.1:${freePort()}`,
      "--admin",
      `127.0.0.1:${taken.addr.port}`,
      "-d",
      "0",
      "http://127.0.0.1:1",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `sidekick: cannot start the admin listener on 127\\.0\\.0\\.1:${taken.addr.port}: `,
      ),
    );
  } finally {
    taken.close();
  }
});

import assert from "node:assert/strict";
import { CliProcess } from "./_helpers/cli.ts";

/**
 * A backend that accepts connections and never answers: the first health
 * round stays pending (start waits up to 3 s). `probed` resolves at the first
 * connection, i.e. once the sidecar is starting.
 */
function silentBackend(): { port: number; probed: Promise<void>; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const { promise: probed, resolve } = Promise.withResolvers<void>();
  const accepting = (async () => {
    for await (const conn of listener) {
      held.push(conn);
      resolve();
    }
  })();
  return {
    port: listener.addr.port,
    probed,
    async close() {
      listener.close();
      await accepting;
      for (const c of held) c.close();
    },
  };
}

/** A CLI whose start waits up to `healthTimeout` for the silent backend's first probe. */
function startingCli(port: number, healthTimeout: string): CliProcess {
  return new CliProcess(["--allow-net=127.0.0.1"], [
    "-a",
    "127.0.0.1:0",
    "--health-timeout",
    healthTimeout,
    `http://127.0.0.1:${port}`,
  ]);
}

Deno.test("SIGHUP while the first health round is pending is queued, not fatal", async () => {
  const backend = silentBackend();
  try {
    await using cli = startingCli(backend.port, "1s");
    await backend.probed;
    assert.doesNotMatch(cli.stderr, /listening on/);
    cli.child.kill("SIGHUP");
    await cli.ports();
    await cli.waitFor(/reloaded \(SIGHUP\)/);
    assert.ok(
      cli.stderr.indexOf("listening on") < cli.stderr.indexOf("reloaded (SIGHUP)"),
      "the reload runs after the start completed",
    );
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0, cli.stderr);
  } finally {
    await backend.close();
  }
});

Deno.test("SIGTERM while starting stops the start and exits 0 without listening", async () => {
  const backend = silentBackend();
  try {
    await using cli = startingCli(backend.port, "10s");
    await backend.probed;
    const t0 = Date.now();
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0, cli.stderr);
    assert.ok(Date.now() - t0 < 2_500, "does not wait for the first health round");
    assert.doesNotMatch(cli.stderr, /listening on|cannot start/);
  } finally {
    await backend.close();
  }
});

/**
 * minio/sidekick's console and wire output, run through the real command
 * line: LOG lines on stdout (`Status` up/down, no empty keys), `TRACE` JSON
 * lines with `callStats.healthError`, `Server: SideKick` and `X-Proxy: true`
 * (and `--no-proxy-headers`), `-q` printing nothing but errors.
 */

import assert from "node:assert/strict";
import { CliProcess } from "./_helpers/cli.ts";
import { freePort } from "./_helpers/sidecar.ts";

const NET = "--allow-net=127.0.0.1";

/** A backend on `port` (0 = any) answering `name path`. */
function serve(name: string, port = 0): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
    return new Response(`${name} ${new URL(req.url).pathname}`, {
      headers: { "server": "Backend/1", "content-type": "text/plain" },
    });
  });
}

/** Polls `url` until it answers `status` (bounded). */
async function until(url: string, status: number, timeoutMs = 10_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status === status || Date.now() > deadline) return r;
      await r.body?.cancel();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

Deno.test("--json --log: TRACE lines with healthError, LOG up/down lines on stdout without empty keys", async () => {
  let backend = serve("A");
  const bport = backend.addr.port;
  try {
    const port = await freePort();
    await using cli = new CliProcess(
      [NET],
      ["--json", "--log", "-d", "100ms", "-a", `127.0.0.1:${port}`, `http://127.0.0.1:${bport}`],
      { stdout: true },
    );
    const res = await until(`http://127.0.0.1:${port}/bucket/key?x=1`, 200);
    assert.equal(await res.text(), "A /bucket/key");
    assert.equal(res.headers.get("x-proxy"), "true", "X-Proxy: true on proxied responses");
    assert.equal(res.headers.get("server"), "Backend/1", "the backend's Server passes");

    await cli.waitForStdout(/"type":"TRACE"/);
    const trace = jsonLines(cli.stdout).find((l) => l.type === "TRACE" && l.path === "/bucket/key");
    assert.ok(trace, cli.stdout);
    assert.deepEqual(Object.keys(trace), [
      "type",
      "host",
      "time",
      "client",
      "callStats",
      "statusCode",
      "statusMsg",
      "method",
      "path",
      "query",
    ]);
    assert.deepEqual(Object.keys(trace.callStats as object), [
      "rx",
      "tx",
      "latency",
      "timetofirstbyte",
      "healthError",
    ]);
    assert.equal((trace.callStats as { healthError: unknown }).healthError, null);
    assert.equal(trace.host, `http://127.0.0.1:${bport}`);
    assert.equal(trace.query, "x=1");
    assert.ok(!cli.stderr.includes('"type"'), "traces and LOG lines are not on stderr");
    await cli.waitForStdout(/"Type":"LOG"/);
    const firstUp = jsonLines(cli.stdout).find((l) => l.Type === "LOG")!;
    assert.deepEqual(
      Object.keys(firstUp),
      ["Type", "Endpoint", "Status", "Timestamp"],
      "coming up the first time ends no downtime",
    );

    await backend.shutdown();
    await cli.waitForStdout(/"Status":"down"/);
    const down = jsonLines(cli.stdout).find((l) => l.Type === "LOG" && l.Status === "down")!;
    assert.deepEqual(Object.keys(down), ["Type", "Endpoint", "Error", "Status", "Timestamp"]);
    assert.equal(down.Endpoint, `http://127.0.0.1:${bport}`);
    assert.match(String(down.Timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    backend = serve("A", bport);
    await cli.waitForStdout(/"Status":"up","Downtime":\d+/);
    const up = jsonLines(cli.stdout).filter((l) => l.Type === "LOG" && l.Status === "up").at(-1)!;
    assert.deepEqual(Object.keys(up), ["Type", "Endpoint", "Status", "Downtime", "Timestamp"]);
    assert.ok((up.Downtime as number) > 0);
  } finally {
    await backend.shutdown();
  }
});

Deno.test("text LOG lines on stdout; Server: SideKick on /v1/health and the 502; --no-proxy-headers drops both", async () => {
  const port = await freePort();
  {
    const gone = serve("D");
    const endpoint = `http://127.0.0.1:${gone.addr.port}`;
    await using cli = new CliProcess(
      [NET],
      ["--log", "-d", "100ms", "-a", `127.0.0.1:${port}`, endpoint],
      { stdout: true },
    );
    const first = await until(`http://127.0.0.1:${port}/v1/health`, 200);
    await first.body?.cancel();
    assert.equal(first.headers.get("server"), "SideKick");
    await gone.shutdown();
    const m = await cli.waitForStdout(/^LOG {2}: \d\d:\d\d:\d\d\.\d{3} {2}(\S+) is down: (.+)$/m);
    assert.equal(m[1], endpoint);
    assert.ok(!cli.stderr.includes("is down"), "LOG lines go to stdout only");
    const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
    assert.equal(health.status, 502);
    assert.equal(health.headers.get("server"), "SideKick");
    assert.equal(health.headers.get("content-type"), "application/xml");
    assert.equal(health.headers.get("retry-after"), "120");
    assert.equal(
      await health.text(),
      '<?xml version="1.0" encoding="UTF-8"?><Error><Code>BackendDown</Code><Message>' +
        "The remote server returned an error (all backend servers are offline)</Message>" +
        "<Resource>/v1/health</Resource></Error>",
    );
  }
  const backend = serve("B");
  try {
    await using cli = new CliProcess([NET], [
      "--no-proxy-headers",
      "-a",
      `127.0.0.1:${port}`,
      `http://127.0.0.1:${backend.addr.port}`,
    ]);
    await cli.ports();
    const ok = await until(`http://127.0.0.1:${port}/x`, 200);
    assert.equal(await ok.text(), "B /x");
    assert.equal(ok.headers.get("x-proxy"), null);
    const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
    await health.body?.cancel();
    assert.equal(health.status, 200);
    assert.equal(health.headers.get("server"), null);
  } finally {
    await backend.shutdown();
  }
});

Deno.test("-q prints only errors: no listening line, no LOG lines, no traces", async () => {
  const backend = serve("C");
  try {
    const port = await freePort();
    await using cli = new CliProcess(
      [NET],
      ["-q", "--log", "-a", `127.0.0.1:${port}`, `http://127.0.0.1:${backend.addr.port}`],
      { stdout: true },
    );
    const res = await until(`http://127.0.0.1:${port}/q`, 200);
    assert.equal(await res.text(), "C /q");
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
    assert.equal(cli.stdout, "");
    assert.equal(cli.stderr, "");
  } finally {
    await backend.shutdown();
  }
});

import assert from "node:assert/strict";
import { tcpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { TcpProxy } from "../../src/proxy/tcp/server.ts";
import { HOST, text, utf8, within } from "../_helpers/net.ts";
import { echoServer, endedAfter } from "../_helpers/echo.ts";

async function drainedAfter(drainDelayMs: number, random: number): Promise<number> {
  const a = echoServer();
  const b = echoServer();
  const base = tcpListener(`${HOST}:0`, [[`${HOST}:${a.port}`, `${HOST}:${b.port}`]], {
    drainDelayMs,
  });
  // No probes: endpoints are up from the start.
  const spec = {
    ...base,
    cluster: { ...base.cluster, health: { ...base.cluster.health, active: false } },
  };
  const cluster = new Cluster(spec.cluster, SYSTEM_RUNTIME);
  const proxy = new TcpProxy(spec, cluster, { sweepMs: 25, random: () => random });
  const addr = await proxy.listen();
  const conn = await Deno.connect({ hostname: HOST, port: addr.port });
  try {
    await conn.write(utf8("hi"));
    const buf = new Uint8Array(8);
    assert.equal(text(buf.subarray(0, (await within(conn.read(buf), 2_000, "echo")) ?? 0)), "hi");
    // Remove whichever endpoint the connection went to (a reload without it).
    const used = cluster.sites[0].findIndex((e) => e.inFlight > 0);
    assert.ok(used >= 0, "the connection holds one endpoint");
    const site = spec.cluster.sites[0];
    cluster.update({
      ...spec.cluster,
      sites: [{ ...site, endpoints: site.endpoints.filter((_, i) => i !== used) }],
    });
    proxy.update(spec);
    return await endedAfter(conn, Date.now(), 10_000);
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the proxy
    }
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
}

Deno.test("TcpProxy keeps a removed endpoint's connection for drainDelayMs before shedding it (iaido's maintenanceTime)", async () => {
  const early = await drainedAfter(600, 0);
  assert.ok(early >= 550, `kept at least the delay (closed after ${early} ms)`);
  assert.ok(early < 1_500, `then closed promptly with the earliest draw (after ${early} ms)`);
  const late = await drainedAfter(600, 0.99);
  assert.ok(late >= 1_700, `the latest draw waits up to three times the delay (${late} ms)`);
  assert.ok(late < 3_000, `and no longer (${late} ms)`);
});

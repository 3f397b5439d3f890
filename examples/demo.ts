/**
 * `deno task demo`: sidekick in front of three demo backends on loopback,
 * in two sites (site1: two backends, site2: one failover backend), with a
 * control page to stop and start backends and watch failover.
 *
 * Needs only `--allow-net=127.0.0.1`.
 *
 * @module
 */

import { createSidecar, DEFAULT_HEALTH, type HealthEvent, httpListener } from "../mod.ts";
import { serveAdmin } from "../unstable.ts";

interface DemoBackend {
  readonly name: string;
  readonly port: number;
  server: Deno.HttpServer | null;
}

function serveBackend(name: string, port: number): Deno.HttpServer<Deno.NetAddr> {
  let hits = 0;
  return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/health") return new Response("ok\n");
    hits++;
    return new Response(`hello from ${name} (request ${hits} here, path ${path})\n`);
  });
}

function startBackends(): DemoBackend[] {
  const names = ["site1-a", "site1-b", "site2-a"];
  return names.map((name) => {
    const server = serveBackend(name, 0);
    return { name, port: server.addr.port, server };
  });
}

function listenerFor(backends: DemoBackend[], address: string) {
  const url = (b: DemoBackend) => `http://127.0.0.1:${b.port}`;
  const base = httpListener(address, [[url(backends[0]), url(backends[1])], [url(backends[2])]]);
  return {
    ...base,
    cluster: {
      ...base.cluster,
      health: { ...DEFAULT_HEALTH, path: "/health", intervalMs: 1000, timeoutMs: 1000 },
    },
  };
}

/** Whether starting failed because the address is taken (the error names its cause). */
function addressInUse(e: unknown): boolean {
  return e instanceof Deno.errors.AddrInUse ||
    (e instanceof Error && e.cause instanceof Deno.errors.AddrInUse);
}

/** Starts sidekick on 127.0.0.1:8080, or on a free port when 8080 is taken. */
async function startSidekick(backends: DemoBackend[]) {
  const names = new Map(backends.map((b) => [`http://127.0.0.1:${b.port}`, b.name]));
  const options = {
    onHealthEvent: (e: HealthEvent) =>
      console.log(`  [health] ${names.get(e.endpoint) ?? e.endpoint} is ${e.status} (${e.detail})`),
  };
  const sidecar = createSidecar({ listeners: [listenerFor(backends, "127.0.0.1:8080")] }, options);
  try {
    const [addr] = await sidecar.start();
    return { sidecar, addr };
  } catch (e) {
    await sidecar.close();
    if (!addressInUse(e)) throw e;
    console.log("  (127.0.0.1:8080 is taken; sidekick listens on a free port instead)");
    const fallback = createSidecar({ listeners: [listenerFor(backends, "127.0.0.1:0")] }, options);
    const [addr] = await fallback.start();
    return { sidecar: fallback, addr };
  }
}

async function main(): Promise<void> {
  const backends = startBackends();
  const { sidecar, addr } = await startSidekick(backends);
  const control = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const [, action, name] = new URL(req.url).pathname.split("/");
    const b = backends.find((x) => x.name === name);
    if (b !== undefined && action === "stop" && b.server !== null) {
      await b.server.shutdown();
      b.server = null;
    } else if (b !== undefined && action === "start" && b.server === null) {
      b.server = serveBackend(b.name, b.port);
    }
    const lines = backends.map((x) => `${x.name}: ${x.server === null ? "stopped" : "running"}`);
    return new Response(lines.join("\n") + "\n");
  });
  // The admin listener: the live status page, /status JSON and /metrics, never on the traffic port.
  await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
  const url = `http://127.0.0.1:${addr.port}`;
  const ctl = `http://127.0.0.1:${control.addr.port}`;
  const status = `http://127.0.0.1:${admin.address.port}`;
  console.log(`
sidekick demo is running.

  sidekick:   ${url}   (site1: site1-a + site1-b, site2: site2-a as failover)
  status:     ${status}/   (a live status page in your browser; /status is JSON, /metrics Prometheus)

Try:
  curl ${url}/hello              # spread over site1-a and site1-b
  curl ${url}/v1/health          # 200 while any site is up
  curl ${ctl}/stop/site1-a       # one backend down: site1-b takes all
  curl ${ctl}/stop/site1-b       # site1 down: traffic fails over to site2
  curl ${ctl}/start/site1-a      # site1 back: traffic fails back
  curl ${ctl}/                   # backend states

Press Ctrl-C to stop.
`);
  const { promise, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  await promise;
  Deno.removeSignalListener("SIGINT", resolve);
  await sidecar.close();
  await control.shutdown();
  await Promise.all(backends.map((b) => b.server?.shutdown()));
}

if (import.meta.main) await main();

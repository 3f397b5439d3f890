/**
 * Embedding sidekick in a Deno service: the service's own HTTP server
 * (`Deno.serve`) calls its backends through a sidecar that runs in the same
 * process, so there is no second process to deploy, and the service can read
 * the balancer's live state (`sidecar.stats()`) to answer its own health
 * check.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/embed.ts                       # with two demo backends
 * deno run --allow-net=127.0.0.1 examples/embed.ts http://127.0.0.1:9001 http://127.0.0.1:9002
 * curl http://127.0.0.1:8000/api/hello    # the service calls a backend through the sidecar
 * curl http://127.0.0.1:8000/healthz      # 200 while the sidecar has a healthy backend
 * curl http://127.0.0.1:8000/             # the sidecar's endpoints, as the service sees them
 * ```
 *
 * The sidecar listens on an ephemeral loopback port that only this process
 * knows; the service gets it from `start()`. Backends and the service are on
 * 127.0.0.1, so `--allow-net=127.0.0.1` is the only permission; with backends
 * elsewhere, grant their `host:port` too (the list `sidekick permissions`
 * prints for the same sites).
 *
 * @module
 */

import {
  createSidecar,
  DEFAULT_HEALTH,
  httpListener,
  type Sidecar,
  type SidecarStats,
} from "../mod.ts";

/**
 * Options of {@linkcode startService}.
 *
 * @example Usage
 * ```ts
 * import type { ServiceOptions } from "./embed.ts";
 * const options: ServiceOptions = { backends: ["http://127.0.0.1:9001"], port: 0 };
 * ```
 */
export interface ServiceOptions {
  /** Backend URLs: the first site. */
  readonly backends: readonly string[];
  /** Backend URLs of a failover site, used only while the first has none healthy. @default [] */
  readonly failover?: readonly string[];
  /** Where the service listens. @default "127.0.0.1" */
  readonly hostname?: string;
  /** Port of the service; 0 picks a free one. @default 8000 */
  readonly port?: number | undefined;
  /** Health path of the backends. @default "/health" */
  readonly healthPath?: string;
  /** Health check interval of the sidecar, in milliseconds. @default 2000 */
  readonly healthIntervalMs?: number;
  /** How long requests in flight may finish on close, in milliseconds. @default 2000 */
  readonly graceMs?: number;
  /** Hears of backend up/down transitions. @default nothing */
  readonly log?: (line: string) => void;
}

/** A running service with its in-process sidecar. */
export interface Service extends AsyncDisposable {
  /** Where the service listens. */
  readonly addr: Deno.NetAddr;
  /** The sidecar's base URL (loopback, ephemeral port), which the service calls. */
  readonly upstream: string;
  /** The sidecar, for its live state. */
  readonly sidecar: Sidecar;
  /** Stops the service, then drains and closes the sidecar. Idempotent. */
  close(): Promise<void>;
}

/** Whether any endpoint of the sidecar takes traffic. */
function anyUp(stats: SidecarStats): boolean {
  return stats.listeners.some((l) => l.endpoints.some((e) => e.status === "up"));
}

/**
 * Starts the sidecar (first health round, then listening), then the service.
 *
 * Routes: `GET /api/PATH` calls `PATH` on a backend through the sidecar and
 * answers `{ status, body }` as JSON; `GET /healthz` is 200 while a backend
 * is healthy, else 503; `GET /` lists the sidecar's endpoints.
 *
 * @param options Backends and where to listen.
 * @returns The running service.
 * @throws {Error} When the sidecar or the service cannot listen (nothing is left running).
 *
 * @example Usage
 * ```ts ignore
 * import { startService } from "./embed.ts";
 * await using service = await startService({ backends: ["http://127.0.0.1:9001"], port: 0 });
 * const r = await fetch(`http://127.0.0.1:${service.addr.port}/api/hello`);
 * console.log(await r.json());
 * ```
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const sites = [options.backends, ...(options.failover?.length ? [options.failover] : [])];
  const base = httpListener("127.0.0.1:0", sites, { name: "backends" });
  const sidecar = createSidecar({
    listeners: [{
      ...base,
      cluster: {
        ...base.cluster,
        health: {
          ...DEFAULT_HEALTH,
          path: options.healthPath ?? "/health",
          intervalMs: options.healthIntervalMs ?? 2000,
          timeoutMs: 1000,
        },
      },
    }],
  }, {
    onHealthEvent: (e) => options.log?.(`backend ${e.endpoint} is ${e.status} (${e.detail})`),
  });
  const [sidecarAddr] = await sidecar.start();
  const upstream = `http://127.0.0.1:${sidecarAddr.port}`;
  // One HTTP client for the calls to the sidecar, closed with the service.
  const client = Deno.createHttpClient({});

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/healthz") {
      const ok = anyUp(sidecar.stats());
      return new Response(ok ? "ok\n" : "no healthy backend\n", { status: ok ? 200 : 503 });
    }
    if (url.pathname === "/") {
      const [listener] = sidecar.stats().listeners;
      return Response.json({ upstream, endpoints: listener.endpoints });
    }
    if (url.pathname.startsWith("/api/") && req.method === "GET") {
      const target = `${upstream}${url.pathname.slice("/api".length)}${url.search}`;
      try {
        const r = await fetch(target, { client });
        return Response.json({ status: r.status, body: await r.text() });
      } catch (e) {
        return Response.json({ error: (e as Error).message }, { status: 502 });
      }
    }
    return new Response("not found\n", { status: 404 });
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 8000,
      onListen() {},
    }, handler);
  } catch (e) {
    client.close();
    await sidecar.close();
    throw e;
  }

  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (async () => {
      await server.shutdown();
      await sidecar.close(options.graceMs ?? 2000);
      client.close();
    })();
  return { addr: server.addr, upstream, sidecar, close, [Symbol.asyncDispose]: close };
}

/**
 * Two demo backends on ephemeral loopback ports, for running this file
 * without real ones: `GET /health` is `ok`, anything else says which backend
 * answered.
 *
 * @returns Their URLs and a function that stops them.
 */
export function startDemoBackends(): { urls: string[]; close: () => Promise<void> } {
  const servers = ["a", "b"].map((name) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      return new Response(path === "/health" ? "ok" : `hello from backend ${name} (${path})`);
    })
  );
  return {
    urls: servers.map((s) => `http://127.0.0.1:${s.addr.port}`),
    close: async () => {
      await Promise.all(servers.map((s) => s.shutdown()));
    },
  };
}

/**
 * Runs the service until `signal` aborts: with the backend URLs in `args`,
 * or with two demo backends when there are none.
 *
 * @param args Backend URLs.
 * @param options `signal` stops it; `port` of the service (default 8000); `log` gets each line.
 * @returns Resolves once everything is closed.
 *
 * @example Usage
 * ```ts ignore
 * import { main } from "./embed.ts";
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGINT", () => stop.abort());
 * await main(Deno.args, { signal: stop.signal });
 * ```
 */
export async function main(
  args: readonly string[],
  options: { signal: AbortSignal; port?: number; log?: (line: string) => void },
): Promise<void> {
  const log = options.log ?? console.log;
  const demo = args.length === 0 ? startDemoBackends() : null;
  try {
    const backends = demo?.urls ?? [...args];
    await using service = await startService({ backends, port: options.port, log });
    const at = `http://127.0.0.1:${service.addr.port}`;
    log(`service on ${at} -> sidekick ${service.upstream} -> ${backends.join(", ")}`);
    log(`try: curl ${at}/api/hello   curl ${at}/healthz   curl ${at}/`);
    if (!options.signal.aborted) {
      await new Promise((resolve) =>
        options.signal.addEventListener("abort", resolve, { once: true })
      );
    }
  } finally {
    await demo?.close();
  }
}

if (import.meta.main) {
  const stop = new AbortController();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => stop.abort();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  await main(Deno.args, { signal: stop.signal });
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
}

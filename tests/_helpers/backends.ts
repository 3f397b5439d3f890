/**
 * Backends (raw and `Deno.serve`, counting their connections) and a sidecar
 * in front of given backends, for integration tests on loopback. Every helper
 * owns what it opens and closes it, so tests pass with the leak sanitizers.
 *
 * @module
 */

import {
  type HashSpec,
  type HealthSpec,
  type HttpLimits,
  type HttpTimeouts,
  type PolicyName,
} from "../../src/config/schema.ts";
import {
  DEFAULT_HEALTH,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
} from "../../src/config/defaults.ts";
import { httpListener, parseEndpoint } from "../../src/config/builders.ts";
import type { Clock } from "../../src/pool/clock.ts";
import { createSidecar, type Sidecar, type SidecarStats } from "../../src/sidecar.ts";
import type { HealthEvent } from "../../src/health/checker.ts";

import { HOST } from "./net.ts";
import { HttpPeer, type RawResponse } from "./http_peer.ts";

export interface Backend extends AsyncDisposable {
  /** Its port on loopback. */
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Closes everything at once (a crash, as far as peers can tell). */
  kill(): void;
  /** Closes everything and waits for handlers to end. */
  close(): Promise<void>;
}

/** Where a raw backend listens. */
export interface ListenOptions {
  /** The address. @default "127.0.0.1" */
  readonly hostname?: string;
  /** The port. @default 0 (any free one) */
  readonly port?: number;
}

/** A raw backend: every accepted connection is handed to a function. */
export interface RawBackend extends Backend {
  /** Connections open now. */
  readonly open: number;
  /** Refuses new connections from now on; open ones go on (a death they have not seen yet). */
  stopListening(): void;
}

/**
 * Starts a backend on raw sockets. The handler gets each connection as an
 * {@linkcode HttpPeer}; the connection is closed when the handler returns or
 * throws.
 *
 * @param handler Serves one connection.
 * @param options Where to listen.
 * @returns The backend.
 */
export function startRawBackend(
  handler: (peer: HttpPeer) => Promise<void>,
  options: ListenOptions = {},
): RawBackend {
  const hostname = options.hostname ?? HOST;
  const listener = Deno.listen({ hostname, port: options.port ?? 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const peers = new Set<HttpPeer>();
  const running = new Set<Promise<void>>();
  let accepted = 0;
  let killed = false;
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (killed) {
        conn.close();
        continue;
      }
      accepted++;
      const peer = new HttpPeer(conn, 10_000);
      peers.add(peer);
      const run = (async () => {
        try {
          await handler(peer);
        } catch {
          // a peer going away ends the handler
        } finally {
          peer.close();
          peers.delete(peer);
        }
      })();
      running.add(run);
      run.finally(() => running.delete(run));
    }
  })();
  const stopListening = () => {
    try {
      listener.close();
    } catch {
      // closed already
    }
  };
  const kill = () => {
    if (killed) return;
    killed = true;
    stopListening();
    for (const p of peers) p.close();
  };
  const close = async () => {
    kill();
    await loop;
    for (let i = 0; i < 100 && running.size > 0; i++) await Promise.all([...running]);
  };
  return {
    port,
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return peers.size;
    },
    stopListening,
    kill,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A raw backend that answers every request on a keep-alive connection with
 * `200` and a body of `name:target`.
 *
 * @param name Put in each body, to tell backends apart.
 * @param options Where to listen.
 * @returns The backend.
 */
export function startNamedBackend(name: string, options: ListenOptions = {}): RawBackend {
  return startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      const body = `${name}:${req.target}`;
      await peer.write(
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Backend: ${name}\r\n\r\n${body}`,
      );
    }
  }, options);
}

/** A `Deno.serve` backend. */
export interface ServeBackend extends Backend {
  /** Client ports seen (one per upstream connection). */
  readonly remotePorts: ReadonlySet<number>;
}

/**
 * Starts a `Deno.serve` backend. `close()` aborts its signal, which closes
 * every connection at once (streaming responses included).
 *
 * @param handler The request handler.
 * @returns The backend.
 */
export function startServeBackend(handler: Deno.ServeHandler<Deno.NetAddr>): ServeBackend {
  const ac = new AbortController();
  const remotePorts = new Set<number>();
  let accepted = 0;
  const server = Deno.serve(
    {
      hostname: HOST,
      port: 0,
      signal: ac.signal,
      onListen() {},
      onError: () => new Response(null, { status: 500 }),
    },
    (req, info) => {
      if (!remotePorts.has(info.remoteAddr.port)) {
        remotePorts.add(info.remoteAddr.port);
        accepted++;
      }
      return handler(req, info);
    },
  );
  const port = server.addr.port;
  const close = async () => {
    if (!ac.signal.aborted) ac.abort();
    await server.finished;
  };
  return {
    port,
    url: `http://${HOST}:${port}`,
    remotePorts,
    get accepted() {
      return accepted;
    },
    kill: () => {
      if (!ac.signal.aborted) ac.abort();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A loopback port with nothing listening (bound, then released).
 *
 * @returns The port.
 */
export function refusedPort(): number {
  const l = Deno.listen({ hostname: HOST, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// ---------------------------------------------------------------------------
// the sidecar

/** Options of {@linkcode startProxy}. */
export interface ProxyOptions {
  /** Timeouts to change from the defaults. */
  readonly timeouts?: Partial<HttpTimeouts>;
  /** Limits to change from the defaults. */
  readonly limits?: Partial<HttpLimits>;
  /** Health settings to change; active probes are OFF unless set here. */
  readonly health?: Partial<HealthSpec>;
  /** Balancing policy. @default "least" */
  readonly policy?: PolicyName;
  /** The `hash` policy's key and fallback. */
  readonly hash?: HashSpec;
  /** Endpoint weights, by site and endpoint index (1 where not given). */
  readonly weights?: readonly (readonly number[])[];
  /** Health transitions. */
  readonly onHealthEvent?: (event: HealthEvent) => void;
  /** Listen address. @default "127.0.0.1:0" */
  readonly listen?: string;
  /** Notices (certificate reloads, local resource shortages). */
  readonly onNotice?: (message: string) => void;
  /** Per-site caps (`maxConnections`), by site index. */
  readonly siteMaxConnections?: readonly (number | undefined)[];
  /** Time and timers of the sidecar. @default SYSTEM_CLOCK */
  readonly clock?: Clock;
}

/** A started sidecar with one HTTP listener. */
export interface ProxyHandle extends AsyncDisposable {
  /** The sidecar. */
  readonly sidecar: Sidecar;
  /** The listener's port. */
  readonly port: number;
  /** Opens a raw client connection to the listener. */
  connect(timeoutMs?: number): Promise<HttpPeer>;
  /**
   * Sends `request` on a new connection, reads one response, closes.
   *
   * @param request The raw request bytes.
   * @param options The method (for HEAD).
   */
  exchange(request: string | Uint8Array, options?: { method?: string }): Promise<RawResponse>;
  /** Sends `GET path` on a new connection and reads the response. */
  get(path: string): Promise<RawResponse>;
  /** Stats of the one listener. */
  stats(): SidecarStats["listeners"][number];
  /** The stats entry of one backend. */
  endpoint(backend: { port: number }): SidecarStats["listeners"][number]["endpoints"][number];
  /**
   * Closes the sidecar.
   *
   * @param graceMs How long requests in flight may take. @default 0
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts a sidecar on `127.0.0.1:0` in front of `sites` (each a list of
 * endpoint URLs, first site preferred).
 *
 * @param sites Endpoint URLs per site.
 * @param options Timeouts, limits, health.
 * @returns The running sidecar.
 */
export async function startProxy(
  sites: readonly (readonly string[])[],
  options: ProxyOptions = {},
): Promise<ProxyHandle> {
  const health: HealthSpec = { ...DEFAULT_HEALTH, active: false, ...options.health };
  const spec = httpListener(options.listen ?? `${HOST}:0`, sites, {
    cluster: {
      policy: options.policy ?? "least",
      ...(options.hash === undefined ? {} : { hash: options.hash }),
      health,
      sites: sites.map((urls, i) => ({
        name: `site${i + 1}`,
        endpoints: urls.map((url, e) => {
          const weight = options.weights?.[i]?.[e];
          return weight === undefined ? parseEndpoint(url) : { ...parseEndpoint(url), weight };
        }),
        ...(options.siteMaxConnections?.[i] === undefined
          ? {}
          : { maxConnections: options.siteMaxConnections[i] }),
      })),
    },
    timeouts: { ...DEFAULT_HTTP_TIMEOUTS, ...options.timeouts },
    limits: { ...DEFAULT_HTTP_LIMITS, ...options.limits },
  });
  const sidecar = createSidecar({ listeners: [spec] }, {
    onHealthEvent: options.onHealthEvent,
    onNotice: options.onNotice,
    firstProbeWaitMs: 2000,
    clock: options.clock,
  });
  const [addr] = await sidecar.start();
  const port = addr.port;
  const close = (graceMs?: number) => sidecar.close(graceMs);
  const handle: ProxyHandle = {
    sidecar,
    port,
    connect: (timeoutMs = 5000) => HttpPeer.connect(port, timeoutMs, addr.hostname),
    async exchange(request, opts = {}) {
      const peer = await HttpPeer.connect(port, 5000, addr.hostname);
      try {
        await peer.write(request);
        return await peer.readResponse(opts);
      } finally {
        peer.close();
      }
    },
    get(path) {
      return handle.exchange(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    },
    stats: () => sidecar.stats().listeners[0],
    endpoint(backend) {
      const e = sidecar.stats().listeners[0].endpoints.find((x) =>
        x.endpoint.endsWith(`:${backend.port}`)
      );
      if (e === undefined) throw new Error(`no endpoint on port ${backend.port}`);
      return e;
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  };
  return handle;
}

/**
 * A GET request as raw text.
 *
 * @param path The target.
 * @param headers Extra header lines (without CRLF).
 * @returns The request.
 */
export function getRequest(path: string, ...headers: string[]): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n${headers.map((h) => h + "\r\n").join("")}\r\n`;
}

/**
 * The HTTP/1.1 proxy core: a listener on raw sockets (plain TCP, or TLS with
 * certificates that are reloaded when their files change) in front of one
 * cluster.
 *
 * @module
 */

import { type Clock, gracePeriod, SYSTEM_CLOCK, type Timer } from "../../pool/clock.ts";
import type { HttpListenerSpec, ListenerSpec, LogSpec } from "../../config/schema.ts";
import { type TraceRecord, traceWriter } from "../../observe/log.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "../../observe/metrics.ts";
import type { Cluster } from "../../balance/cluster.ts";
import { loadUpstreamTls, type UpstreamTls } from "../../pool/dial.ts";
import { HttpConnection, type HttpConnectionContext } from "./connection.ts";
import { UpstreamPool, type UpstreamPoolOptions } from "./upstream_pool.ts";
import { H2Upstream, type H2UpstreamOptions } from "./h2_upstream.ts";
import { ScratchPool } from "./scratch.ts";
import { GcHint } from "../gc_hint.ts";
import { type CertificatePair, stopAccepting, TlsListener } from "../tls_listener.ts";
import type { HttpTracer } from "./trace.ts";
import { TimeoutCounts } from "./stall.ts";
import { type ClientLimiter, nextLimiter } from "../client_limits.ts";
import { kindMismatch, type Listener, type ListenerCoreStats } from "../listener.ts";
import { H2ClientConnection } from "./h2_connection.ts";
import type { H2UpstreamSlot } from "./h2_forward_h2.ts";

/** Pause after a failed accept (other than the listener closing). */
const ACCEPT_BACKOFF_MS = 50;

/**
 * Options of {@linkcode HttpProxy}.
 *
 * @example Usage
 * ```ts
 * import type { HttpProxyOptions } from "./server.ts";
 * import { DEFAULT_LOG } from "../../config/defaults.ts";
 * const options: HttpProxyOptions = {
 *   log: { ...DEFAULT_LOG, trace: "all" },
 *   onTrace: (r) => console.log(r.method, r.path, r.status),
 * };
 * ```
 */
export interface HttpProxyOptions {
  /**
   * Log settings: tracing is on when `trace` is not "off" (and not `quiet`),
   * filtered and formatted as they say. @default no tracing
   */
  readonly log?: LogSpec | undefined;
  /**
   * Takes each traced request. @default each record formatted as `log` says
   * and written with `console.log`
   */
  readonly onTrace?: ((record: TraceRecord) => void) | undefined;
  /**
   * Renders `/.prometheus/metrics` (e.g. every listener of a sidecar).
   * @default this listener's cluster
   */
  readonly metrics?: (() => string) | undefined;
  /**
   * Upstream TLS material for https endpoints; also installed as the
   * cluster's `tls`, so health probes use it. @default loaded once, now,
   * from `spec.upstreamTls`
   */
  readonly upstreamTls?: UpstreamTls;
  /**
   * A certificate to serve instead of `spec.tls`'s files (e.g. a generated
   * one); it is also served at `/v1/certificates`.
   */
  readonly certificate?: CertificatePair | undefined;
  /** How often the `spec.tls` files are checked for changes (ms). @default 5000 */
  readonly certCheckMs?: number;
  /** Hears of certificate reloads and of reloads that failed. */
  readonly onNotice?: ((message: string) => void) | undefined;
  /** Time and timers: deadlines, the sweeper, the grace period. @default SYSTEM_CLOCK */
  readonly clock?: Clock | undefined;
}

/**
 * An HTTP listener. `listen()` binds, `close()` stops accepting and drains.
 *
 * Upstream TLS files are read in the constructor (so a bad `--cacert` fails
 * at startup); server certificate files when listening, and again whenever
 * they change.
 *
 * @example Usage
 * ```ts ignore
 * import { HttpProxy } from "./server.ts";
 * const proxy = new HttpProxy(spec, cluster);
 * const addr = proxy.listen();
 * await proxy.close(5_000);
 * ```
 */
export class HttpProxy implements Listener {
  /** The listener's spec. */
  spec: HttpListenerSpec;
  /** Where requests go. */
  readonly cluster: Cluster;
  /** True once closing: requests in flight finish, idle connections close. */
  draining = false;
  /** What the upstream pool keeps across reloads (notices, stale-on-error addresses). */
  readonly #poolFixed: Pick<UpstreamPoolOptions, "onNotice" | "addresses">;
  /** Connections cut by the body, write and request timeouts. */
  readonly timeouts: TimeoutCounts = new TimeoutCounts();
  #listener: Deno.Listener | null = null;
  #tls: TlsListener | null = null;
  readonly #connections = new Set<HttpConnection>();
  /** Clients speaking HTTP/2. */
  readonly #h2 = new Set<H2ClientConnection>();
  /** TLS clients whose handshake (ALPN) is not done yet, with its deadline. */
  readonly #handshaking = new Map<Deno.Conn, number>();
  /** Sessions to h2 endpoints (h2-up's registry), closed with the listener. */
  readonly #upstreamH2: H2UpstreamSlot = { current: null };
  #sweeper: Timer | undefined;
  readonly #clock: Clock;
  readonly #accepting = new Set<Promise<void>>();
  #served: Promise<void>[] = [];
  /** Collects the heap once after many connections closed. */
  readonly #gcHint = new GcHint();
  readonly #pool: UpstreamPool;
  /** Client sessions to the endpoints that speak HTTP/2. */
  readonly #h2Up: H2Upstream;
  #scratch: ScratchPool;
  #sweepMs = 0;
  #upstreamTls: UpstreamTls | undefined;
  readonly #options: HttpProxyOptions;
  #tracer: HttpTracer | null = null;
  /** What each connection sees of this listener. */
  readonly #context: HttpConnectionContext;
  /** Per-client limits (null when off); swept with the connections. */
  #limiter: ClientLimiter | null = null;

  /**
   * Creates a listener; nothing is bound until {@linkcode HttpProxy.listen}.
   *
   * @param spec The listener configuration.
   * @param cluster The cluster it serves.
   * @param options Tracing, metrics, TLS material.
   * @throws {TypeError} When an upstream TLS file cannot be read.
   */
  constructor(spec: HttpListenerSpec, cluster: Cluster, options: HttpProxyOptions = {}) {
    this.spec = spec;
    this.cluster = cluster;
    this.#options = options;
    const clock = this.#clock = options.clock ?? SYSTEM_CLOCK;
    const tls = options.upstreamTls ?? loadUpstreamTls(spec.upstreamTls);
    cluster.tls = tls;
    this.#upstreamTls = tls;
    this.#poolFixed = { onNotice: options.onNotice, addresses: cluster.addresses };
    const pool = new UpstreamPool(poolOptions(spec, tls, this.#poolFixed));
    this.#pool = pool;
    const h2 = this.#h2Up = new H2Upstream(h2Options(spec, tls, clock, cluster.addresses));
    this.#scratch = scratchFor(spec);
    this.#limiter = nextLimiter(null, spec.perClient);
    this.setTracing(options.log, options.onTrace);
    const metrics = options.metrics ?? (() =>
      renderMetrics(
        [{
          listener: spec.name,
          cluster,
          connections: () => this.connections,
          timeouts: () => this.timeouts,
        }],
        clock.now(),
      ));
    // deno-lint-ignore no-this-alias
    const self = this;
    this.#context = {
      get spec() {
        return self.spec;
      },
      cluster,
      pool,
      h2,
      clock,
      get scratch() {
        return self.#scratch;
      },
      get draining() {
        return self.draining;
      },
      tls: spec.tls !== undefined || options.certificate !== undefined,
      get tracer() {
        return self.#tracer;
      },
      metrics: () => ({ contentType: METRICS_CONTENT_TYPE, body: metrics() }),
      certificates: options.certificate?.cert ?? null,
      ownResponses: this.ownResponses,
      now: () => clock.now(),
      get limiter() {
        return self.#limiter;
      },
      // Read per connection, so that a reload that turns h2c on or off applies at once.
      get h2c() {
        return self.spec.h2c === true ? self.#h2cHandOver : null;
      },
      forget: (c) => this.#connections.delete(c as HttpConnection),
    };
  }

  /**
   * Turns request tracing on or off (e.g. after a reload).
   *
   * @param log Log settings; tracing is on when `trace` is not "off" and not `quiet`.
   * @param onTrace The sink. @default formatted as `log` says, written with `console.log`
   */
  setTracing(log: LogSpec | undefined, onTrace?: (record: TraceRecord) => void): void {
    if (log === undefined || log.trace === "off" || log.quiet) {
      this.#tracer = null;
      return;
    }
    this.#tracer = { spec: log, sink: onTrace ?? traceWriter(log, (line) => console.log(line)) };
  }

  /**
   * Responses this listener wrote itself (502/504 when no endpoint answered,
   * 400/414/431/... for bad requests, its own paths), by status. Read-only for others.
   */
  readonly ownResponses: Map<number, number> = new Map();

  /** Client sessions open now to the endpoints that speak HTTP/2. */
  get h2Sessions(): number {
    return this.#h2Up.sessions;
  }

  /** Connections open now (HTTP/1.1 and HTTP/2, and TLS handshakes in progress). */
  get connections(): number {
    return this.#connections.size + this.#h2.size + this.#handshaking.size;
  }

  /** Bytes of per-connection working memory waiting in the pool (idle connections hold none). */
  get pooledScratchBytes(): number {
    return this.#scratch.freeBytes;
  }

  /**
   * Binds the listening socket and starts accepting.
   *
   * @returns The bound address (with the real port when 0 was asked for).
   * @throws {Deno.errors.AddrInUse} When the address is taken.
   * @throws {TypeError} When a server certificate file cannot be read.
   */
  // deno-lint-ignore require-await
  async listen(): Promise<Deno.NetAddr> {
    const tlsSpec = this.spec.tls;
    let listener: Deno.Listener;
    if (tlsSpec !== undefined || this.#options.certificate !== undefined) {
      this.#tls = new TlsListener({
        hostname: this.spec.hostname,
        port: this.spec.port,
        files: this.#options.certificate === undefined ? tlsSpec : undefined,
        certificate: this.#options.certificate,
        checkMs: this.#options.certCheckMs ?? 5_000,
        alpnProtocols: this.spec.http2 === false ? ["http/1.1"] : ["h2", "http/1.1"],
        onListener: (l) => this.#accept(l),
        onNotice: this.#options.onNotice ?? (() => {}),
      });
      listener = this.#tls.listen();
    } else {
      listener = Deno.listen({ hostname: this.spec.hostname, port: this.spec.port });
      this.#accept(listener);
    }
    this.#listener = listener;
    this.#startSweeper();
    return listener.addr as Deno.NetAddr;
  }

  /** (Re)starts the sweeper when its period (a quarter of the shortest timeout) changed. */
  #startSweeper(): void {
    const t = this.spec.timeouts;
    const shortest = Math.min(
      ...[t.headerReadMs, t.idleMs, t.responseHeaderMs, this.spec.limits.poolIdleMs, 4000].filter((
        x,
      ) => x > 0),
      ...[t.requestBodyMs, t.responseWriteMs, t.requestMs].filter((x) => x > 0),
    );
    const period = Math.max(25, Math.min(1000, shortest / 4));
    if (this.#sweeper !== undefined && period === this.#sweepMs) return;
    this.#sweeper?.cancel();
    this.#sweepMs = period;
    this.#sweeper = this.#clock.setInterval(() => this.#sweep(), period);
  }

  /**
   * Prepares a reloaded spec of the same listener: timeouts and limits,
   * upstream pool sizes, request head buffers, tracing, the upstream TLS
   * files (read again; idle pooled connections close when they changed)
   * and the server certificate files (read again; served from the commit
   * on). Nothing changes until the returned function runs.
   *
   * @param spec The listener as configured now.
   * @param log Console settings now.
   * @returns Applies it.
   * @throws {TypeError} When `spec` is another kind's, switches between plain and TLS, or a TLS file cannot be read.
   */
  update(spec: ListenerSpec, log?: LogSpec): () => void {
    if (spec.kind !== "http") throw kindMismatch(this.spec, spec);
    const fixed = this.#options.certificate !== undefined;
    if (this.#listener !== null && (spec.tls !== undefined || fixed) !== (this.#tls !== null)) {
      throw new TypeError(
        `Cannot reload HTTP listener '${spec.name}': it cannot switch between plain HTTP and ` +
          "TLS in place; give it another port (or restart)",
      );
    }
    const upstream = this.#options.upstreamTls ?? loadUpstreamTls(spec.upstreamTls);
    const swapCertificate = this.#tls !== null && spec.tls !== undefined && !fixed
      ? this.#tls.prepareFiles(spec.tls)
      : () => {};
    return () => {
      const before = this.spec;
      this.spec = spec;
      this.setTracing(log, this.#options.onTrace);
      const tlsChanged = JSON.stringify(upstream) !== JSON.stringify(this.#upstreamTls);
      this.#upstreamTls = upstream;
      this.cluster.tls = upstream;
      this.#pool.configure(poolOptions(spec, upstream, this.#poolFixed));
      if (tlsChanged) this.#pool.retain(new Set()); // idle connections made with the old material
      this.#h2Up.configure(h2Options(spec, upstream, this.#clock, this.cluster.addresses));
      if (tlsChanged) this.#h2Up.retain(new Set()); // sessions made with the old material drain
      if (
        before.limits.maxHeadBytes !== spec.limits.maxHeadBytes ||
        before.limits.maxHeaders !== spec.limits.maxHeaders
      ) {
        this.#scratch = scratchFor(spec);
      }
      swapCertificate();
      this.#limiter = nextLimiter(this.#limiter, spec.perClient);
      if (this.#sweeper !== undefined && !this.draining) this.#startSweeper();
    };
  }

  /**
   * Stops taking new connections; `/v1/health` answers 503; HTTP/2 clients
   * get GOAWAY (streams in flight finish); idle connections close on `close`.
   */
  drain(): void {
    this.draining = true;
    for (const h of this.#h2) h.goaway();
  }

  /**
   * A snapshot.
   *
   * @returns Kind, bound address and open connections.
   */
  stats(): ListenerCoreStats {
    const address = this.#listener === null ? null : this.#listener.addr as Deno.NetAddr;
    return {
      kind: "http",
      address,
      connections: this.connections,
      ownResponses: this.ownResponses,
      timeouts: this.timeouts,
    };
  }

  #accept(listener: Deno.Listener): Promise<void> {
    const loop = this.#acceptLoop(listener);
    this.#accepting.add(loop);
    loop.finally(() => this.#accepting.delete(loop));
    return loop;
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.draining || e instanceof Deno.errors.BadResource) return; // closed
        // A transient failure (too many open files, a connection reset before
        // accept): keep the listener alive, after a pause so as not to spin.
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_BACKOFF_MS));
        continue;
      }
      // Read per accept, so that a reload that changes the cap applies at once.
      const max = this.spec.limits.maxConnections;
      if ((max > 0 && this.connections >= max) || this.draining) {
        conn.close();
        continue;
      }
      if ("setNoDelay" in conn) {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // the peer is already gone; serve() will notice
        }
      }
      if (this.#tls !== null && this.spec.http2 !== false) {
        this.#track(this.#negotiate(conn as Deno.TlsConn));
      } else {
        this.#serveH1(conn);
      }
    }
  }

  #track(served: Promise<void>): void {
    if (this.connections > 1024) this.#served = [];
    this.#served.push(served);
    if (this.#served.length > 256) this.#served = this.#served.slice(-128);
  }

  #serveH1(conn: Deno.Conn): void {
    const c = new HttpConnection(this.#context, conn);
    this.#connections.add(c);
    this.#track(c.serve()); // it leaves #connections itself (forget): no closure per connection
  }

  readonly #h2cHandOver = (conn: Deno.Conn, initial: Uint8Array): void =>
    this.#serveH2(conn, initial);

  #serveH2(conn: Deno.Conn, initial?: Uint8Array): void {
    const h = new H2ClientConnection(this.#context, conn, this.#clock, this.#upstreamH2);
    this.#h2.add(h);
    if (this.draining) h.goaway();
    this.#track(h.serve(initial).finally(() => this.#h2.delete(h)));
  }

  /**
   * Finishes a TLS client's handshake (bounded by the header-read timeout,
   * enforced by the sweeper) and serves it as its ALPN choice says.
   */
  async #negotiate(conn: Deno.TlsConn): Promise<void> {
    const ms = this.spec.timeouts.headerReadMs > 0 ? this.spec.timeouts.headerReadMs : 10_000;
    this.#handshaking.set(conn, this.#clock.now() + ms);
    let alpn: string | null;
    try {
      alpn = (await conn.handshake()).alpnProtocol;
    } catch {
      closeQuietly(conn); // (the handshake fails at once when the sweeper or close() closed it)
      return;
    } finally {
      this.#handshaking.delete(conn);
    }
    if (alpn === "h2") this.#serveH2(conn);
    else this.#serveH1(conn);
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const c of this.#connections) {
      if (c.deadline !== 0 && c.deadline <= now) c.expire();
      else {
        this.timeouts.count(c.stalled(now));
        c.park();
      }
    }
    for (const h of this.#h2) h.sweep(now, this.timeouts);
    for (const [conn, deadline] of this.#handshaking) if (deadline <= now) closeQuietly(conn);
    this.#pool.sweep(now);
    this.#h2Up.sweep(now);
    this.#limiter?.sweep(now);
    this.#scratch.trimIdle(now);
    this.#gcHint.sweep(now, this.#connections.size);
  }

  /**
   * Stops accepting, closes idle connections, lets requests in flight finish
   * for up to `graceMs`, then closes whatever is left.
   *
   * @param graceMs How long in-flight requests may take.
   * @returns Resolves when every connection is closed.
   */
  async close(graceMs = 0): Promise<void> {
    this.draining = true;
    const grace = gracePeriod(this.#clock, graceMs);
    await stopAccepting(this.#tls, this.#listener);
    while (this.#accepting.size > 0) await Promise.all([...this.#accepting]);
    for (const conn of this.#handshaking.keys()) closeQuietly(conn);
    for (const c of this.#connections) if (c.idle) c.client.close();
    for (const h of this.#h2) h.goaway(); // an idle one closes once its GOAWAY is written
    if (grace.active && this.connections > 0) {
      await Promise.race([this.#allServed(), grace.over]);
    }
    grace.cancel();
    for (const c of this.#connections) c.client.close();
    for (const h of this.#h2) h.close();
    await this.#allServed();
    this.#sweeper?.cancel();
    this.#pool.closeAll();
    await this.#h2Up.closeAll();
    this.#upstreamH2.current?.close();
    this.#upstreamH2.current = null;
    this.#listener = null;
  }

  async #allServed(): Promise<void> {
    while (this.connections > 0) {
      await Promise.all([...this.#served]);
      this.#served = [];
      if (this.connections > 0) await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** Closes a connection that may be closed already. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

/** The upstream pool's settings from a spec. */
function poolOptions(
  spec: HttpListenerSpec,
  tls: UpstreamTls | undefined,
  fixed: Pick<UpstreamPoolOptions, "onNotice" | "addresses">,
): UpstreamPoolOptions {
  return {
    maxIdlePerEndpoint: spec.limits.poolIdlePerEndpoint,
    idleMs: spec.limits.poolIdleMs,
    connectMs: spec.timeouts.connectMs,
    tls,
    ...fixed,
  };
}

/** The HTTP/2 upstream sessions' settings from a spec (idle like the keep-alive pool). */
function h2Options(
  spec: HttpListenerSpec,
  tls: UpstreamTls | undefined,
  clock: Clock,
  addresses: H2UpstreamOptions["addresses"],
): H2UpstreamOptions {
  return {
    connectMs: spec.timeouts.connectMs,
    idleMs: spec.limits.poolIdleMs,
    clock,
    tls,
    addresses,
  };
}

/** Bytes of working memory a listener keeps for reuse (about 150 scratches at the default limits). */
const SCRATCH_POOL_BYTES = 4 * 1024 * 1024;

/** Request head buffers sized for a spec's limits. */
function scratchFor(spec: HttpListenerSpec): ScratchPool {
  return new ScratchPool(
    spec.limits.maxHeadBytes + 4096,
    spec.limits.maxHeaders,
    SCRATCH_POOL_BYTES,
  );
}

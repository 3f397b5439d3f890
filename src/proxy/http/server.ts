/**
 * The HTTP/1.1 proxy core: a listener on raw sockets in front of one cluster.
 *
 * @module
 */

import type { HttpListenerSpec } from "../../config/schema.ts";
import type { Cluster } from "../../pool/cluster.ts";
import { HttpConnection, type HttpConnectionContext } from "./connection.ts";
import { UpstreamPool } from "./upstream_pool.ts";
import { ScratchPool } from "./scratch.ts";

/** Pause after a failed accept (other than the listener closing). */
const ACCEPT_BACKOFF_MS = 50;

/**
 * An HTTP listener. `listen()` binds, `close()` stops accepting and drains.
 *
 * @example Usage
 * ```ts ignore
 * import { HttpProxy } from "./server.ts";
 * const proxy = new HttpProxy(spec, cluster);
 * const addr = proxy.listen();
 * await proxy.close(5_000);
 * ```
 */
export class HttpProxy {
  /** The listener's spec. */
  spec: HttpListenerSpec;
  /** Where requests go. */
  readonly cluster: Cluster;
  /** True once closing: requests in flight finish, idle connections close. */
  draining = false;
  #listener: Deno.TcpListener | null = null;
  readonly #connections = new Set<HttpConnection>();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #accepting: Promise<void> | null = null;
  #served: Promise<void>[] = [];
  readonly #pool: UpstreamPool;
  /** What each connection sees of this listener. */
  readonly #context: HttpConnectionContext;

  /**
   * Creates a listener; nothing is bound until {@linkcode HttpProxy.listen}.
   *
   * @param spec The listener configuration.
   * @param cluster The cluster it serves.
   */
  constructor(spec: HttpListenerSpec, cluster: Cluster) {
    this.spec = spec;
    this.cluster = cluster;
    const pool = new UpstreamPool({
      maxIdlePerEndpoint: spec.limits.poolIdlePerEndpoint,
      idleMs: spec.limits.poolIdleMs,
      connectMs: spec.timeouts.connectMs,
    });
    this.#pool = pool;
    // deno-lint-ignore no-this-alias
    const self = this;
    this.#context = {
      get spec() {
        return self.spec;
      },
      cluster,
      pool,
      scratch: new ScratchPool(spec.limits.maxHeadBytes + 4096, spec.limits.maxHeaders, 256),
      get draining() {
        return self.draining;
      },
    };
  }

  /** Connections open now. */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Binds the listening socket and starts accepting.
   *
   * @returns The bound address (with the real port when 0 was asked for).
   * @throws {Deno.errors.AddrInUse} When the address is taken.
   */
  listen(): Deno.NetAddr {
    const listener = Deno.listen({
      hostname: this.spec.hostname,
      port: this.spec.port,
      transport: "tcp",
    });
    this.#listener = listener;
    const t = this.spec.timeouts;
    const shortest = Math.min(
      ...[t.headerReadMs, t.idleMs, t.responseHeaderMs, this.spec.limits.poolIdleMs, 4000].filter((
        x,
      ) => x > 0),
    );
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(25, Math.min(1000, shortest / 4)));
    this.#accepting = this.#acceptLoop(listener);
    return listener.addr;
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    const max = this.spec.limits.maxConnections;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.draining || e instanceof Deno.errors.BadResource) return; // closed
        // A transient failure (too many open files, a connection reset before
        // accept): keep the listener alive, after a pause so as not to spin.
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_BACKOFF_MS));
        continue;
      }
      if (max > 0 && this.#connections.size >= max) {
        conn.close();
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // the peer is already gone; serve() will notice
      }
      const c = new HttpConnection(this.#context, conn);
      this.#connections.add(c);
      const served = c.serve().finally(() => this.#connections.delete(c));
      if (this.#connections.size > 1024) this.#served = [];
      this.#served.push(served);
      if (this.#served.length > 256) this.#served = this.#served.slice(-128);
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const c of this.#connections) {
      if (c.deadline !== 0 && c.deadline <= now) c.expire();
    }
    this.#pool.sweep(now);
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
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const c of this.#connections) if (c.idle) c.client.close();
    if (graceMs > 0 && this.#connections.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#allServed(),
        new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    }
    for (const c of this.#connections) c.client.close();
    await this.#allServed();
    clearInterval(this.#sweeper);
    this.#pool.closeAll();
  }

  async #allServed(): Promise<void> {
    while (this.#connections.size > 0) {
      await Promise.all([...this.#served]);
      this.#served = [];
      if (this.#connections.size > 0) await new Promise((r) => setTimeout(r, 5));
    }
  }
}

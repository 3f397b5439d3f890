/**
 * The TCP proxy core: one listener in front of one cluster whose sites are
 * tiers. One sweeper interval per listener does all the timekeeping: client
 * TLS handshakes, idle timeout, shedding connections of draining endpoints,
 * and forced promotion back to a better tier, the last two smeared over time.
 * The listener may terminate TLS (`spec.tls`, the shared reloading
 * {@linkcode TlsListener}) and originate it (`spec.upstreamTls`, dialled by
 * the shared `dialEndpoint`).
 *
 * @module
 */

import {
  nextTierSince,
  shouldPromote,
  shouldShed,
  type TierSince,
} from "../../balance/promotion.ts";
import { type Clock, gracePeriod, SYSTEM_CLOCK, type Timer } from "../../pool/clock.ts";
import type { ListenerSpec, TcpListenerSpec } from "../../config/schema.ts";
import type { Cluster } from "../../balance/cluster.ts";
import type { Endpoint } from "../../balance/endpoint.ts";
import { loadUpstreamTls, type UpstreamTls } from "../../pool/dial.ts";
import { BufferPool } from "../buffers.ts";
import { GcHint } from "../gc_hint.ts";
import { type ClientLimiter, nextLimiter } from "../client_limits.ts";
import { kindMismatch, type Listener, type ListenerCoreStats } from "../listener.ts";
import { stopAccepting, TlsListener } from "../tls_listener.ts";
import { TcpSession, type TcpSessionContext } from "./session.ts";
import { tierOf } from "./tiers.ts";

/**
 * Options of {@linkcode TcpProxy} beyond its spec.
 *
 * @example Usage
 * ```ts
 * import type { TcpProxyOptions } from "./server.ts";
 * const options: TcpProxyOptions = { drainSmearMs: 1_000, bufferSize: 256 * 1024 };
 * ```
 */
export interface TcpProxyOptions {
  /** Read buffer per direction per connection, in bytes. @default 131072 */
  readonly bufferSize?: number;
  /** Bytes of big buffers kept for reuse by later connections. @default 4194304 */
  readonly maxFreeBytes?: number;
  /**
   * Read buffer every connection starts with, per direction, in bytes; a side
   * moves to `bufferSize` once a read fills it, and back once a read returns
   * less than this. @default 1024
   */
  readonly smallBufferSize?: number;
  /** Bytes of small buffers kept for reuse. @default 262144 */
  readonly maxFreeSmallBytes?: number;
  /** Connections of a draining endpoint are closed over this window. @default 5000 */
  readonly drainSmearMs?: number;
  /** Forced promotions are spread over this window after they are due. @default 5000 */
  readonly promotionSmearMs?: number;
  /** Sweeper period. @default a quarter of the shortest timeout, clamped to 25..1000 ms */
  readonly sweepMs?: number;
  /** Time and timers (the sweeper, the grace period). @default SYSTEM_CLOCK */
  readonly clock?: Clock | undefined;
  /** The current time, if not the clock's. @default clock.now */
  readonly now?: () => number;
  /** Uniform randomness in [0, 1), for smearing. @default Math.random */
  readonly random?: () => number;
  /** How often the `spec.tls` files are checked for changes (ms). @default 5000 */
  readonly certCheckMs?: number | undefined;
  /** Hears of certificate reloads and of failed ones. @default ignored */
  readonly onNotice?: ((message: string) => void) | undefined;
}

/**
 * The upstream TLS material of a TCP listener: every endpoint is dialled
 * with TLS when `spec.upstreamTls` is set, and not at all otherwise.
 *
 * @param spec The listener.
 * @returns The material, or undefined for plain TCP.
 * @throws {TypeError} When a file cannot be read (named) or the settings do not go together.
 *
 * @example Usage
 * ```ts
 * import { tcpUpstreamTls } from "./server.ts";
 * import { tcpListener } from "../../config/builders.ts";
 * import assert from "node:assert/strict";
 * const spec = tcpListener("127.0.0.1:0", [["127.0.0.1:1"]], { upstreamTls: { insecure: false } });
 * assert.deepEqual(tcpUpstreamTls(spec), { insecure: false, allEndpoints: true });
 * ```
 */
export function tcpUpstreamTls(spec: TcpListenerSpec): UpstreamTls | undefined {
  return spec.upstreamTls === undefined ? undefined : loadUpstreamTls(spec.upstreamTls, true);
}

/**
 * A TCP listener. `listen()` binds, `close()` stops accepting and drains.
 *
 * @example Usage
 * ```ts ignore
 * import { TcpProxy } from "./server.ts";
 * import { tcpListener } from "../../config/builders.ts";
 * import { Cluster } from "../../balance/cluster.ts";
 * import { SYSTEM_RUNTIME } from "../../pool/runtime.ts";
 * const spec = tcpListener("127.0.0.1:0", [["127.0.0.1:5432"]], { idleMs: 60_000 });
 * const proxy = new TcpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
 * const addr = proxy.listen();
 * await proxy.close(5_000);
 * ```
 */
export class TcpProxy implements TcpSessionContext, Listener {
  /** The listener's spec (replaced by {@linkcode TcpProxy.update}). */
  spec: TcpListenerSpec;
  /** Where connections go. */
  readonly cluster: Cluster;
  /** Read buffers shared by this listener's connections. */
  readonly buffers: BufferPool;
  /** Small read buffers every connection starts with. */
  readonly smallBuffers: BufferPool;
  /** Connections closed by the sweeper, by reason (for stats). */
  readonly closedBy: Record<"idle" | "drain" | "promote", number> = {
    idle: 0,
    drain: 0,
    promote: 0,
  };
  readonly #options: TcpProxyOptions;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #sessions = new Map<TcpSession, Promise<void>>();
  /** Collects the heap once after many connections closed. */
  readonly #gcHint = new GcHint();
  #listener: Deno.Listener | null = null;
  #address: Deno.NetAddr | null = null;
  #tls: TlsListener | null = null;
  #accepting: Promise<void> | null = null;
  #sweeper: Timer | undefined;
  #period = 0;
  #closing = false;
  #draining = false;
  #tierSince: TierSince = [];
  #sites: Endpoint[][] | null = null;
  /** Per-client limits (null when off); idle clients are forgotten by the sweeper. */
  #limiter: ClientLimiter | null = null;

  /**
   * Creates a listener; nothing is bound until {@linkcode TcpProxy.listen}.
   *
   * @param spec The listener configuration.
   * @param cluster The cluster it serves; its sites are the tiers.
   * @param options Buffers, smearing, the clock, certificate checks.
   * @throws {TypeError} When an upstream TLS file cannot be read (the cluster's `tls` is its material, for the probes too).
   */
  constructor(spec: TcpListenerSpec, cluster: Cluster, options: TcpProxyOptions = {}) {
    this.spec = spec;
    this.cluster = cluster;
    cluster.tls = tcpUpstreamTls(spec);
    this.#options = options;
    const clock = options.clock ?? SYSTEM_CLOCK;
    this.#clock = clock;
    this.#now = options.now ?? (() => clock.now());
    this.#random = options.random ?? Math.random;
    this.#limiter = nextLimiter(null, spec.perClient);
    this.buffers = new BufferPool(
      options.bufferSize ?? 128 * 1024,
      options.maxFreeBytes ?? 4 * 1024 * 1024,
    );
    this.smallBuffers = new BufferPool(
      Math.min(options.smallBufferSize ?? 1024, this.buffers.size),
      options.maxFreeSmallBytes ?? 256 * 1024,
    );
  }

  /** Client connections open now (connecting or relaying). */
  get connections(): number {
    return this.#sessions.size;
  }

  /**
   * Binds the listening socket, starts accepting and starts the sweeper.
   *
   * @returns The bound address (with the real port when 0 was asked for).
   * @throws {Deno.errors.AddrInUse} When the address is taken.
   * @throws {TypeError} When a server certificate file cannot be read.
   */
  // deno-lint-ignore require-await
  async listen(): Promise<Deno.NetAddr> {
    const { hostname, port, tls } = this.spec;
    let listener: Deno.Listener;
    if (tls !== undefined) {
      this.#tls = new TlsListener({
        hostname,
        port,
        files: tls,
        checkMs: this.#options.certCheckMs ?? 5_000,
        onListener: (l) => this.#acceptLoop(l),
        onNotice: this.#options.onNotice ?? (() => {}),
      });
      listener = this.#tls.listen();
    } else {
      listener = Deno.listen({ hostname, port, transport: "tcp" });
      this.#accepting = this.#acceptLoop(listener);
    }
    this.#listener = listener;
    this.#address = listener.addr as Deno.NetAddr;
    this.#syncSites();
    this.#startSweeper();
    return this.#address;
  }

  /**
   * Prepares a reloaded spec of the same listener: connect timeout,
   * attempts, limits, idle timeout, PROXY protocol and upstream TLS take
   * effect for what happens next; the server certificate files are read
   * again and served from the commit on. (Hostname and port are those
   * bound; a new address needs a new listener.) Commit after the cluster was
   * updated, so that the sweeper period follows the new promotion settings
   * too.
   *
   * @param spec The new spec.
   * @returns Applies it.
   * @throws {TypeError} When `spec` is not a TCP listener's, switches between plain and TLS toward clients, or a TLS file cannot be read.
   */
  update(spec: ListenerSpec): () => void {
    if (spec.kind !== "tcp") throw kindMismatch(this.spec, spec);
    if (this.#listener !== null && (spec.tls !== undefined) !== (this.#tls !== null)) {
      throw new TypeError(
        `Cannot reload TCP listener '${spec.name}': it cannot switch between plain TCP and ` +
          "TLS toward clients in place; give it another port (or restart)",
      );
    }
    const upstreamTls = tcpUpstreamTls(spec);
    const swapCertificate = this.#tls !== null && spec.tls !== undefined
      ? this.#tls.prepareFiles(spec.tls)
      : () => {};
    return () => {
      this.spec = spec;
      this.cluster.tls = upstreamTls;
      swapCertificate();
      this.#limiter = nextLimiter(this.#limiter, spec.perClient);
      if (this.#sweeper !== undefined && !this.#closing) this.#startSweeper();
    };
  }

  /** Stops accepting new connections; open ones go on until `close`. */
  drain(): void {
    this.#draining = true;
  }

  /**
   * A snapshot.
   *
   * @returns Kind, bound address and open connections.
   */
  stats(): ListenerCoreStats {
    const address = this.#closing ? null : this.#address;
    return { kind: "tcp", address, connections: this.#sessions.size };
  }

  #sweepPeriod(): number {
    const shortest = Math.min(
      ...[
        this.spec.idleMs,
        this.spec.connectMs,
        this.#options.drainSmearMs ?? 5_000,
        this.#options.promotionSmearMs ?? 5_000,
        ...this.cluster.spec.sites.map((s) => s.forcePromotionAfterMs ?? 0),
        4_000,
      ].filter((x) => x > 0),
    );
    return this.#options.sweepMs ?? Math.max(25, Math.min(1000, shortest / 4));
  }

  #startSweeper(): void {
    const period = this.#sweepPeriod();
    if (this.#sweeper !== undefined && period === this.#period) return;
    this.#sweeper?.cancel();
    this.#period = period;
    this.#sweeper = this.#clock.setInterval(() => this.#sweep(), period);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    while (!this.#closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return;
        // out of file descriptors and the like: back off briefly, keep listening
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const max = this.spec.maxConnections;
      if ((max > 0 && this.#sessions.size >= max) || this.#draining) {
        conn.close();
        continue;
      }
      const limiter = this.#limiter;
      const client = limiter?.connect(
        (conn.remoteAddr as Deno.NetAddr).hostname,
        this.#now(),
        true,
      );
      if (client === null) {
        conn.close(); // over its per-client connection cap or rate
        continue;
      }
      const session = new TcpSession(this, conn, this.#random(), this.#now());
      const run = session.run().finally(() => {
        this.#sessions.delete(session);
        if (client !== undefined) limiter!.release(client);
      });
      this.#sessions.set(session, run);
    }
  }

  /** After a reload: caps and `disabled` from the new spec, tiers recomputed. */
  #syncSites(): void {
    if (this.#sites === this.cluster.sites) return;
    this.#sites = this.cluster.sites;
    for (const s of this.#sessions.keys()) {
      if (s.endpoint !== undefined) s.tier = tierOf(this.cluster, s.endpoint);
    }
  }

  #sweep(): void {
    this.#syncSites();
    const now = this.#now();
    this.#limiter?.sweep(now);
    this.buffers.trimIdle(now);
    this.smallBuffers.trimIdle(now);
    this.#gcHint.sweep(now, this.#sessions.size);
    const sites = this.cluster.sites;
    this.#tierSince = nextTierSince(
      this.#tierSince,
      sites.map((site) => site.some((e) => e.isAvailable(now))),
      now,
    );
    const idleMs = this.spec.idleMs;
    const drainDelayMs = this.spec.drainDelayMs ?? 0;
    const drainSmearMs = drainDelayMs > 0 ? 2 * drainDelayMs : this.#options.drainSmearMs ?? 5_000;
    const smearMs = this.#options.promotionSmearMs ?? 5_000;
    const connectMs = this.spec.connectMs;
    for (const s of this.#sessions.keys()) {
      if (s.state === "handshaking") {
        // A client's TLS handshake has the connect timeout, from the accept.
        if (now - s.lastActive >= connectMs) s.close("handshake");
        continue;
      }
      if (s.state !== "relaying") {
        if (s.state === "connecting" && s.dials > 0) {
          if (s.dials !== s.seenDials) {
            s.seenDials = s.dials;
            s.dialSeenAt = now;
          } else if (now - s.dialSeenAt >= connectMs) {
            s.seenDials = -1;
            s.timeoutDial();
          }
        }
        continue;
      }
      const activity = s.activity;
      if (activity !== s.seenActivity) {
        s.seenActivity = activity;
        s.lastActive = now;
      } else if (idleMs > 0 && now - s.lastActive >= idleMs) {
        this.#shed(s, "idle");
        continue;
      }
      if (s.endpoint!.draining || s.tier < 0) {
        if (s.drainingSince === 0) s.drainingSince = now;
        const due = s.drainingSince + drainDelayMs;
        if (shouldShed(due, now, drainSmearMs, s.random)) this.#shed(s, "drain");
        continue;
      }
      s.drainingSince = 0;
      const afterMs = this.cluster.spec.sites[s.tier]?.forcePromotionAfterMs ?? 0;
      if (
        afterMs > 0 &&
        shouldPromote({
          tier: s.tier,
          tierSince: this.#tierSince,
          afterMs,
          smearMs,
          now,
          random: s.random,
        })
      ) {
        this.#shed(s, "promote");
      }
    }
  }

  #shed(s: TcpSession, reason: "idle" | "drain" | "promote"): void {
    this.closedBy[reason]++;
    s.close(reason);
  }

  /**
   * Stops accepting, lets connections go on for up to `graceMs`, then closes
   * whatever is left and stops the sweeper.
   *
   * @param graceMs How long open connections may continue. @default 0
   * @returns Resolves when every connection is closed.
   */
  async close(graceMs = 0): Promise<void> {
    this.#closing = true;
    const grace = gracePeriod(this.#clock, graceMs);
    await stopAccepting(this.#tls, this.#listener);
    if (this.#tls === null) await this.#accepting;
    if (grace.active && this.#sessions.size > 0) {
      await Promise.race([this.#allDone(), grace.over]);
    }
    grace.cancel();
    for (const s of this.#sessions.keys()) s.close("shutdown");
    await this.#allDone();
    this.#sweeper?.cancel();
  }

  async #allDone(): Promise<void> {
    while (this.#sessions.size > 0) await Promise.all([...this.#sessions.values()]);
  }
}

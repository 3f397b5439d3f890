/**
 * The UDP proxy core. A flow table keyed by client `ip:port` sticks each
 * client to one endpoint: the first datagram of a client picks an endpoint
 * and opens one upstream socket connected to it; every datagram of the client
 * goes through that socket and every reply on it goes back to that client.
 * Nothing waits for replies, so any number of datagrams are in flight.
 * One sweeper interval expires idle flows and moves flows off endpoints that
 * went down, draining or away (their next datagram picks again).
 *
 * @module
 */

import { type Clock, sleep, SYSTEM_CLOCK, type Timer } from "../../pool/clock.ts";
import type { ListenerSpec, UdpListenerSpec } from "../../config/schema.ts";
import {
  type DatagramEngine,
  type DatagramSocket,
  defaultDatagramEngine,
  normalizeIp,
  openDatagramSocket,
  resolveUdpHost,
  type SendCallback,
  udpLocalAddress,
} from "../../pool/udp_socket.ts";
import type { Cluster } from "../../balance/cluster.ts";
import type { Endpoint, TransportError } from "../../balance/endpoint.ts";
import { Attempt } from "../../balance/lease.ts";
import { kindMismatch, type Listener, type ListenerCoreStats } from "../listener.ts";
import { type ClientLimiter, type ClientState, nextLimiter } from "../client_limits.ts";
import { hashString } from "../../balance/key_hash.ts";

/** Datagrams kept per flow while its upstream socket is still connecting. */
const MAX_QUEUED = 64;

/** One client's flow; it is also the outcome its lease is released with. */
interface Flow {
  /** The client: where replies go. */
  readonly client: Deno.NetAddr;
  readonly endpoint: Endpoint;
  /** Holds the endpoint for the flow's life. */
  readonly attempt: Attempt;
  /** Bytes from the client. */
  rx: number;
  /** Bytes to the client. */
  tx: number;
  readonly status: 0;
  error: TransportError;
  /** The upstream socket; null until bound. */
  socket: DatagramSocket | null;
  /** The endpoint's address (an IP); null until resolved. */
  upstream: Deno.NetAddr | null;
  /** Told of each send toward the endpoint. */
  onSent: SendCallback;
  /** Datagrams waiting for the socket; null once it is bound. */
  queue: Uint8Array[] | null;
  /** Datagrams either way. */
  count: number;
  seenCount: number;
  lastActive: number;
  closed: boolean;
  /** The client's per-client state and its limiter (undefined when limits are off). */
  readonly limit: ClientState | undefined;
  readonly limiter: ClientLimiter | null;
}

/**
 * Options of {@linkcode UdpProxy} beyond its spec.
 *
 * @example Usage
 * ```ts
 * import type { UdpProxyOptions } from "./server.ts";
 * import { SYSTEM_CLOCK } from "../../pool/clock.ts";
 * const options: UdpProxyOptions = { clock: SYSTEM_CLOCK };
 * ```
 */
export interface UdpProxyOptions {
  /** Time and timers (the sweeper, the drain). @default SYSTEM_CLOCK */
  readonly clock?: Clock | undefined;
  /** The current time, if not the clock's. @default clock.now */
  readonly now?: () => number;
  /** Told once per local address when a flow's socket may not bind (a missing `--allow-net`). */
  readonly onNotice?: ((message: string) => void) | undefined;
  /** How the sockets are implemented. @default defaultDatagramEngine() */
  readonly engine?: DatagramEngine | undefined;
}

/**
 * A UDP listener. `listen()` binds, `close()` forgets every flow.
 *
 * @example Usage
 * ```ts ignore
 * import { UdpProxy } from "./server.ts";
 * import { udpListener } from "../../config/builders.ts";
 * import { Cluster } from "../../balance/cluster.ts";
 * import { SYSTEM_RUNTIME } from "../../pool/runtime.ts";
 * const spec = udpListener("127.0.0.1:0", [["127.0.0.1:53"]]);
 * const proxy = new UdpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
 * const addr = await proxy.listen();
 * await proxy.close();
 * ```
 */
export class UdpProxy implements Listener {
  /** The listener's spec (replaced by {@linkcode UdpProxy.update}). */
  spec: UdpListenerSpec;
  /** Where datagrams go. */
  readonly cluster: Cluster;
  /** Datagrams dropped: flow table full, no endpoint available, or queue full while connecting. */
  dropped = 0;
  /** Flows by client address, then port: no key string is built per datagram. */
  readonly #flows = new Map<string, Map<number, Flow>>();
  #flowCount = 0;
  readonly #closing = new Set<Promise<void>>();
  #socket: DatagramSocket | null = null;
  #sweeper: Timer | undefined;
  #period = 0;
  #sites: Endpoint[][] | null = null;
  #live = new Set<Endpoint>();
  #last: Flow | null = null;
  #draining = false;
  /** Per-client limits (null when off); idle clients are forgotten by the sweeper. */
  #limiter: ClientLimiter | null = null;
  #address: Deno.NetAddr | null = null;
  readonly #now: () => number;
  readonly #onNotice: (message: string) => void;
  /** Local addresses whose denied bind was already reported. */
  readonly #deniedBinds = new Set<string>();
  /** Whether a reply denied by a missing `--allow-net` was already reported. */
  #replyDenied = false;
  readonly #clock: Clock;
  readonly #engine: DatagramEngine;

  /**
   * Creates a listener; nothing is bound until {@linkcode UdpProxy.listen}.
   *
   * @param spec The listener configuration.
   * @param cluster The cluster it serves.
   * @param options The clock.
   */
  constructor(spec: UdpListenerSpec, cluster: Cluster, options: UdpProxyOptions = {}) {
    this.spec = spec;
    this.cluster = cluster;
    const clock = options.clock ?? SYSTEM_CLOCK;
    this.#clock = clock;
    this.#now = options.now ?? (() => clock.now());
    this.#limiter = nextLimiter(null, spec.perClient);
    this.#onNotice = options.onNotice ?? ((m) => console.error(`sidekick: ${m}`));
    this.#engine = options.engine ?? defaultDatagramEngine();
  }

  /** Flows (clients) open now. */
  get flows(): number {
    return this.#flowCount;
  }

  /** The same as {@linkcode UdpProxy.flows}, so that every listener kind reports `connections`. */
  get connections(): number {
    return this.#flowCount;
  }

  /**
   * Binds the listening socket and starts the sweeper.
   *
   * @returns The bound address (with the real port when 0 was asked for).
   * @throws {Deno.errors.NotCapable} When net permission for the address is not granted.
   * @throws {Error} When the address cannot be bound (in use, not available).
   */
  async listen(): Promise<Deno.NetAddr> {
    this.#socket = await openDatagramSocket({
      host: this.spec.hostname,
      port: this.spec.port,
      onMessage: (data, address, port) => this.#onClientDatagram(data, address, port),
      engine: this.#engine,
    });
    this.#syncSites();
    this.#startSweeper();
    this.#address = this.#socket.address;
    return this.#address;
  }

  /**
   * Prepares a reloaded spec of the same listener: flow idle time and the
   * flow limit take effect at once. (Hostname and port are those bound.)
   *
   * @param spec The new spec.
   * @returns Applies it.
   * @throws {TypeError} When `spec` is not a UDP listener's.
   */
  update(spec: ListenerSpec): () => void {
    if (spec.kind !== "udp") throw kindMismatch(this.spec, spec);
    return () => {
      this.spec = spec;
      this.#limiter = nextLimiter(this.#limiter, spec.perClient);
      if (this.#socket !== null) this.#startSweeper();
    };
  }

  /** Opens no new flows; datagrams of open flows still pass until `close`. */
  drain(): void {
    this.#draining = true;
  }

  /**
   * A snapshot.
   *
   * @returns Kind, bound address and open flows.
   */
  stats(): ListenerCoreStats {
    return { kind: "udp", address: this.#address, connections: this.#flowCount };
  }

  #startSweeper(): void {
    const period = Math.max(25, Math.min(1000, this.spec.flowIdleMs / 4));
    if (this.#sweeper !== undefined && period === this.#period) return;
    this.#sweeper?.cancel();
    this.#period = period;
    this.#sweeper = this.#clock.setInterval(() => this.#sweep(), period);
  }

  #onClientDatagram(msg: Uint8Array, address: string, port: number): void {
    // one-entry cache: most datagrams belong to the flow of the previous one
    let flow = this.#last;
    if (
      flow === null || flow.client.port !== port || flow.client.hostname !== address || flow.closed
    ) {
      flow = this.#flows.get(address)?.get(port) ?? null;
      if (flow === null) {
        flow = this.#open(address, port) ?? null;
        if (flow === null) {
          this.dropped++;
          return;
        }
        let ports = this.#flows.get(address);
        if (ports === undefined) this.#flows.set(address, ports = new Map());
        ports.set(port, flow);
        this.#flowCount++;
      }
      this.#last = flow;
    }
    flow.count++;
    flow.rx += msg.length;
    if (flow.queue === null) {
      flow.socket!.send(msg, flow.upstream!, flow.onSent);
    } else if (flow.queue.length < MAX_QUEUED) {
      flow.queue.push(msg);
    } else {
      this.dropped++;
    }
  }

  #open(address: string, port: number): Flow | undefined {
    const max = this.spec.maxFlows;
    if ((max > 0 && this.#flowCount >= max) || this.#draining) return undefined;
    const limiter = this.#limiter;
    const limit = limiter?.connect(normalizeIp(address), this.#now(), true);
    if (limit === null) return undefined; // over its per-client flow cap or rate
    const attempt = new Attempt();
    if (this.cluster.spec.policy === "hash") attempt.key = hashString(address);
    const lease = this.cluster.lease(attempt);
    if (lease === undefined) {
      if (limit !== undefined) limiter!.release(limit);
      return undefined;
    }
    const endpoint = lease.endpoint;
    const flow: Flow = {
      client: { transport: "udp", hostname: address, port },
      endpoint,
      attempt,
      rx: 0,
      tx: 0,
      status: 0,
      error: "none",
      socket: null,
      upstream: null,
      // a send toward the endpoint failed (unreachable, too big): count it against the endpoint
      onSent: (e) => {
        if (!e || flow.closed) return;
        flow.error = "connect";
        lease.blame("a datagram could not be sent");
        this.#expire(flow);
      },
      queue: [],
      count: 0,
      seenCount: -1,
      lastActive: this.#now(),
      closed: false,
      limit,
      limiter,
    };
    lease.reached();
    const local = udpLocalAddress(endpoint.spec.host);
    const listener = this.#socket!;
    // One callback per flow (not per datagram): a failed reply is only looked at when denied.
    const sent: SendCallback = (e) => {
      if (e && !this.#replyDenied) this.#replyFailed(address, port);
    };
    const endpointPort = endpoint.spec.port;
    // The one address that may answer: the endpoint's IP, or what its host name resolved to
    // (nothing is sent before, so nothing may come before).
    const onReply = (reply: Uint8Array, source: string, sourcePort: number) => {
      const from = flow.upstream;
      if (sourcePort !== endpointPort || from === null) return;
      if (source !== from.hostname && normalizeIp(source) !== from.hostname) return;
      flow.count++;
      flow.tx += reply.length;
      listener.send(reply, flow.client, sent);
    };
    this.#connect(flow, local, onReply);
    return flow;
  }

  /** Resolves the endpoint, binds the flow's socket, then sends what queued meanwhile. */
  async #connect(
    flow: Flow,
    local: { type: "udp4" | "udp6"; address: string },
    onMessage: (data: Uint8Array, address: string, port: number) => void,
  ): Promise<void> {
    const { host, port } = flow.endpoint.spec;
    let socket: DatagramSocket;
    try {
      socket = await openDatagramSocket({
        host: local.address,
        port: 0,
        onMessage,
        engine: this.#engine,
      });
    } catch (e) {
      // not permitted or no such local address: not the endpoint's fault
      if (e instanceof Deno.errors.NotCapable && !this.#deniedBinds.has(local.address)) {
        this.#deniedBinds.add(local.address);
        const bind = local.address.includes(":") ? `[${local.address}]:0` : `${local.address}:0`;
        this.#onNotice(
          `UDP listener '${this.spec.name}' drops datagrams: a flow cannot bind its local ` +
            `socket; run deno with --allow-net=${bind}`,
        );
      }
      this.dropped += flow.queue?.length ?? 0;
      this.#expire(flow);
      return;
    }
    flow.socket = socket;
    if (flow.closed) {
      this.#closeSocket(socket);
      return;
    }
    let ip: string;
    try {
      ip = await resolveUdpHost(host, local.type);
    } catch {
      flow.error = "connect";
      flow.attempt.lease.blame(`${host} did not resolve`);
      this.dropped += flow.queue?.length ?? 0;
      this.#expire(flow);
      return;
    }
    if (flow.closed) return;
    flow.upstream = { transport: "udp", hostname: ip, port };
    const queued = flow.queue ?? [];
    flow.queue = null;
    for (const m of queued) socket.send(m, flow.upstream, flow.onSent);
  }

  /** A reply to a client failed: when Deno denied it, say once which flag is missing. */
  #replyFailed(address: string, port: number): void {
    const host = address.includes(":") ? `[${address}]` : address;
    if (Deno.permissions.querySync({ name: "net", host: `${host}:${port}` }).state === "granted") {
      return; // the client went away: not a permission problem
    }
    this.#replyDenied = true;
    this.#onNotice(
      `UDP listener '${this.spec.name}' cannot reply to client ${host}:${port}: run deno with ` +
        `--allow-net=${host} (replies go to each client's own port)`,
    );
  }

  #expire(flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    if (this.#last === flow) this.#last = null;
    flow.attempt.lease.release(flow);
    if (flow.limit !== undefined) flow.limiter?.release(flow.limit);
    const { hostname, port } = flow.client;
    const ports = this.#flows.get(hostname);
    if (ports?.get(port) === flow) {
      ports.delete(port);
      this.#flowCount--;
      if (ports.size === 0) this.#flows.delete(hostname);
    }
    if (flow.socket !== null) this.#closeSocket(flow.socket);
  }

  #closeSocket(socket: DatagramSocket): void {
    const done = socket.close();
    this.#closing.add(done);
    done.then(() => this.#closing.delete(done));
  }

  #syncSites(): void {
    if (this.#sites === this.cluster.sites) return;
    this.#sites = this.cluster.sites;
    this.#live = new Set(this.cluster.endpoints);
  }

  #sweep(): void {
    this.#syncSites();
    const now = this.#now();
    this.#limiter?.sweep(now);
    const live = this.#live;
    const idleMs = this.spec.flowIdleMs;
    for (const ports of this.#flows.values()) {
      for (const flow of ports.values()) {
        const e = flow.endpoint;
        if (!e.isUp(now) || !live.has(e)) {
          this.#expire(flow);
        } else if (flow.count !== flow.seenCount) {
          flow.seenCount = flow.count;
          flow.lastActive = now;
        } else if (now - flow.lastActive >= idleMs) {
          this.#expire(flow);
        }
      }
    }
  }

  /**
   * Drains: no new flows; open flows keep relaying until they go idle (the
   * sweeper expires them) or `graceMs` passed. Then forgets every flow,
   * stops the sweeper and closes every socket.
   *
   * @param graceMs How long open flows may go on. @default 0
   * @returns Resolves when every socket is closed.
   */
  async close(graceMs = 0): Promise<void> {
    this.#draining = true;
    if (graceMs > 0 && this.#flowCount > 0 && this.#socket !== null) {
      const until = this.#now() + graceMs;
      while (this.#flowCount > 0 && this.#now() < until) {
        await sleep(this.#clock, Math.min(until - this.#now(), this.#period || 25));
      }
    }
    this.#sweeper?.cancel();
    for (const ports of [...this.#flows.values()]) {
      for (const flow of [...ports.values()]) this.#expire(flow);
    }
    const socket = this.#socket;
    this.#socket = null;
    this.#address = null;
    if (socket !== null) await socket.close();
    await Promise.all([...this.#closing]);
  }
}

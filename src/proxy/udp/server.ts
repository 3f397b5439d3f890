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

import dgram from "node:dgram";
import { type Clock, sleep, SYSTEM_CLOCK, type Timer } from "../../pool/clock.ts";
import type { ListenerSpec, UdpListenerSpec } from "../../config/schema.ts";
import { bindUdpSocket, udpLocalAddress } from "../../pool/udp_socket.ts";
import type { Cluster } from "../../balance/cluster.ts";
import type { Endpoint, TransportError } from "../../balance/endpoint.ts";
import { Attempt } from "../../balance/lease.ts";
import { hashString } from "../../balance/key_hash.ts";
import { kindMismatch, type Listener, type ListenerCoreStats } from "../listener.ts";
import { type ClientLimiter, type ClientState, nextLimiter } from "../client_limits.ts";

/** Datagrams kept per flow while its upstream socket is still connecting. */
const MAX_QUEUED = 64;

/** One client's flow; it is also the outcome its lease is released with. */
interface Flow {
  readonly address: string;
  readonly port: number;
  readonly endpoint: Endpoint;
  /** Holds the endpoint for the flow's life. */
  readonly attempt: Attempt;
  /** Bytes from the client. */
  rx: number;
  /** Bytes to the client. */
  tx: number;
  readonly status: 0;
  error: TransportError;
  readonly socket: dgram.Socket;
  /** Datagrams waiting for the connect; null once connected. */
  queue: Uint8Array[] | null;
  /** Datagrams either way. */
  count: number;
  seenCount: number;
  lastActive: number;
  closed: boolean;
  /** The client's per-client state and its limiter (undefined when limits are off). */
  readonly client: ClientState | undefined;
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
  readonly #flows = new Map<string, Flow>();
  readonly #closing = new Set<Promise<void>>();
  #socket: dgram.Socket | null = null;
  #sweeper: Timer | undefined;
  #period = 0;
  #sites: Endpoint[][] | null = null;
  #live = new Set<Endpoint>();
  #last: Flow | null = null;
  #draining = false;
  #address: Deno.NetAddr | null = null;
  /** Per-client limits (null when off); idle clients are forgotten by the sweeper. */
  #limiter: ClientLimiter | null = null;
  readonly #now: () => number;
  readonly #onNotice: (message: string) => void;
  /** Local addresses whose denied bind was already reported. */
  readonly #deniedBinds = new Set<string>();
  /** Whether a reply denied by a missing `--allow-net` was already reported. */
  #replyDenied = false;
  readonly #clock: Clock;

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
    this.#onNotice = options.onNotice ?? ((m) => console.error(`sidekick: ${m}`));
    this.#limiter = nextLimiter(null, spec.perClient);
  }

  /** Flows (clients) open now. */
  get flows(): number {
    return this.#flows.size;
  }

  /** The same as {@linkcode UdpProxy.flows}, so that every listener kind reports `connections`. */
  get connections(): number {
    return this.#flows.size;
  }

  /**
   * Binds the listening socket and starts the sweeper.
   *
   * @returns The bound address (with the real port when 0 was asked for).
   * @throws {Deno.errors.NotCapable} When net permission for the address is not granted.
   * @throws {Error} When the address cannot be bound (in use, not available).
   */
  async listen(): Promise<Deno.NetAddr> {
    const type = this.spec.hostname.includes(":") ? "udp6" : "udp4";
    const socket = dgram.createSocket(type);
    try {
      await bindUdpSocket(socket, this.spec.hostname, this.spec.port);
    } catch (e) {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      throw e;
    }
    socket.on("error", () => {}); // send errors toward vanished clients
    socket.on("message", (msg, rinfo) => this.#onClientDatagram(msg, rinfo.address, rinfo.port));
    this.#socket = socket;
    this.#syncSites();
    this.#startSweeper();
    const { address, port } = socket.address();
    this.#address = { transport: "udp", hostname: address, port };
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
    return { kind: "udp", address: this.#address, connections: this.#flows.size };
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
    if (flow === null || flow.port !== port || flow.address !== address || flow.closed) {
      const key = `${address}:${port}`;
      flow = this.#flows.get(key) ?? null;
      if (flow === null) {
        flow = this.#open(address, port) ?? null;
        if (flow === null) {
          this.dropped++;
          return;
        }
        this.#flows.set(key, flow);
      }
      this.#last = flow;
    }
    flow.count++;
    flow.rx += msg.length;
    if (flow.queue === null) {
      flow.socket.send(msg);
    } else if (flow.queue.length < MAX_QUEUED) {
      flow.queue.push(msg);
    } else {
      this.dropped++;
    }
  }

  #open(address: string, port: number): Flow | undefined {
    const max = this.spec.maxFlows;
    if ((max > 0 && this.#flows.size >= max) || this.#draining) return undefined;
    const limiter = this.#limiter;
    const client = limiter?.connect(normalizeIp(address), this.#now(), true);
    if (client === null) return undefined; // over its per-client flow cap or rate
    const attempt = new Attempt();
    if (this.cluster.spec.policy === "hash") attempt.key = hashString(address);
    const lease = this.cluster.lease(attempt);
    if (lease === undefined) {
      if (client !== undefined) limiter!.release(client);
      return undefined;
    }
    const endpoint = lease.endpoint;
    const local = udpLocalAddress(endpoint.spec.host);
    const socket = dgram.createSocket(local.type);
    const flow: Flow = {
      address,
      port,
      endpoint,
      attempt,
      rx: 0,
      tx: 0,
      status: 0,
      error: "none",
      socket,
      queue: [],
      count: 0,
      seenCount: -1,
      lastActive: this.#now(),
      closed: false,
      client,
      limiter,
    };
    lease.reached();
    const listener = this.#socket!;
    // The one address that may answer: the IP, or what a host name resolved
    // to when the socket connected (nothing is sent before, so nothing may
    // come before).
    let from = isIpLiteral(endpoint.spec.host) ? normalizeIp(endpoint.spec.host) : null;
    // One callback per flow (not per datagram): a failed reply is only looked at when denied.
    const sent = (e: Error | null | undefined) => {
      if (e && !this.#replyDenied) this.#replyFailed(address, port);
    };
    socket.on("message", (reply, rinfo) => {
      // connect() of node:dgram in Deno only fixes the destination; filter
      // the source here as a connected socket would.
      if (rinfo.port !== endpoint.spec.port) return;
      const source = rinfo.address;
      if (from === null || (source !== from && normalizeIp(source) !== from)) return;
      flow.count++;
      flow.tx += reply.length;
      listener.send(reply, port, address, sent);
    });
    bindUdpSocket(socket, local.address, 0).then(() => {
      socket.on("error", () => {
        // a send failed (unreachable, too big): count it against the endpoint
        if (flow.closed) return;
        flow.error = "connect";
        lease.blame("a datagram could not be sent");
        this.#expire(`${address}:${port}`, flow);
      });
      if (flow.closed) return;
      socket.connect(endpoint.spec.port, endpoint.spec.host, () => {
        if (flow.closed) return;
        from ??= connectedAddress(socket);
        const queued = flow.queue ?? [];
        flow.queue = null;
        for (const m of queued) socket.send(m);
      });
    }, (e: Error) => {
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
      this.#expire(`${address}:${port}`, flow);
    });
    return flow;
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

  #expire(key: string, flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    if (this.#last === flow) this.#last = null;
    flow.attempt.lease.release(flow);
    if (flow.client !== undefined) flow.limiter?.release(flow.client);
    if (this.#flows.get(key) === flow) this.#flows.delete(key);
    const done = new Promise<void>((resolve) => {
      try {
        flow.socket.close(() => resolve());
      } catch {
        resolve(); // not running
      }
    });
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
    for (const [key, flow] of this.#flows) {
      const e = flow.endpoint;
      if (
        !e.isUp(now) || !live.has(e)
      ) {
        this.#expire(key, flow);
      } else if (flow.count !== flow.seenCount) {
        flow.seenCount = flow.count;
        flow.lastActive = now;
      } else if (now - flow.lastActive >= idleMs) {
        this.#expire(key, flow);
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
    if (graceMs > 0 && this.#flows.size > 0 && this.#socket !== null) {
      const until = this.#now() + graceMs;
      while (this.#flows.size > 0 && this.#now() < until) {
        await sleep(this.#clock, Math.min(until - this.#now(), this.#period || 25));
      }
    }
    this.#sweeper?.cancel();
    for (const [key, flow] of this.#flows) this.#expire(key, flow);
    const socket = this.#socket;
    this.#socket = null;
    this.#address = null;
    if (socket !== null) await new Promise<void>((resolve) => socket.close(() => resolve()));
    await Promise.all([...this.#closing]);
  }
}

function isIpLiteral(host: string): boolean {
  return host.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** Lower case, and an IPv4-mapped IPv6 address as plain IPv4. */
function normalizeIp(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d{1,3}(\.\d{1,3}){3})$/, "$1");
}

/** The address a connected socket sends to, normalised; null when it cannot be read. */
function connectedAddress(socket: dgram.Socket): string | null {
  try {
    return normalizeIp(socket.remoteAddress().address);
  } catch {
    return null; // not connected after all: nothing may answer
  }
}

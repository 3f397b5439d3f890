/**
 * One proxied TCP connection: finish the client's TLS handshake when the
 * listener terminates TLS, pick an endpoint (retrying on another when a
 * connect or an upstream TLS handshake fails), write the PROXY header if
 * asked, then relay both ways with half-close kept. Its timers live in the listener's sweeper; the session
 * only exposes a cheap activity counter and its state.
 *
 * @module
 */

import type { TcpListenerSpec } from "../../config/schema.ts";
import type { Cluster } from "../../balance/cluster.ts";
import type { Endpoint, LeaseOutcome, TransportError } from "../../balance/endpoint.ts";
import { Attempt, type Lease } from "../../balance/lease.ts";
import { hashString } from "../../balance/key_hash.ts";
import { dialEndpoint, isLocalResourceError } from "../../pool/dial.ts";
import { encodeProxyHeader } from "../proxy_protocol.ts";
import { BufferedSocket, pipe, writeAll } from "../socket.ts";
import type { BufferPool } from "../buffers.ts";
import { tierOf } from "./tiers.ts";

/**
 * A {@linkcode BufferedSocket} on a pooled buffer that counts its reads. A
 * read is started only after the previous one returned bytes and they were
 * written on, so an unchanged count means no byte moved that way.
 */
class CountingSocket extends BufferedSocket {
  /** Reads started. */
  reads = 0;
  readonly #small: BufferPool;
  readonly #big: BufferPool;

  /**
   * Starts on a small buffer, moves to a big one once a read fills the small
   * one (bulk traffic), and back once a read returns less than the small
   * size, so a connection that waits holds no big buffer.
   */
  constructor(conn: Deno.Conn, small: BufferPool, big: BufferPool) {
    super(conn, small.acquire());
    this.#small = small;
    this.#big = big;
  }

  override readRaw(): Promise<number | null> {
    this.reads++;
    if (this.start === this.end && !this.reading) {
      const len = this.buf.length, small = this.#small.size;
      if (len === small) {
        if (this.end === len && len < this.#big.size) this.#move(this.#big.acquire(), this.#small);
      } else if (this.end < small) {
        this.#move(this.#small.acquire(), this.#big);
      }
    }
    return super.readRaw();
  }

  /** Reads into `next` from now on; the old buffer goes back to `pool`. */
  #move(next: Uint8Array, pool: BufferPool): void {
    const old = this.swapBuffer(next);
    if (old !== null) pool.release(old);
  }

  /** Gives the buffer back to its pool (after the connection is closed and no read is in flight). */
  release(): void {
    if (this.buf.length === this.#big.size) this.#big.release(this.buf);
    else this.#small.release(this.buf);
  }
}

/** Why the sweeper closed a connection. */
export type CloseReason = "idle" | "drain" | "promote" | "shutdown" | "handshake";

/**
 * What a session needs from its listener.
 *
 * @example Usage
 * ```ts ignore
 * const context: TcpSessionContext = { spec, cluster, buffers: new BufferPool(131072, 4 << 20), smallBuffers: new BufferPool(1024, 256 << 10) };
 * ```
 */
export interface TcpSessionContext {
  /** The listener's spec (connect timeout, attempts, PROXY protocol). */
  readonly spec: TcpListenerSpec;
  /** Where connections go. */
  readonly cluster: Cluster;
  /** Big read buffers, for a side once it moves bulk data. */
  readonly buffers: BufferPool;
  /** Small read buffers every relayed connection starts with (two each). */
  readonly smallBuffers: BufferPool;
}

/**
 * One client connection and, once connected, its upstream connection.
 *
 * @example Usage
 * ```ts ignore
 * import { TcpSession } from "./session.ts";
 * const session = new TcpSession(context, client, Math.random(), Date.now());
 * await session.run();
 * ```
 */
export class TcpSession implements LeaseOutcome {
  /** The client side (a `Deno.TlsConn` when the listener terminates TLS). */
  readonly client: Deno.Conn;
  /** This connection's draw in [0, 1), used to smear sweeper closes. */
  readonly random: number;
  /** The endpoint, once connected. */
  endpoint: Endpoint | undefined;
  /** The endpoint's tier, once connected (-1 once it left the cluster). */
  tier: number = -1;
  /** `handshaking` (a TLS client only), `connecting`, then `relaying`, then `done`. */
  state: "handshaking" | "connecting" | "relaying" | "done";
  /** Activity count at the last sweep. */
  seenActivity: number = -1;
  /** Time of the last sweep that saw activity change (the accept time until relaying). */
  lastActive: number;
  /** When the sweeper first saw the endpoint draining (0 = not draining). */
  drainingSince = 0;
  /** Why it was closed by us, if it was. */
  closedBy: CloseReason | undefined;
  /** Bytes relayed from the client to the endpoint. */
  rx = 0;
  /** Bytes relayed from the endpoint to the client. */
  tx = 0;
  /** Always 0: TCP has no status. */
  readonly status = 0;
  /** How the connection to the endpoint failed, if it did. */
  error: TransportError = "none";
  readonly #context: TcpSessionContext;
  /** Dials started: the sweeper times a dial by watching this change. */
  dials = 0;
  /** Dial count at the last sweep, and when that sweep first saw it. */
  seenDials = 0;
  dialSeenAt = 0;
  #dialAbort: AbortController | null = null;
  #dialError = "";
  #upstream: Deno.Conn | undefined;
  #clientClosed = false;
  #upstreamClosed = false;
  #sockets: CountingSocket[] = [];

  /**
   * Wraps an accepted connection; {@linkcode TcpSession.run} does the work.
   *
   * @param context The listener.
   * @param client The accepted connection.
   * @param random A uniform draw in [0, 1) for smearing.
   * @param now The accept time (ms).
   */
  constructor(context: TcpSessionContext, client: Deno.Conn, random: number, now: number) {
    this.#context = context;
    this.client = client;
    this.state = "handshake" in client ? "handshaking" : "connecting";
    this.random = random;
    this.lastActive = now;
  }

  /** Reads started on both sides so far: unchanged between sweeps means idle. */
  get activity(): number {
    let n = 0;
    for (const s of this.#sockets) n += s.reads;
    return n;
  }

  /**
   * Connects and relays until both sides are done; never rejects.
   *
   * @returns Resolves when both connections are closed.
   */
  async run(): Promise<void> {
    try {
      if (this.state === "handshaking") {
        // Before any lease: a client that fails its handshake costs no endpoint a connection.
        await (this.client as Deno.TlsConn).handshake();
        if (this.closedBy !== undefined) return;
        this.state = "connecting";
      } else {
        (this.client as Deno.TcpConn).setNoDelay(true);
      }
      using lease = await this.#connect();
      if (lease === undefined) return;
      try {
        const upstream = this.#upstream!;
        const { spec } = this.#context;
        if (spec.proxyProtocol !== "off") {
          const src = this.client.remoteAddr as Deno.NetAddr;
          const dst = this.client.localAddr as Deno.NetAddr;
          await writeAll(upstream, encodeProxyHeader(spec.proxyProtocol, src, dst));
        }
        await this.#relay(upstream);
      } finally {
        this.#closeAll();
        lease.release(this);
      }
    } catch {
      // a failed header write or a closed client: nothing to relay
    } finally {
      this.state = "done";
      this.#closeAll();
      for (const s of this.#sockets) s.release();
      this.#sockets = [];
    }
  }

  /** Leases endpoints until one accepts the connection; the lease is returned held. */
  async #connect(): Promise<Lease | undefined> {
    const { cluster, spec } = this.#context;
    const attempt = new Attempt();
    if (cluster.spec.policy === "hash") {
      attempt.key = hashString((this.client.remoteAddr as Deno.NetAddr).hostname);
    }
    while (attempt.count < spec.maxAttempts) {
      if (this.closedBy !== undefined) return undefined;
      const lease = cluster.lease(attempt);
      if (lease === undefined) return undefined;
      const conn = await this.#dialOnce(lease.endpoint);
      if (conn !== undefined) {
        if (this.closedBy !== undefined) {
          conn.close();
          lease.release(this);
          return undefined;
        }
        lease.reached();
        this.endpoint = lease.endpoint;
        this.tier = tierOf(cluster, lease.endpoint);
        this.#upstream = conn;
        return lease;
      }
      if (this.error === "local") {
        // sidekick's own shortage: shed this client, blame no endpoint
        lease.release(this);
        cluster.reportLocalFailure(this.#dialError);
        return undefined;
      }
      if (this.closedBy === undefined) lease.blame(this.#dialError);
      lease.release(this);
      this.error = "none";
    }
    return undefined;
  }

  async #dialOnce(endpoint: Endpoint): Promise<Deno.Conn | undefined> {
    // No timer per dial: the listener's sweeper calls timeoutDial() once a
    // dial (TLS handshake included) has been seen in progress for longer
    // than the connect timeout.
    const ac = new AbortController();
    this.#dialAbort = ac;
    this.dials++;
    const { cluster } = this.#context;
    try {
      return await dialEndpoint(endpoint.spec, {
        timeoutMs: 0,
        signal: ac.signal,
        tls: cluster.tls,
        addresses: cluster.addresses,
      });
    } catch (e) {
      this.error = isLocalResourceError(e) ? "local" : "connect";
      this.#dialError = e instanceof Error ? e.message : String(e);
      return undefined;
    } finally {
      this.#dialAbort = null;
    }
  }

  /** Cancels the dial in progress (its connect timeout passed); the next attempt goes on. */
  timeoutDial(): void {
    this.#dialAbort?.abort();
  }

  /** Relays both ways; its own frame is not kept while the pair waits (only the two pipes are). */
  #relay(upstream: Deno.Conn): Promise<void> {
    const { buffers, smallBuffers } = this.#context;
    const down = new CountingSocket(this.client, smallBuffers, buffers);
    const up = new CountingSocket(upstream, smallBuffers, buffers);
    this.#sockets = [down, up];
    this.state = "relaying";
    // A side that ends without end-of-stream failed (reset, closed by us):
    // then the whole connection goes, instead of waiting on the other side
    // (and its half-close is moot). When one side ends after the other
    // already did, both connections are closed right after, so its
    // half-close (a shutdown op) is skipped.
    const ended = (src: CountingSocket, other: CountingSocket) => (): boolean => {
      if (src.eof) return other.eof;
      this.#closeAll();
      return true;
    };
    return Promise.all([pipe(down, up.conn, ended(down, up)), pipe(up, down.conn, ended(up, down))])
      .then(([rx, tx]) => {
        this.rx = rx;
        this.tx = tx;
      });
  }

  /**
   * Closes both sides now (or cancels the connect in progress).
   *
   * @param reason Why, for stats.
   */
  close(reason: CloseReason): void {
    this.closedBy ??= reason;
    this.#dialAbort?.abort();
    this.#closeAll();
  }

  /**
   * Closes both sides, each once: closing a closed connection throws, and
   * an error object (its stack trace) costs more than the rest of a short
   * connection's bookkeeping. The run's `finally` blocks call this twice.
   */
  #closeAll(): void {
    if (!this.#clientClosed) {
      this.#clientClosed = true;
      closeQuietly(this.client);
    }
    if (this.#upstream !== undefined && !this.#upstreamClosed) {
      this.#upstreamClosed = true;
      closeQuietly(this.#upstream);
    }
  }
}

/** Closes `conn`; one the runtime closed already is left alone. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

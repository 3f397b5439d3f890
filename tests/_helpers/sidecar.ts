/**
 * Helpers for the sidecar integration tests: L4 backends (a TCP half-close
 * echo, UDP echo and silent sockets), HTTP backends with slow paths, a load
 * generator that counts failures, and free ports. Everything is on loopback
 * and owned: `close()` leaves no socket, timer or loop behind.
 *
 * @module
 */

import dgram from "node:dgram";
import { delay, HttpPeer, type RawBackend, startRawBackend, text, utf8 } from "./http.ts";

export { delay, HttpPeer, text, utf8, waitFor, within } from "./http.ts";

/**
 * A port that is free on 127.0.0.1 right now.
 *
 * @param transport tcp or udp.
 * @returns The port.
 */
export async function freePort(transport: "tcp" | "udp" = "tcp"): Promise<number> {
  if (transport === "tcp") {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = l.addr.port;
    l.close();
    return port;
  }
  const s = await bindUdp("127.0.0.1", 0);
  const port = s.address().port;
  await closeUdp(s);
  return port;
}

/**
 * A port free on both 127.0.0.1 and ::1, with a listener bound on each.
 *
 * @returns The two listeners (same port).
 */
export function dualStackListeners(): [Deno.TcpListener, Deno.TcpListener] {
  for (let i = 0; i < 50; i++) {
    const v4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      return [v4, Deno.listen({ hostname: "::1", port: v4.addr.port })];
    } catch {
      v4.close();
    }
  }
  throw new Error("no port free on both 127.0.0.1 and ::1 after 50 tries");
}

// ---------------------------------------------------------------------------
// TCP

/** A TCP backend under a test's control. */
export interface TcpBackend extends AsyncDisposable {
  /** Its port. */
  readonly port: number;
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** Connections accepted. */
  readonly accepted: number;
  /** Closes the listener and every connection, and waits for the handlers. */
  close(): Promise<void>;
}

/**
 * A TCP backend that reads until the client half-closes, then answers
 * `got N bytes after EOF` and closes: it only works through a proxy that
 * keeps half-close.
 *
 * @returns The backend.
 */
export function startHalfCloseEcho(): TcpBackend {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const handlers = new Set<Promise<void>>();
  let accepted = 0;
  const serve = async (conn: Deno.TcpConn) => {
    const buf = new Uint8Array(64 * 1024);
    let n = 0;
    for (;;) {
      const got = await conn.read(buf);
      if (got === null) break;
      n += got;
    }
    const reply = utf8(`got ${n} bytes after EOF`);
    let off = 0;
    while (off < reply.length) off += await conn.write(reply.subarray(off));
  };
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      accepted++;
      conns.add(conn);
      const h = serve(conn).catch(() => {}).finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // closed already
        }
      });
      handlers.add(h);
      h.finally(() => handlers.delete(h));
    }
  })();
  const close = async () => {
    try {
      listener.close();
    } catch {
      // closed already
    }
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await loop;
    await Promise.all([...handlers]);
  };
  const port = listener.addr.port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Sends `size` bytes through a TCP address, half-closes, and reads the reply to the end.
 *
 * @param address Where to connect.
 * @param size How many bytes to send.
 * @returns The reply as text.
 */
export async function halfCloseExchange(address: Deno.NetAddr, size: number): Promise<string> {
  const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
  const peer = new HttpPeer(conn, 5_000);
  try {
    await peer.write(new Uint8Array(size).fill(7));
    await peer.closeWrite();
    return text(await peer.readToEnd());
  } finally {
    peer.close();
  }
}

// ---------------------------------------------------------------------------
// UDP

/** A bound `node:dgram` socket on `host:port` (0 = a free port). */
export function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, host, () => {
      s.off("error", reject);
      resolve(s);
    });
  });
}

/** Closes a `node:dgram` socket; resolves when closed. */
export function closeUdp(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** A UDP backend. */
export interface UdpBackend extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** Datagrams received. */
  readonly received: number;
  /** Closes the socket. */
  close(): Promise<void>;
}

/**
 * A UDP backend on 127.0.0.1 that answers `echo:PAYLOAD`, or never answers.
 *
 * @param answer Whether to answer.
 * @returns The backend.
 */
export async function startUdpBackend(answer = true): Promise<UdpBackend> {
  const s = await bindUdp("127.0.0.1", 0);
  let received = 0;
  s.on("message", (msg, rinfo) => {
    received++;
    if (answer) s.send(utf8(`echo:${text(msg)}`), rinfo.port, rinfo.address);
  });
  const close = () => closeUdp(s);
  return {
    address: `127.0.0.1:${s.address().port}`,
    get received() {
      return received;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Sends datagrams from one client socket and collects the replies.
 *
 * @param to The listener.
 * @param payloads What to send, one datagram each.
 * @param timeoutMs How long to wait for all replies.
 * @returns The replies as text, in arrival order.
 */
export async function udpExchange(
  to: Deno.NetAddr,
  payloads: readonly string[],
  timeoutMs = 2_000,
): Promise<string[]> {
  const s = await bindUdp("127.0.0.1", 0);
  const got: string[] = [];
  s.on("message", (m) => got.push(text(m)));
  try {
    for (const p of payloads) s.send(utf8(p), to.port, to.hostname);
    const until = Date.now() + timeoutMs;
    while (got.length < payloads.length && Date.now() < until) await delay(5);
    return got;
  } finally {
    await closeUdp(s);
  }
}

// ---------------------------------------------------------------------------
// HTTP

/**
 * An HTTP backend that answers every request with `200` and `NAME:TARGET`;
 * a target `/slow?ms=N` waits N ms first.
 *
 * @param name Its name, in each body.
 * @param options Where to listen.
 * @returns The backend.
 */
export function startSlowBackend(
  name: string,
  options: { hostname?: string; port?: number } = {},
): RawBackend {
  return startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      const m = /^\/slow\?ms=(\d+)/.exec(req.target);
      if (m !== null) await delay(Number(m[1]));
      const body = `${name}:${req.target}`;
      await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
  }, options);
}

/**
 * Sends one GET on a new connection and reads the response.
 *
 * @param address The listener.
 * @param path The target.
 * @returns Status and body.
 */
export async function get(
  address: Deno.NetAddr,
  path: string,
): Promise<{ status: number; body: string }> {
  const peer = await HttpPeer.connect(address.port, 5_000, address.hostname);
  try {
    await peer.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    const r = await peer.readResponse();
    return { status: r.status, body: r.text() };
  } finally {
    peer.close();
  }
}

/** What a load run saw. */
export interface LoadResult {
  /** Requests answered 200. */
  ok: number;
  /** Everything else: other statuses, errors, cut connections. */
  failures: string[];
  /** Bodies' backend names, counted. */
  byBackend: Map<string, number>;
}

/**
 * Runs `keepAlive` clients that reuse one connection and `fresh` clients
 * that open one per request, until `signal` aborts. Each client has at most
 * one request in flight.
 *
 * @param address Where to send.
 * @param options Client counts and the stop signal.
 * @returns What they saw.
 */
export async function runLoad(
  address: Deno.NetAddr,
  options: { keepAlive: number; fresh: number; signal: AbortSignal },
): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failures: [], byBackend: new Map() };
  const record = (status: number, body: string) => {
    if (status !== 200) {
      result.failures.push(`${status} ${body.slice(0, 80)}`);
      return;
    }
    result.ok++;
    const name = body.split(":")[0];
    result.byBackend.set(name, (result.byBackend.get(name) ?? 0) + 1);
  };
  const keepAlive = async (id: number) => {
    let peer: HttpPeer | null = null;
    try {
      for (let i = 0; !options.signal.aborted && i < 100_000; i++) {
        peer ??= await HttpPeer.connect(address.port, 5_000, address.hostname);
        await peer.write(`GET /k${id}/${i} HTTP/1.1\r\nHost: test\r\n\r\n`);
        const r = await peer.readResponse();
        record(r.status, r.text());
        if (r.header("connection")?.toLowerCase() === "close") {
          peer.close();
          peer = null;
        }
      }
    } catch (e) {
      result.failures.push(`keep-alive client ${id}: ${(e as Error).message}`);
    } finally {
      peer?.close();
    }
  };
  const fresh = async (id: number) => {
    for (let i = 0; !options.signal.aborted && i < 100_000; i++) {
      try {
        const r = await get(address, `/f${id}/${i}`);
        record(r.status, r.body);
      } catch (e) {
        result.failures.push(`client ${id}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: options.keepAlive }, (_, i) => keepAlive(i)),
    ...Array.from({ length: options.fresh }, (_, i) => fresh(i)),
  ]);
  return result;
}

/**
 * Whether a TCP connect to `address` is refused (or reset) now.
 *
 * @param address The address.
 * @returns True when refused.
 */
export async function refuses(address: Deno.NetAddr): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
    conn.close();
    return false;
  } catch (e) {
    // Reset: the SYN met a listener that was closing.
    if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset) {
      return true;
    }
    throw e;
  }
}

/**
 * Echo backends for TCP TLS tests (plain, TLS on the fixture certificates,
 * or TLS that requires a client certificate) and a TcpProxy in front of
 * them, all on loopback.
 *
 * @module
 */

import tls from "node:tls";
import type { TcpListenerSpec } from "../../src/config/schema.ts";
import { tcpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { TcpProxy, type TcpProxyOptions } from "../../src/proxy/tcp/server.ts";
import { readFixture } from "../fixtures/harness.ts";
import { HOST, text, utf8, within } from "./net.ts";

/** An echo backend: every byte back; on the client's end of stream it answers `|eof N` (N bytes seen) and ends. */
export interface EchoBackend extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  /** Its port. */
  readonly port: number;
  /** Connections accepted (TCP), before any handshake. */
  readonly accepted: number;
  /** Stops accepting and closes every connection. */
  close(): Promise<void>;
}

/**
 * Starts an echo backend.
 *
 * @param cert A fixture certificate name (`server`, `other`) to serve TLS with. @default plain TCP
 * @returns The backend.
 */
export function startEcho(cert?: string): EchoBackend {
  const listener = cert === undefined ? Deno.listen({ hostname: HOST, port: 0 }) : Deno.listenTls({
    hostname: HOST,
    port: 0,
    cert: readFixture(`${cert}.pem`),
    key: readFixture(`${cert}-key.pem`),
  });
  const conns = new Set<Deno.Conn>();
  const served = new Set<Promise<void>>();
  let accepted = 0;
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    let seen = 0;
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      seen += n;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
    await conn.write(utf8(`|eof ${seen}`));
    await conn.closeWrite();
  };
  const loop = (async () => {
    for (let i = 0; i < 1000; i++) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      accepted++;
      conns.add(conn);
      const p = serve(conn).catch(() => {}).finally(() => {
        conns.delete(conn);
        served.delete(p);
        try {
          conn.close();
        } catch {
          // closed already
        }
      });
      served.add(p);
    }
  })();
  return handle((listener.addr as Deno.NetAddr).port, () => accepted, async () => {
    listener.close();
    await loop;
    for (const c of conns) c.close();
    await Promise.all(served);
  });
}

function handle(port: number, accepted: () => number, close: () => Promise<void>): EchoBackend {
  return {
    address: `${HOST}:${port}`,
    port,
    get accepted() {
      return accepted();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Starts a TLS echo backend on node:tls that requires a client certificate
 * signed by the test CA, and first says `client=CN;`.
 *
 * @returns The backend, once listening.
 */
export async function startMtlsEcho(): Promise<EchoBackend> {
  const sockets = new Set<tls.TLSSocket>();
  let accepted = 0;
  const server = tls.createServer({
    cert: readFixture("server.pem"),
    key: readFixture("server-key.pem"),
    ca: readFixture("ca.pem"),
    requestCert: true,
    rejectUnauthorized: true,
    allowHalfOpen: true,
  }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.write(`client=${socket.getPeerCertificate().subject?.CN ?? "none"};`);
    let seen = 0;
    socket.on("data", (chunk: Uint8Array) => {
      seen += chunk.length;
      socket.write(chunk);
    });
    socket.on("end", () => socket.end(`|eof ${seen}`));
  });
  server.on("connection", () => accepted++);
  server.on("tlsClientError", () => {});
  const port = await new Promise<number>((resolve) =>
    server.listen(0, HOST, () => resolve((server.address() as { port: number }).port))
  );
  return handle(port, () => accepted, async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** A TcpProxy with its cluster, listening on 127.0.0.1. */
export interface RunningTcpProxy extends AsyncDisposable {
  /** The proxy. */
  readonly proxy: TcpProxy;
  /** Its cluster. */
  readonly cluster: Cluster;
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
}

/**
 * A TCP listener spec on 127.0.0.1:0 with active health checks off.
 *
 * @param endpoints One tier of `HOST:PORT`, or several tiers, best first.
 * @param overrides Anything else (tls, upstreamTls, proxyProtocol, ...).
 * @returns The spec.
 */
export function tlsSpec(
  endpoints: string[] | string[][],
  overrides: Partial<TcpListenerSpec> = {},
): TcpListenerSpec {
  const tiers = typeof endpoints[0] === "string"
    ? [endpoints as string[]]
    : endpoints as string[][];
  const base = tcpListener("127.0.0.1:0", tiers, { connectMs: 2_000, ...overrides });
  return {
    ...base,
    cluster: { ...base.cluster, health: { ...base.cluster.health, active: false } },
  };
}

/**
 * Starts a TcpProxy.
 *
 * @param spec The listener.
 * @param options Proxy options (notices, certificate checks).
 * @returns The running proxy.
 */
export async function startTcpProxy(
  spec: TcpListenerSpec,
  options: TcpProxyOptions = {},
): Promise<RunningTcpProxy> {
  const cluster = new Cluster(spec.cluster, SYSTEM_RUNTIME);
  const proxy = new TcpProxy(spec, cluster, options);
  const addr = await proxy.listen();
  return { proxy, cluster, addr, [Symbol.asyncDispose]: () => proxy.close() };
}

/**
 * A TLS client to the proxy that trusts `ca`, handshake done.
 *
 * @param addr The proxy.
 * @param ca A fixture CA file. @default "ca.pem"
 * @returns The connection.
 */
export async function connectTls(addr: Deno.NetAddr, ca = "ca.pem"): Promise<Deno.TlsConn> {
  const conn = await Deno.connectTls({
    hostname: addr.hostname,
    port: addr.port,
    caCerts: [readFixture(ca)],
  });
  try {
    await within(conn.handshake(), 3_000, "the TLS handshake");
  } catch (e) {
    conn.close();
    throw e;
  }
  return conn;
}

/**
 * Writes `data`, half-closes, and reads until the peer ends (bounded).
 *
 * @param conn The client connection.
 * @param data What to send.
 * @returns Everything read back.
 */
export async function sendAndFinish(conn: Deno.Conn, data: Uint8Array): Promise<string> {
  const write = (async () => {
    let off = 0;
    while (off < data.length) off += await conn.write(data.subarray(off));
    await conn.closeWrite();
  })();
  const chunks: string[] = [];
  const buf = new Uint8Array(64 * 1024);
  const read = (async () => {
    for (let i = 0; i < 10_000; i++) {
      const n = await conn.read(buf);
      if (n === null) return;
      chunks.push(text(buf.subarray(0, n)));
    }
  })();
  await within(Promise.all([write, read]), 5_000, "the exchange");
  return chunks.join("");
}

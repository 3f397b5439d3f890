/**
 * The UDP core on both socket engines (`node:dgram` and
 * `Deno.listenDatagram`, the latter needs --unstable-net, which the test task
 * grants): a moderate burst sent at once and answered twice is delivered
 * whole and to the right clients, the largest datagram passes both ways, and
 * a host-name endpoint is resolved once and answers. Correctness only: no
 * timing is asserted beyond a generous bound.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { udpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { UdpProxy } from "../../src/proxy/udp/server.ts";
import { type DatagramEngine, openDatagramSocket } from "../../src/pool/udp_socket.ts";
import { waitFor as until } from "../_helpers/net.ts";
import { bindUdp, closeUdp as closeSocket } from "../_helpers/sidecar.ts";

const decoder = new TextDecoder();

function bound(): Promise<dgram.Socket> {
  return bindUdp("127.0.0.1", 0);
}

/** A backend answering every datagram `replies` times with `b|payload`. */
async function echo(replies: number): Promise<dgram.Socket> {
  const s = await bound();
  s.on("message", (msg, rinfo) => {
    const reply = new Uint8Array([98, 124, ...msg]);
    for (let i = 0; i < replies; i++) s.send(reply, rinfo.port, rinfo.address);
  });
  return s;
}

function proxyTo(endpoint: string, engine: DatagramEngine): UdpProxy {
  const base = udpListener("127.0.0.1:0", [[endpoint]]);
  const spec = {
    ...base,
    cluster: { ...base.cluster, health: { ...base.cluster.health, active: false } },
  };
  return new UdpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME), { engine });
}

for (const engine of ["node", "deno"] as const) {
  Deno.test(`UdpProxy (${engine}): 20 clients x 20 datagrams sent at once, answered twice: all 800 replies reach their own client`, async () => {
    const backend = await echo(2);
    const proxy = proxyTo(`127.0.0.1:${backend.address().port}`, engine);
    const addr = await proxy.listen();
    const clients: dgram.Socket[] = [];
    const got: string[][] = [];
    try {
      for (let c = 0; c < 20; c++) {
        const s = await bound();
        const mine: string[] = [];
        s.on("message", (m) => mine.push(decoder.decode(m)));
        clients.push(s);
        got.push(mine);
      }
      for (let d = 0; d < 20; d++) {
        clients.forEach((s, c) => s.send(`c${c}-${d}`, addr.port, addr.hostname));
      }
      await until(() => got.every((g) => g.length >= 40), 10_000, "800 replies");
      got.forEach((replies, c) => {
        const expected = Array.from({ length: 20 }, (_, d) => [`b|c${c}-${d}`, `b|c${c}-${d}`]);
        assert.deepEqual(replies.sort(), expected.flat().sort(), `client ${c}`);
      });
      assert.equal(proxy.flows, 20);
      assert.equal(proxy.dropped, 0);
    } finally {
      await Promise.all(clients.map(closeSocket));
      await proxy.close();
      await closeSocket(backend);
    }
  });

  Deno.test(`UdpProxy (${engine}): a 65507-byte datagram passes whole both ways, to a host-name endpoint`, async () => {
    const backend = await bound();
    backend.on("message", (msg, rinfo) => backend.send(msg, rinfo.port, rinfo.address));
    const proxy = proxyTo(`localhost:${backend.address().port}`, engine);
    const addr = await proxy.listen();
    const client = await bound();
    const got: Uint8Array[] = [];
    client.on("message", (m) => got.push(new Uint8Array(m)));
    try {
      const big = new Uint8Array(65_507);
      for (let i = 0; i < big.length; i++) big[i] = i % 251;
      client.send(big, addr.port, addr.hostname);
      client.send("small", addr.port, addr.hostname);
      await until(() => got.length >= 2, 3000, "both echoes");
      const sizes = got.map((g) => g.length).sort((a, b) => a - b);
      assert.deepEqual(sizes, [5, 65_507]);
      assert.deepEqual(got.find((g) => g.length === 65_507), big);
    } finally {
      await closeSocket(client);
      await proxy.close();
      await closeSocket(backend);
    }
  });

  Deno.test(`openDatagramSocket (${engine}): receives with the sender's address, sends, reports a denied send`, async () => {
    const got: [string, string, number][] = [];
    const socket = await openDatagramSocket({
      host: "127.0.0.1",
      port: 0,
      engine,
      onMessage: (data, address, port) => got.push([decoder.decode(data), address, port]),
    });
    const peer = await bound();
    const back: string[] = [];
    peer.on("message", (m) => back.push(decoder.decode(m)));
    const errors: string[] = [];
    try {
      peer.send("hi", socket.address.port, "127.0.0.1");
      await until(() => got.length === 1, 2000, "the datagram");
      assert.deepEqual(got, [["hi", "127.0.0.1", peer.address().port]]);
      const to: Deno.NetAddr = {
        transport: "udp",
        hostname: "127.0.0.1",
        port: peer.address().port,
      };
      socket.send(new TextEncoder().encode("ho"), to, (e) => e && errors.push(e.message));
      await until(() => back.length === 1, 2000, "the answer");
      assert.deepEqual(back, ["ho"]);
      // 192.0.2.1 (TEST-NET-1) is not granted to the test: the send fails, told to the callback
      socket.send(new Uint8Array(1), { transport: "udp", hostname: "192.0.2.1", port: 9 }, (e) => {
        if (e) errors.push(e.message);
      });
      await until(() => errors.length === 1, 2000, "the denied send");
      assert.equal(errors.length, 1, "the one failed send, and not the good one");
    } finally {
      await socket.close();
      await closeSocket(peer);
    }
  });
}

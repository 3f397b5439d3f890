/**
 * UDP flows answer only from the endpoint (issue 16 item 3): a datagram sent
 * to a flow's upstream socket from any other address is dropped, whether the
 * endpoint is written as an IP or as a host name. The stranger sends from
 * 127.0.0.2 with the endpoint's own port, so only the address tells them apart.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import { udpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { UdpProxy } from "../../src/proxy/udp/server.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

async function bound(host: string, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, host, () => resolve());
  });
  return s;
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const host of ["127.0.0.1", "localhost"]) {
  Deno.test(`UdpProxy drops datagrams from strangers to a flow's socket (endpoint ${host})`, async () => {
    const backend = await bound("127.0.0.1");
    const port = backend.address().port;
    let upstream: { address: string; port: number } | null = null;
    backend.on("message", (msg, rinfo) => {
      upstream = { address: rinfo.address, port: rinfo.port };
      backend.send(encoder.encode(`b|${decoder.decode(msg)}`), rinfo.port, rinfo.address);
    });
    const stranger = await bound("127.0.0.2", port);
    const base = udpListener("127.0.0.1:0", [[`${host}:${port}`]]);
    const spec = {
      ...base,
      cluster: { ...base.cluster, health: { ...base.cluster.health, active: false } },
    };
    const proxy = new UdpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
    const addr = await proxy.listen();
    const client = await bound("127.0.0.1");
    const got: string[] = [];
    client.on("message", (msg) => got.push(decoder.decode(msg)));
    try {
      client.send(encoder.encode("hello"), addr.port, "127.0.0.1");
      await until(() => got.includes("b|hello"), 3000, "the first reply");
      const to = upstream!;
      stranger.send(encoder.encode(`STRANGER-127.0.0.2`), to.port, to.address);
      await new Promise((r) => setTimeout(r, 150));
      client.send(encoder.encode("again"), addr.port, "127.0.0.1");
      await until(() => got.includes("b|again"), 3000, "the second reply");
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(got, ["b|hello", "b|again"]);
    } finally {
      await proxy.close();
      await Promise.all([closeSocket(client), closeSocket(stranger), closeSocket(backend)]);
    }
  });
}

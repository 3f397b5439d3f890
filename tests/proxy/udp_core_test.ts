import assert from "node:assert/strict";
import dgram from "node:dgram";
import { type UdpListenerSpec } from "../../src/config/schema.ts";
import { udpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";

import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { UdpProxy } from "../../src/proxy/udp/server.ts";
import { runtimeOf } from "../../src/pool/clock.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

const decoder = new TextDecoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` every 10 ms, failing after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

function family(host: string): "udp4" | "udp6" {
  return host.includes(":") ? "udp6" : "udp4";
}

async function bound(host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(family(host));
  await new Promise<void>((resolve) => s.bind(0, host, () => resolve()));
  return s;
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** A backend that answers each datagram with `replies` datagrams `id|payload` (or the raw payload). */
class UdpBackend {
  readonly id: string;
  readonly socket: dgram.Socket;
  received = 0;

  private constructor(id: string, socket: dgram.Socket) {
    this.id = id;
    this.socket = socket;
  }

  static async start(
    id: string,
    options: { host?: string; replies?: number; raw?: boolean } = {},
  ): Promise<UdpBackend> {
    const host = options.host ?? "127.0.0.1";
    const b = new UdpBackend(id, await bound(host));
    const prefix = new TextEncoder().encode(`${id}|`);
    b.socket.on("message", (msg, rinfo) => {
      b.received++;
      const reply = options.raw ? msg : new Uint8Array([...prefix, ...msg]);
      for (let i = 0; i < (options.replies ?? 1); i++) {
        b.socket.send(reply, rinfo.port, rinfo.address);
      }
    });
    return b;
  }

  get address(): string {
    const { address, port } = this.socket.address();
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  }

  close(): Promise<void> {
    return closeSocket(this.socket);
  }
}

/** A client socket that records every datagram it gets. */
class Client {
  readonly socket: dgram.Socket;
  readonly got: Uint8Array[] = [];

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on("message", (m) => this.got.push(new Uint8Array(m)));
  }

  static async open(host = "127.0.0.1"): Promise<Client> {
    return new Client(await bound(host));
  }

  send(data: string | Uint8Array, to: Deno.NetAddr): void {
    this.socket.send(data, to.port, to.hostname);
  }

  get texts(): string[] {
    return this.got.map((m) => decoder.decode(m));
  }

  close(): Promise<void> {
    return closeSocket(this.socket);
  }
}

function spec(tiers: string[][], overrides: Partial<UdpListenerSpec> = {}, host = "127.0.0.1") {
  const base = udpListener(host.includes(":") ? `[${host}]:0` : `${host}:0`, tiers, overrides);
  return {
    ...base,
    cluster: {
      ...base.cluster,
      policy: "round-robin" as const,
      health: { ...base.cluster.health, active: false },
    },
  };
}

Deno.test("UdpProxy: 100 clients x 20 datagrams, every reply reaches its own client, each client sticks to one endpoint", async () => {
  const a = await UdpBackend.start("A");
  const b = await UdpBackend.start("B");
  const s = spec([[a.address, b.address]]);
  const proxy = new UdpProxy(s, new Cluster(s.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const clients: Client[] = [];
  try {
    for (let c = 0; c < 100; c++) clients.push(await Client.open());
    for (let seq = 0; seq < 20; seq++) {
      for (let c = 0; c < 100; c++) clients[c].send(`c${c}-${seq}`, addr);
    }
    await until(() => clients.every((c) => c.got.length >= 20), 5000, "2000 replies");
    const perEndpoint = { A: 0, B: 0 };
    clients.forEach((client, c) => {
      const texts = client.texts;
      assert.equal(texts.length, 20, `client ${c} got exactly its 20 replies`);
      const ids = new Set(texts.map((t) => t.split("|")[0]));
      assert.equal(ids.size, 1, `client ${c} stayed on one endpoint, saw ${[...ids]}`);
      perEndpoint[[...ids][0] as "A" | "B"]++;
      const payloads = texts.map((t) => t.split("|")[1]).sort();
      const expected = Array.from({ length: 20 }, (_, seq) => `c${c}-${seq}`).sort();
      assert.deepEqual(payloads, expected, `client ${c} got only its own replies`);
    });
    assert.deepEqual(perEndpoint, { A: 50, B: 50 });
    assert.equal(proxy.flows, 100);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("UdpProxy relays every reply to one datagram, not only the first", async () => {
  const a = await UdpBackend.start("A", { replies: 3 });
  const s = spec([[a.address]]);
  const cluster = new Cluster(s.cluster, SYSTEM_RUNTIME);
  const proxy = new UdpProxy(s, cluster);
  const addr = await proxy.listen();
  const client = await Client.open();
  try {
    client.send("one", addr);
    client.send("two", addr);
    await until(() => client.got.length >= 6, 2000, "six replies");
    await delay(50);
    assert.deepEqual(client.texts.sort(), ["A|one", "A|one", "A|one", "A|two", "A|two", "A|two"]);
    assert.equal(cluster.sites[0][0].inFlight, 1, "the flow holds its endpoint");
  } finally {
    await client.close();
    await proxy.close();
    await a.close();
  }
  // The flow's lease accounted its bytes when the flow ended.
  const [[e]] = cluster.sites;
  assert.deepEqual([e.inFlight, e.requests, e.rxBytes, e.txBytes], [0, 1, 6, 30]);
});

for (
  const [host, size] of [["127.0.0.1", 60 * 1024], ["::1", 60 * 1024], [
    "127.0.0.1",
    65_507,
  ]] as const
) {
  Deno.test(`UdpProxy passes ${size}-byte datagrams whole both ways (${host})`, async () => {
    const a = await UdpBackend.start("A", { host, raw: true });
    const s = spec([[a.address]], {}, host);
    const proxy = new UdpProxy(s, new Cluster(s.cluster, SYSTEM_RUNTIME));
    const addr = await proxy.listen();
    const client = await Client.open(host);
    try {
      const big = new Uint8Array(size);
      for (let i = 0; i < big.length; i++) big[i] = i % 251;
      client.send(big, addr);
      await until(() => client.got.length >= 1, 2000, "the echo");
      assert.equal(client.got[0].length, big.length);
      assert.deepEqual(client.got[0], big);
    } finally {
      await client.close();
      await proxy.close();
      await a.close();
    }
  });
}

Deno.test("UdpProxy forgets a flow after flowIdleMs; the client's next datagram picks again (fake clock)", async () => {
  const a = await UdpBackend.start("A");
  const b = await UdpBackend.start("B");
  const clock = new FakeClock();
  const s = spec([[a.address, b.address]], { flowIdleMs: 200 });
  const cluster = new Cluster(s.cluster, runtimeOf(clock));
  const proxy = new UdpProxy(s, cluster, { clock });
  const addr = await proxy.listen();
  const client = await Client.open();
  try {
    for (let i = 0; i < 5; i++) {
      client.send(`x${i}`, addr);
      await until(() => client.got.length > i, 2000, `reply ${i}`);
      await clock.advance(60); // traffic keeps the flow alive past flowIdleMs
    }
    assert.equal(proxy.flows, 1, "an active flow is kept");
    assert.deepEqual(new Set(client.texts.map((t) => t[0])), new Set(["A"]));
    const quietFrom = clock.now();
    await clock.advanceUntil(() => proxy.flows === 0, 1_000, "the flow to expire");
    const quiet = clock.now() - quietFrom;
    assert.ok(quiet >= 200 - 60 && quiet <= 200 + 50, `expired after ${quiet} ms quiet`);
    assert.deepEqual(cluster.endpoints.map((e) => e.inFlight), [0, 0]);
    client.send("again", addr);
    await until(() => client.got.length >= 6, 2000, "the reply on a new flow");
    assert.equal(client.texts[5], "B|again", "a new flow, picked by round-robin");
  } finally {
    await client.close();
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("UdpProxy drops datagrams of new clients when maxFlows flows are open", async () => {
  const a = await UdpBackend.start("A");
  const s = spec([[a.address]], { maxFlows: 2 });
  const proxy = new UdpProxy(s, new Cluster(s.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const clients = [await Client.open(), await Client.open(), await Client.open()];
  try {
    clients[0].send("0", addr);
    clients[1].send("1", addr);
    await until(() => clients[0].got.length + clients[1].got.length >= 2, 2000, "two replies");
    clients[2].send("2", addr);
    clients[0].send("0b", addr);
    await until(() => clients[0].got.length >= 2, 2000, "the open flow still served");
    await delay(100);
    assert.equal(clients[2].got.length, 0, "the third client was dropped");
    assert.equal(proxy.dropped, 1);
    assert.equal(proxy.flows, 2);
    assert.equal(a.received, 3);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.close();
    await a.close();
  }
});

Deno.test("UdpProxy.listen() rejects an address it may not bind instead of crashing", async () => {
  const s = spec([["127.0.0.1:53"]]);
  const proxy = new UdpProxy({ ...s, hostname: "0.0.0.0" }, new Cluster(s.cluster, SYSTEM_RUNTIME));
  await assert.rejects(proxy.listen(), Deno.errors.NotCapable);
  await proxy.close();
});

Deno.test("UdpProxy drops a flow whose upstream socket may not bind, and keeps serving", async () => {
  const a = await UdpBackend.start("A");
  // 10.0.0.1 needs a wildcard bind, which the test permissions do not grant.
  const s = spec([["10.0.0.1:53", a.address]]);
  const cluster = new Cluster(s.cluster, SYSTEM_RUNTIME);
  const proxy = new UdpProxy(s, cluster);
  const addr = await proxy.listen();
  const [first, second] = [await Client.open(), await Client.open()];
  try {
    first.send("lost", addr); // round-robin: 10.0.0.1
    await until(() => proxy.dropped === 1, 2000, "the unbindable flow's datagram to be dropped");
    assert.equal(proxy.flows, 0);
    assert.equal(cluster.sites[0][0].failures, 0, "not the endpoint's fault");
    second.send("kept", addr); // round-robin: A
    await until(() => second.got.length >= 1, 2000, "the reply");
    assert.deepEqual(second.texts, ["A|kept"]);
  } finally {
    await Promise.all([first.close(), second.close()]);
    await proxy.close();
    await a.close();
  }
});

Deno.test("UdpProxy moves a flow off an endpoint that went down: the next datagram picks again (fake clock)", async () => {
  const a = await UdpBackend.start("A");
  const b = await UdpBackend.start("B");
  const clock = new FakeClock();
  const s = spec([[a.address, b.address]], { flowIdleMs: 10_000 });
  const cluster = new Cluster(s.cluster, runtimeOf(clock));
  const proxy = new UdpProxy(s, cluster, { clock });
  const addr = await proxy.listen();
  const client = await Client.open();
  try {
    client.send("1", addr);
    await until(() => client.got.length >= 1, 2000, "the first reply");
    cluster.reportTransportFailure(cluster.sites[0][0]); // A ejected (probes off)
    await clock.advanceUntil(() => proxy.flows === 0, 1_000, "the flow on A to go", 250);
    client.send("2", addr);
    await until(() => client.got.length >= 2, 2000, "the second reply");
    assert.deepEqual(client.texts, ["A|1", "B|2"]);
  } finally {
    await client.close();
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("UdpProxy.close(grace): open flows keep relaying while new clients get nothing; ends when the flows go idle (fake clock)", async () => {
  const a = await UdpBackend.start("A");
  const clock = new FakeClock();
  const s = spec([[a.address]], { flowIdleMs: 150 });
  const proxy = new UdpProxy(s, new Cluster(s.cluster, runtimeOf(clock)), { clock });
  const addr = await proxy.listen();
  const old = await Client.open(), fresh = await Client.open();
  try {
    old.send("before", addr);
    await until(() => old.got.length === 1, 2000, "the first reply");
    const t0 = clock.now();
    let closed = false;
    const closing = proxy.close(5_000).then(() => closed = true);
    old.send("during", addr);
    fresh.send("new", addr);
    await until(() => old.got.length === 2, 2000, "a reply while draining");
    await clock.advanceUntil(() => closed, 5_000, "the drain");
    await closing;
    const took = clock.now() - t0;
    assert.ok(
      took < 1_000,
      `the drain ends when the flow went idle (${took} ms), not at the grace`,
    );
    assert.equal(fresh.got.length, 0, "no new flow while draining");
    assert.equal(proxy.stats().connections, 0);
  } finally {
    await Promise.all([old.close(), fresh.close()]);
    await proxy.close();
    await a.close();
  }
});

Deno.test("UdpProxy forgets an idle flow on the wall clock (smoke)", async () => {
  const a = await UdpBackend.start("A");
  const s = spec([[a.address]], { flowIdleMs: 40 });
  const proxy = new UdpProxy(s, new Cluster(s.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const client = await Client.open();
  try {
    client.send("x", addr);
    await until(() => client.got.length === 1, 2000, "the reply");
    const t0 = Date.now();
    await until(() => proxy.flows === 0, 2000, "the flow to expire");
    assert.ok(Date.now() - t0 >= 20, `expired after ${Date.now() - t0} ms`);
  } finally {
    await client.close();
    await proxy.close();
    await a.close();
  }
});

import assert from "node:assert/strict";
import { type ClusterSpec, type TcpListenerSpec } from "../../src/config/schema.ts";
import { tcpListener } from "../../src/config/builders.ts";
import { HealthChecker } from "../../src/health/checker.ts";
import { probeTcp } from "../../src/health/tcp_probe.ts";
import { Cluster } from "../../src/balance/cluster.ts";

import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { TcpProxy } from "../../src/proxy/tcp/server.ts";
import { runtimeOf, SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

const encoder = new TextEncoder();
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

/** A loopback TCP backend running `handle` for every connection. */
class Backend {
  readonly id: string;
  readonly listener: Deno.TcpListener;
  readonly conns = new Set<Deno.TcpConn>();
  accepted = 0;
  readonly #handled: Promise<void>[] = [];
  readonly #loop: Promise<void>;

  constructor(
    id: string,
    handle: (conn: Deno.TcpConn, backend: Backend) => Promise<void>,
    address: { hostname?: string; port?: number } = {},
  ) {
    this.id = id;
    const listener = Deno.listen({
      hostname: address.hostname ?? "127.0.0.1",
      port: address.port ?? 0,
    });
    this.listener = listener;
    this.#loop = (async () => {
      for (let i = 0; i < 10_000; i++) {
        let conn: Deno.TcpConn;
        try {
          conn = await listener.accept();
        } catch {
          return;
        }
        this.accepted++;
        this.conns.add(conn);
        this.#handled.push(
          handle(conn, this).catch(() => {}).finally(() => {
            this.conns.delete(conn);
            try {
              conn.close();
            } catch {
              // closed by the handler
            }
          }),
        );
      }
    })();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  get address(): string {
    const h = this.listener.addr.hostname;
    return h.includes(":") ? `[${h}]:${this.port}` : `${h}:${this.port}`;
  }

  async close(): Promise<void> {
    try {
      this.listener.close();
    } catch {
      // closed already
    }
    await this.#loop;
    for (const c of this.conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await Promise.all(this.#handled);
  }
}

/** Says its id, then holds the connection until the client ends it (echoing anything). */
async function sayIdAndEcho(conn: Deno.TcpConn, b: Backend): Promise<void> {
  await conn.write(encoder.encode(b.id));
  const buf = new Uint8Array(1024);
  for (let i = 0; i < 10_000; i++) {
    const n = await conn.read(buf);
    if (n === null) return;
    await conn.write(buf.subarray(0, n));
  }
}

/** Reads exactly `n` bytes (or fewer at end of stream) as text, within `ms`. */
async function readN(conn: Deno.Conn, n: number, ms = 2000): Promise<string> {
  const buf = new Uint8Array(n);
  let got = 0;
  const timer = setTimeout(() => conn.close(), ms);
  try {
    while (got < n) {
      const r = await conn.read(buf.subarray(got));
      if (r === null) break;
      got += r;
    }
  } finally {
    clearTimeout(timer);
  }
  return decoder.decode(buf.subarray(0, got));
}

/** Resolves true when the peer ends the connection within `ms`, false if it stays open. */
async function endsWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(1024);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, ms);
  try {
    for (let i = 0; i < 1000; i++) if ((await conn.read(buf)) === null) break;
  } catch {
    // reset by the peer, or closed by the timer
  } finally {
    clearTimeout(timer);
  }
  return !timedOut;
}

function closeQuietly(...conns: Deno.Conn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // closed already
    }
  }
}

function l4(
  tiers: string[][],
  overrides: Partial<TcpListenerSpec> = {},
  cluster: Partial<ClusterSpec> = {},
  sites: { maxConnections?: number; forcePromotionAfterMs?: number }[] = [],
): TcpListenerSpec {
  const base = tcpListener("127.0.0.1:0", tiers, overrides);
  return {
    ...base,
    connectMs: 1000,
    ...overrides,
    cluster: {
      ...base.cluster,
      health: { ...base.cluster.health, active: false, ejectMs: 10_000 },
      ...cluster,
      sites: base.cluster.sites.map((s, i) => ({ ...s, ...sites[i] })),
    },
  };
}

async function connect(addr: Deno.NetAddr): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: addr.hostname, port: addr.port });
}

Deno.test("TcpProxy keeps half-close: 100 kB each way, the reply comes after the client's EOF", async () => {
  const size = 100_000;
  const backend = new Backend("A", async (conn) => {
    const buf = new Uint8Array(65536);
    let got = 0;
    for (let i = 0; i < 10_000; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += n;
    }
    const reply = new Uint8Array(size).fill(got === size ? 0x6f : 0x78); // 'o' only if all arrived
    let off = 0;
    while (off < reply.length) off += await conn.write(reply.subarray(off));
    await conn.closeWrite();
  });
  const spec = l4([[backend.address]]);
  const cluster = new Cluster(spec.cluster, SYSTEM_RUNTIME);
  const proxy = new TcpProxy(spec, cluster);
  const addr = await proxy.listen();
  const client = await connect(addr);
  try {
    const data = new Uint8Array(size).fill(0x61);
    let off = 0;
    while (off < size) off += await client.write(data.subarray(off));
    await client.closeWrite();
    const reply = await readN(client, size + 1, 5000);
    assert.equal(reply.length, size);
    assert.equal(reply, "o".repeat(size));
  } finally {
    closeQuietly(client);
    await proxy.close();
    await backend.close();
  }
  // The connection's lease accounted it on the endpoint.
  const [[e]] = cluster.sites;
  assert.deepEqual([e.inFlight, e.requests, e.rxBytes, e.txBytes], [0, 1, size, size]);
  assert.equal(e.durationCounts.reduce((x, y) => x + y, 0), 1, "its duration observed");
});

Deno.test("TcpProxy with round-robin uses both endpoints in turn", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const b = new Backend("B", sayIdAndEcho);
  const spec = l4([[a.address, b.address]], {}, { policy: "round-robin" });
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  try {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect(addr);
      seen.push(await readN(c, 1));
      closeQuietly(c);
    }
    assert.deepEqual(seen, ["A", "B", "A", "B"]);
  } finally {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("TcpProxy retries a refused connect on another endpoint: after a kill, ten connections in a row succeed", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const k = new Backend("K", sayIdAndEcho);
  const spec = l4([[k.address, a.address]], { maxAttempts: 2 }, { policy: "round-robin" });
  const cluster = new Cluster(spec.cluster, SYSTEM_RUNTIME);
  const proxy = new TcpProxy(spec, cluster);
  const addr = await proxy.listen();
  try {
    const before = [];
    for (let i = 0; i < 2; i++) {
      const c = await connect(addr);
      before.push(await readN(c, 1));
      closeQuietly(c);
    }
    assert.deepEqual(before, ["K", "A"]);
    await k.close(); // killed: its port now refuses
    for (let i = 0; i < 10; i++) {
      const c = await connect(addr);
      assert.equal(await readN(c, 1), "A", `connection ${i} after the kill`);
      closeQuietly(c);
    }
    const killed = cluster.sites[0][0];
    assert.equal(killed.failures, 1, "passively ejected after its first failure");
    assert.ok(!killed.isAvailable(Date.now()));
  } finally {
    await proxy.close();
    await a.close();
  }
});

Deno.test("TcpProxy idle timeout closes an idle connection and keeps an active one (fake clock)", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const clock = new FakeClock();
  const spec = l4([[a.address]], { idleMs: 300 });
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, runtimeOf(clock)), { clock });
  const addr = await proxy.listen();
  const idle = await connect(addr);
  const active = await connect(addr);
  try {
    assert.equal(await readN(idle, 1), "A");
    assert.equal(await readN(active, 1), "A");
    const idleEnded = endsWithin(idle, 1500);
    for (let i = 0; i < 9; i++) {
      await active.write(encoder.encode("x"));
      assert.equal(await readN(active, 1), "x", `echo ${i} while active`);
      await clock.advance(100);
      if (i === 1) assert.equal(proxy.closedBy.idle, 0, "not idle for 300 ms yet");
    }
    assert.equal(await idleEnded, true, "idle connection was closed");
    assert.equal(proxy.closedBy.idle, 1);
    assert.equal(proxy.connections, 1);
  } finally {
    closeQuietly(idle, active);
    await proxy.close();
    await a.close();
  }
});

Deno.test("TcpProxy fills tier 0 up to its cap, spills to tier 1, and returns to tier 0 when a slot frees", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const b = new Backend("B", sayIdAndEcho);
  const spec = l4([[a.address], [b.address]], {}, {}, [{ maxConnections: 2 }]);
  const cluster = new Cluster(spec.cluster, SYSTEM_RUNTIME);
  const proxy = new TcpProxy(spec, cluster);
  const addr = await proxy.listen();
  const conns: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 3; i++) conns.push(await connect(addr));
    const ids = [];
    for (const c of conns) ids.push(await readN(c, 1));
    assert.deepEqual(ids, ["A", "A", "B"]);
    closeQuietly(conns[0]);
    await until(() => cluster.sites[0][0].inFlight === 1, 2000, "the tier 0 slot to free");
    const next = await connect(addr);
    conns.push(next);
    assert.equal(await readN(next, 1), "A");
  } finally {
    closeQuietly(...conns);
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

/**
 * Forced promotion: a tier 1 connection is closed once tier 0 is back for
 * `afterMs` (within the smear), on the fake clock or, with `clock` null, the wall clock.
 */
async function forcedPromotion(clock: FakeClock | null, afterMs: number, smearMs: number) {
  const probeA = new Backend("A", sayIdAndEcho);
  const aPort = probeA.port;
  await probeA.close(); // tier 0 is down at first
  const b = new Backend("B", sayIdAndEcho);
  const spec = l4(
    [[`127.0.0.1:${aPort}`], [b.address]],
    {},
    {
      health: {
        ...tcpListener(":0", []).cluster.health,
        active: true,
        intervalMs: 20,
        timeoutMs: 500,
      },
    },
    [{}, { forcePromotionAfterMs: afterMs }],
  );
  const time = clock ?? SYSTEM_CLOCK;
  const wait = clock === null ? until : clock.advanceUntil.bind(clock);
  const runtime = runtimeOf(time);
  const cluster = new Cluster(spec.cluster, runtime);
  const checker = new HealthChecker(
    cluster,
    runtime,
    () => {},
    (e, signal) => probeTcp(e.spec, { timeoutMs: 500, signal }),
    time,
  );
  await checker.start();
  const proxy = new TcpProxy(spec, cluster, {
    promotionSmearMs: smearMs,
    sweepMs: 10,
    clock: time,
  });
  const addr = await proxy.listen();
  let a: Backend | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    const onB = await connect(addr);
    conns.push(onB);
    assert.equal(await readN(onB, 1), "B");
    a = new Backend("A", sayIdAndEcho, { port: aPort });
    await wait(() => cluster.sites[0][0].health.status === "up", 2_000, "tier 0 to come up");
    const upAt = time.now();
    await wait(() => proxy.closedBy.promote === 1, 2_000, "the promotion");
    const waited = time.now() - upAt;
    assert.ok(waited >= afterMs, `closed after ${waited} ms, before forcePromotionAfterMs`);
    if (clock !== null) {
      assert.ok(waited <= afterMs + smearMs + 20, `closed after ${waited} ms, beyond the smear`);
    }
    assert.equal(await endsWithin(onB, 2500), true, "the tier 1 connection was closed");
    const again = await connect(addr);
    conns.push(again);
    assert.equal(await readN(again, 1), "A", "the reconnect lands on tier 0");
  } finally {
    closeQuietly(...conns);
    await checker.stop();
    await proxy.close();
    await Promise.all([a?.close(), b.close()]);
  }
}

Deno.test("TcpProxy forced promotion closes a tier 1 connection once tier 0 is back for forcePromotionAfterMs (fake clock)", async () => {
  await forcedPromotion(new FakeClock(), 300, 100);
});

Deno.test("TcpProxy forced promotion on the wall clock (smoke)", async () => {
  await forcedPromotion(null, 60, 20);
});

Deno.test("TcpProxy drains a disabled endpoint within the smear: its connection is closed, the other stays (fake clock)", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const b = new Backend("B", sayIdAndEcho);
  const clock = new FakeClock();
  const spec = l4([[a.address, b.address]], {}, { policy: "round-robin" });
  const cluster = new Cluster(spec.cluster, runtimeOf(clock));
  const proxy = new TcpProxy(spec, cluster, { drainSmearMs: 200, sweepMs: 25, clock });
  const addr = await proxy.listen();
  const onA = await connect(addr);
  const onB = await connect(addr);
  const conns = [onA, onB];
  try {
    assert.equal(await readN(onA, 1), "A");
    assert.equal(await readN(onB, 1), "B");
    const [ea, eb] = spec.cluster.sites[0].endpoints;
    cluster.update({
      ...spec.cluster,
      sites: [{ ...spec.cluster.sites[0], endpoints: [{ ...ea, disabled: true }, eb] }],
    });
    const disabledAt = clock.now();
    await clock.advanceUntil(() => proxy.closedBy.drain === 1, 1_000, "the drain", 25);
    const took = clock.now() - disabledAt;
    assert.ok(
      took <= 200 + 50,
      `shed ${took} ms after the endpoint was disabled: the smear is 200 ms`,
    );
    assert.equal(
      await endsWithin(onA, 1500),
      true,
      "the disabled endpoint's connection was closed",
    );
    assert.equal(proxy.closedBy.drain, 1);
    await onB.write(encoder.encode("y"));
    assert.equal(await readN(onB, 1), "y", "the other connection still relays");
    for (let i = 0; i < 3; i++) {
      const c = await connect(addr);
      conns.push(c);
      assert.equal(await readN(c, 1), "B", `new connection ${i} avoids the disabled endpoint`);
    }
  } finally {
    closeQuietly(...conns);
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("TcpProxy closes clients over its maxConnections at accept", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const spec = l4([[a.address]], { maxConnections: 1 });
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const first = await connect(addr);
  const conns = [first];
  try {
    assert.equal(await readN(first, 1), "A");
    const second = await connect(addr);
    conns.push(second);
    assert.equal(await endsWithin(second, 1000), true, "the second client is closed");
    assert.equal(a.accepted, 1);
  } finally {
    closeQuietly(...conns);
    await proxy.close();
    await a.close();
  }
});

Deno.test("TcpProxy.close(graceMs) stops accepting, lets connections run for graceMs, then closes them (fake clock)", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const clock = new FakeClock();
  const spec = l4([[a.address]]);
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, runtimeOf(clock)), { clock });
  const addr = await proxy.listen();
  const client = await connect(addr);
  try {
    assert.equal(await readN(client, 1), "A");
    let closed = false;
    const t0 = clock.now();
    const closing = proxy.close(300).then(() => closed = true);
    await clock.advance(100);
    await assert.rejects(connect(addr), Deno.errors.ConnectionRefused);
    await client.write(encoder.encode("z"));
    assert.equal(await readN(client, 1), "z", "still relaying during the grace period");
    await clock.advance(199);
    assert.equal(closed, false, "the grace period is not over");
    await clock.advanceUntil(() => closed, 100, "the close", 1);
    assert.ok(clock.now() - t0 >= 300, `closed after ${clock.now() - t0} ms`);
    await closing;
    assert.equal(await endsWithin(client, 1000), true);
    assert.equal(proxy.connections, 0);
  } finally {
    closeQuietly(client);
    await proxy.close();
    await a.close();
  }
});

Deno.test("TcpProxy.close(graceMs) on the wall clock: a connection outliving the grace is cut (smoke)", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const spec = l4([[a.address]]);
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const client = await connect(addr);
  try {
    assert.equal(await readN(client, 1), "A");
    const t0 = Date.now();
    await proxy.close(50);
    assert.ok(Date.now() - t0 >= 45, `closed after ${Date.now() - t0} ms`);
    assert.equal(await endsWithin(client, 1000), true);
  } finally {
    closeQuietly(client);
    await a.close();
  }
});

Deno.test("TcpProxy idle timeout on the wall clock (smoke)", async () => {
  const a = new Backend("A", sayIdAndEcho);
  const spec = l4([[a.address]], { idleMs: 50 });
  const proxy = new TcpProxy(spec, new Cluster(spec.cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const idle = await connect(addr);
  try {
    assert.equal(await readN(idle, 1), "A");
    const t0 = Date.now();
    assert.equal(await endsWithin(idle, 1500), true, "idle connection was closed");
    assert.ok(Date.now() - t0 >= 45, `closed after ${Date.now() - t0} ms`);
    assert.equal(proxy.closedBy.idle, 1);
  } finally {
    closeQuietly(idle);
    await proxy.close();
    await a.close();
  }
});

import assert from "node:assert/strict";
import { startHarness } from "../fixtures/harness.ts";
import { HttpPeer, startNamedBackend } from "../_helpers/http.ts";
import { tcpListener } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { SYSTEM_RUNTIME } from "../../src/pool/runtime.ts";
import { TcpProxy } from "../../src/proxy/tcp/server.ts";
import { BufferPool } from "../../src/proxy/buffers.ts";
import { ScratchPool } from "../../src/proxy/http/scratch.ts";
import { BufferedSocket } from "../../src/proxy/socket.ts";
import {
  collector,
  GC_HINT_MIN_DROP,
  GC_HINT_MIN_GAP_MS,
  GcHint,
} from "../../src/proxy/gc_hint.ts";

/** Polls `cond` every 10 ms, failing after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("HTTP: a keep-alive connection waiting for its next request gives its working memory back", async () => {
  await using backend = startNamedBackend("A");
  await using h = await startHarness([[backend.url]]);
  const peers: HttpPeer[] = [];
  try {
    for (let i = 0; i < 3; i++) peers.push(await HttpPeer.connect(h.port));
    assert.equal(h.proxy.pooledScratchBytes, 0, "connections that sent nothing took none");
    for (const p of peers) {
      await p.write("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
      assert.equal((await p.readResponse()).status, 200);
    }
    // All three stay open and idle: each one's scratch is back in the pool.
    await until(() => h.proxy.pooledScratchBytes > 0, 2000, "a scratch back in the pool");
    const one = h.proxy.pooledScratchBytes;
    // Reused for the next request (taken, then given back), not allocated anew.
    await peers[0].write("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.equal((await peers[0].readResponse()).text(), "A:/b");
    await until(() => h.proxy.pooledScratchBytes === one, 2000, "the scratch back again");
    assert.equal(h.proxy.connections, 3);
  } finally {
    for (const p of peers) p.close();
  }
});

Deno.test("HTTP: request heads larger than the idle buffer and the first scratch buffer are read whole", async () => {
  await using backend = startNamedBackend("A");
  await using h = await startHarness([[backend.url]]);
  const peer = await HttpPeer.connect(h.port);
  try {
    const long = "x".repeat(6000);
    await peer.write(`GET /${long} HTTP/1.1\r\nHost: t\r\nX-Pad: ${long}\r\n\r\n`);
    assert.equal((await peer.readResponse()).text(), `A:/${long}`);
    const pad = "y".repeat(7000); // 35 KB of header lines: past the 16 KiB first buffer
    const lines = Array.from({ length: 5 }, (_, i) => `X-Pad-${i}: ${pad}\r\n`).join("");
    await peer.write(`GET /big HTTP/1.1\r\nHost: t\r\n${lines}\r\n`);
    assert.equal((await peer.readResponse()).text(), "A:/big");
    await peer.write("GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.equal((await peer.readResponse()).text(), "A:/c");
  } finally {
    peer.close();
  }
});

Deno.test("TCP: a side that moved a burst gives its big buffer back once reads are small again", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let i = 0; i < 10_000; i++) {
        const n = await conn.read(buf);
        if (n === null) break;
        await conn.write(buf.subarray(0, n));
      }
    } catch {
      // closed by the proxy
    }
    conn.close();
  })();
  const spec = tcpListener("127.0.0.1:0", [[`127.0.0.1:${listener.addr.port}`]]);
  const cluster = { ...spec.cluster, health: { ...spec.cluster.health, active: false } };
  const proxy = new TcpProxy({ ...spec, cluster }, new Cluster(cluster, SYSTEM_RUNTIME));
  const addr = await proxy.listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  try {
    const burst = new Uint8Array(256 * 1024).fill(7);
    const buf = new Uint8Array(64 * 1024);
    const readAll = async (n: number) => {
      for (let got = 0; got < n;) {
        const r = await client.read(buf);
        assert.notEqual(r, null);
        got += r!;
      }
    };
    await Promise.all([
      client.write(burst).then(async (w) => {
        for (let off = w; off < burst.length;) off += await client.write(burst.subarray(off));
      }),
      readAll(burst.length),
    ]);
    assert.equal(proxy.buffers.free, 0, "the burst moved both sides to big buffers");
    await client.write(new Uint8Array([1]));
    await readAll(1);
    await client.write(new Uint8Array([2]));
    await readAll(1);
    await until(() => proxy.buffers.free === 2, 2000, "both big buffers back in the pool");
  } finally {
    client.close();
    await proxy.close();
    listener.close();
    await echo;
  }
});

Deno.test("Pools drop what they keep once nothing was taken for the quiet period, not before", () => {
  const buffers = new BufferPool(1024, 8 * 1024);
  buffers.release(buffers.acquire());
  buffers.trimIdle(1_000, 5_000); // first look: the take just happened
  buffers.trimIdle(5_999, 5_000);
  assert.equal(buffers.free, 1, "kept while the quiet period runs");
  buffers.trimIdle(6_000, 5_000);
  assert.equal(buffers.free, 0, "dropped once quiet for 5 s");
  buffers.release(buffers.acquire()); // a take restarts the quiet period
  buffers.trimIdle(7_000, 5_000);
  buffers.trimIdle(11_999, 5_000);
  assert.equal(buffers.free, 1);

  const scratches = new ScratchPool(8192, 10, 1 << 20);
  scratches.release(scratches.acquire());
  assert.ok(scratches.freeBytes > 0);
  scratches.trimIdle(0, 5_000);
  scratches.trimIdle(4_999, 5_000);
  assert.ok(scratches.freeBytes > 0);
  scratches.trimIdle(5_000, 5_000);
  assert.equal(scratches.freeBytes, 0);
});

Deno.test("BufferedSocket.readRaw hands out the read in flight, else starts one; filled accounts it", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const peer = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await accepted;
  const s = new BufferedSocket(conn, 8);
  try {
    assert.ok(s.readAhead());
    const p = s.readRaw();
    assert.equal(s.readRaw(), p, "the read in flight, not a second one");
    await peer.write(new Uint8Array([1, 2, 3]));
    assert.equal(s.filled(await p), 3);
    assert.equal(s.reading, false);
    assert.deepEqual([...s.buf.subarray(s.start, s.end)], [1, 2, 3]);
    s.start = s.end; // consumed: the next read goes to the front
    const q = s.readRaw();
    await peer.write(new Uint8Array([4]));
    assert.equal(s.filled(await q), 1);
    assert.deepEqual([s.start, s.end, s.buf[0]], [0, 1, 4]);
    s.end = s.buf.length;
    s.start = 0;
    await assert.rejects(s.readRaw(), RangeError, "a full buffer is refused, not read into");
    peer.close();
    s.start = s.end = 0;
    assert.equal(s.filled(await s.readRaw()), null);
    assert.ok(s.eof);
  } finally {
    s.close();
    listener.close();
  }
});

Deno.test("HTTP: heads longer than the small idle buffer, again and again on one connection", async () => {
  await using backend = startNamedBackend("A");
  await using h = await startHarness([[backend.url]]);
  const peer = await HttpPeer.connect(h.port);
  try {
    // 300-700 bytes: past the 256-byte idle buffer, then within the 1 KiB one it moves to.
    for (const pad of [300, 700, 20, 900, 100]) {
      await peer.write(`GET /p${pad} HTTP/1.1\r\nHost: t\r\nX-Pad: ${"z".repeat(pad)}\r\n\r\n`);
      assert.equal((await peer.readResponse()).text(), `A:/p${pad}`);
    }
    // Two pipelined heads in one write, the first longer than the idle buffer.
    await peer.write(
      `GET /one HTTP/1.1\r\nHost: t\r\nX-Pad: ${
        "q".repeat(400)
      }\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n`,
    );
    assert.equal((await peer.readResponse()).text(), "A:/one");
    assert.equal((await peer.readResponse()).text(), "A:/two");
  } finally {
    peer.close();
  }
  await until(() => h.proxy.connections === 0, 2000, "the closed connection forgotten");
});

Deno.test("collector: a full collection without --expose-gc, that frees what nothing references", async () => {
  const gc = collector();
  assert.ok(gc !== null, "node:v8 and node:vm give V8's gc() at run time");
  let garbage: number[] | null = Array.from({ length: 1000 }, (_, i) => i);
  const ref = new WeakRef(garbage);
  garbage = null;
  await new Promise((r) => setTimeout(r, 0)); // a WeakRef holds its target until the job ends
  gc();
  assert.equal(ref.deref(), undefined);
  assert.equal(collector(), gc, "made once");
});

Deno.test("GcHint collects once the connections fell by GC_HINT_MIN_DROP from their peak, at most every GC_HINT_MIN_GAP_MS", () => {
  let runs = 0;
  const last = { at: -Infinity };
  const hint = new GcHint(() => runs++, last);
  assert.equal(hint.sweep(0, 100), false);
  assert.equal(hint.sweep(100, GC_HINT_MIN_DROP + 100), false, "growing");
  assert.equal(hint.sweep(200, 101), false, "one short of the drop");
  assert.equal(hint.sweep(300, 100), true);
  assert.equal(runs, 1);
  // Another wave: up and down again within the gap waits for the gap.
  hint.sweep(400, 5000);
  assert.equal(hint.sweep(500, 0), false, "within the gap");
  assert.equal(
    hint.sweep(300 + GC_HINT_MIN_GAP_MS, 0),
    true,
    "the gap passed: the drop still counts",
  );
  assert.equal(runs, 2);
  assert.equal(hint.sweep(400 + 2 * GC_HINT_MIN_GAP_MS, 0), false, "nothing new went");
  // Listeners share the gap: another listener's hint just ran.
  const other = new GcHint(() => runs++, last);
  other.sweep(0, 4000);
  last.at = 500 + 2 * GC_HINT_MIN_GAP_MS;
  assert.equal(other.sweep(last.at + 1, 0), false);
  assert.equal(new GcHint(null, { at: -Infinity }).sweep(0, 0), false, "no collector: nothing");
});

/**
 * Reload end to end: specs applied in place under load with zero failed
 * requests, live state of endpoints that stay, drain of removed endpoints
 * and listeners, bind-before-close when a listener moves, and a reload that
 * cannot bind leaving everything as it was.
 */

import assert from "node:assert/strict";
import {
  type HealthSpec,
  type HttpListenerSpec,
  type SidecarConfig,
} from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener, tcpListener } from "../../src/config/builders.ts";
import type { HealthEvent } from "../../src/health/checker.ts";
import { planReload } from "../../src/lifecycle/plan.ts";
import { createSidecar, type Sidecar } from "../../src/sidecar.ts";
import {
  delay,
  freePort,
  get,
  halfCloseExchange,
  HttpPeer,
  refuses,
  runLoad,
  startHalfCloseEcho,
  startSlowBackend,
  waitFor,
} from "../_helpers/sidecar.ts";

const HEALTH: HealthSpec = { ...DEFAULT_HEALTH, path: "/health", intervalMs: 300, timeoutMs: 500 };

function http(
  urls: readonly string[],
  options: { port?: number; name?: string; health?: HealthSpec } = {},
): HttpListenerSpec {
  const spec = httpListener(
    `127.0.0.1:${options.port ?? 0}`,
    [urls],
    options.name === undefined ? {} : { name: options.name },
  );
  return { ...spec, cluster: { ...spec.cluster, health: options.health ?? HEALTH } };
}

function endpointOf(sidecar: Sidecar, port: number, listener = 0) {
  return sidecar.stats().listeners[listener].endpoints.find((e) => e.endpoint.endsWith(`:${port}`));
}

Deno.test("reload: 20 reloads between {A,B} and {B,C} under load fail no request; B keeps its state", async () => {
  await using a = startSlowBackend("A");
  await using b = startSlowBackend("B");
  await using c = startSlowBackend("C");
  const events: HealthEvent[] = [];
  const ab: SidecarConfig = { listeners: [http([a.url, b.url])] };
  const bc: SidecarConfig = { listeners: [http([b.url, c.url])] };
  await using sidecar = createSidecar(ab, { onHealthEvent: (e) => events.push(e) });
  const [addr] = await sidecar.start();
  assert.equal(endpointOf(sidecar, b.port)?.status, "up");

  const stop = new AbortController();
  const load = runLoad(addr, { keepAlive: 2, fresh: 2, signal: stop.signal });
  let result;
  let bRequests = 0;
  try {
    for (let i = 0; i < 20; i++) {
      await delay(40);
      const before = endpointOf(sidecar, b.port)!;
      assert.ok(before.requests >= bRequests, "B's counter never goes back");
      bRequests = before.requests;
      await sidecar.reload(i % 2 === 0 ? bc : ab);
      const after = endpointOf(sidecar, b.port)!;
      assert.ok(after.requests >= before.requests, `reload ${i} kept B's counter`);
      assert.equal(after.status, "up", `reload ${i} kept B up`);
      // The endpoint that came in was probed before the reload took effect.
      const added = endpointOf(sidecar, i % 2 === 0 ? c.port : a.port)!;
      assert.equal(added.status, "up", `reload ${i}: the new endpoint is up at once`);
      assert.equal(endpointOf(sidecar, i % 2 === 0 ? a.port : c.port), undefined);
    }
    await delay(40);
  } finally {
    stop.abort();
    result = await load;
  }
  assert.deepEqual(result.failures, [], "no failed request");
  assert.ok(result.ok > 100, `load ran: ${result.ok} requests`);
  for (const name of ["A", "B", "C"]) {
    assert.ok((result.byBackend.get(name) ?? 0) > 0, `${name} served: ${[...result.byBackend]}`);
  }
  const bEvents = events.filter((e) => e.endpoint === `http://127.0.0.1:${b.port}`);
  assert.deepEqual(bEvents.map((e) => e.status), ["up"], "B went up once and never down");
  assert.equal(sidecar.stats().state, "running");
});

Deno.test("reload: a removed endpoint's slow in-flight request completes; new requests go elsewhere", async () => {
  await using a = startSlowBackend("A");
  await using b = startSlowBackend("B");
  await using sidecar = createSidecar({ listeners: [http([a.url])] });
  const [addr] = await sidecar.start();
  const slow = get(addr, "/slow?ms=400");
  await waitFor(() => endpointOf(sidecar, a.port)?.inFlight === 1, 2_000, "slow request on A");
  await sidecar.reload({ listeners: [http([b.url])] });
  assert.equal(endpointOf(sidecar, a.port), undefined, "A left the cluster");
  assert.equal((await get(addr, "/next")).body, "B:/next");
  assert.deepEqual(await slow, { status: 200, body: "A:/slow?ms=400" });
});

Deno.test("reload: a listener is added, then another removed: it drains and stops accepting", async () => {
  await using a = startSlowBackend("A");
  await using echo = startHalfCloseEcho();
  const web = http([a.url], { name: "web" });
  const tcp = tcpListener("127.0.0.1:0", [[echo.address]], { name: "db" });
  await using sidecar = createSidecar({ listeners: [web] });
  const [webAddr] = await sidecar.start();

  await sidecar.reload({ listeners: [web, tcp] });
  const [sameWeb, dbAddr] = sidecar.addresses;
  assert.deepEqual(sameWeb, webAddr, "the kept listener did not rebind");
  assert.equal(await halfCloseExchange(dbAddr, 10), "got 10 bytes after EOF");
  assert.equal((await get(webAddr, "/x")).body, "A:/x");

  const slow = get(webAddr, "/slow?ms=300");
  await waitFor(() => endpointOf(sidecar, a.port)?.inFlight === 1, 2_000, "slow request");
  await sidecar.reload({ listeners: [tcp] });
  assert.deepEqual(sidecar.stats().listeners.map((l) => [l.name, l.kind]), [["db", "tcp"]]);
  assert.ok(await refuses(webAddr), "the removed listener accepts nothing new");
  assert.deepEqual(await slow, { status: 200, body: "A:/slow?ms=300" }, "its work in flight ends");
  assert.equal(await halfCloseExchange(dbAddr, 20), "got 20 bytes after EOF");
});

Deno.test("reload: a listener that changes port is bound there before its old address closes", async () => {
  await using a = startSlowBackend("A");
  const [p1, p2] = [await freePort(), await freePort()];
  await using sidecar = createSidecar({ listeners: [http([a.url], { port: p1, name: "api" })] });
  const [old] = await sidecar.start();
  assert.equal(old.port, p1);
  assert.equal((await get(old, "/1")).body, "A:/1");

  // The new port is taken: the reload fails and the old address still serves.
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: p2 });
  try {
    await assert.rejects(
      sidecar.reload({ listeners: [http([a.url], { port: p2, name: "api" })] }),
      (e: Error) => e.message.includes(`127.0.0.1:${p2}`) && e.message.includes("'api'"),
    );
  } finally {
    blocker.close();
  }
  assert.equal((await get(old, "/2")).body, "A:/2");
  assert.deepEqual(sidecar.addresses, [old]);

  // Now it moves: a request in flight on the old address completes, the new one serves at once.
  const peer = await HttpPeer.connect(p1);
  try {
    await peer.write("GET /slow?ms=300 HTTP/1.1\r\nHost: test\r\n\r\n");
    await waitFor(() => endpointOf(sidecar, a.port)?.inFlight === 1, 2_000, "slow request");
    await sidecar.reload({ listeners: [http([a.url], { port: p2, name: "api" })] });
    const [moved] = sidecar.addresses;
    assert.equal(moved.port, p2);
    assert.equal((await get(moved, "/3")).body, "A:/3");
    assert.equal(
      endpointOf(sidecar, a.port)?.requests,
      4,
      "the cluster and its counters moved along",
    );
    const r = await peer.readResponse();
    assert.equal(r.text(), "A:/slow?ms=300");
    assert.ok(await refuses(old), "the old address accepts nothing new");
  } finally {
    peer.close();
  }
});

Deno.test("reload: a new listener that cannot bind rejects the reload and the old config keeps serving", async () => {
  await using a = startSlowBackend("A");
  await using b = startSlowBackend("B");
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await using sidecar = createSidecar({ listeners: [http([a.url])] });
    const [addr] = await sidecar.start();
    const bad: SidecarConfig = {
      listeners: [http([b.url]), http([b.url], { port: taken.addr.port, name: "extra" })],
    };
    await assert.rejects(sidecar.reload(bad), /Cannot listen on 127\.0\.0\.1:\d+.*'extra'/);
    assert.equal(sidecar.state, "running");
    assert.deepEqual(
      sidecar.stats().listeners.map((l) => l.endpoints.map((e) => e.endpoint)),
      [[`http://127.0.0.1:${a.port}`]],
      "the kept listener was not touched",
    );
    for (let i = 0; i < 3; i++) assert.equal((await get(addr, `/${i}`)).body, `A:/${i}`);
    // A good reload afterwards works.
    await sidecar.reload({ listeners: [http([b.url])] });
    assert.equal((await get(addr, "/ok")).body, "B:/ok");
  } finally {
    taken.close();
  }
});

Deno.test("reload: concurrent reloads run one after the other; the last one wins", async () => {
  await using a = startSlowBackend("A");
  await using b = startSlowBackend("B");
  await using sidecar = createSidecar({ listeners: [http([a.url])] });
  const [addr] = await sidecar.start();
  await Promise.all([
    sidecar.reload({ listeners: [http([b.url])] }),
    sidecar.reload({ listeners: [http([a.url, b.url])] }),
    sidecar.reload({ listeners: [http([b.url])] }),
  ]);
  assert.deepEqual(sidecar.stats().listeners[0].endpoints.map((e) => e.endpoint), [
    `http://127.0.0.1:${b.port}`,
  ]);
  assert.equal((await get(addr, "/z")).body, "B:/z");
});

Deno.test("reload: a listener of another kind takes over a port; a failed reload gives it back", async () => {
  await using a = startSlowBackend("A");
  await using echo = startHalfCloseEcho();
  const port = await freePort();
  const web = http([a.url], { port, name: "web" });
  const db = tcpListener(`127.0.0.1:${port}`, [[echo.address]], { name: "db" });
  await using sidecar = createSidecar({ listeners: [web] });
  const [addr] = await sidecar.start();
  assert.equal((await get(addr, "/w")).body, "A:/w");

  // http -> tcp on the same port: the old listener lets go first, then the new one binds.
  await sidecar.reload({ listeners: [db] });
  assert.deepEqual(sidecar.stats().listeners.map((l) => [l.kind, l.address?.port]), [[
    "tcp",
    port,
  ]]);
  assert.equal(await halfCloseExchange(addr, 5), "got 5 bytes after EOF");

  // tcp -> http again, but with a second listener that cannot bind: the tcp listener comes back.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      sidecar.reload({ listeners: [web, http([a.url], { port: taken.addr.port, name: "x" })] }),
      /Cannot listen on/,
    );
  } finally {
    taken.close();
  }
  assert.deepEqual(sidecar.stats().listeners.map((l) => [l.kind, l.address?.port]), [[
    "tcp",
    port,
  ]]);
  assert.equal(await halfCloseExchange(addr, 7), "got 7 bytes after EOF");
});

Deno.test("planReload: identity keeps, unique names move, duplicates on port 0 pair in order", () => {
  const l = (name: string, port = 0) => http(["http://127.0.0.1:1"], { name, port });
  assert.deepEqual(planReload([l("a"), l("b")], [l("b"), l("a")]), {
    kept: [[0, 0], [1, 1]], // same identity: matched in order, names do not matter
    moved: [],
    added: [],
    removed: [],
  });
  assert.deepEqual(planReload([l("a", 1), l("b", 2)], [l("b", 3), l("a", 1)]), {
    kept: [[0, 1]],
    moved: [[1, 0]],
    added: [],
    removed: [],
  });
  // Two candidates with one name: no guess, add and remove.
  assert.deepEqual(planReload([l("a", 1), l("a", 2)], [l("a", 3)]), {
    kept: [],
    moved: [],
    added: [0],
    removed: [0, 1],
  });
  const t = tcpListener("127.0.0.1:1", [["127.0.0.1:2"]], { name: "a" });
  assert.deepEqual(planReload([l("a", 1)], [t]), { kept: [], moved: [], added: [0], removed: [0] });
});

Deno.test("reload: a kept HTTP listener takes a new connection cap at once", async () => {
  await using a = startSlowBackend("A");
  const port = await freePort();
  await using sidecar = createSidecar({ listeners: [http([a.url], { port })] });
  await sidecar.start();
  const open: HttpPeer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const peer = await HttpPeer.connect(port);
      open.push(peer);
      await peer.write(`GET /c${i} HTTP/1.1\r\nHost: test\r\n\r\n`);
      assert.equal((await peer.readResponse()).text(), `A:/c${i}`);
    }
    const capped = http([a.url], { port });
    await sidecar.reload({
      listeners: [{ ...capped, limits: { ...capped.limits, maxConnections: 2 } }],
    });
    const extra = await HttpPeer.connect(port);
    open.push(extra);
    await extra.write("GET /extra HTTP/1.1\r\nHost: test\r\n\r\n").catch(() => {});
    assert.equal((await extra.readToEnd()).length, 0, "the third connection is over the new cap");
  } finally {
    for (const p of open) p.close();
  }
});

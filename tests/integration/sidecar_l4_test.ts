/**
 * createSidecar wires TCP and UDP listeners, each with the probe of its
 * kind, and reports them in stats().
 */

import assert from "node:assert/strict";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { tcpListener, udpListener } from "../../src/config/builders.ts";
import { createSidecar, type Sidecar } from "../../src/sidecar.ts";
import {
  freePort,
  halfCloseExchange,
  startHalfCloseEcho,
  startUdpBackend,
  udpExchange,
  waitFor,
} from "../_helpers/sidecar.ts";

const FAST_HEALTH = { ...DEFAULT_HEALTH, intervalMs: 5_000, timeoutMs: 300 };

Deno.test("sidecar: a tcp listener keeps half-close and a udp listener echoes, each probed by its own kind", async () => {
  await using echo = startHalfCloseEcho();
  const refused = await freePort("tcp");
  await using udpEcho = await startUdpBackend(true);
  await using udpSilent = await startUdpBackend(false);
  const tcp = tcpListener("127.0.0.1:0", [[echo.address, `127.0.0.1:${refused}`]], {
    name: "db",
  });
  const udp = udpListener("127.0.0.1:0", [[udpEcho.address, udpSilent.address]], { name: "dns" });
  await using sidecar = createSidecar({
    listeners: [
      { ...tcp, cluster: { ...tcp.cluster, health: { ...FAST_HEALTH, kind: "tcp" } } },
      // No kind: a udp listener defaults to the udp probe.
      { ...udp, cluster: { ...udp.cluster, health: FAST_HEALTH } },
    ],
  });
  assert.equal(sidecar.state, "created");
  const [tcpAddr, udpAddr] = await sidecar.start();
  assert.equal(sidecar.state, "running");
  assert.equal(tcpAddr.transport, "tcp");
  assert.equal(udpAddr.transport, "udp");

  const stats = sidecar.stats();
  assert.deepEqual(
    stats.listeners.map((l) => [l.name, l.kind, l.address?.port]),
    [["db", "tcp", tcpAddr.port], ["dns", "udp", udpAddr.port]],
  );
  // The echo answers a TCP connect but would never answer an HTTP probe; the
  // silent UDP socket would pass no probe that waits for a reply.
  assert.deepEqual(
    stats.listeners[0].endpoints.map((e) => [e.endpoint, e.status]),
    [[`tcp://${echo.address}`, "up"], [`tcp://127.0.0.1:${refused}`, "down"]],
  );
  assert.deepEqual(
    stats.listeners[1].endpoints.map((e) => [e.endpoint, e.status]),
    [[`udp://${udpEcho.address}`, "up"], [`udp://${udpSilent.address}`, "down"]],
  );

  for (const size of [0, 1, 100_000]) {
    assert.equal(await halfCloseExchange(tcpAddr, size), `got ${size} bytes after EOF`);
  }
  const replies = await udpExchange(udpAddr, ["a", "b", "c"]);
  assert.deepEqual(replies.sort(), ["echo:a", "echo:b", "echo:c"]);

  const after = sidecar.stats();
  assert.equal(after.listeners[0].endpoints[0].requests, 3);
  assert.equal(after.listeners[0].endpoints[1].requests, 0, "a down endpoint gets nothing");
  assert.equal(after.listeners[1].endpoints[0].requests, 1, "one flow for one client");
  assert.equal(udpSilent.received, 1, "only the probe reached the silent endpoint");
  await sidecar.close();
  assert.equal(sidecar.state, "closed");
});

Deno.test("sidecar: health.kind overrides the listener's default probe", async () => {
  await using echo = startHalfCloseEcho();
  const spec = tcpListener("127.0.0.1:0", [[echo.address]]);
  // An HTTP probe of the echo never gets a status line: it stays down.
  await using sidecar = createSidecar({
    listeners: [{
      ...spec,
      cluster: { ...spec.cluster, health: { ...FAST_HEALTH, kind: "http", timeoutMs: 150 } },
    }],
  }, { firstProbeWaitMs: 1_000 });
  await sidecar.start();
  assert.equal(sidecar.stats().listeners[0].endpoints[0].status, "down");
});

Deno.test("sidecar: a reload applies a tcp listener's limits and endpoints in place, and keeps the udp socket", async () => {
  await using one = startHalfCloseEcho();
  await using two = startHalfCloseEcho();
  await using udpEcho = await startUdpBackend(true);
  const health = { ...FAST_HEALTH, active: false };
  const config = (endpoint: string, maxConnections: number, flowIdleMs: number) => {
    const tcp = tcpListener("127.0.0.1:0", [[endpoint]], { name: "db", maxConnections });
    const udp = udpListener("127.0.0.1:0", [[udpEcho.address]], { name: "dns", flowIdleMs });
    return {
      listeners: [
        { ...tcp, cluster: { ...tcp.cluster, health } },
        { ...udp, cluster: { ...udp.cluster, health } },
      ],
    };
  };
  await using sidecar = createSidecar(config(one.address, 0, 30_000));
  const [tcpAddr, udpAddr] = await sidecar.start();
  assert.equal(await halfCloseExchange(tcpAddr, 3), "got 3 bytes after EOF");
  assert.deepEqual(await udpExchange(udpAddr, ["x"]), ["echo:x"]);

  await sidecar.reload(config(two.address, 1, 10_000));
  assert.deepEqual(sidecar.addresses, [tcpAddr, udpAddr], "both kept their sockets");
  // One connection at most now: a second one is closed at accept.
  const held = await Deno.connect({ hostname: tcpAddr.hostname, port: tcpAddr.port });
  try {
    await waitForConnections(sidecar, 1);
    // (A reset may surface as an error of the write or the half-close: either way nothing came back.)
    const refused = await halfCloseExchange(tcpAddr, 4).catch(() => "");
    assert.equal(refused, "", "over the limit: closed at once");
  } finally {
    held.close();
  }
  await waitForConnections(sidecar, 0);
  assert.equal(await halfCloseExchange(tcpAddr, 5), "got 5 bytes after EOF");
  assert.equal(one.accepted, 1, "the old endpoint got nothing after the reload");
  assert.equal(two.accepted, 2);
  assert.deepEqual(await udpExchange(udpAddr, ["y"]), ["echo:y"]);
});

async function waitForConnections(sidecar: Sidecar, n: number): Promise<void> {
  await waitFor(() => sidecar.stats().listeners[0].connections === n, 2_000, `${n} connections`);
}

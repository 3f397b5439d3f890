/**
 * The admin listener end to end: a real sidecar with real backends on
 * loopback, read through `/status`, `/healthz`, `/configz`, `/statusz` and
 * `/metrics` (validated with the Prometheus project's reference parser).
 */

import assert from "node:assert/strict";
import { type HealthSpec, type HttpListenerSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener, tcpListener, udpListener } from "../../src/config/builders.ts";
import { serveAdmin } from "../../src/operator/admin_server.ts";
import type { StatusDocument } from "../../src/operator/status.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { fixture } from "../fixtures/harness.ts";
import { refusedPort, startServeBackend } from "../_helpers/backends.ts";
import { delay } from "../_helpers/net.ts";
import { HttpPeer } from "../_helpers/http_peer.ts";
import { parsePrometheus, prometheusParserMissing, sample } from "../_helpers/prometheus.ts";
import { startUdpBackend, udpExchange } from "../_helpers/sidecar.ts";

const FAST = { ...DEFAULT_HEALTH, intervalMs: 50, timeoutMs: 500 };
const PARSER_MISSING = await prometheusParserMissing();
if (PARSER_MISSING !== null) console.error(`skipping the metrics parser tests: ${PARSER_MISSING}`);

async function getText(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: await res.text(),
  };
}

async function status(base: string): Promise<StatusDocument> {
  return JSON.parse((await getText(`${base}/status`)).body);
}

/** Polls /status until `check` holds (bounded). */
async function statusUntil(
  base: string,
  check: (d: StatusDocument) => boolean,
  what: string,
): Promise<StatusDocument> {
  for (let i = 0; i < 100; i++) {
    const d = await status(base);
    if (check(d)) return d;
    await delay(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("admin: /status shows sites, endpoints, probes, counters, latency and downtime", async () => {
  await using a = startServeBackend(() => new Response("a"));
  await using b = startServeBackend(() => new Response("b"));
  await using sidecar = createSidecar({
    listeners: [web([["east", a.port], ["west", b.port]], FAST)],
  });
  const [addr] = await sidecar.start();
  await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
  const base = `http://127.0.0.1:${admin.address.port}`;
  for (let i = 0; i < 3; i++) {
    assert.equal(await (await fetch(`http://127.0.0.1:${addr.port}/x`)).text(), "a");
  }

  let d = await status(base);
  assert.equal(d.state, "running");
  assert.equal(d.listeners.length, 1);
  const l = d.listeners[0];
  assert.equal(l.name, "web");
  assert.equal(l.kind, "http");
  assert.equal(l.address, `127.0.0.1:${addr.port}`);
  assert.equal(l.check, "http GET /");
  assert.equal(l.servingSite, "east");
  assert.deepEqual(l.sites.map((s) => [s.name, s.serving]), [["east", true], ["west", false]]);
  const ea = l.sites[0].endpoints[0];
  assert.equal(ea.endpoint, a.url);
  assert.equal(ea.status, "up");
  assert.equal(ea.requests, 3);
  assert.equal(ea.errors, 0);
  assert.ok(ea.rxBytes > 0 && ea.txBytes > 0);
  assert.ok(ea.latencyMs !== null && ea.latencyMs.p50 > 0 && ea.latencyMs.p99 >= ea.latencyMs.p50);
  assert.equal(ea.lastProbe?.passed, true);
  assert.equal(ea.lastProbe?.detail, "status 200");
  assert.equal(ea.downtimeSeconds, 0);
  assert.equal(l.sites[1].endpoints[0].latencyMs, null, "no request yet");

  // Site east goes away: shown down with the probe's error, downtime grows, work fails over.
  await a.close();
  d = await statusUntil(
    base,
    (x) => x.listeners[0].sites[0].endpoints[0].status === "down",
    "a down",
  );
  const down = d.listeners[0].sites[0].endpoints[0];
  assert.equal(down.lastProbe?.passed, false);
  assert.match(down.lastProbe!.detail, /refused/);
  assert.equal(d.listeners[0].servingSite, "west");
  assert.equal(d.listeners[0].failovers, 1);
  await delay(120);
  assert.ok((await status(base)).listeners[0].sites[0].endpoints[0].downtimeSeconds >= 0.1);
  assert.equal(await (await fetch(`http://127.0.0.1:${addr.port}/y`)).text(), "b");
});

/** An HTTP listener named "web" with one endpoint per named site. */
function web(sites: readonly [string, number][], health: HealthSpec): HttpListenerSpec {
  const l = httpListener("127.0.0.1:0", [["http://127.0.0.1:1"]], { name: "web" });
  return {
    ...l,
    cluster: {
      ...l.cluster,
      health,
      sites: sites.map(([name, port]) => ({
        name,
        endpoints: [{ scheme: "http" as const, host: "127.0.0.1", port, basePath: "" }],
      })),
    },
  };
}

Deno.test("admin: /healthz, /configz (secrets redacted), /statusz, 404 and 405", async () => {
  await using backend = startServeBackend(() => new Response("ok"));
  const listener = {
    ...httpListener("127.0.0.1:0", [[backend.url]]),
    tls: {
      certFile: fixture("server.pem"),
      keyFile: fixture("server-key-encrypted.pem"),
      keyPassword: "secret",
    },
  };
  await using sidecar = createSidecar({ listeners: [listener] });
  await sidecar.start();
  await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
  const base = `http://127.0.0.1:${admin.address.port}`;

  assert.deepEqual(await getText(`${base}/healthz`), {
    status: 200,
    type: "text/plain; charset=utf-8",
    body: "OK\n",
  });
  const config = await getText(`${base}/configz`);
  assert.equal(config.status, 200);
  assert.ok(config.body.includes("keyPassword: <redacted>"), config.body);
  assert.ok(!config.body.includes("secret"), "the password is not shown");
  assert.ok(config.body.includes(`- ${backend.url}`));
  const statusz = await getText(`${base}/statusz`);
  assert.ok(statusz.body.startsWith("buildID: sidekick "), statusz.body);
  assert.ok(statusz.body.includes(`HTTP:[127.0.0.1]:`), statusz.body);
  assert.ok(statusz.body.includes(`address: 127.0.0.1:${backend.port}`), statusz.body);
  const page = await getText(`${base}/`);
  assert.equal(page.type, "text/html; charset=utf-8");
  assert.ok(!/(src|href)="(https?:)?\/\//.test(page.body), "no external assets");
  const missing = await getText(`${base}/nope`);
  assert.equal(missing.status, 404);
  assert.match(missing.body, /\/status, \/metrics/);
  const post = await fetch(`${base}/status`, { method: "POST" });
  await post.body?.cancel();
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
});

Deno.test({
  name: "admin: /metrics parses with prometheus_client; own responses, reloads, build, process",
  ignore: PARSER_MISSING !== null,
  fn: async () => {
    const deadPort = refusedPort();
    let dead2Port = refusedPort();
    while (dead2Port === deadPort) dead2Port = refusedPort();
    const dead = `http://127.0.0.1:${deadPort}`, dead2 = `http://127.0.0.1:${dead2Port}`;
    // Probes off and no ejection: every request tries both dead endpoints (one retry).
    const listener = web([["s", deadPort]], { ...FAST, active: false, ejectMs: 0 });
    const site = listener.cluster.sites[0];
    const endpoints = [...site.endpoints, { ...site.endpoints[0], port: dead2Port }];
    const config = {
      listeners: [{
        ...listener,
        cluster: { ...listener.cluster, sites: [{ ...site, endpoints }] },
      }],
    };
    await using sidecar = createSidecar(config);
    const [addr] = await sidecar.start();
    await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
    const send = async (raw: string) => {
      const peer = await HttpPeer.connect(addr.port, 5_000, "127.0.0.1");
      try {
        await peer.write(raw);
        return (await peer.readResponse()).status;
      } finally {
        peer.close();
      }
    };
    assert.equal(await send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"), 502);
    assert.equal(await send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n"), 502);
    assert.equal(await send("GET /c HTTP/1.1\r\n\r\n"), 400, "no Host");
    assert.equal(await send(`GET /${"x".repeat(9000)} HTTP/1.1\r\nHost: t\r\n\r\n`), 414);
    await sidecar.reload(config);
    sidecar.noteReloadFailure(new Error("x.yaml:1:1: bad"));

    const res = await fetch(`http://127.0.0.1:${admin.address.port}/metrics`);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    const families = await parsePrometheus(text);
    const own = (status: string) =>
      sample(families, "sidekick_own_responses_total", { listener: "web", status });
    assert.equal(own("502"), 2);
    assert.equal(own("400"), 1);
    assert.equal(own("414"), 1);
    // errors_total: "answered with a status >= 400 or failed in transport": each refused attempt.
    for (const endpoint of [dead, dead2]) {
      assert.equal(sample(families, "sidekick_errors_total", { endpoint }), 2);
      assert.equal(sample(families, "sidekick_transport_failures_total", { endpoint }), 2);
    }
    assert.equal(sample(families, "sidekick_retries_total", { listener: "web" }), 2);
    assert.equal(sample(families, "sidekick_reloads_total", { result: "success" }), 1);
    assert.equal(sample(families, "sidekick_reloads_total", { result: "failure" }), 1);
    const last = sample(families, "sidekick_last_reload_timestamp_seconds");
    assert.ok(Math.abs(last - Date.now() / 1000) < 60);
    assert.equal(sample(families, "sidekick_build_info", { version: "0.1.0" }), 1);
    assert.ok(sample(families, "process_resident_memory_bytes") > 1e6);
    assert.ok(sample(families, "process_cpu_seconds_total") > 0);
    assert.equal(sample(families, "sidekick_failovers_total", { listener: "web" }), 0);
    const types = new Map(families.map((f) => [f.name, f.type]));
    assert.equal(types.get("sidekick_request_duration_seconds"), "histogram");
    assert.equal(types.get("sidekick_own_responses"), "counter");
    assert.equal(types.get("sidekick_build_info"), "gauge");
    // The HTTP listener's own /.prometheus/metrics serves the same families.
    const inBand = await getText(`http://127.0.0.1:${addr.port}/.prometheus/metrics`);
    assert.deepEqual(
      (await parsePrometheus(inBand.body)).map((f) => f.name),
      families.map((f) => f.name),
    );
  },
});

Deno.test({
  name: "admin: a TCP- and UDP-only config gets metrics and status through the admin listener",
  ignore: PARSER_MISSING !== null,
  fn: async () => {
    const tcpBackend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await using udpBackend = await startUdpBackend();
    await using sidecar = createSidecar({
      listeners: [
        tcpListener("127.0.0.1:0", [[`127.0.0.1:${tcpBackend.addr.port}`]], { name: "db" }),
        udpListener("127.0.0.1:0", [[udpBackend.address]], { name: "dns" }),
      ],
      admin: { hostname: "127.0.0.1", port: 0 },
    });
    try {
      const [, udpAddr] = await sidecar.start();
      await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
      assert.deepEqual(await udpExchange(udpAddr, ["hello"]), ["echo:hello"]);
      const base = `http://127.0.0.1:${admin.address.port}`;
      const families = await parsePrometheus((await getText(`${base}/metrics`)).body);
      const tcpEp = `tcp://127.0.0.1:${tcpBackend.addr.port}`;
      const udpEp = `udp://${udpBackend.address}`;
      assert.equal(
        sample(families, "sidekick_endpoint_up", { endpoint: tcpEp, listener: "db" }),
        1,
      );
      assert.equal(
        sample(families, "sidekick_endpoint_up", { endpoint: udpEp, listener: "dns" }),
        1,
      );
      assert.equal(sample(families, "sidekick_requests_total", { endpoint: udpEp }), 1);
      assert.equal(sample(families, "sidekick_active_connections", { listener: "dns" }), 1);
      const d = await status(base);
      assert.deepEqual(d.listeners.map((l) => [l.name, l.kind, l.check]), [
        ["db", "tcp", "tcp connect"],
        ["dns", "udp", "udp datagram"],
      ]);
      assert.equal(d.listeners[1].sites[0].name, "tier0");
    } finally {
      tcpBackend.close();
    }
  },
});

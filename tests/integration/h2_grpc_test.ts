/**
 * gRPC through sidekick to endpoints that speak HTTP/2, with real peers: the
 * grpcio client (Python) calls sidekick's HTTP listener over h2c (its h2
 * serving hands each stream to `forwardStreamToH2`), and grpcio servers
 * answer on `h2c://` and `h2://` endpoints. Unary and bidirectional
 * streaming calls, a non-zero grpc-status, a client cancel that resets the
 * upstream stream, the forwarding headers, two endpoints sharing the calls,
 * the gRPC health protocol taking an endpoint down and up again, the
 * HTTP/2 GET probe, and an HTTP/1.1 client calling a gRPC method. Each test
 * skips, saying so, when grpcio is not installed (`.ci/run` installs
 * python3-grpcio).
 */

import assert from "node:assert/strict";
import { grpcClient, haveGrpc, startGrpcServer } from "../_helpers/grpc.ts";
import { startH2Front } from "../_helpers/h2_front.ts";
import { fixture } from "../fixtures/harness.ts";
import { waitFor } from "../_helpers/http.ts";
import { probeH2 } from "../../src/health/h2_probe.ts";
import { startNamedBackend, startProxy } from "../_helpers/backends.ts";

const GRPC = await haveGrpc();
const ignore = !GRPC;
if (!GRPC) console.log("h2_grpc_test: python3-grpcio is not installed; skipping");

/** Prints the lines a test saw, for the closing note to quote. */
function show(title: string, lines: readonly string[]): void {
  console.log(`--- ${title}\n${lines.map((l) => `  ${l}`).join("\n")}`);
}

Deno.test({
  name: "gRPC unary and bidirectional streaming calls pass through (grpcio client -> h2c endpoint)",
  ignore,
  async fn() {
    await using server = await startGrpcServer("A");
    await using front = await startH2Front([[`h2c://127.0.0.1:${server.port}`]]);
    const target = `127.0.0.1:${front.port}`;
    const unary = await grpcClient(target, "unary", "hello through sidekick");
    show("unary", unary.lines);
    assert.deepEqual(unary.lines, ["unary ok hello through sidekick"]);
    const bidi = await grpcClient(target, "bidi", "5");
    show("bidi", bidi.lines);
    assert.deepEqual(bidi.lines, [
      "bidi reply 0 m0",
      "bidi reply 1 m1",
      "bidi reply 2 m2",
      "bidi reply 3 m3",
      "bidi reply 4 m4",
      "bidi ok 5 rest 0",
    ]);
    // One multiplexed session to the endpoint carried both calls.
    assert.equal(front.sessions, 1);
  },
});

Deno.test({
  name: "gRPC: a non-zero grpc-status and its message pass through (trailers-only answer)",
  ignore,
  async fn() {
    await using server = await startGrpcServer("A");
    await using front = await startH2Front([[`h2c://127.0.0.1:${server.port}`]]);
    const r = await grpcClient(`127.0.0.1:${front.port}`, "fail", "no entry");
    show("fail", r.lines);
    assert.deepEqual(r.lines, ["status PERMISSION_DENIED denied: no entry"]);
  },
});

Deno.test({
  name: "gRPC: a client cancel resets the upstream stream (the server sees the call cancelled)",
  ignore,
  async fn() {
    await using server = await startGrpcServer("A");
    await using front = await startH2Front([[`h2c://127.0.0.1:${server.port}`]]);
    const r = await grpcClient(`127.0.0.1:${front.port}`, "cancel");
    show("cancel", r.lines);
    assert.deepEqual(r.lines, ["cancel got first", "cancel done"]);
    const line = await server.waitLine(/^cancelled Hold$/, 5_000);
    show("server", [line]);
  },
});

Deno.test({
  name: "gRPC: the endpoint gets the forwarding headers and te: trailers, no hop-by-hop field",
  ignore,
  async fn() {
    await using server = await startGrpcServer("A");
    await using front = await startH2Front([[`h2c://127.0.0.1:${server.port}`]]);
    const r = await grpcClient(`127.0.0.1:${front.port}`, "headers");
    const seen = new Map(
      r.lines.map((l) => l.replace(/^header /, "").split(": ", 2) as [string, string]),
    );
    assert.equal(seen.get("x-forwarded-for"), "127.0.0.1");
    assert.equal(seen.get("x-real-ip"), "127.0.0.1");
    assert.equal(seen.get("x-forwarded-proto"), "http");
    assert.equal(seen.get("x-forwarded-host"), `127.0.0.1:${front.port}`);
    assert.match(seen.get("user-agent") ?? "", /grpc-python/);
  },
});

Deno.test({
  name: "gRPC: two endpoints share the calls",
  ignore,
  async fn() {
    await using a = await startGrpcServer("A");
    await using b = await startGrpcServer("B");
    await using front = await startH2Front([[
      `h2c://127.0.0.1:${a.port}`,
      `h2c://127.0.0.1:${b.port}`,
    ]]);
    const r = await grpcClient(`127.0.0.1:${front.port}`, "who", "20");
    show("who", r.lines);
    assert.deepEqual(r.lines, ["who A 10", "who B 10"]);
    assert.equal(front.sessions, 2, "one session per endpoint");
  },
});

Deno.test({
  name: "gRPC over TLS: an h2:// endpoint (ALPN h2, the test CA) serves calls",
  ignore,
  async fn() {
    await using server = await startGrpcServer("T", {
      cert: fixture("server.pem"),
      key: fixture("server-key.pem"),
    });
    await using front = await startH2Front([[`h2://127.0.0.1:${server.port}`]]);
    const r = await grpcClient(`127.0.0.1:${front.port}`, "unary", "over tls");
    show("h2 tls", r.lines);
    assert.deepEqual(r.lines, ["unary ok over tls"]);
  },
});

Deno.test({
  name: "gRPC health protocol: NOT_SERVING takes the endpoint down, SERVING brings it up",
  ignore,
  async fn() {
    await using server = await startGrpcServer("A");
    await using front = await startH2Front([[`h2c://127.0.0.1:${server.port}`]], {
      health: {
        active: true,
        kind: "grpc",
        grpcService: "my.Service",
        intervalMs: 100,
        timeoutMs: 2_000,
        rise: 1,
        fall: 1,
      },
    });
    const endpoint = front.cluster.endpoints[0];
    const seen: string[] = [];
    const note = (what: string) =>
      seen.push(`${what}: ${endpoint.health.status} (${endpoint.lastProbe?.detail})`);
    // An unknown service: NOT_FOUND, so the endpoint is not up.
    await waitFor(() => endpoint.lastProbe !== null, 5_000, "a first probe");
    assert.equal(endpoint.health.status, "down");
    assert.match(endpoint.lastProbe!.detail, /grpc-status 5 \(unknown service my\.Service\)/);
    note("unknown service");
    await server.setStatus("my.Service", 1);
    await waitFor(() => endpoint.health.status === "up", 5_000, "up on SERVING");
    assert.equal(endpoint.lastProbe!.detail, "SERVING");
    note("set SERVING");
    await server.setStatus("my.Service", 2);
    await waitFor(() => endpoint.health.status === "down", 5_000, "down on NOT_SERVING");
    assert.equal(endpoint.lastProbe!.detail, "NOT_SERVING");
    note("set NOT_SERVING");
    const down = await grpcClient(`127.0.0.1:${front.port}`, "unary", "x");
    assert.deepEqual(down.lines.map((l) => l.split(" ", 2).join(" ")), ["error UNAVAILABLE"]);
    seen.push(`a call meanwhile: ${down.lines[0]}`);
    await server.setStatus("my.Service", 1);
    await waitFor(() => endpoint.health.status === "up", 5_000, "up on SERVING");
    note("set SERVING");
    show("health", seen);
  },
});

Deno.test("probeH2: an HTTP GET of the health path over h2c (prior knowledge) passes on 200", async () => {
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen() {},
  }, (req) => new Response("ok", { status: new URL(req.url).pathname === "/ready" ? 200 : 404 }));
  try {
    const endpoint = {
      scheme: "h2c" as const,
      host: "127.0.0.1",
      port: server.addr.port,
      basePath: "",
    };
    const ok = await probeH2(endpoint, { path: "/ready", port: 0, timeoutMs: 2_000 });
    assert.deepEqual(ok, { passed: true, detail: "status 200" });
    const missing = await probeH2(endpoint, { path: "/gone", port: 0, timeoutMs: 2_000 });
    assert.deepEqual(missing, { passed: false, detail: "status 404" });
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("probeH2: a refused connect and an HTTP/1.1-only server fail the probe", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const endpoint = { scheme: "h2c" as const, host: "127.0.0.1", port, basePath: "" };
  const grpc = { path: "/", port: 0, timeoutMs: 1_000, grpcService: "" };
  assert.deepEqual(await probeH2(endpoint, grpc), {
    passed: false,
    detail: "connection refused",
  });
  await using h1 = startNamedBackend("h1");
  const started = Date.now();
  const r = await probeH2({ ...endpoint, port: h1.port }, grpc);
  console.log(`HTTP/1.1-only endpoint: ${JSON.stringify(r)}`);
  assert.equal(r.passed, false);
  assert.match(r.detail, /no HTTP\/2 answer .*write it as http:\/\//);
  assert.ok(Date.now() - started < 1_500, "ends at the latest at the deadline");
});

Deno.test({
  name:
    "sidecar: gRPC health keeps a grpcio endpoint up; an HTTP/1.1 client calls a unary method (trailers as chunked trailers)",
  ignore,
  async fn() {
    await using server = await startGrpcServer("A");
    await using proxy = await startProxy([[`h2c://127.0.0.1:${server.port}`]], {
      health: { active: true, kind: "grpc", intervalMs: 200, timeoutMs: 2_000 },
    });
    assert.equal(proxy.endpoint(server).status, "up");
    assert.equal(proxy.endpoint(server).lastProbe?.detail, "SERVING");
    const message = new TextEncoder().encode("over http/1.1");
    const frame = new Uint8Array([0, 0, 0, 0, message.length, ...message]);
    const head =
      "POST /test.Echo/Unary HTTP/1.1\r\nHost: grpc\r\nContent-Type: application/grpc\r\n" +
      `TE: trailers\r\nContent-Length: ${frame.length}\r\n\r\n`;
    const r = await proxy.exchange(new Uint8Array([...new TextEncoder().encode(head), ...frame]));
    assert.equal(r.status, 200);
    assert.equal(r.framing, "chunked");
    assert.deepEqual(r.body, frame, "the reply is the same gRPC frame");
    const wire = new TextDecoder().decode(r.wireBody);
    assert.match(wire, /\r\n0\r\ngrpc-status: 0\r\n/);
    show("http/1.1 -> grpc", [`HTTP/1.1 ${r.status}`, ...wire.split("\r\n").slice(-4, -2)]);
    await server.setStatus("", 2);
    await waitFor(() => proxy.endpoint(server).status === "down", 5_000, "down on NOT_SERVING");
  },
});

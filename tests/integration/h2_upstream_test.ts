/**
 * Endpoints that speak HTTP/2, on real sockets, through sidekick's listener
 * (h2c clients on the project's codec): streams relayed to h2c endpoints (bodies both ways past the flow-control
 * windows, trailers), one session per endpoint and a new one after GOAWAY,
 * idle sessions closed by the sweep, a refused endpoint retried elsewhere,
 * resets both ways, an h2:// endpoint without ALPN h2.
 */

import assert from "node:assert/strict";
import { startH2Front } from "../_helpers/h2_front.ts";
import { h2Get, h2Request, silent, startH2Backend } from "../_helpers/h2_peer.ts";
import { refusedPort } from "../_helpers/backends.ts";
import { waitFor } from "../_helpers/http.ts";
import { readFixture } from "../fixtures/harness.ts";
import { H2_ERROR } from "../../src/h2/session.ts";
import { H2Upstream } from "../../src/proxy/http/h2_upstream.ts";
import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { Endpoint } from "../../src/balance/endpoint.ts";

/** A backend that echoes the request body, answers with the request's fields as JSON in a header, and sends trailers. */
function echoBackend() {
  return startH2Backend(async (stream) => {
    stream.sendHeaders([
      ":status",
      "200",
      "x-seen",
      JSON.stringify(stream.head),
    ], false);
    for (let c = await stream.read(); c !== null; c = await stream.read()) await stream.write(c);
    await stream.end(["x-trailer", "done", ...(stream.trailers ?? [])]);
  });
}

Deno.test("h2c endpoint: a 1 MiB body goes both ways past the windows, fields and trailers relayed", async () => {
  await using backend = echoBackend();
  await using front = await startH2Front([[`h2c://127.0.0.1:${backend.port}/base`]]);
  const body = new Uint8Array(1 << 20).map((_, i) => i * 7);
  const fields = [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":authority",
    "svc",
    ":path",
    "/upload?x=1",
  ];
  const r = await h2Request(front.port, fields, body);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, body.length);
  assert.deepEqual(r.body, body);
  assert.deepEqual(r.trailers, ["x-trailer", "done"]);
  const seen: string[] = JSON.parse(r.head[r.head.indexOf("x-seen") + 1]);
  assert.equal(seen[seen.indexOf(":path") + 1], "/base/upload?x=1");
  assert.equal(seen[seen.indexOf("x-forwarded-for") + 1], "127.0.0.1");
  assert.equal(r.head[r.head.indexOf("x-proxy") + 1], "true");
});

Deno.test("h2c endpoint: streams share one session; after its GOAWAY the next stream dials a new one", async () => {
  await using backend = echoBackend();
  await using front = await startH2Front([[`h2c://127.0.0.1:${backend.port}`]]);
  const answers = await Promise.all([1, 2, 3, 4].map(() => h2Request(front.port, h2Get("/"))));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200]);
  assert.equal(backend.accepted, 1);
  assert.equal(front.sessions, 1);
  for (const s of backend.sessions) s.goaway();
  await waitFor(() => front.sessions === 0, 5_000, "the session closed after GOAWAY");
  assert.equal((await h2Request(front.port, h2Get("/"))).status, 200);
  assert.equal(backend.accepted, 2);
});

Deno.test("H2Upstream: an idle session is closed by the sweep after the idle timeout, a busy one is kept", async () => {
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  await using backend = startH2Backend(async (stream) => {
    if (stream.head.includes("/hold")) await held;
    stream.sendHeaders([":status", "204"], true);
  });
  const h2 = new H2Upstream({ connectMs: 2_000, idleMs: 1_000, clock: SYSTEM_CLOCK });
  const spec = { scheme: "h2c" as const, host: "127.0.0.1", port: backend.port, basePath: "" };
  const endpoint = new Endpoint(spec, true, SYSTEM_CLOCK.now());
  try {
    const { stream } = await h2.open(endpoint, h2Get("/hold"), true, false);
    const now = SYSTEM_CLOCK.now();
    h2.sweep(now + 5_000);
    assert.equal(h2.sessions, 1, "a session with a stream is busy");
    release();
    await stream.response();
    await waitFor(() => [...backend.sessions].length === 1, 1_000, "backend session");
    h2.sweep(now + 5_500);
    assert.equal(h2.sessions, 1, "idle for less than idleMs since the sweep saw it busy");
    h2.sweep(now + 6_600);
    await waitFor(() => h2.sessions === 0, 2_000, "the idle session closed");
  } finally {
    await h2.closeAll();
  }
});

Deno.test("h2c endpoints: a refused endpoint is skipped (connect failure retried, the body not lost), blamed, and the stream served", async () => {
  await using backend = echoBackend();
  const refused = refusedPort();
  await using front = await startH2Front([[
    `h2c://127.0.0.1:${refused}`,
    `h2c://127.0.0.1:${backend.port}`,
  ]]);
  // Round robin: one of the two goes to the refused endpoint first, its body kept for the retry.
  const body = new Uint8Array(100_000).map((_, i) => i);
  const post = [":method", "POST", ":scheme", "http", ":authority", "svc", ":path", "/p"];
  for (let i = 0; i < 2; i++) {
    const r = await h2Request(front.port, post, body);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, body);
  }
  const down = front.cluster.endpoints.find((e) => e.spec.port === refused)!;
  // Without active probes a refused connect ejects the endpoint for health.eject.
  assert.ok(down.ejectedUntil > SYSTEM_CLOCK.now(), "the refused endpoint is ejected");
  assert.equal(down.failures, 1, "tried once: ejected after that");
});

Deno.test("h2c endpoint: an upstream reset mid-response resets the client's stream with its code", async () => {
  await using backend = startH2Backend(async (stream) => {
    stream.sendHeaders([":status", "200"], false);
    await stream.write(new TextEncoder().encode("partial"));
    await new Promise((r) => setTimeout(r, 50));
    stream.reset(H2_ERROR.INTERNAL_ERROR);
  });
  await using front = await startH2Front([[`h2c://127.0.0.1:${backend.port}`]]);
  const r = await h2Request(front.port, h2Get("/"));
  assert.equal(r.status, 200);
  assert.equal(r.resetCode, H2_ERROR.INTERNAL_ERROR);
});

Deno.test("h2c endpoint: a stream reset before the response is a 502 naming the reset", async () => {
  await using backend = startH2Backend((stream) => stream.reset(H2_ERROR.INTERNAL_ERROR));
  await using front = await startH2Front([[`h2c://127.0.0.1:${backend.port}`]]);
  const r = await h2Request(front.port, h2Get("/", "content-type", "text/plain"));
  assert.equal(r.status, 502);
  assert.match(new TextDecoder().decode(r.body), /reset the stream \(INTERNAL_ERROR\)/);
});

Deno.test("h2:// endpoint: a TLS server without ALPN h2 fails with a 502 that says so", async () => {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: readFixture("server.pem"),
    key: readFixture("server-key.pem"),
    alpnProtocols: ["http/1.1"],
  });
  const accepting = (async () => {
    for (;;) {
      try {
        const c = await listener.accept();
        await c.handshake().catch(() => {});
        c.close();
      } catch {
        return;
      }
    }
  })();
  try {
    await using front = await startH2Front([[`h2://127.0.0.1:${listener.addr.port}`]]);
    const r = await h2Request(front.port, h2Get("/"));
    assert.equal(r.status, 502);
    assert.match(new TextDecoder().decode(r.body), /did not agree to HTTP\/2.*https:\/\//);
  } finally {
    listener.close();
    await accepting;
  }
});

Deno.test("h2c endpoint: the response-header timeout answers 504 and resets the endpoint's stream; gRPC calls have none", async () => {
  const resets: number[] = [];
  await using backend = startH2Backend(silent(resets));
  await using front = await startH2Front([[`h2c://127.0.0.1:${backend.port}`]], {
    responseHeaderMs: 300,
  });
  const started = Date.now();
  const r = await h2Request(front.port, h2Get("/slow"));
  assert.equal(r.status, 504);
  assert.ok(Date.now() - started < 3_000, `answered after ${Date.now() - started} ms`);
  await waitFor(() => resets.length === 1, 2_000, "the endpoint's stream reset");
  assert.equal(resets[0], H2_ERROR.CANCEL);
  // A gRPC call waits past the timeout (its first message may come much later).
  const grpc = h2Request(front.port, [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":authority",
    "svc",
    ":path",
    "/a.B/C",
    "content-type",
    "application/grpc",
    "te",
    "trailers",
  ], new Uint8Array(5));
  const outcome = await Promise.race([
    grpc.then(() => "answered"),
    new Promise((resolve) => setTimeout(() => resolve("still waiting"), 900)),
  ]);
  assert.equal(outcome, "still waiting");
  await front.close(); // ends the call
  await grpc.catch(() => {});
});

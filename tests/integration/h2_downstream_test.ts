/**
 * HTTP/2 clients in front of HTTP/1.1 backends, end to end on loopback: curl
 * with ALPN h2 over TLS and with h2c prior knowledge, node:http2 for
 * trailers, resets and GOAWAY, h2load for many multiplexed streams. The
 * backends are raw HTTP/1.1 servers that record what reached them.
 */

import assert from "node:assert/strict";
import http2 from "node:http2";
import { fixture, readFixture, startHarness } from "../fixtures/harness.ts";
import {
  delay,
  HOST,
  pseudoRandomBytes,
  type RawRequest,
  refusedPort,
  sha256,
  startNamedBackend,
  startRawBackend,
  waitFor,
  within,
} from "../_helpers/http.ts";
import { connectH2c, curl, request } from "../_helpers/h2_clients.ts";

const TLS = { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") };

/** A backend that records each request and answers with its body echoed and a fixed header. */
function startRecordingBackend(seen: RawRequest[]) {
  return startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      seen.push(req);
      const head =
        `HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\nX-Seen: ${req.method}\r\n` +
        "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n";
      await peer.write(head);
      if (req.body.length > 0) await peer.write(req.body);
    }
  });
}

Deno.test("h2 over TLS (ALPN): curl --http2 GET and POST reach an HTTP/1.1 backend byte-exact, with Host and X-Forwarded-*", async () => {
  const seen: RawRequest[] = [];
  await using backend = startRecordingBackend(seen);
  await using proxy = await startHarness([[backend.url]], { tls: TLS });
  const url = `https://127.0.0.1:${proxy.port}`;
  const get = await curl(["--http2", "-H", "X-Forwarded-For: 192.0.2.1", `${url}/a/b?x=1&y=%20`]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(`${get.version} ${get.status}`, "2 200");
  assert.match(get.headers, /^x-seen: GET\r$/m);
  assert.match(get.headers, /^x-proxy: true\r$/m);
  assert.doesNotMatch(get.headers, /keep-alive|connection/i);
  const r = seen[0];
  assert.equal(r.head.startLine, "GET /a/b?x=1&y=%20 HTTP/1.1");
  assert.equal(r.head.get("host"), `127.0.0.1:${proxy.port}`);
  assert.equal(r.head.get("x-forwarded-for"), "192.0.2.1, 127.0.0.1");
  assert.equal(r.head.count("x-forwarded-for"), 1);
  assert.equal(r.head.get("x-forwarded-host"), `127.0.0.1:${proxy.port}`);
  assert.equal(r.head.get("x-forwarded-proto"), "https");
  assert.equal(r.head.get("x-real-ip"), "127.0.0.1");

  const body = pseudoRandomBytes(300_000, 7);
  const file = await Deno.makeTempFile({ prefix: "sidekick_h2_body_" });
  try {
    await Deno.writeFile(file, body);
    const post = await curl(["--http2", "--data-binary", `@${file}`, `${url}/upload`]);
    assert.equal(`${post.version} ${post.status}`, "2 200", post.stderr);
    const p = seen[1];
    assert.equal(p.head.startLine, "POST /upload HTTP/1.1");
    assert.equal(p.head.get("content-length"), String(body.length));
    assert.equal(sha256(p.body), sha256(body));
    // And the echo came back whole.
    assert.equal(sha256(post.bytes), sha256(body));
  } finally {
    await Deno.remove(file);
  }
  // HTTP/1.1 on the same TLS port still works.
  const h1 = await curl(["--http1.1", `${url}/one`]);
  assert.equal(`${h1.version} ${h1.status}`, "1.1 200", h1.stderr);
});

Deno.test("h2c prior knowledge: served when the listener allows it; HTTP/1.1 on the same port as before", async () => {
  const seen: RawRequest[] = [];
  await using backend = startRecordingBackend(seen);
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const url = `http://127.0.0.1:${proxy.port}`;
  const h2 = await curl(["--http2-prior-knowledge", `${url}/c`]);
  assert.equal(`${h2.version} ${h2.status}`, "2 200", h2.stderr);
  assert.equal(seen[0].head.get("x-forwarded-proto"), "http");
  assert.equal(seen[0].head.get("host"), `127.0.0.1:${proxy.port}`);
  const h1 = await curl([`${url}/d`]);
  assert.equal(`${h1.version} ${h1.status}`, "1.1 200", h1.stderr);
});

Deno.test("h2c off (the default): a prior-knowledge client gets no HTTP/2, the preface is answered 505 as before", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]]);
  const res = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${proxy.port}/c`]);
  assert.notEqual(res.version, "2");
  assert.notEqual(res.code, 0);
  const conn = await Deno.connect({ hostname: HOST, port: proxy.port });
  try {
    await conn.write(new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    const buf = new Uint8Array(256);
    const n = await within(conn.read(buf), 5000, "the 505");
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 505 /);
  } finally {
    conn.close();
  }
});

Deno.test("h2: /v1/health answers 200 over h2; with the backend down, health and requests get minio/sidekick's 502", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], { tls: TLS });
  const url = `https://127.0.0.1:${proxy.port}`;
  const ok = await curl(["--http2", `${url}/v1/health`]);
  assert.equal(`${ok.version} ${ok.status}`, "2 200", ok.stderr);
  assert.match(ok.headers, /^server: SideKick\r$/m);
  await using down = await startHarness([[`http://127.0.0.1:${refusedPort()}`]], { tls: TLS });
  const durl = `https://127.0.0.1:${down.port}`;
  const bad = await curl(["--http2", `${durl}/bucket/key?versionId=1`]);
  assert.equal(`${bad.version} ${bad.status}`, "2 502", bad.stderr);
  assert.match(bad.headers, /^retry-after: 120\r$/m);
  assert.match(bad.headers, /^content-type: application\/xml\r$/m);
  assert.match(
    bad.body,
    /^<\?xml version="1\.0" encoding="UTF-8"\?><Error><Code>BackendDown<\/Code>/,
  );
  assert.match(bad.body, /<Resource>\/bucket\/key<\/Resource><\/Error>$/);
  const health = await curl(["--http2", `${durl}/v1/health`]);
  assert.equal(health.status, 502);
  assert.match(health.body, /all backend servers are offline/);
});

Deno.test("h2: trailers of a chunked backend response arrive as h2 trailers; a body without length goes chunked with its trailers", async () => {
  const seen: RawRequest[] = [];
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      seen.push(req);
      await peer.write(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n" +
          "5\r\nhello\r\n6\r\n world\r\n0\r\nGrpc-Status: 0\r\nGrpc-Message: fine\r\n\r\n",
      );
    }
  });
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connectH2c(proxy.port);
  try {
    const res = await request(session, { ":method": "GET", ":path": "/t", "te": "trailers" });
    assert.equal(res.status, 200);
    assert.equal(res.body, "hello world");
    assert.equal(res.trailers?.["grpc-status"], "0");
    assert.equal(res.trailers?.["grpc-message"], "fine");
    assert.equal(seen[0].head.get("te"), "trailers");
    // A streamed body without content-length: chunked toward the backend.
    const chunks = [pseudoRandomBytes(20_000, 1), pseudoRandomBytes(70_000, 2)];
    const post = await request(session, { ":method": "POST", ":path": "/p" }, chunks);
    assert.equal(post.status, 200);
    assert.equal(seen[1].head.get("transfer-encoding"), "chunked");
    assert.equal(seen[1].head.get("content-length"), null);
    assert.equal(sha256(seen[1].body), sha256(...chunks));
  } finally {
    session.close();
  }
});

Deno.test("h2: a client reset mid-response closes the upstream connection (it is not pooled)", async () => {
  let upstreamClosed: (() => void) | null = null;
  const closed = new Promise<void>((r) => upstreamClosed = r);
  await using backend = startRawBackend(async (peer) => {
    const req = await peer.readRequest();
    if (req === null) return;
    await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + "x".repeat(1000));
    // Nothing more: wait until sidekick closes this connection.
    while ((await peer.readSome()) !== null) { /* ignore */ }
    upstreamClosed!();
  });
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connectH2c(proxy.port);
  try {
    const req = session.request({ ":method": "GET", ":path": "/slow" });
    await new Promise<void>((resolve) => req.once("data", () => resolve()));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await within(closed, 5000, "the upstream connection to close after the client's RST_STREAM");
  } finally {
    session.close();
  }
});

Deno.test("h2: drain sends GOAWAY; the stream in flight finishes", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connectH2c(proxy.port);
  try {
    const first = await request(session, { ":method": "GET", ":path": "/1" });
    assert.equal(first.body, "a:/1");
    const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
    proxy.proxy.drain();
    await within(goaway, 5000, "GOAWAY after drain()");
  } finally {
    session.close();
  }
});

Deno.test("h2load: 2000 requests, 4 clients, 10 streams each, through sidekick (h2c and TLS): all succeed", async () => {
  await using backend = startNamedBackend("a");
  await using plain = await startHarness([[backend.url]], { spec: { h2c: true } });
  await using tls = await startHarness([[backend.url]], { tls: TLS });
  for (const url of [`http://127.0.0.1:${plain.port}/x`, `https://127.0.0.1:${tls.port}/x`]) {
    const out = await new Deno.Command("h2load", {
      args: ["-n", "2000", "-c", "4", "-m", "10", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(
      text,
      /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed/,
      text,
    );
    assert.match(text, /status codes: 2000 2xx/, text);
  }
  assert.ok(readFixture("ca.pem").length > 0);
  await waitFor(() => plain.proxy.connections === 0, 5000, "h2load's connections to close");
  await delay(0);
});

Deno.test("h2: request trailers go to an HTTP/1.1 backend as chunked trailers", async () => {
  let wire = "";
  await using backend = startRawBackend(async (peer) => {
    const head = await peer.readHead();
    if (head === null) return;
    wire = head.raw + await peer.readUntil("\r\n\r\n");
    await peer.write("HTTP/1.1 204 No Content\r\n\r\n");
  });
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  const session = connectH2c(proxy.port);
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ":method": "POST", ":path": "/t" }, { waitForTrailers: true });
      req.on("wantTrailers", () => req.sendTrailers({ "x-checksum": "abc", "grpc-timeout": "1S" }));
      req.on("response", (h) => resolve(Number(h[":status"])));
      req.on("error", reject);
      req.end("hello");
    });
    assert.equal(status, 204);
    assert.match(wire, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.ok(
      wire.endsWith("\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc\r\ngrpc-timeout: 1S\r\n\r\n"),
      JSON.stringify(wire),
    );
  } finally {
    session.close();
  }
});

/** Sends `text` on a fresh connection and returns what comes back before the proxy closes it. */
async function answerTo(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    await conn.write(new TextEncoder().encode(text));
    let got = "";
    const buf = new Uint8Array(512);
    for (let i = 0; i < 8; i++) {
      const n = await within(conn.read(buf), 3000, "the proxy to answer or close");
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    return got;
  } finally {
    conn.close();
  }
}

Deno.test("h2c on: a first line that is neither HTTP/1.x nor the preface ends the connection unanswered (RFC 9113 3.4); HTTP/1.x errors are still answered", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]], { spec: { h2c: true } });
  assert.equal(await answerTo(proxy.port, "INVALID CONNECTION PREFACE\r\n\r\n"), "");
  const h1 = await answerTo(proxy.port, "GET / HTTP/9.9\r\nHost: a\r\n\r\n");
  assert.match(h1, /^HTTP\/1\.1 505 /);
  await using plain = await startHarness([[backend.url]]);
  const off = await answerTo(plain.port, "INVALID CONNECTION PREFACE\r\n\r\n");
  assert.match(off, /^HTTP\/1\.1 400 /, "without h2c the port is HTTP/1.1 only and answers 400");
});

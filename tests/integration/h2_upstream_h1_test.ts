/**
 * HTTP/1.1 clients through sidekick to endpoints that speak HTTP/2: each
 * exchange becomes one stream on the endpoint's session. Raw HTTP/1.1
 * clients on real sockets, an h2c backend on the project's codec: heads both
 * ways, bodies (buffered, streamed past the windows, chunked), re-framing
 * (Content-Length kept, else chunked with the trailers, close for HTTP/1.0),
 * HEAD, keep-alive, and a refused endpoint.
 */

import assert from "node:assert/strict";
import { silent, startH2Backend } from "../_helpers/h2_peer.ts";
import { HttpPeer, startNamedBackend, waitFor } from "../_helpers/http.ts";
import { H2_ERROR } from "../../src/h2/session.ts";
import { startHarness } from "../fixtures/harness.ts";
import { refusedPort } from "../_helpers/backends.ts";

/** Echoes the body; the request fields as JSON in x-seen; content-length when asked (x-length); trailers. */
function echoBackend() {
  return startH2Backend(async (stream) => {
    const parts: Uint8Array[] = [];
    for (let c = await stream.read(); c !== null; c = await stream.read()) parts.push(c.slice());
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) body.set(p, (at += p.length) - p.length);
    const wantsLength = stream.head.includes("x-length");
    stream.sendHeaders([
      ":status",
      "201",
      "x-seen",
      JSON.stringify(stream.head),
      ...(wantsLength ? ["content-length", String(body.length)] : []),
    ], false);
    if (body.length > 0) await stream.write(body);
    await stream.end(wantsLength ? undefined : ["grpc-status", "0", "x-sum", String(body.length)]);
  });
}

function seen(r: { header(name: string): string | null }): Map<string, string> {
  const list: string[] = JSON.parse(r.header("x-seen") ?? "[]");
  const m = new Map<string, string>();
  for (let i = 0; i < list.length; i += 2) m.set(list[i], list[i + 1]);
  return m;
}

Deno.test("HTTP/1.1 -> h2c endpoint: a GET goes as a stream (Host as :authority, forwarding fields), the answer comes back chunked with its trailers", async () => {
  await using backend = echoBackend();
  await using proxy = await startHarness([[`h2c://127.0.0.1:${backend.port}/base`]]);
  const r = await proxy.get("/a?b=1", "Connection: keep-alive, X-Hop", "X-Hop: 1", "Accept: */*");
  assert.equal(r.status, 201);
  assert.equal(r.framing, "chunked");
  assert.equal(r.header("x-proxy"), "true");
  const s = seen(r);
  assert.equal(s.get(":method"), "GET");
  assert.equal(s.get(":authority"), "test");
  assert.equal(s.get(":path"), "/base/a?b=1");
  assert.equal(s.get("accept"), "*/*");
  assert.equal(s.get("x-forwarded-for"), "127.0.0.1");
  assert.equal(s.get("x-forwarded-host"), "test");
  assert.ok(!s.has("x-hop") && !s.has("connection") && !s.has("host"), [...s.keys()].join());
  assert.match(new TextDecoder().decode(r.wireBody), /^0\r\ngrpc-status: 0\r\nx-sum: 0\r\n\r\n$/);
});

Deno.test("HTTP/1.1 -> h2c endpoint: bodies with Content-Length (buffered and 1 MiB streamed) and chunked arrive whole", async () => {
  await using backend = echoBackend();
  await using proxy = await startHarness([[`h2c://127.0.0.1:${backend.port}`]]);
  const small = await proxy.exchange(
    "POST /s HTTP/1.1\r\nHost: h\r\nX-Length: 1\r\nContent-Length: 5\r\n\r\nhello",
  );
  assert.equal(small.status, 201);
  assert.equal(small.framing, "length");
  assert.equal(small.text(), "hello");
  assert.equal(seen(small).get("content-length"), "5");

  const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
  const peer = await HttpPeer.connect(proxy.port, 10_000);
  try {
    await peer.write(`POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: ${big.length}\r\n\r\n`);
    await peer.write(big);
    const r = await peer.readResponse();
    assert.equal(r.status, 201);
    assert.equal(r.body.length, big.length);
    assert.deepEqual(r.body, big);
  } finally {
    peer.close();
  }

  const chunked = await proxy.exchange(
    "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nx-t: 1\r\n\r\n",
  );
  assert.equal(chunked.status, 201);
  assert.equal(chunked.text(), "abcdefg");
  assert.ok(!seen(chunked).has("transfer-encoding") && !seen(chunked).has("content-length"));
});

Deno.test("HTTP/1.1 -> h2c endpoint: keep-alive across requests on one stream each, HEAD without a body, HTTP/1.0 close-delimited", async () => {
  await using backend = echoBackend();
  await using proxy = await startHarness([[`h2c://127.0.0.1:${backend.port}`]]);
  const peer = await HttpPeer.connect(proxy.port, 5_000);
  try {
    for (const path of ["/1", "/2"]) {
      await peer.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
      const r = await peer.readResponse();
      assert.equal(r.status, 201);
      assert.equal(seen(r).get(":path"), path);
    }
    await peer.write("HEAD /h HTTP/1.1\r\nHost: h\r\nX-Length: 1\r\n\r\n");
    const head = await peer.readResponse({ method: "HEAD" });
    assert.equal(head.status, 201);
    assert.equal(head.body.length, 0);
  } finally {
    peer.close();
  }
  const old = await proxy.exchange("POST /o HTTP/1.0\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
  assert.equal(old.framing, "close");
  assert.equal(old.text(), "hi");
  assert.equal(backend.accepted, 1, "one session carried every stream");
});

Deno.test("HTTP/1.1 -> h2c endpoints: a refused one is retried on the next; with none left the client gets 502", async () => {
  await using named = startNamedBackend("one");
  const refused = refusedPort();
  await using mixed = await startHarness([[`h2c://127.0.0.1:${refused}`, named.url]]);
  for (let i = 0; i < 3; i++) {
    const ok = await mixed.get("/y");
    assert.equal(ok.status, 200);
    assert.equal(ok.text(), "one:/y");
  }
  await using only = await startHarness([[`h2c://127.0.0.1:${refused}`]]);
  const r = await only.get("/x");
  assert.equal(r.status, 502);
  assert.match(r.text(), /connection refused/);
});

Deno.test("HTTP/1.1 -> h2c endpoint: a client that leaves while waiting resets the endpoint's stream at once", async () => {
  const resets: number[] = [];
  await using backend = startH2Backend(silent(resets));
  await using proxy = await startHarness([[`h2c://127.0.0.1:${backend.port}`]]);
  const peer = await HttpPeer.connect(proxy.port, 5_000);
  await peer.write("GET /long-poll HTTP/1.1\r\nHost: h\r\n\r\n");
  await waitFor(() => backend.sessions.size === 1, 2_000, "the stream reached the endpoint");
  await new Promise((r) => setTimeout(r, 50));
  peer.close();
  await waitFor(() => resets.length === 1, 2_000, "the endpoint's stream reset");
  assert.deepEqual(resets, [H2_ERROR.CANCEL]);
});

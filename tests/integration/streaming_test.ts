/**
 * Bodies through the proxy, byte for byte: compressed bodies untouched, large
 * uploads and downloads with every framing, and server-sent events flushed
 * as they arrive.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  getRequest,
  HttpPeer,
  pseudoRandomBytes,
  sha256,
  startProxy,
  startRawBackend,
  startServeBackend,
  utf8,
  waitFor,
  within,
} from "../_helpers/http.ts";

const MiB = 1024 * 1024;

async function gzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a gzip body and its Content-Encoding reach the client byte for byte", async () => {
  const plain = utf8("sidekick ".repeat(2000));
  const compressed = await gzip(plain);
  let acceptEncoding: string | null = null;
  await using backend = startRawBackend(async (peer) => {
    const req = await peer.readRequest();
    if (req === null) return;
    acceptEncoding = req.head.get("accept-encoding");
    await peer.write(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n` +
        `Vary: Accept-Encoding\r\nETag: "v1"\r\nContent-Length: ${compressed.length}\r\n\r\n`,
    );
    await peer.write(compressed);
  });
  await using proxy = await startProxy([[backend.url]]);
  const res = await proxy.exchange(getRequest("/file.txt", "Accept-Encoding: gzip, br"));
  assert.equal(res.status, 200);
  assert.equal(acceptEncoding, "gzip, br");
  assert.equal(res.header("content-encoding"), "gzip");
  assert.equal(res.header("etag"), '"v1"');
  assert.equal(res.header("vary"), "Accept-Encoding");
  assert.equal(res.header("content-length"), String(compressed.length));
  assert.ok(compressed.length < plain.length / 10, "the body really is compressed");
  assert.deepEqual(res.body, compressed);
});

Deno.test("a 20 MiB chunked upload reaches the endpoint intact (sha256)", async () => {
  const data = pseudoRandomBytes(20 * MiB, 7);
  await using backend = startServeBackend(async (req) => {
    const h = createHash("sha256");
    let n = 0;
    for await (const chunk of req.body!) {
      h.update(chunk);
      n += chunk.length;
    }
    return Response.json({
      sha: h.digest("hex"),
      bytes: n,
      te: req.headers.get("transfer-encoding"),
    });
  });
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect(30_000);
  try {
    await peer.write("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
    // Chunks of uneven sizes (1 B .. 96 KiB), several per write, so framing crosses reads.
    const sizes = pseudoRandomBytes(4096, 3);
    let off = 0, k = 0;
    while (off < data.length) {
      const size = Math.min(data.length - off, 1 + sizes[k % sizes.length] * 384);
      k++;
      await peer.write(utf8(size.toString(16) + "\r\n"));
      await peer.write(data.subarray(off, off + size));
      await peer.write(utf8("\r\n"));
      off += size;
    }
    await peer.write("0\r\n\r\n");
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    const got = JSON.parse(res.text());
    assert.equal(got.bytes, data.length);
    assert.equal(got.sha, sha256(data));
    assert.equal(got.te, "chunked");
  } finally {
    peer.close();
  }
});

Deno.test("a 20 MiB Content-Length download reaches the client intact (sha256)", async () => {
  const data = pseudoRandomBytes(20 * MiB, 11);
  await using backend = startServeBackend(() => new Response(data));
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect(30_000);
  try {
    await peer.write(getRequest("/big"));
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.framing, "length");
    assert.equal(res.header("content-length"), String(data.length));
    assert.equal(res.body.length, data.length);
    assert.equal(sha256(res.body), sha256(data));
    // The connection is still usable afterwards.
    await peer.write(getRequest("/again"));
    assert.equal((await peer.readResponse()).body.length, data.length);
  } finally {
    peer.close();
  }
});

Deno.test("a close-delimited 20 MiB response is relayed whole, then the client connection closes", async () => {
  const data = pseudoRandomBytes(20 * MiB, 13);
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
    for (let off = 0; off < data.length; off += 1000 * 1000) {
      await peer.write(data.subarray(off, off + 1000 * 1000));
    }
    // returning closes the connection: that is the end of the body
  });
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect(30_000);
  try {
    await peer.write(getRequest("/stream"));
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.framing, "close");
    assert.equal(res.header("connection"), "close");
    assert.equal(res.body.length, data.length);
    assert.equal(sha256(res.body), sha256(data));
    assert.ok(peer.eof);
  } finally {
    peer.close();
  }
});

Deno.test("server-sent events: the first event reaches the client while the stream stays open", async () => {
  let cancelled!: () => void;
  const streamCancelled = new Promise<void>((resolve) => cancelled = resolve);
  await using backend = startServeBackend(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(utf8("event: hello\ndata: first\n\n"));
        },
        cancel() {
          cancelled();
        },
      }),
      { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } },
    )
  );
  await using proxy = await startProxy([[backend.url]]);
  const peer = await HttpPeer.connect(proxy.port, 2000);
  try {
    await peer.write(getRequest("/events", "Accept: text/event-stream"));
    const head = await peer.readHead();
    assert.ok(head !== null);
    assert.match(head.startLine, /^HTTP\/1\.1 200 /);
    assert.equal(head.get("content-type"), "text/event-stream");
    const first = await peer.readUntil("data: first\n\n");
    assert.ok(!first.includes("0\r\n\r\n"), "the stream must not have ended");
    assert.ok(!peer.eof);
  } finally {
    peer.close();
  }
  // The client left: the proxy closes its upstream connection, which cancels the stream.
  await within(streamCancelled, 2000, "backend stream cancelled after the client left");
  await waitFor(() => proxy.endpoint(backend).inFlight === 0, 1000, "in-flight count drops");
  assert.equal(proxy.endpoint(backend).failures, 0, "a client leaving is not the endpoint's fault");
  assert.equal(proxy.endpoint(backend).status, "up");
});

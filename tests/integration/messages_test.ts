/**
 * Message semantics end to end: interim (1xx) responses, responses without a
 * body, and re-framing for HTTP/1.0 clients.
 */

import assert from "node:assert/strict";
import {
  getRequest,
  type RawRequest,
  startProxy,
  startRawBackend,
  startServeBackend,
} from "../_helpers/http.ts";

Deno.test("Expect: 100-continue: the endpoint's 100 reaches the client, which then sends the body", async () => {
  await using backend = startServeBackend(async (req) => {
    return new Response(`got ${await req.text()} expect=${req.headers.get("expect")}`);
  });
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect(2000);
  try {
    await peer.write(
      "PUT /obj HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n",
    );
    // The body is held back until the 100 arrives; without it this read times out.
    const interim = await peer.readHead();
    assert.ok(interim !== null);
    assert.match(interim.startLine, /^HTTP\/1\.1 100 /);
    await peer.write("hello world");
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text(), "got hello world expect=100-continue");
    // The connection goes on.
    await peer.write(getRequest("/next"));
    assert.equal((await peer.readResponse()).status, 200);
  } finally {
    peer.close();
  }
});

Deno.test("HEAD, 204 and 304 responses have no body and the connections stay usable", async () => {
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      if (req.method === "HEAD") {
        await peer.write(
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n",
        );
      } else if (req.target === "/204") {
        await peer.write("HTTP/1.1 204 No Content\r\nX-Kind: empty\r\n\r\n");
      } else if (req.target === "/304") {
        await peer.write('HTTP/1.1 304 Not Modified\r\nETag: "v7"\r\nContent-Length: 99\r\n\r\n');
      } else {
        await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
      }
    }
  });
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect(2000);
  try {
    await peer.write("HEAD /file HTTP/1.1\r\nHost: test\r\n\r\n");
    const head = await peer.readResponse({ method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.header("content-length"), "1234", "HEAD keeps the length of the GET");
    assert.equal(peer.buffered, 0);

    await peer.write(getRequest("/204"));
    const noContent = await peer.readResponse();
    assert.equal(noContent.status, 204);
    assert.equal(noContent.header("x-kind"), "empty");
    assert.equal(noContent.header("transfer-encoding"), null);
    assert.equal(peer.buffered, 0);

    await peer.write(getRequest("/304", 'If-None-Match: "v7"'));
    const notModified = await peer.readResponse();
    assert.equal(notModified.status, 304);
    assert.equal(notModified.header("etag"), '"v7"');
    assert.equal(peer.buffered, 0);

    // Pipelined after them all, a normal response still parses: no stray bytes came before it.
    await peer.write(getRequest("/last"));
    const last = await peer.readResponse();
    assert.equal(last.text(), "done");
    assert.equal(peer.buffered, 0);
    assert.equal(backend.accepted, 1, "the upstream connection stayed usable too");
  } finally {
    peer.close();
  }
});

Deno.test("103 Early Hints is relayed as it arrives, before the final response", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n",
    );
    await released;
    await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npage");
  });
  await using proxy = await startProxy([[backend.url]]);
  const peer = await proxy.connect(2000);
  try {
    await peer.write(getRequest("/page"));
    const hints = await peer.readHead();
    assert.ok(hints !== null);
    assert.equal(hints.startLine, "HTTP/1.1 103 Early Hints");
    assert.equal(hints.get("link"), "</style.css>; rel=preload; as=style");
    release();
    const res = await peer.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text(), "page");
  } finally {
    release();
    peer.close();
  }
});

Deno.test("an HTTP/1.0 client gets no 1xx and a de-chunked, close-delimited body", async () => {
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
    await peer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await peer.write("7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n");
  });
  await using proxy = await startProxy([[backend.url]]);
  const res = await proxy.exchange("GET /old HTTP/1.0\r\n\r\n");
  assert.equal(res.informational.length, 0);
  assert.equal(res.status, 200);
  assert.equal(res.framing, "close");
  assert.equal(res.header("transfer-encoding"), null);
  assert.equal(res.text(), "hello, world");
});

Deno.test("an HTTP/1.1 client gets the chunked body verbatim, extensions and trailers included", async () => {
  const wire = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    await peer.write(wire.slice(0, 9));
    await peer.write(wire.slice(9));
  });
  await using proxy = await startProxy([[backend.url]]);
  const res = await proxy.exchange(getRequest("/chunks", "TE: trailers"));
  assert.equal(res.framing, "chunked");
  assert.equal(res.text(), "hello, world");
  assert.equal(new TextDecoder().decode(res.wireBody), wire);
});

Deno.test("the request head is forwarded transparently: Host kept, hop-by-hop dropped, X-Forwarded-For appended once", async () => {
  const heads: string[] = [];
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      heads.push(req.head.raw);
      await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
  });
  await using proxy = await startProxy([[`${backend.url}/base`]]);
  const res = await proxy.exchange(
    "GET /bucket/obj?x=1 HTTP/1.1\r\nHost: s3.example:9000\r\nAuthorization: AWS4 sig\r\n" +
      "Connection: keep-alive, X-Hop\r\nX-Hop: drop me\r\nKeep-Alive: timeout=5\r\n" +
      "Proxy-Connection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\nx-custom:  Mixed Case \r\n\r\n",
  );
  assert.equal(res.status, 200);
  assert.equal(
    heads[0],
    "GET /base/bucket/obj?x=1 HTTP/1.1\r\nHost: s3.example:9000\r\nAuthorization: AWS4 sig\r\n" +
      "x-custom:  Mixed Case\r\nX-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n" +
      "X-Forwarded-Host: s3.example:9000\r\nX-Forwarded-Proto: http\r\nX-Real-IP: 127.0.0.1\r\n\r\n",
  );
});

Deno.test("IPv6: a listener and an endpoint on ::1", async () => {
  let seen: RawRequest | null = null;
  await using backend = startRawBackend(async (peer) => {
    seen = await peer.readRequest();
    await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6");
  }, { hostname: "::1" });
  assert.match(backend.url, /^http:\/\/\[::1\]:\d+$/);
  await using proxy = await startProxy([[backend.url]], { listen: "[::1]:0" });
  const res = await proxy.exchange(getRequest("/six"));
  assert.equal(res.text(), "v6");
  const req = seen as RawRequest | null;
  assert.ok(req !== null);
  assert.equal(req.head.get("x-forwarded-for"), "::1");
  assert.equal(proxy.endpoint(backend).endpoint, backend.url);
});

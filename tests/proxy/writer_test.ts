import assert from "node:assert/strict";
import { MessageHead, parseRequestHead, parseResponseHead } from "../../src/proxy/http/head.ts";
import {
  ByteWriter,
  type ResponseFraming,
  writeClientResponseHead,
  writeUpstreamRequestHead,
} from "../../src/proxy/http/writer.ts";

const LIMITS = { maxHeadBytes: 65536, maxHeaders: 100, maxTargetBytes: 8192 };

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function text(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

function upstream(
  raw: string,
  { base = "", tls = false, ip = "10.0.0.1" }: { base?: string; tls?: boolean; ip?: string } = {},
): string {
  const buf = latin1(raw);
  const head = new MessageHead(100);
  parseRequestHead({ buf, start: 0 }, buf.length, head, LIMITS);
  const w = new ByteWriter(16);
  writeUpstreamRequestHead(w, buf, head, { clientIp: latin1(ip), tls, basePath: latin1(base) });
  return text(w.view());
}

function client(
  raw: string,
  framing: ResponseFraming,
  connection: "keep-alive" | "close" | "upgrade" | "none" = "none",
): string {
  const buf = latin1(raw);
  const head = new MessageHead(100);
  parseResponseHead({ buf, start: 0 }, buf.length, head, 100);
  const w = new ByteWriter(16);
  writeClientResponseHead(w, buf, head, { framing, connection, extra: null });
  return text(w.view());
}

/** The forwarding headers for client 10.0.0.1 over plain HTTP. */
const fwd = (host: string | null, xff = "10.0.0.1") =>
  `X-Forwarded-For: ${xff}\r\n${host === null ? "" : `X-Forwarded-Host: ${host}\r\n`}` +
  "X-Forwarded-Proto: http\r\nX-Real-IP: 10.0.0.1\r\n\r\n";

Deno.test("upstream: header names keep case and order, values their bytes", () => {
  assert.equal(
    upstream(
      "GET /a/b?c=d HTTP/1.1\r\nhost: MinIO.local:9000\r\nUser-Agent:  curl/8 \r\n" +
        "ACCEPT:*/*\r\nX-Amz-Meta:  caf\xe9 \t au  lait\t\r\nX-Empty:\r\nx-amz-date: 1\r\n\r\n",
    ),
    "GET /a/b?c=d HTTP/1.1\r\nhost: MinIO.local:9000\r\nUser-Agent:  curl/8\r\nACCEPT:*/*\r\n" +
      "X-Amz-Meta:  caf\xe9 \t au  lait\r\nX-Empty:\r\nx-amz-date: 1\r\n" + fwd("MinIO.local:9000"),
  );
});

Deno.test("upstream: hop-by-hop headers are removed, including names listed in Connection", () => {
  assert.equal(
    upstream(
      "GET / HTTP/1.1\r\nConnection: keep-alive, X-Hop\r\nHost: h\r\nKeep-Alive: timeout=5\r\n" +
        "Proxy-Connection: keep-alive\r\nTE: gzip\r\nTrailer: X-Sum\r\nUpgrade: websocket\r\n" +
        "x-hop: 1\r\nX-Keep: 2\r\nX-Hop-Not: 3\r\n\r\n",
    ),
    "GET / HTTP/1.1\r\nHost: h\r\nX-Keep: 2\r\nX-Hop-Not: 3\r\n" + fwd("h"),
  );
});

Deno.test("upstream: Connection cannot strip Host, framing or forwarding headers", () => {
  assert.equal(
    upstream(
      "POST / HTTP/1.1\r\nHost: h\r\nConnection: host, content-length, x-forwarded-for, expect\r\n" +
        "Content-Length: 2\r\nX-Forwarded-For: 1.1.1.1\r\nExpect: 100-continue\r\n\r\n",
    ),
    "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n" +
      fwd("h", "1.1.1.1, 10.0.0.1"),
  );
});

Deno.test("upstream: TE keeps only trailers", () => {
  assert.equal(
    upstream("GET / HTTP/1.1\r\nTE: deflate, Trailers\r\nConnection: TE\r\nHost: h\r\n\r\n"),
    "GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n" + fwd("h"),
  );
});

Deno.test("upstream: Upgrade is kept only with Connection: upgrade", () => {
  assert.equal(
    upstream(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Key: k==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ),
    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k==\r\n" +
      "Sec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n" + fwd("h"),
  );
  assert.equal(
    upstream("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"),
    "GET /ws HTTP/1.1\r\nHost: h\r\n" + fwd("h"),
  );
  // HTTP/1.0 cannot upgrade (RFC 9110 7.8)
  assert.equal(
    upstream("GET /ws HTTP/1.0\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
    "GET /ws HTTP/1.1\r\nHost: h\r\n" + fwd("h"),
  );
});

Deno.test("upstream: X-Forwarded-For lines merge in order, client IP appended once", () => {
  assert.equal(
    upstream(
      "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: h\r\nX-Other: o\r\n" +
        "x-forwarded-for:  2.2.2.2, 3.3.3.3 \r\nX-FORWARDED-FOR:\r\nX-Forwarded-For: 4.4.4.4\r\n\r\n",
    ),
    "GET / HTTP/1.1\r\nHost: h\r\nX-Other: o\r\n" +
      fwd("h", "1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4, 10.0.0.1"),
  );
  assert.equal(
    upstream("GET / HTTP/1.1\r\nHost: h\r\n\r\n", { ip: "::1" }),
    "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: ::1\r\nX-Forwarded-Host: h\r\n" +
      "X-Forwarded-Proto: http\r\nX-Real-IP: ::1\r\n\r\n",
  );
});

Deno.test("upstream: client X-Forwarded-Host, -Proto and X-Real-IP are replaced", () => {
  assert.equal(
    upstream(
      "GET / HTTP/1.1\r\nX-Forwarded-Host: evil\r\nHost: h:1\r\nX-Forwarded-Proto: https\r\n" +
        "x-real-ip: 6.6.6.6\r\nX-Forwarded-Port: 1\r\n\r\n",
      { tls: true },
    ),
    "GET / HTTP/1.1\r\nHost: h:1\r\nX-Forwarded-Port: 1\r\nX-Forwarded-For: 10.0.0.1\r\n" +
      "X-Forwarded-Host: h:1\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\n\r\n",
  );
});

Deno.test("upstream: framing is re-done from the parse", () => {
  assert.equal(
    upstream("PUT /o HTTP/1.1\r\nCONTENT-LENGTH: 005, 5\r\nHost: h\r\nX-A: 1\r\n\r\n"),
    "PUT /o HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 5\r\n" + fwd("h"),
  );
  assert.equal(
    upstream("PUT /o HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nHost: h\r\n\r\n"),
    "PUT /o HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n" + fwd("h"),
  );
  assert.equal(
    upstream("POST /o HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
    "POST /o HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n" + fwd("h"),
  );
  assert.equal(
    upstream("POST /o HTTP/1.1\r\nHost: h\r\nContent-Length: 9007199254740991\r\n\r\n"),
    "POST /o HTTP/1.1\r\nHost: h\r\nContent-Length: 9007199254740991\r\n" + fwd("h"),
  );
});

Deno.test("upstream: basePath prefixes origin-form targets", () => {
  const line = (target: string, base: string, host = "Host: h\r\n") =>
    upstream(`GET ${target} HTTP/1.1\r\n${host}\r\n`, { base }).split("\r\n")[0];
  assert.equal(line("/a?b=1", "/s3"), "GET /s3/a?b=1 HTTP/1.1");
  assert.equal(line("/", "/s3"), "GET /s3/ HTTP/1.1");
  assert.equal(line("/", ""), "GET / HTTP/1.1");
  assert.equal(line("//x", "/s3"), "GET /s3//x HTTP/1.1");
  assert.equal(line("http://a.example?q", "/s3"), "GET /s3/?q HTTP/1.1");
  assert.equal(line("http://a.example?q", ""), "GET /?q HTTP/1.1");
  assert.equal(line("http://a.example", "/s3"), "GET /s3/ HTTP/1.1");
  assert.equal(line("http://a.example", ""), "GET / HTTP/1.1");
  assert.equal(line("http://a.example/p", "/s3"), "GET /s3/p HTTP/1.1");
  assert.equal(line("/caf\xe9%20x", "/s3"), "GET /s3/caf\xe9%20x HTTP/1.1");
  assert.equal(
    upstream("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", { base: "/s3" }).split("\r\n")[0],
    "OPTIONS * HTTP/1.1",
  );
});

Deno.test("upstream: absolute-form becomes origin-form with Host from the authority", () => {
  assert.equal(
    upstream("GET http://a.example:81/p?q HTTP/1.1\r\nX-A: 1\r\nHost: other\r\nX-B: 2\r\n\r\n"),
    "GET /p?q HTTP/1.1\r\nX-A: 1\r\nHost: a.example:81\r\nX-B: 2\r\n" + fwd("a.example:81"),
  );
  assert.equal(
    upstream("GET HTTPS://[::1]:8443 HTTP/1.0\r\nX-A: 1\r\n\r\n"),
    "GET / HTTP/1.1\r\nX-A: 1\r\nHost: [::1]:8443\r\n" + fwd("[::1]:8443"),
  );
});

Deno.test("upstream: an HTTP/1.0 client", () => {
  // Sent as HTTP/1.1, which needs Host: an empty one when the client gave none (RFC 9112 3.2).
  assert.equal(
    upstream("GET /x HTTP/1.0\r\nConnection: keep-alive\r\nUser-Agent: old\r\n\r\n"),
    "GET /x HTTP/1.1\r\nUser-Agent: old\r\nHost: \r\n" + fwd(null),
  );
  assert.equal(
    upstream("POST /x HTTP/1.0\r\nHost: h\r\nContent-Length: 3\r\n\r\n"),
    "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n" + fwd("h"),
  );
  // An empty Host is kept and gives no X-Forwarded-Host.
  assert.equal(
    upstream("GET / HTTP/1.1\r\nHost:\r\n\r\n"),
    "GET / HTTP/1.1\r\nHost:\r\n" + fwd(null),
  );
});

const OK = "HTTP/1.1 200 OK\r\n";

Deno.test("client: framing length, chunked, dechunk, close and none, re-done in place", () => {
  const res = OK + "Content-Length: 5\r\nX-A: 1\r\n\r\n";
  assert.equal(client(res, "length"), OK + "Content-Length: 5\r\nX-A: 1\r\n\r\n");
  assert.equal(
    client(res, "length", "close"),
    OK + "Content-Length: 5\r\nX-A: 1\r\nConnection: close\r\n\r\n",
  );
  assert.equal(
    client(res, "length", "keep-alive"),
    OK + "Content-Length: 5\r\nX-A: 1\r\nConnection: keep-alive\r\n\r\n",
  );
  const chunked = OK + "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n";
  assert.equal(client(chunked, "chunked"), OK + "Transfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");
  assert.equal(client(chunked, "dechunk", "close"), OK + "X-A: 1\r\nConnection: close\r\n\r\n");
  assert.equal(
    client(OK + "X-A: 1\r\n\r\n", "close", "close"),
    OK + "X-A: 1\r\nConnection: close\r\n\r\n",
  );
  // HEAD, 204 and 304: framing headers pass as they are
  assert.equal(
    client('HTTP/1.1 304 Not Modified\r\nETag: "e"\r\nContent-Length: 42\r\n\r\n', "none"),
    'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\nContent-Length: 42\r\n\r\n',
  );
  assert.equal(client(chunked, "none"), chunked);
});

Deno.test("client: a MinIO response head keeps its order; Content-Length stays where it was", () => {
  // The head of a real MinIO GetObject response (values shortened).
  const minio = "HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: 11\r\n" +
    'Content-Type: text/plain\r\nETag: "5eb63bbbe01eeed093cb22bb8f5acdc3"\r\n' +
    "Last-Modified: Tue, 02 Jan 2024 15:04:05 GMT\r\nServer: MinIO\r\n" +
    "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\nVary: Origin\r\n" +
    "Vary: Accept-Encoding\r\nX-Amz-Id-2: dd9025bab4ad464b049177c95eb6ebf3\r\n" +
    "X-Amz-Request-Id: 17A6A8F8D2E6C0B1\r\nX-Content-Type-Options: nosniff\r\n" +
    "X-Xss-Protection: 1; mode=block\r\nDate: Tue, 02 Jan 2024 15:04:05 GMT\r\n\r\n";
  assert.equal(client(minio, "length"), minio);
  // Two framing lines (a chunked response that also said Content-Length is refused by the
  // parser, so here: one Transfer-Encoding line among others) collapse into one, in place.
  const te = OK + "X-A: 1\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n";
  assert.equal(client(te, "chunked"), te);
  assert.equal(
    client(te, "dechunk", "close"),
    OK + "X-A: 1\r\nX-B: 2\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("client: extra lines (X-Proxy: true) come last, after Connection", () => {
  const res = OK + "Content-Length: 5\r\nX-A: 1\r\n\r\n";
  const w = new ByteWriter(16);
  const buf = new TextEncoder().encode(res);
  const head = new MessageHead(16);
  parseResponseHead({ buf, start: 0 }, buf.length, head, 16);
  writeClientResponseHead(w, buf, head, {
    framing: "length",
    connection: "close",
    extra: new TextEncoder().encode("X-Proxy: true\r\n"),
  });
  assert.equal(
    new TextDecoder().decode(w.view()),
    OK + "Content-Length: 5\r\nX-A: 1\r\nConnection: close\r\nX-Proxy: true\r\n\r\n",
  );
});

Deno.test("client: status line", () => {
  assert.equal(
    client("HTTP/1.0 404 Not Found\r\n\r\n", "close", "close"),
    "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n",
  );
  assert.equal(
    client("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "length"),
    "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
  );
  assert.equal(client("HTTP/1.1 200 \r\n\r\n", "none"), "HTTP/1.1 200 \r\n\r\n");
  assert.equal(
    client("HTTP/1.1 503 Tr\xe8s\tlent\r\n\r\n", "none"),
    "HTTP/1.1 503 Tr\xe8s\tlent\r\n\r\n",
  );
});

Deno.test("client: Upgrade only on a 101 relayed as an upgrade", () => {
  const res = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: a=\r\n\r\n";
  assert.equal(
    client(res, "none", "upgrade"),
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: a=\r\n" +
      "Connection: Upgrade\r\n\r\n",
  );
  assert.equal(
    client(OK + "Upgrade: h2c\r\nContent-Length: 0\r\n\r\n", "length"),
    OK + "Content-Length: 0\r\n\r\n",
  );
});

Deno.test("client: hop-by-hop headers are removed, Set-Cookie lines kept in order", () => {
  assert.equal(
    client(
      OK + "Set-Cookie: a=1\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\n" +
        "Set-Cookie: b=2; Path=/\r\nProxy-Connection: close\r\nTE: trailers\r\nTrailer: X-Sum\r\n" +
        "x-internal: secret\r\nset-cookie: c=3\r\nContent-Length: 1\r\n\r\n",
      "length",
    ),
    OK +
      "Set-Cookie: a=1\r\nSet-Cookie: b=2; Path=/\r\nset-cookie: c=3\r\nContent-Length: 1\r\n\r\n",
  );
  // End-to-end headers that the request side treats specially pass in responses.
  assert.equal(
    client(OK + "X-Forwarded-For: a\r\nX-Real-IP: b\r\nExpect: c\r\nHost: d\r\n\r\n", "close"),
    OK + "X-Forwarded-For: a\r\nX-Real-IP: b\r\nExpect: c\r\nHost: d\r\n\r\n",
  );
});

Deno.test("ByteWriter: grows and writes decimals without strings", () => {
  const w = new ByteWriter(1);
  for (const n of [0, 7, 10, 99, 100, 65535, 9007199254740991]) {
    w.decimal(n);
    w.byte(32);
  }
  w.range(latin1("x".repeat(100)), 0, 100);
  w.put(latin1("!"));
  assert.equal(text(w.view()), "0 7 10 99 100 65535 9007199254740991 " + "x".repeat(100) + "!");
});

/**
 * The pure h2 <-> HTTP/1.1 head translations: an h2 request's fields into
 * the HTTP/1.1 head an endpoint gets, a response head into h2 fields,
 * chunked trailers into h2 trailers, and sidekick's own answers as h2.
 */

import assert from "node:assert/strict";
import {
  H2Request,
  readH2Request,
  writeH1RequestHead,
} from "../../src/proxy/http/h2_request_head.ts";
import {
  ownResponseToH2,
  responseFields,
  trailerFields,
} from "../../src/proxy/http/h2_response_head.ts";
import { ByteWriter, type ForwardInfo } from "../../src/proxy/http/writer.ts";
import { MessageHead, parseResponseHead } from "../../src/proxy/http/head.ts";
import { backendDownResponse, healthResponse } from "../../src/proxy/http/responses.ts";
import { DEFAULT_HTTP_LIMITS } from "../../src/config/defaults.ts";

const te = new TextEncoder();

function info(tls = true, basePath = ""): ForwardInfo {
  return { clientIp: te.encode("10.0.0.1"), tls, basePath: te.encode(basePath) };
}

/** The HTTP/1.1 head for `fields`, or null when it cannot be written. */
function h1(fields: string[], endStream = true, i: ForwardInfo = info()): string | null {
  const req = new H2Request();
  readH2Request(fields, endStream, req, DEFAULT_HTTP_LIMITS);
  assert.equal(req.error, "", req.error);
  const w = new ByteWriter(64);
  if (!writeH1RequestHead(w, fields, req, i)) return null;
  return new TextDecoder("latin1").decode(w.view());
}

const GET = [
  ":method",
  "GET",
  ":scheme",
  "https",
  ":authority",
  "api.test:8443",
  ":path",
  "/a?b=1",
];
const FORWARDED = "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: api.test:8443\r\n" +
  "X-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\n\r\n";

Deno.test("h2 -> HTTP/1.1: :authority becomes Host, forwarding headers as the HTTP/1.1 path adds them", () => {
  assert.equal(
    h1([...GET, "accept", "*/*", "user-agent", "curl/8"]),
    "GET /a?b=1 HTTP/1.1\r\nHost: api.test:8443\r\naccept: */*\r\nuser-agent: curl/8\r\n" +
      FORWARDED,
  );
  // Plain listener: X-Forwarded-Proto http.
  assert.match(h1(GET, true, info(false))!, /\r\nX-Forwarded-Proto: http\r\n/);
});

Deno.test("h2 -> HTTP/1.1: X-Forwarded-For is appended to once; the client's other forwarding headers are replaced", () => {
  const head = h1([
    ...GET,
    "x-forwarded-for",
    "192.0.2.1",
    "x-forwarded-proto",
    "gopher",
    "x-real-ip",
    "1.2.3.4",
    "x-forwarded-for",
    "192.0.2.2",
    "x-forwarded-host",
    "evil",
  ])!;
  assert.equal(
    head,
    "GET /a?b=1 HTTP/1.1\r\nHost: api.test:8443\r\n" +
      "X-Forwarded-For: 192.0.2.1, 192.0.2.2, 10.0.0.1\r\nX-Forwarded-Host: api.test:8443\r\n" +
      "X-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\n\r\n",
  );
});

Deno.test("h2 -> HTTP/1.1: cookie crumbs join with '; ' where the first stood; hop-by-hop fields go", () => {
  const head = h1([
    ...GET,
    "cookie",
    "a=1",
    "x-one",
    "1",
    "cookie",
    "b=2",
    "connection",
    "close",
    "keep-alive",
    "5",
    "upgrade",
    "h2c",
    "http2-settings",
    "AAA",
    "transfer-encoding",
    "chunked",
    "host",
    "other",
    "trailer",
    "x-t",
  ])!;
  assert.equal(
    head,
    "GET /a?b=1 HTTP/1.1\r\nHost: api.test:8443\r\ncookie: a=1; b=2\r\nx-one: 1\r\n" + FORWARDED,
  );
});

Deno.test("h2 -> HTTP/1.1: the body is framed by content-length when given, else chunked; te: trailers is kept", () => {
  const post = [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":path",
    "/up",
    ":authority",
    "api.test:8443",
  ];
  assert.equal(
    h1([...post, "content-length", "5"], false),
    "POST /up HTTP/1.1\r\nHost: api.test:8443\r\nContent-Length: 5\r\n" + FORWARDED,
  );
  assert.equal(
    h1([...post, "te", "trailers"], false),
    "POST /up HTTP/1.1\r\nHost: api.test:8443\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n" +
      FORWARDED,
  );
  // END_STREAM on the HEADERS: no body, no framing line.
  assert.equal(h1(post, true), "POST /up HTTP/1.1\r\nHost: api.test:8443\r\n" + FORWARDED);
});

Deno.test("h2 -> HTTP/1.1: the host field stands in for a missing :authority; none gives an empty Host", () => {
  const noAuthority = [":method", "GET", ":scheme", "http", ":path", "/"];
  assert.equal(
    h1([...noAuthority, "host", "h.test"]),
    "GET / HTTP/1.1\r\nHost: h.test\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Host: h.test\r\n" +
      "X-Forwarded-Proto: https\r\nX-Real-IP: 10.0.0.1\r\n\r\n",
  );
  assert.equal(
    h1(noAuthority),
    "GET / HTTP/1.1\r\nHost: \r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n" +
      "X-Real-IP: 10.0.0.1\r\n\r\n",
  );
});

Deno.test("h2 -> HTTP/1.1: the endpoint's base path goes before the path; OPTIONS * stays", () => {
  assert.match(h1(GET, true, info(true, "/base"))!, /^GET \/base\/a\?b=1 HTTP\/1\.1\r\n/);
  const options = [":method", "OPTIONS", ":scheme", "http", ":path", "*", ":authority", "a"];
  assert.match(h1(options, true, info(true, "/base"))!, /^OPTIONS \* HTTP\/1\.1\r\n/);
});

Deno.test("h2 -> HTTP/1.1: a byte HTTP/1.1 cannot carry refuses the request (no smuggling through h2)", () => {
  assert.equal(h1([...GET, "x-a", "1\r\nx-injected: 1"]), null);
  assert.equal(h1([...GET, "x-a", "nul\0"]), null);
  assert.equal(h1([...GET, "X-Upper", "1"]), null);
  assert.equal(h1([...GET, "bad name", "1"]), null);
  assert.equal(h1([...GET, "x-a", "\u0100"]), null);
  assert.equal(h1([":method", "GET", ":scheme", "http", ":authority", "a b", ":path", "/"]), null);
  assert.equal(h1([":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/a b"]), null);
  assert.equal(h1([":method", "G T", ":scheme", "http", ":authority", "a", ":path", "/"]), null);
  assert.equal(h1([":method", "GET", ":scheme", "http", ":authority", "a", ":path", "x"]), null);
  // obs-text passes as its byte.
  assert.match(h1([...GET, "x-a", "caf\u00e9"])!, /x-a: caf\u00e9\r\n/);
});

Deno.test("readH2Request(): what cannot be forwarded, with the status to answer", () => {
  const req = new H2Request();
  const check = (fields: string[], status: number) => {
    readH2Request(fields, true, req, { ...DEFAULT_HTTP_LIMITS, maxTargetBytes: 8, maxHeaders: 2 });
    assert.equal(req.status, status, req.error);
  };
  check([":method", "CONNECT", ":authority", "a:443"], 405);
  check([":method", "GET", ":scheme", "http", ":authority", "a"], 400);
  check([":method", "GET", ":scheme", "http", ":path", "/123456789"], 414);
  check([
    ":method",
    "GET",
    ":scheme",
    "http",
    ":path",
    "/",
    ":authority",
    "a",
    "a",
    "1",
    "b",
    "2",
    "c",
    "3",
  ], 431);
  check([":method", "POST", ":scheme", "http", ":path", "/", "content-length", "-1"], 400);
  check([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a", "a", "1"], 0);
  assert.ok(req.idempotent && !req.isHead);
  readH2Request([":method", "HEAD", ":scheme", "http", ":path", "/"], true, req);
  assert.ok(req.isHead && req.idempotent && !req.hasBody);
  readH2Request([":method", "POST", ":scheme", "http", ":path", "/"], false, req);
  assert.ok(!req.idempotent && req.hasBody);
});

function parsed(text: string): { buf: Uint8Array; head: MessageHead } {
  const buf = te.encode(text);
  const head = new MessageHead(64);
  parseResponseHead({ buf, start: 0 }, buf.length, head, 64);
  return { buf, head };
}

Deno.test("HTTP/1.1 -> h2 response fields: :status first, lowercase names, connection-specific fields dropped", () => {
  const { buf, head } = parsed(
    "HTTP/1.1 201 Created\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n" +
      "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 3\r\nUpgrade: x\r\nTrailer: grpc-status\r\n\r\n",
  );
  const out: string[] = [];
  responseFields(buf, head, true, out);
  out.push("x-proxy", "true");
  assert.deepEqual(out, [
    ":status",
    "201",
    "set-cookie",
    "a=1",
    "set-cookie",
    "b=2",
    "content-length",
    "3",
    "trailer",
    "grpc-status",
    "x-proxy",
    "true",
  ]);
  const chunked = parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n");
  const out2: string[] = [];
  responseFields(chunked.buf, chunked.head, false, out2);
  assert.deepEqual(out2, [":status", "200"]);
});

Deno.test("chunked trailers -> h2 trailers: names lowercased, values trimmed, framing fields dropped", () => {
  const b = te.encode(
    "Grpc-Status:  0 \r\nGrpc-Message: ok\r\nTransfer-Encoding: x\r\nHost: h\r\n\r\n",
  );
  const out: string[] = [];
  trailerFields(b, 0, b.length, out);
  assert.deepEqual(out, ["grpc-status", "0", "grpc-message", "ok"]);
  const none: string[] = [];
  trailerFields(te.encode("\r\n"), 0, 2, none);
  assert.deepEqual(none, []);
});

Deno.test("sidekick's own answers as h2: the 502 keeps its XML body, Retry-After and Server; health is empty", () => {
  const down = ownResponseToH2(
    backendDownResponse(
      "The remote server returned an error (all backend servers are offline)",
      "/x",
      {
        status: 502,
        close: false,
        identify: true,
      },
    ),
  );
  assert.equal(down.status, 502);
  assert.equal(down.fields[0], ":status");
  assert.equal(down.fields[1], "502");
  const pairs = new Map<string, string>();
  for (let i = 2; i < down.fields.length; i += 2) pairs.set(down.fields[i], down.fields[i + 1]);
  assert.equal(pairs.get("retry-after"), "120");
  assert.equal(pairs.get("server"), "SideKick");
  assert.equal(pairs.get("content-type"), "application/xml");
  assert.equal(Number(pairs.get("content-length")), down.body.length);
  assert.match(
    new TextDecoder().decode(down.body),
    /<Code>BackendDown<\/Code>.*<Resource>\/x<\/Resource>/,
  );
  const up = ownResponseToH2(healthResponse("up", false));
  assert.deepEqual(up.fields, [":status", "200", "server", "SideKick", "content-length", "0"]);
  assert.equal(up.body.length, 0);
});

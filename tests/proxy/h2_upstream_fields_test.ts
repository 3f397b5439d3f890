/**
 * The fields a stream relayed to an HTTP/2 endpoint carries: the same
 * rules as the HTTP/1.1 writer (hop-by-hop dropped, te: trailers kept,
 * forwarding fields merged or replaced), the base path, Host as :authority.
 */

import assert from "node:assert/strict";
import { endToEndFields, upstreamRequestFields } from "../../src/proxy/http/h2_upstream_fields.ts";

const info = { clientIp: "10.0.0.9", tls: true };

Deno.test("upstreamRequestFields: hop-by-hop fields dropped, te keeps only trailers, spoofed forwarding replaced", () => {
  const head = [
    ":method",
    "GET",
    ":scheme",
    "https",
    ":authority",
    "api.example",
    ":path",
    "/v1?x=1",
    "connection",
    "keep-alive",
    "keep-alive",
    "5",
    "proxy-connection",
    "x",
    "upgrade",
    "h2c",
    "transfer-encoding",
    "chunked",
    "trailer",
    "grpc-status",
    "te",
    "gzip, trailers",
    "x-forwarded-for",
    "1.1.1.1",
    "x-forwarded-for",
    "",
    "x-forwarded-for",
    "2.2.2.2",
    "x-forwarded-host",
    "evil",
    "x-forwarded-proto",
    "http",
    "x-real-ip",
    "6.6.6.6",
    "cookie",
    "a=1",
    "cookie",
    "b=2",
    "accept",
    "*/*",
  ];
  assert.deepEqual(upstreamRequestFields(head, info, "/base"), [
    ":method",
    "GET",
    ":scheme",
    "https",
    ":authority",
    "api.example",
    ":path",
    "/base/v1?x=1",
    "te",
    "trailers",
    "cookie",
    "a=1",
    "cookie",
    "b=2",
    "accept",
    "*/*",
    "x-forwarded-for",
    "1.1.1.1, 2.2.2.2, 10.0.0.9",
    "x-forwarded-host",
    "api.example",
    "x-forwarded-proto",
    "https",
    "x-real-ip",
    "10.0.0.9",
  ]);
});

Deno.test("upstreamRequestFields: Host stands for a missing :authority; base path before ?q and not before *", () => {
  const head = [
    ":method",
    "OPTIONS",
    ":scheme",
    "http",
    ":path",
    "*",
    "host",
    "h:81",
    "te",
    "gzip",
  ];
  assert.deepEqual(upstreamRequestFields(head, { clientIp: "::1", tls: false }, "/b"), [
    ":method",
    "OPTIONS",
    ":scheme",
    "http",
    ":path",
    "*",
    ":authority",
    "h:81",
    "x-forwarded-for",
    "::1",
    "x-forwarded-host",
    "h:81",
    "x-forwarded-proto",
    "http",
    "x-real-ip",
    "::1",
  ]);
  const query = upstreamRequestFields([":method", "GET", ":path", "?q"], info, "/b");
  assert.deepEqual(query.slice(0, 4), [":method", "GET", ":path", "/b/?q"]);
  assert.ok(!query.includes("x-forwarded-host"), "no authority, no x-forwarded-host");
});

Deno.test("endToEndFields: response heads and trailers lose connection-specific fields, keep the rest", () => {
  assert.deepEqual(
    endToEndFields(
      [":status", "200", "content-type", "application/grpc", "connection", "close", "te", "x"],
      ["x-proxy", "true"],
    ),
    [":status", "200", "content-type", "application/grpc", "x-proxy", "true"],
  );
  assert.deepEqual(endToEndFields(["grpc-status", "7", "grpc-message", "no"], null), [
    "grpc-status",
    "7",
    "grpc-message",
    "no",
  ]);
});

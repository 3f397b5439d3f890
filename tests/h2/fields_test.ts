/**
 * The field rules of RFC 9113 8.2/8.3 (src/h2/fields.ts), pure.
 */

import assert from "node:assert/strict";
import { checkFields } from "../../src/h2/fields.ts";

const REQ = [":method", "GET", ":scheme", "https", ":authority", "a.example", ":path", "/x"];

function malformed(fields: string[], section: "request" | "response" | "trailers", why: RegExp) {
  const result = checkFields(fields, section);
  assert.equal(typeof result, "string", `${JSON.stringify(fields)} should be malformed`);
  assert.match(result as string, why);
}

Deno.test("h2 fields: a well-formed request, response and trailers", () => {
  assert.equal(checkFields(REQ, "request"), -1);
  assert.equal(checkFields([...REQ, "content-length", "12", "te", "trailers"], "request"), 12);
  assert.equal(checkFields([":status", "200", "content-length", "0"], "response"), 0);
  assert.equal(checkFields(["grpc-status", "0"], "trailers"), -1);
  assert.equal(
    checkFields([":method", "CONNECT", ":authority", "a.example:443"], "request"),
    -1,
  );
  assert.equal(checkFields([...REQ, "x-empty", ""], "request"), -1);
});

Deno.test("h2 fields: names must be lowercase token characters", () => {
  malformed([...REQ, "X-Upper", "1"], "request", /not lowercase/);
  malformed([...REQ, "a b", "1"], "request", /not lowercase/);
  malformed([...REQ, "é", "1"], "request", /not lowercase/);
  malformed([...REQ, "", "1"], "request", /empty field name/);
});

Deno.test("h2 fields: values must not hold NUL, CR, LF or edge whitespace", () => {
  malformed([...REQ, "x", "a\r\nb"], "request", /forbidden character/);
  malformed([...REQ, "x", "a\0"], "request", /forbidden character/);
  malformed([...REQ, "x", " a"], "request", /forbidden character/);
  malformed([...REQ, "x", "a\t"], "request", /forbidden character/);
});

Deno.test("h2 fields: connection-specific fields and te other than trailers", () => {
  for (
    const name of ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]
  ) {
    malformed([...REQ, name, "x"], "request", /connection-specific/);
  }
  malformed([...REQ, "te", "gzip"], "request", /te must be "trailers"/);
});

Deno.test("h2 fields: pseudo-header rules", () => {
  malformed(
    [":method", "GET", "x", "1", ":path", "/", ":scheme", "http"],
    "request",
    /after a regular/,
  );
  malformed([...REQ, ":method", "GET"], "request", /twice/);
  malformed([...REQ, ":status", "200"], "request", /not allowed in a request/);
  malformed([...REQ, ":foo", "1"], "request", /not allowed/);
  malformed([":scheme", "http", ":path", "/"], "request", /:method is missing/);
  malformed([":method", "GET", ":path", "/"], "request", /:scheme is missing/);
  malformed([":method", "GET", ":scheme", "http", ":path", ""], "request", /:path/);
  malformed([":method", "CONNECT", ":authority", "a:1", ":path", "/"], "request", /CONNECT/);
  malformed([":method", "CONNECT"], "request", /CONNECT needs :authority/);
  malformed([":status", "200", ":path", "/"], "response", /not allowed in a response/);
  malformed(["content-type", "x"], "response", /:status is missing/);
  malformed([":status", "20"], "response", /3 digits/);
  malformed(["x", "1", ":path", "/"], "trailers", /pseudo-header/);
});

Deno.test("h2 fields: content-length must be digits and agree with itself", () => {
  malformed([...REQ, "content-length", "-1"], "request", /content-length/);
  malformed([...REQ, "content-length", "1x"], "request", /content-length/);
  malformed([...REQ, "content-length", "1", "content-length", "2"], "request", /content-length/);
  assert.equal(checkFields([...REQ, "content-length", "3", "content-length", "3"], "request"), 3);
});

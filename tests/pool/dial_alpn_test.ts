/**
 * dialEndpoint for `h2://` endpoints on real TLS sockets: ALPN `h2` is
 * offered and must be picked; a server that picks another protocol or none
 * fails the dial with an error that says so.
 */

import assert from "node:assert/strict";
import { AlpnError, dialEndpoint } from "../../src/pool/dial.ts";
import { readFixture } from "../fixtures/harness.ts";

/** A TLS server with `alpn` offered that accepts one connection and records what was agreed. */
function tlsServer(alpn: string[] | undefined) {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: readFixture("server.pem"),
    key: readFixture("server-key.pem"),
    ...(alpn === undefined ? {} : { alpnProtocols: alpn }),
  });
  const agreed = (async () => {
    const conn = await listener.accept();
    try {
      return (await conn.handshake()).alpnProtocol;
    } catch {
      return "handshake failed";
    } finally {
      conn.close();
    }
  })();
  return { port: listener.addr.port, agreed, close: () => listener.close() };
}

const tls = { caCerts: [readFixture("ca.pem")], insecure: false };

Deno.test("dialEndpoint h2: ALPN h2 is offered and agreed", async () => {
  const server = tlsServer(["h2", "http/1.1"]);
  try {
    const conn = await dialEndpoint({ scheme: "h2", host: "127.0.0.1", port: server.port }, {
      timeoutMs: 5_000,
      tls,
    });
    conn.close();
    assert.equal(await server.agreed, "h2");
  } finally {
    server.close();
  }
});

for (const offered of [["http/1.1"], undefined]) {
  const name = offered === undefined ? "no ALPN" : "ALPN http/1.1 only";
  Deno.test(`dialEndpoint h2: a server with ${name} fails the dial clearly`, async () => {
    const server = tlsServer(offered);
    try {
      const err = await dialEndpoint({ scheme: "h2", host: "127.0.0.1", port: server.port }, {
        timeoutMs: 5_000,
        tls,
      }).then(() => null, (e) => e);
      assert.ok(err instanceof AlpnError, `got ${err}`);
      assert.match(
        err.message,
        new RegExp(`h2://127\\.0\\.0\\.1:${server.port} did not agree to HTTP/2.*https://`),
      );
      await server.agreed;
    } finally {
      server.close();
    }
  });
}

Deno.test("dialEndpoint: an https endpoint offers no ALPN (stays HTTP/1.1)", async () => {
  const server = tlsServer(["h2", "http/1.1"]);
  try {
    const conn = await dialEndpoint({ scheme: "https", host: "127.0.0.1", port: server.port }, {
      timeoutMs: 5_000,
      tls,
    });
    conn.close();
    assert.equal(await server.agreed, null);
  } finally {
    server.close();
  }
});

/**
 * dialEndpoint's TLS on real sockets: a cancelled dial ends a handshake in
 * progress at once, every endpoint can be dialled with TLS whatever its
 * scheme (a TCP listener that originates TLS), and a server name other than
 * the address is sent and verified.
 */

import assert from "node:assert/strict";
import { dialEndpoint, loadUpstreamTls } from "../../src/pool/dial.ts";
import { fixture, readFixture } from "../fixtures/harness.ts";
import { utf8 } from "../_helpers/net.ts";
import { sendAndFinish, startEcho } from "../_helpers/tls_echo.ts";

/** A TCP listener that accepts and never says a word (a stuck TLS peer). */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const loop = (async () => {
    for (let i = 0; i < 10; i++) {
      try {
        conns.push(await listener.accept());
      } catch {
        return;
      }
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await loop;
      for (const c of conns) c.close();
    },
  };
}

/** Sends `hello`, half-closes and reads the echo back (see startEcho). */
async function hello(conn: Deno.Conn): Promise<string> {
  const got = await sendAndFinish(conn, utf8("hello"));
  conn.close();
  return got;
}

Deno.test("dialEndpoint: a cancelled signal ends a TLS handshake in progress at once", async () => {
  const server = silentServer();
  try {
    const ac = new AbortController();
    const started = Date.now();
    const timer = setTimeout(() => ac.abort(), 100);
    await assert.rejects(() =>
      dialEndpoint({ scheme: "https", host: "127.0.0.1", port: server.port }, {
        timeoutMs: 10_000,
        signal: ac.signal,
        tls: { caCerts: [readFixture("ca.pem")], insecure: false },
      })
    );
    clearTimeout(timer);
    const took = Date.now() - started;
    assert.ok(took < 3_000, `the dial ended ${took} ms after it started`);
  } finally {
    await server.close();
  }
});

Deno.test("dialEndpoint: allEndpoints wraps a tcp endpoint in TLS; timeoutMs 0 sets no timer", async () => {
  await using server = startEcho("server");
  const tls = loadUpstreamTls({ caFile: fixture("ca.pem"), insecure: false }, true);
  assert.equal(tls?.allEndpoints, true);
  const conn = await dialEndpoint({ scheme: "tcp", host: "127.0.0.1", port: server.port }, {
    timeoutMs: 0,
    tls,
  });
  assert.equal(await hello(conn), "hello|eof 5");
  // Without allEndpoints a tcp endpoint is plain TCP.
  const plain = await dialEndpoint({ scheme: "tcp", host: "127.0.0.1", port: server.port }, {
    timeoutMs: 2_000,
    tls: loadUpstreamTls({ caFile: fixture("ca.pem"), insecure: false }),
  });
  assert.ok(!("handshake" in plain));
  plain.close();
});

Deno.test("dialEndpoint: serverName is the name sent (SNI) and checked, not the address", async () => {
  // other.pem is for other.example only, served at 127.0.0.1.
  await using server = startEcho("other");
  const target = { scheme: "tcp", host: "127.0.0.1", port: server.port };
  const named = loadUpstreamTls(
    { caFile: fixture("ca.pem"), serverName: "other.example", insecure: false },
    true,
  );
  const conn = await dialEndpoint(target, { timeoutMs: 2_000, tls: named });
  assert.equal(await hello(conn), "hello|eof 5");
  const byAddress = loadUpstreamTls({ caFile: fixture("ca.pem"), insecure: false }, true);
  await assert.rejects(
    () => dialEndpoint(target, { timeoutMs: 2_000, tls: byAddress }),
    /NotValidForName|not valid for name|IP/i,
  );
});

Deno.test("loadUpstreamTls: serverName with a client certificate is refused (Deno cannot send both)", () => {
  assert.throws(
    () =>
      loadUpstreamTls({
        caFile: fixture("ca.pem"),
        certFile: fixture("client.pem"),
        keyFile: fixture("client-key.pem"),
        serverName: "db.internal",
        insecure: false,
      }),
    /serverName cannot go with a client certificate/,
  );
  assert.deepEqual(loadUpstreamTls({ insecure: false }, true), {
    insecure: false,
    allEndpoints: true,
  });
});

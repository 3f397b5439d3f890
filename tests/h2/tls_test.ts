/**
 * The session over TLS (ALPN h2): both roles on Deno.TlsConn.
 */

import assert from "node:assert/strict";
import { H2Session, type H2Stream } from "../../src/h2/session.ts";
import { SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { readFixture } from "../fixtures/harness.ts";
import { HOST, text, utf8, within } from "../_helpers/net.ts";
import { readAll } from "./_h2.ts";

Deno.test("h2 over TLS: ALPN h2, a request with a body, a response with trailers", async () => {
  const listener = Deno.listenTls({
    hostname: HOST,
    port: 0,
    cert: readFixture("server.pem"),
    key: readFixture("server-key.pem"),
    alpnProtocols: ["h2"],
  });
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const session = new H2Session(conn, {
        role: "server",
        clock: SYSTEM_CLOCK,
        onStream: (stream: H2Stream) => {
          served.push((async () => {
            const body = await readAll(stream);
            stream.sendHeaders([":status", "200"], false);
            await stream.write(body);
            await stream.end(["x-alpn", (await conn.handshake()).alpnProtocol ?? "none"]);
          })());
        },
      });
      served.push(session.run());
    }
  })();
  const conn = await Deno.connectTls({
    hostname: HOST,
    port: (listener.addr as Deno.NetAddr).port,
    caCerts: [readFixture("ca.pem")],
    alpnProtocols: ["h2"],
  });
  const session = new H2Session(conn, { role: "client", clock: SYSTEM_CLOCK });
  const done = session.run();
  try {
    assert.equal((await conn.handshake()).alpnProtocol, "h2");
    const stream = session.request(
      [":method", "POST", ":scheme", "https", ":authority", "localhost", ":path", "/"],
      false,
    );
    await stream.write(utf8("over tls"));
    await stream.end();
    assert.equal((await within(stream.response(), 5_000, "the response"))[1], "200");
    assert.equal(text(await readAll(stream)), "over tls");
    assert.deepEqual(stream.trailers, ["x-alpn", "h2"]);
  } finally {
    session.close();
    await done;
    listener.close();
    await accepting;
    await Promise.all(served);
  }
});

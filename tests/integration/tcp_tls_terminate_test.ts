/**
 * TCP listeners that terminate TLS, on real sockets with the fixture
 * certificates (tests/fixtures/tls): TLS clients through sidekick to plain
 * backends, half-close, the PROXY protocol header, the handshake deadline,
 * and certificate files that follow their changes and reloads.
 */

import assert from "node:assert/strict";
import { readFixture } from "../fixtures/harness.ts";
import { delay, utf8, waitFor, within } from "../_helpers/net.ts";
import {
  connectTls,
  sendAndFinish,
  startEcho,
  startTcpProxy,
  tlsSpec,
} from "../_helpers/tls_echo.ts";
import { fixture } from "../fixtures/harness.ts";

const SERVER_TLS = { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") };

Deno.test("TCP TLS termination: a TLS client with the CA reaches a plain echo backend; one without it costs the backend nothing", async () => {
  await using backend = startEcho();
  await using p = await startTcpProxy(tlsSpec([backend.address], { tls: SERVER_TLS }));
  const conn = await connectTls(p.addr);
  assert.equal(await sendAndFinish(conn, utf8("hello")), "hello|eof 5");
  conn.close();
  assert.equal(backend.accepted, 1);

  // A client that does not trust the certificate fails its handshake before any endpoint is leased.
  await assert.rejects(() => connectTls(p.addr, "ca2.pem"));
  // A plain client gets no bytes through either.
  const plain = await Deno.connect({ hostname: p.addr.hostname, port: p.addr.port });
  await plain.write(utf8("not TLS\r\n\r\n"));
  const buf = new Uint8Array(64);
  try {
    for (let i = 0; i < 10 && (await within(plain.read(buf), 3_000, "the close")) !== null; i++) {
      // a TLS alert, then the end
    }
  } catch {
    // reset
  }
  plain.close();
  await delay(50);
  assert.equal(backend.accepted, 1, "no endpoint connection for a failed handshake");
  assert.equal(p.cluster.endpoints[0].failures, 0, "and no blame");
  assert.equal(p.proxy.stats().connections, 0);
});

Deno.test("TCP TLS termination keeps half-close: 100 kB in, the echo and the reply after the client's EOF", async () => {
  await using backend = startEcho();
  await using p = await startTcpProxy(tlsSpec([backend.address], { tls: SERVER_TLS }));
  const conn = await connectTls(p.addr);
  const size = 100_000;
  const got = await sendAndFinish(conn, new Uint8Array(size).fill(0x61));
  conn.close();
  assert.equal(got.length, size + `|eof ${size}`.length);
  assert.ok(got.endsWith(`|eof ${size}`), got.slice(-20));
});

Deno.test("TCP TLS termination with the PROXY protocol: the header names the TLS client, then the bytes inside TLS", async () => {
  await using backend = startEcho();
  await using p = await startTcpProxy(
    tlsSpec([backend.address], { tls: SERVER_TLS, proxyProtocol: "v1" }),
  );
  const conn = await connectTls(p.addr);
  const local = conn.localAddr as Deno.NetAddr;
  const got = await sendAndFinish(conn, utf8("ping"));
  conn.close();
  const header = `PROXY TCP4 ${local.hostname} ${p.addr.hostname} ${local.port} ${p.addr.port}\r\n`;
  assert.equal(got, `${header}ping|eof ${header.length + 4}`);
});

Deno.test("TCP TLS termination: a client that never completes its handshake is let go after connectTimeout", async () => {
  await using backend = startEcho();
  await using p = await startTcpProxy(
    tlsSpec([backend.address], { tls: SERVER_TLS, connectMs: 300 }),
    { sweepMs: 50 },
  );
  const silent = await Deno.connect({ hostname: p.addr.hostname, port: p.addr.port });
  const started = Date.now();
  await waitFor(() => p.proxy.stats().connections === 1, 2_000, "the session");
  await waitFor(() => p.proxy.stats().connections === 0, 3_000, "the session to end");
  const took = Date.now() - started;
  assert.ok(took >= 250, `let go after ${took} ms, before connectTimeout`);
  // Deno keeps the socket of a TLS connection closed mid-handshake until the peer
  // sends or leaves (it finishes the handshake before shutting down); anything
  // the client sends now gets the end.
  await silent.write(utf8("GET / HTTP/1.0\r\n\r\n"));
  const buf = new Uint8Array(64);
  let ended = false;
  try {
    for (let i = 0; i < 10 && !ended; i++) {
      ended = (await within(silent.read(buf), 3_000, "the close")) === null;
    }
  } catch (e) {
    ended = !(e instanceof Error && e.message.includes("not done within"));
  }
  silent.close();
  assert.ok(ended, "the connection ended");
  assert.equal(backend.accepted, 0);
});

Deno.test("TCP TLS termination: new certificate files are served without a restart; a broken file keeps the old one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sidekick-tcptls-" });
  try {
    const certFile = `${dir}/public.crt`, keyFile = `${dir}/private.key`;
    await Deno.writeTextFile(certFile, readFixture("server.pem"));
    await Deno.writeTextFile(keyFile, readFixture("server-key.pem"));
    await using backend = startEcho();
    const notices: string[] = [];
    await using p = await startTcpProxy(
      tlsSpec([backend.address], { tls: { certFile, keyFile } }),
      {
        certCheckMs: 30,
        onNotice: (m) => notices.push(m),
      },
    );
    const early = await connectTls(p.addr);

    await Deno.writeTextFile(certFile, readFixture("server2.pem"));
    await Deno.writeTextFile(keyFile, readFixture("server2-key.pem"));
    await waitFor(() => notices.some((m) => m.startsWith("reloaded")), 3_000, "reload notice");
    const late = await connectTls(p.addr, "ca2.pem");
    assert.equal(await sendAndFinish(late, utf8("new")), "new|eof 3");
    late.close();
    await assert.rejects(() => connectTls(p.addr, "ca.pem"));
    // The connection opened before the change goes on with the old certificate.
    assert.equal(await sendAndFinish(early, utf8("old")), "old|eof 3");
    early.close();

    await Deno.writeTextFile(certFile, "not a certificate");
    await waitFor(
      () => notices.some((m) => m.startsWith("cannot reload")),
      3_000,
      "failure notice",
    );
    const still = await connectTls(p.addr, "ca2.pem");
    assert.equal(await sendAndFinish(still, utf8("x")), "x|eof 1");
    still.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TCP TLS termination: update(spec) reads the new files at once; a bad file or a plain <-> TLS switch throws with nothing changed", async () => {
  await using backend = startEcho();
  const spec = tlsSpec([backend.address], { tls: SERVER_TLS });
  const notices: string[] = [];
  await using p = await startTcpProxy(spec, { onNotice: (m) => notices.push(m) });

  assert.throws(
    () => p.proxy.update({ ...spec, tls: { ...SERVER_TLS, certFile: fixture("gen.sh") } }),
    /no PEM CERTIFICATE block/,
  );
  const { tls: _tls, ...plain } = spec;
  assert.throws(() => p.proxy.update(plain), /cannot switch between plain/);
  const still = await connectTls(p.addr, "ca.pem");
  assert.equal(await sendAndFinish(still, utf8("a")), "a|eof 1");
  still.close();

  const commit = p.proxy.update({
    ...spec,
    tls: { certFile: fixture("server2.pem"), keyFile: fixture("server2-key.pem") },
  });
  commit();
  await waitFor(() => notices.some((m) => m.startsWith("reloaded")), 3_000, "reload notice");
  const after = await connectTls(p.addr, "ca2.pem");
  assert.equal(await sendAndFinish(after, utf8("b")), "b|eof 1");
  after.close();
});

/**
 * TCP listeners that originate TLS, on real sockets with the fixture
 * certificates (tests/fixtures/tls): plain clients through sidekick to TLS
 * backends verified against a CA, with a client certificate for a backend
 * that requires one, a wrong CA that fails the dial and is blamed, TCP
 * health probes that complete the handshake, and both directions at once.
 */

import assert from "node:assert/strict";
import { createProbe } from "../../src/health/probes.ts";
import { fixture } from "../fixtures/harness.ts";
import { utf8 } from "../_helpers/net.ts";
import {
  connectTls,
  sendAndFinish,
  startEcho,
  startMtlsEcho,
  startTcpProxy,
  tlsSpec,
} from "../_helpers/tls_echo.ts";

const CA = { caFile: fixture("ca.pem"), insecure: false };
const CLIENT_CERT = { certFile: fixture("client.pem"), keyFile: fixture("client-key.pem") };

async function plainClient(addr: Deno.NetAddr): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: addr.hostname, port: addr.port });
}

Deno.test("TCP TLS origination: a plain client reaches a TLS echo backend verified against the CA; half-close kept", async () => {
  await using backend = startEcho("server");
  await using p = await startTcpProxy(tlsSpec([backend.address], { upstreamTls: CA }));
  const size = 100_000;
  const client = await plainClient(p.addr);
  const got = await sendAndFinish(client, new Uint8Array(size).fill(0x62));
  client.close();
  assert.equal(got.length, size + `|eof ${size}`.length);
  assert.ok(got.endsWith(`|eof ${size}`), got.slice(-20));
  // Without upstreamTls the same backend gets plain bytes and the exchange fails.
  await using plain = await startTcpProxy(tlsSpec([backend.address]));
  const c = await plainClient(plain.addr);
  const back = await sendAndFinish(c, utf8("hello")).catch(() => "");
  c.close();
  assert.ok(!back.includes("|eof"), back);
});

Deno.test("TCP TLS origination with mTLS: the backend requires and sees the client certificate; without it the client gets nothing", async () => {
  await using backend = await startMtlsEcho();
  {
    await using p = await startTcpProxy(
      tlsSpec([backend.address], { upstreamTls: { ...CA, ...CLIENT_CERT } }),
    );
    const conn = await plainClient(p.addr);
    assert.equal(await sendAndFinish(conn, utf8("hi")), "client=sidekick test client;hi|eof 2");
    conn.close();
  }
  {
    // TLS 1.3: the client's side of the handshake completes before the backend
    // checks the certificate, so the refusal comes as an alert on the first read
    // and ends the relayed connection (no byte of the backend reaches the client).
    await using p = await startTcpProxy(tlsSpec([backend.address], { upstreamTls: CA }));
    const conn = await plainClient(p.addr);
    const got = await sendAndFinish(conn, utf8("hi")).catch(() => "");
    conn.close();
    assert.equal(got, "");
  }
});

Deno.test("TCP TLS origination: a wrong CA fails the dial, the endpoint is blamed and the next tier serves", async () => {
  await using wrong = startEcho("server2"); // issued by ca2
  await using right = startEcho("server");
  await using p = await startTcpProxy(
    tlsSpec([[wrong.address], [right.address]], { upstreamTls: CA }),
  );
  const conn = await plainClient(p.addr);
  assert.equal(await sendAndFinish(conn, utf8("x")), "x|eof 1");
  conn.close();
  const bad = p.cluster.endpoints.find((e) => e.spec.port === wrong.port)!;
  assert.equal(bad.failures, 1);
  assert.ok(bad.ejectedUntil > 0, "ejected (probes are off)");
});

Deno.test("TCP probes of a listener that originates TLS complete the handshake with its settings", async () => {
  await using tlsBackend = startEcho("server");
  await using plainBackend = startEcho();
  const target = (port: number) => ({
    spec: { scheme: "tcp" as const, host: "127.0.0.1", port, basePath: "" },
    healthPath: "",
  });
  const signal = new AbortController().signal;
  await using p = await startTcpProxy(tlsSpec([tlsBackend.address], { upstreamTls: CA }));
  const probe = createProbe("tcp", p.cluster);
  const ok = await probe(target(tlsBackend.port), signal);
  assert.deepEqual(ok, { passed: true, detail: "connected (TLS)" });
  const notTls = await probe(target(plainBackend.port), signal);
  assert.equal(notTls.passed, false);

  // A reload to another CA: the same probe now fails the handshake.
  const spec = tlsSpec([tlsBackend.address], {
    upstreamTls: { caFile: fixture("ca2.pem"), insecure: false },
  });
  p.proxy.update(spec)();
  const wrongCa = await probe(target(tlsBackend.port), signal);
  assert.equal(wrongCa.passed, false);
  assert.match(wrongCa.detail, /UnknownIssuer|certificate/i);
  // A bad file fails the reload with nothing changed.
  assert.throws(
    () =>
      p.proxy.update(
        tlsSpec([tlsBackend.address], { upstreamTls: { caFile: "nope.pem", insecure: false } }),
      ),
    /'nope.pem'/,
  );
  // And a listener without upstreamTls probes with a plain connect.
  await using plain = await startTcpProxy(tlsSpec([plainBackend.address]));
  assert.deepEqual(await createProbe("tcp", plain.cluster)(target(plainBackend.port), signal), {
    passed: true,
    detail: "connected",
  });
});

Deno.test("TCP TLS both ways: a TLS client through sidekick to a TLS backend, each with its own certificate", async () => {
  await using backend = await startMtlsEcho();
  await using p = await startTcpProxy(tlsSpec([backend.address], {
    tls: { certFile: fixture("server2.pem"), keyFile: fixture("server2-key.pem") },
    upstreamTls: { ...CA, ...CLIENT_CERT },
  }));
  const conn = await connectTls(p.addr, "ca2.pem");
  assert.equal(await sendAndFinish(conn, utf8("both")), "client=sidekick test client;both|eof 4");
  conn.close();
});

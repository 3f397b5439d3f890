/**
 * TLS end to end with the committed fixtures (tests/fixtures/tls): https
 * endpoints verified against --cacert, host name checks and --insecure,
 * client certificates (mTLS) seen by a backend that requires them, health
 * probes over the same TLS settings, and serving TLS to clients with
 * certificates that are reloaded when their files change.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { fixture, readFixture, startHarness, startTlsBackend } from "../fixtures/harness.ts";
import { delay, waitFor } from "../_helpers/http.ts";

function echoProto(req: Request): Response {
  return new Response(
    `proto=${req.headers.get("x-forwarded-proto")} path=${new URL(req.url).pathname}`,
  );
}

Deno.test("upstream TLS: an https endpoint is verified against the CA file", async () => {
  await using backend = startTlsBackend(echoProto);
  await using proxy = await startHarness([[backend.url]], {
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
  });
  const res = await proxy.get("/a");
  assert.equal(res.status, 200);
  assert.equal(res.text(), "proto=http path=/a");
  // The connection is pooled and reused.
  assert.equal((await proxy.get("/b")).text(), "proto=http path=/b");
});

Deno.test("upstream TLS: without the CA the endpoint fails verification (502, named error)", async () => {
  await using backend = startTlsBackend(echoProto);
  await using proxy = await startHarness([[backend.url]]);
  const res = await proxy.get("/a");
  assert.equal(res.status, 502);
  assert.match(res.text(), /BackendDown/);
  assert.match(res.text(), /certificate|UnknownIssuer/i);
  assert.equal(proxy.endpoint(backend.port).failures, 1);
});

Deno.test("upstream TLS: a host name mismatch fails unless insecure, which still checks the chain", async () => {
  // other.pem is for other.example, served at 127.0.0.1.
  await using backend = startTlsBackend(echoProto, "other");
  {
    await using strict = await startHarness([[backend.url]], {
      upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
    });
    const res = await strict.get("/x");
    assert.equal(res.status, 502);
    assert.match(res.text(), /NotValidForName|name|IP/i);
  }
  {
    await using insecure = await startHarness([[backend.url]], {
      upstreamTls: { caFile: fixture("ca.pem"), insecure: true },
    });
    assert.equal((await insecure.get("/x")).text(), "proto=http path=/x");
  }
  {
    // insecure without the CA: the chain is still verified (unlike Go's InsecureSkipVerify).
    await using noCa = await startHarness([[backend.url]], { upstreamTls: { insecure: true } });
    assert.equal((await noCa.get("/x")).status, 502);
  }
});

/** An HTTPS backend on node:tls that requires a client certificate signed by the test CA. */
function startMtlsBackend() {
  const server = tls.createServer({
    cert: readFixture("server.pem"),
    key: readFixture("server-key.pem"),
    ca: readFixture("ca.pem"),
    requestCert: true,
    rejectUnauthorized: true,
  }, (socket) => {
    let head = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      head += chunk;
      if (!head.includes("\r\n\r\n")) return;
      const target = head.split(" ", 2)[1];
      const cn = socket.getPeerCertificate().subject?.CN ?? "none";
      const body = `client=${cn} path=${target}`;
      socket.end(
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    socket.on("error", () => {});
  });
  server.on("tlsClientError", () => {});
  const listening = new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port))
  );
  return {
    listening,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

Deno.test("upstream mTLS: the client certificate is sent and verified by the endpoint", async () => {
  const backend = startMtlsBackend();
  try {
    const port = await backend.listening;
    const url = `https://127.0.0.1:${port}`;
    {
      await using proxy = await startHarness([[url]], {
        upstreamTls: {
          caFile: fixture("ca.pem"),
          certFile: fixture("client.pem"),
          keyFile: fixture("client-key.pem"),
          insecure: false,
        },
      });
      const res = await proxy.get("/m");
      assert.equal(res.status, 200);
      assert.equal(res.text(), "client=sidekick test client path=/m");
    }
    {
      // Without a client certificate the endpoint refuses the handshake.
      await using proxy = await startHarness([[url]], {
        upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
      });
      const res = await proxy.get("/m");
      assert.equal(res.status, 502);
      assert.match(res.text(), /CertificateRequired|alert|certificate/i);
    }
  } finally {
    await backend.close();
  }
});

Deno.test("upstream TLS: a bad CA file fails at construction with the file named", async () => {
  await assert.rejects(
    () =>
      startHarness([["https://127.0.0.1:1"]], {
        upstreamTls: { caFile: "nope.pem", insecure: false },
      }),
    (e: Error) => e instanceof TypeError && e.message.includes("'nope.pem'"),
  );
  await assert.rejects(
    () =>
      startHarness([["https://127.0.0.1:1"]], {
        upstreamTls: { caFile: fixture("gen.sh"), insecure: false },
      }),
    (e: Error) => e instanceof TypeError && e.message.includes("no PEM CERTIFICATE block"),
  );
});

Deno.test("health probes use the upstream TLS settings", async () => {
  await using backend = startTlsBackend((req) =>
    new URL(req.url).pathname === "/health" ? new Response("ok") : echoProto(req)
  );
  await using good = await startHarness([[backend.url]], {
    health: { active: true, path: "/health", intervalMs: 60_000, timeoutMs: 2000 },
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
  });
  assert.equal(good.endpoint(backend.port).health.status, "up");
  const events: string[] = [];
  await using bad = await startHarness([[backend.url]], {
    health: { active: true, path: "/health", intervalMs: 60_000, timeoutMs: 2000 },
    onHealthEvent: (e) => events.push(`${e.status} ${e.detail}`),
  });
  assert.equal(bad.endpoint(backend.port).health.status, "down");
  assert.equal((await bad.get("/x")).status, 502);
});

async function fetchWith(ca: string, url: string): Promise<Response> {
  const client = Deno.createHttpClient({ caCerts: [readFixture(ca)] });
  try {
    const res = await fetch(url, { client });
    await res.body?.cancel();
    return res;
  } finally {
    client.close();
  }
}

Deno.test("serving TLS: fetch with the CA gets through; the endpoint sees X-Forwarded-Proto https", async () => {
  await using backend = startTlsBackend(echoProto);
  await using proxy = await startHarness([[backend.url]], {
    tls: { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") },
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
  });
  const client = Deno.createHttpClient({ caCerts: [readFixture("ca.pem")] });
  try {
    for (const host of ["127.0.0.1", "localhost"]) {
      const res = await fetch(`https://${host}:${proxy.port}/p?q=1`, { client });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "proto=https path=/p");
    }
    const health = await fetch(`https://127.0.0.1:${proxy.port}/v1/health`, { client });
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    client.close();
  }
  // A client that does not trust the CA fails the handshake.
  await assert.rejects(() => fetchWith("ca2.pem", `https://127.0.0.1:${proxy.port}/`));
});

Deno.test("serving TLS: a plain-HTTP client on the TLS port gets a TLS alert, the listener keeps serving", async () => {
  // Not minio/sidekick's 400 "Client sent an HTTP request to an HTTPS server": Deno's TLS
  // listener answers the non-TLS bytes with an alert before sidekick can see them (README,
  // "Differences from minio/sidekick").
  await using backend = startTlsBackend(echoProto);
  await using proxy = await startHarness([[backend.url]], {
    tls: { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") },
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
  await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buf = new Uint8Array(1024);
  let n: number | null = 0, first = -1;
  try {
    while (n !== null) {
      n = await conn.read(buf);
      if (first < 0 && n !== null && n > 0) first = buf[0];
    }
  } catch {
    // reset
  }
  conn.close();
  assert.equal(first, 0x15, "a TLS alert record, not a silent close");
  assert.equal((await fetchWith("ca.pem", `https://127.0.0.1:${proxy.port}/ok`)).status, 200);
});

Deno.test("serving TLS: new certificate files are picked up without a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sidekick-tls-" });
  try {
    const certFile = `${dir}/public.crt`, keyFile = `${dir}/private.key`;
    await Deno.writeTextFile(certFile, readFixture("server.pem"));
    await Deno.writeTextFile(keyFile, readFixture("server-key.pem"));
    await using backend = startTlsBackend(echoProto);
    const notices: string[] = [];
    await using proxy = await startHarness([[backend.url]], {
      tls: { certFile, keyFile },
      upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
      proxy: { certCheckMs: 30, onNotice: (m) => notices.push(m) },
    });
    const url = `https://127.0.0.1:${proxy.port}/r`;
    assert.equal((await fetchWith("ca.pem", url)).status, 200);

    // A connection opened before the change keeps working after it.
    const early = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: proxy.port,
      caCerts: [readFixture("ca.pem")],
    });
    await early.handshake();

    // Rotate to a certificate from another CA (write both files, like a secret update).
    await Deno.writeTextFile(certFile, readFixture("server2.pem"));
    await Deno.writeTextFile(keyFile, readFixture("server2-key.pem"));
    await waitFor(() => notices.some((m) => m.startsWith("reloaded")), 3000, "reload notice");
    assert.equal((await fetchWith("ca2.pem", url)).status, 200);
    await assert.rejects(() => fetchWith("ca.pem", url));

    await early.write(
      new TextEncoder().encode("GET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    const buf = new Uint8Array(4096);
    let got = "";
    for (let i = 0; i < 20; i++) {
      const n = await early.read(buf);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
    }
    early.close();
    assert.match(got, /^HTTP\/1\.1 200 OK/);
    assert.ok(got.endsWith("proto=https path=/early"), got);

    // A broken file is reported and the current certificate stays.
    await Deno.writeTextFile(certFile, "not a certificate");
    await waitFor(() => notices.some((m) => m.startsWith("cannot reload")), 3000, "failure notice");
    assert.equal((await fetchWith("ca2.pem", url)).status, 200);
    await delay(10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("self-signed certificate: served, trusted by its own PEM, published at /v1/certificates", async () => {
  const { generateSelfSigned } = await import("../../src/proxy/http/self_signed.ts");
  const generated = await generateSelfSigned(["localhost", "127.0.0.1"]);
  await using backend = startTlsBackend(echoProto);
  await using proxy = await startHarness([[backend.url]], {
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
    proxy: { certificate: { cert: generated.cert, key: generated.key } },
  });
  const client = Deno.createHttpClient({ caCerts: [generated.cert] });
  try {
    const res = await fetch(`https://localhost:${proxy.port}/s`, { client });
    assert.equal(await res.text(), "proto=https path=/s");
    const certs = await fetch(`https://127.0.0.1:${proxy.port}/v1/certificates`, { client });
    assert.equal(certs.headers.get("content-type"), "application/x-pem-file");
    assert.equal(await certs.text(), generated.cert);
  } finally {
    client.close();
  }
  // Without a generated certificate the path answers 404, as minio/sidekick.
  await using plain = await startHarness([[backend.url]], {
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
  });
  const none = await plain.get("/v1/certificates");
  assert.equal(none.status, 404);
  assert.equal(none.text(), "no configured certificates found\n");
});

Deno.test("serving TLS: an encrypted key is decrypted with its password", async () => {
  const { TlsListener } = await import("../../src/proxy/tls_listener.ts");
  const files = {
    certFile: fixture("server.pem"),
    keyFile: fixture("server-key-encrypted.pem"),
  };
  const start = (keyPassword?: string) =>
    new TlsListener({
      hostname: "127.0.0.1",
      port: 0,
      files: { ...files, keyPassword },
      checkMs: 60_000,
      onListener: async (l) => {
        for (;;) {
          let conn: Deno.Conn;
          try {
            conn = await l.accept();
          } catch {
            return;
          }
          try {
            await conn.write(new TextEncoder().encode("hello"));
          } catch {
            // the client went away
          }
          conn.close();
        }
      },
      onNotice: () => {},
    });
  assert.throws(() => start().listen(), /encrypted and no password/);
  assert.throws(() => start("wrong").listen(), /Cannot decrypt the server key/);
  const tls = start("secret");
  const listener = tls.listen();
  try {
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
      caCerts: [readFixture("ca.pem")],
    });
    const buf = new Uint8Array(16);
    const n = await conn.read(buf);
    conn.close();
    assert.equal(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "hello");
  } finally {
    await tls.close();
  }
});

Deno.test("ipBytes: IPv4 and IPv6 literals for subject alternative names", async () => {
  const { ipBytes } = await import("../../src/proxy/http/self_signed.ts");
  assert.deepEqual(ipBytes("10.1.2.3"), Uint8Array.of(10, 1, 2, 3));
  assert.equal(ipBytes("256.1.1.1"), null);
  assert.deepEqual(
    ipBytes("2001:db8::1"),
    Uint8Array.of(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
  );
  assert.deepEqual(ipBytes("::ffff:1.2.3.4")?.slice(10), Uint8Array.of(0xff, 0xff, 1, 2, 3, 4));
  assert.deepEqual(ipBytes("1:2:3:4:5:6:7:8")?.[15], 8);
  assert.equal(ipBytes("1:2:3"), null);
  assert.equal(ipBytes("1::2::3"), null);
  assert.equal(ipBytes("minio.local"), null);
});

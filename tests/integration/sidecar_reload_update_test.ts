/**
 * What a reload applies to a kept HTTP listener that used to be fixed at
 * construction: server certificate files, upstream TLS files, upstream pool
 * sizes. A reload whose files cannot be read changes nothing.
 */

import assert from "node:assert/strict";
import { type HttpListenerSpec, type SidecarConfig } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener } from "../../src/config/builders.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { fixture, readFixture, startTlsBackend } from "../fixtures/harness.ts";
import { startNamedBackend } from "../_helpers/http.ts";
import { delay, get, waitFor } from "../_helpers/sidecar.ts";

function http(urls: readonly string[], extra: Partial<HttpListenerSpec> = {}): HttpListenerSpec {
  const spec = httpListener("127.0.0.1:0", [urls]);
  return {
    ...spec,
    // A failed request ejects its endpoint for 50 ms only.
    cluster: { ...spec.cluster, health: { ...DEFAULT_HEALTH, active: false, ejectMs: 50 } },
    ...extra,
  };
}

/** The status of a GET over TLS trusting only `ca`; "refused" when the handshake fails. */
async function statusWith(ca: string, port: number): Promise<number | "refused"> {
  const client = Deno.createHttpClient({ caCerts: [readFixture(ca)] });
  try {
    const res = await fetch(`https://127.0.0.1:${port}/r`, { client });
    await res.body?.cancel();
    return res.status;
  } catch {
    return "refused";
  } finally {
    client.close();
  }
}

Deno.test("reload: new server certificate files are served by the kept listener; unreadable ones change nothing", async () => {
  await using backend = startNamedBackend("A");
  const notices: string[] = [];
  const tls = { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") };
  const first: SidecarConfig = { listeners: [http([backend.url], { tls })] };
  await using sidecar = createSidecar(first, { onNotice: (m) => notices.push(m) });
  const [addr] = await sidecar.start();
  assert.equal(await statusWith("ca.pem", addr.port), 200);

  const tls2 = { certFile: fixture("server2.pem"), keyFile: fixture("server2-key.pem") };
  const broken = { ...tls2, keyFile: fixture("missing-key.pem") };
  await assert.rejects(
    sidecar.reload({ listeners: [http([backend.url], { tls: broken })] }),
    /missing-key\.pem/,
  );
  assert.equal(await statusWith("ca.pem", addr.port), 200, "the old certificate stays");

  await sidecar.reload({ listeners: [http([backend.url], { tls: tls2 })] });
  await waitFor(() => notices.some((m) => m.startsWith("reloaded the TLS")), 3000, "swap notice");
  assert.equal(sidecar.addresses[0].port, addr.port, "the same listener, the same port");
  assert.equal(await statusWith("ca2.pem", addr.port), 200);
  assert.equal(await statusWith("ca.pem", addr.port), "refused");
});

Deno.test("reload: plain <-> TLS on the same address is refused with a clear error", async () => {
  await using backend = startNamedBackend("A");
  await using sidecar = createSidecar({ listeners: [http([backend.url])] });
  const [addr] = await sidecar.start();
  const tls = { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") };
  await assert.rejects(
    sidecar.reload({ listeners: [http([backend.url], { tls })] }),
    /cannot switch between plain HTTP and TLS in place/,
  );
  assert.equal((await get(addr, "/x")).body, "A:/x");
});

Deno.test("reload: new upstream TLS files are used for the next requests", async () => {
  // server2.pem is issued by ca2: trusting ca.pem fails verification.
  await using backend = startTlsBackend(
    (req) => new Response(new URL(req.url).pathname),
    "server2",
  );
  const upstream = (ca: string) => ({ caFile: fixture(ca), insecure: false });
  await using sidecar = createSidecar({
    listeners: [http([backend.url], { upstreamTls: upstream("ca.pem") })],
  });
  const [addr] = await sidecar.start();
  assert.equal((await get(addr, "/a")).status, 502);
  await sidecar.reload({ listeners: [http([backend.url], { upstreamTls: upstream("ca2.pem") })] });
  await delay(60); // the ejection after the 502 is over
  const res = await get(addr, "/b");
  assert.equal(res.status, 200, res.body);
  assert.equal(res.body, "/b");
});

Deno.test("reload: the upstream pool size applies to the kept listener", async () => {
  await using backend = startNamedBackend("A");
  const spec = http([backend.url]);
  const pooled = (n: number) => ({ ...spec.limits, poolIdlePerEndpoint: n });
  await using sidecar = createSidecar({ listeners: [{ ...spec, limits: pooled(0) }] });
  const [addr] = await sidecar.start();
  for (let i = 0; i < 3; i++) assert.equal((await get(addr, "/x")).status, 200);
  assert.equal(backend.accepted, 3, "no pooling: one upstream connection per request");
  await sidecar.reload({ listeners: [{ ...spec, limits: pooled(4) }] });
  for (let i = 0; i < 3; i++) assert.equal((await get(addr, "/y")).status, 200);
  assert.equal(backend.accepted, 4, "pooled: one connection reused");
});

/**
 * `upstreamTls.serverName` on an HTTP listener: the shared dialer sends and
 * checks that name instead of the endpoint's host, so an https endpoint
 * reached by address whose certificate names only a host works.
 */

import assert from "node:assert/strict";
import { fixture, startHarness, startTlsBackend } from "../fixtures/harness.ts";

Deno.test("HTTP upstream TLS: serverName is the name checked, not the endpoint's address", async () => {
  // other.pem is for other.example only, served at 127.0.0.1.
  await using backend = startTlsBackend(() => new Response("named"), "other");
  {
    await using proxy = await startHarness([[backend.url]], {
      upstreamTls: { caFile: fixture("ca.pem"), serverName: "other.example", insecure: false },
    });
    const res = await proxy.get("/");
    assert.equal(res.status, 200);
    assert.equal(res.text(), "named");
  }
  {
    await using proxy = await startHarness([[backend.url]], {
      upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
    });
    assert.equal((await proxy.get("/")).status, 502);
  }
});

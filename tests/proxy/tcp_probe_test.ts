import assert from "node:assert/strict";
import type { EndpointSpec } from "../../src/config/schema.ts";
import { probeTcp } from "../../src/health/tcp_probe.ts";

function endpoint(host: string, port: number): EndpointSpec {
  return { scheme: "tcp", host, port, basePath: "" };
}

for (const host of ["127.0.0.1", "::1"]) {
  Deno.test(`probeTcp() passes when the endpoint accepts (${host})`, async () => {
    const listener = Deno.listen({ hostname: host, port: 0 });
    const accepted = listener.accept().then((c) => c.close(), () => {});
    try {
      const r = await probeTcp(endpoint(host, listener.addr.port), { timeoutMs: 1000 });
      assert.deepEqual(r, { passed: true, detail: "connected" });
      await accepted;
    } finally {
      listener.close();
      await accepted;
    }
  });
}

Deno.test("probeTcp() fails with 'connection refused' on a closed port", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const r = await probeTcp(endpoint("127.0.0.1", port), { timeoutMs: 1000 });
  assert.deepEqual(r, { passed: false, detail: "connection refused" });
});

Deno.test("probeTcp() uses options.port instead of the endpoint's port", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept().then((c) => c.close(), () => {});
  try {
    const r = await probeTcp(endpoint("127.0.0.1", 1), {
      timeoutMs: 1000,
      port: listener.addr.port,
    });
    assert.equal(r.passed, true);
  } finally {
    listener.close();
    await accepted;
  }
});

Deno.test("probeTcp() reports a cancelled probe without connecting", async () => {
  const ac = new AbortController();
  ac.abort();
  const r = await probeTcp(endpoint("127.0.0.1", 1), { timeoutMs: 1000, signal: ac.signal });
  assert.deepEqual(r, { passed: false, detail: "cancelled" });
});

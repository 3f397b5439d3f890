import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { EndpointSpec } from "../../src/config/schema.ts";
import { probeUdp } from "../../src/health/udp_probe.ts";

async function bound(host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((resolve) => s.bind(0, host, () => resolve()));
  return s;
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

function endpoint(host: string, port: number): EndpointSpec {
  return { scheme: "udp", host, port, basePath: "" };
}

for (const host of ["127.0.0.1", "::1"]) {
  Deno.test(`probeUdp() passes when the endpoint answers the payload (${host})`, async () => {
    const echo = await bound(host);
    const seen: string[] = [];
    echo.on("message", (m, r) => {
      seen.push(new TextDecoder().decode(m));
      echo.send(m, r.port, r.address);
    });
    try {
      const r = await probeUdp(endpoint(host, echo.address().port), {
        timeoutMs: 1000,
        payload: "health?",
      });
      assert.deepEqual(r, { passed: true, detail: "reply of 7 bytes" });
      assert.deepEqual(seen, ["health?"]);
    } finally {
      await closeSocket(echo);
    }
  });
}

Deno.test("probeUdp() fails when a bound socket never answers", async () => {
  const silent = await bound("127.0.0.1");
  let received = 0;
  silent.on("message", () => received++);
  try {
    const t0 = Date.now();
    const r = await probeUdp(endpoint("127.0.0.1", silent.address().port), {
      timeoutMs: 200,
      payload: "ping",
    });
    assert.deepEqual(r, { passed: false, detail: "no reply within 200 ms" });
    assert.ok(Date.now() - t0 >= 190);
    assert.equal(received, 1, "the payload was sent");
  } finally {
    await closeSocket(silent);
  }
});

Deno.test("probeUdp() fails against a closed port", async () => {
  const s = await bound("127.0.0.1");
  const port = s.address().port;
  await closeSocket(s);
  const r = await probeUdp(endpoint("127.0.0.1", port), { timeoutMs: 200, payload: "ping" });
  assert.equal(r.passed, false);
});

Deno.test("probeUdp() is cancelled by its signal", async () => {
  const silent = await bound("127.0.0.1");
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 50);
  try {
    const r = await probeUdp(endpoint("127.0.0.1", silent.address().port), {
      timeoutMs: 5000,
      payload: "ping",
      signal: ac.signal,
    });
    assert.deepEqual(r, { passed: false, detail: "cancelled" });
  } finally {
    clearTimeout(timer);
    await closeSocket(silent);
  }
});

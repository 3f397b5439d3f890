/**
 * Health end to end: active probes decide which endpoints get traffic, and
 * with probes off a transport error ejects an endpoint for `ejectMs`.
 */

import assert from "node:assert/strict";
import type { HealthEvent } from "../../src/health/checker.ts";
import {
  refusedPort,
  startNamedBackend,
  startProxy,
  startRawBackend,
  startServeBackend,
  waitFor,
} from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

/** A backend whose `/health` answers 200 or 500 as the test says; other paths name it. */
function startSwitchableBackend(name: string, healthy: { value: boolean }) {
  return startServeBackend((req) => {
    if (new URL(req.url).pathname === "/health") {
      return new Response(null, { status: healthy.value ? 200 : 500 });
    }
    return new Response(name);
  });
}

Deno.test("active checks: an endpoint failing its probe gets no traffic until the probe passes (fake clock)", async () => {
  const aHealthy = { value: false };
  await using a = startSwitchableBackend("a", aHealthy);
  await using b = startSwitchableBackend("b", { value: true });
  const events: HealthEvent[] = [];
  const clock = new FakeClock();
  await using proxy = await startProxy([[a.url, b.url]], {
    health: { active: true, path: "/health", intervalMs: 100, timeoutMs: 500 },
    onHealthEvent: (e) => events.push(e),
    clock,
  });
  assert.equal(proxy.endpoint(a).status, "down");
  assert.equal(proxy.endpoint(b).status, "up");
  for (let i = 0; i < 20; i++) {
    assert.equal((await proxy.get(`/r${i}`)).text(), "b");
    if (i % 5 === 0) await clock.advance(100); // let a few probe rounds run meanwhile
  }
  assert.equal(proxy.endpoint(a).requests, 0, "a failing endpoint is never used");

  aHealthy.value = true;
  await clock.advanceUntil(() => proxy.endpoint(a).status === "up", 2000, "a comes up");
  assert.ok(events.some((e) => e.endpoint.endsWith(`:${a.port}`) && e.status === "up"));
  const names: string[] = [];
  for (let i = 0; i < 20; i++) names.push((await proxy.get(`/s${i}`)).text());
  assert.ok(names.includes("a"), `a gets traffic once healthy: ${names.join(",")}`);
  assert.ok(names.includes("b"));

  // And it goes back out when the probe fails again.
  aHealthy.value = false;
  await clock.advanceUntil(() => proxy.endpoint(a).status === "down", 2000, "a goes down");
  const before = proxy.endpoint(a).requests;
  for (let i = 0; i < 10; i++) assert.equal((await proxy.get(`/t${i}`)).text(), "b");
  assert.equal(proxy.endpoint(a).requests, before);
});

Deno.test("health off: a refused endpoint is ejected for ejectMs, then tried again (fake clock)", async () => {
  const EJECT_MS = 300;
  const port = refusedPort();
  await using other = startNamedBackend("b");
  const clock = new FakeClock();
  // One site each, so the first endpoint is always preferred while available.
  await using proxy = await startProxy([[`http://127.0.0.1:${port}`], [other.url]], {
    health: { active: false, ejectMs: EJECT_MS },
    clock,
  });
  assert.equal((await proxy.get("/1")).text(), "b:/1");
  const ejectedAt = clock.now();
  assert.equal(proxy.endpoint({ port }).status, "down");

  // The endpoint comes back on the same port, but stays ejected until the time is up.
  await using back = startNamedBackend("a", { port });
  for (let i = 0; i < 5; i++) {
    assert.equal((await proxy.get(`/e${i}`)).text(), `b:/e${i}`);
    await clock.advance(50);
  }
  await clock.advance(ejectedAt + EJECT_MS - 1 - clock.now());
  assert.equal((await proxy.get("/last")).text(), "b:/last", "1 ms before the end: still out");
  assert.equal(back.accepted, 0, "not tried while ejected");
  await clock.advance(1);
  assert.equal(proxy.endpoint({ port }).status, "up");
  assert.equal((await proxy.get("/after")).text(), "a:/after");
  assert.equal(back.accepted, 1);
});

Deno.test("active checks: a request with no answer is retried elsewhere; the last endpoint of its site stays in while probes pass", async () => {
  let fail = false;
  await using a = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      if (req.target === "/health") {
        await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      if (fail) return; // close without an answer
      await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na");
    }
  });
  await using b = startNamedBackend("b");
  await using proxy = await startProxy([[a.url], [b.url]], {
    health: { active: true, path: "/health", intervalMs: 150, timeoutMs: 500 },
  });
  assert.equal((await proxy.get("/1")).text(), "a");
  fail = true;
  for (let i = 0; i < 4; i++) {
    assert.equal((await proxy.get(`/2.${i}`)).text(), `b:/2.${i}`, "retried on b");
  }
  assert.equal(proxy.endpoint(a).status, "up", "passive evidence alone: a stays in");
  assert.equal(proxy.endpoint(a).failures, 4);
  fail = false;
  assert.equal((await proxy.get("/3")).text(), "a");
});

Deno.test("active checks: a probe that gets no answer within timeoutMs fails", async () => {
  // Accepts the probe's connection and never answers.
  await using silent = startRawBackend(async (peer) => {
    await peer.drainUntilClosed();
  });
  await using b = startNamedBackend("b");
  const events: HealthEvent[] = [];
  const t0 = Date.now();
  await using proxy = await startProxy([[silent.url, b.url]], {
    health: { active: true, intervalMs: 60_000, timeoutMs: 200 },
    onHealthEvent: (e) => events.push(e),
  });
  const started = Date.now() - t0;
  assert.ok(started >= 190 && started < 1500, `first probe round took ${started} ms`);
  assert.equal(proxy.endpoint(silent).status, "down");
  assert.equal(proxy.endpoint(b).status, "up");
  assert.ok(silent.accepted >= 1, "the probe did connect");
  await waitFor(() => silent.open === 0, 1000, "the probe closed its connection at the deadline");
  assert.deepEqual(events.map((e) => [e.endpoint.endsWith(`:${b.port}`), e.status]), [[
    true,
    "up",
  ]]);
  for (let i = 0; i < 5; i++) assert.equal((await proxy.get(`/x${i}`)).text(), `b:/x${i}`);
});

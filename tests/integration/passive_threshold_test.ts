/**
 * Issue 16 item 4: one bad response must not empty a site. Failures seen
 * after a connection was made (a truncated body, a close right after the
 * head) take an endpoint out only after `passive.failures` of them within
 * `passive.window`, and never the last up endpoint of a site while its
 * probes pass. Real sockets, real backends.
 */

import assert from "node:assert/strict";
import { getRequest, startNamedBackend, startProxy, startRawBackend } from "../_helpers/http.ts";

/** Answers the first `bad` requests with a broken response, then normally. */
function flakyBackend(bad: number, broken: string) {
  let seen = 0;
  return startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      if (req.target !== "/health" && seen++ < bad) {
        await peer.write(broken);
        return; // close: the body is cut short
      }
      const body = `ok:${req.target}`;
      await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
  });
}

const BROKEN = {
  "a truncated body (Content-Length 100, 10 bytes, close)":
    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
  "a close right after the head": "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
};

for (const [what, broken] of Object.entries(BROKEN)) {
  Deno.test(`one endpoint, ${what} once: the next clients are served (no 502)`, async () => {
    await using backend = flakyBackend(1, broken);
    await using proxy = await startProxy([[backend.url]]);
    const first = await proxy.exchange(getRequest("/one")).catch((e: Error) => e);
    assert.ok(first instanceof Error, "the first client sees the cut");
    for (let i = 0; i < 5; i++) {
      const res = await proxy.get(`/next${i}`);
      assert.equal(res.status, 200, `request ${i} after the cut`);
      assert.equal(res.text(), `ok:/next${i}`);
    }
    assert.equal(proxy.endpoint(backend).failures, 1);
    assert.equal(proxy.endpoint(backend).status, "up");
  });
}

Deno.test("with probes passing, the last up endpoint of a site stays in however many cuts it makes", async () => {
  await using backend = flakyBackend(6, BROKEN["a close right after the head"]);
  await using proxy = await startProxy([[backend.url]], {
    health: { active: true, path: "/health", intervalMs: 60_000 },
  });
  for (let i = 0; i < 6; i++) {
    await proxy.exchange(getRequest(`/cut${i}`)).catch(() => {});
  }
  assert.equal(proxy.endpoint(backend).failures, 6);
  assert.equal(proxy.endpoint(backend).status, "up");
  const res = await proxy.get("/after");
  assert.equal(res.status, 200);
});

Deno.test("beside a healthy endpoint, 3 cuts within the window take the bad one out, 2 do not", async () => {
  await using bad = flakyBackend(
    1000,
    BROKEN["a truncated body (Content-Length 100, 10 bytes, close)"],
  );
  await using good = startNamedBackend("good");
  // Separate sites make the bad endpoint the first choice while it is up.
  await using proxy = await startProxy([[bad.url], [good.url]]);
  for (let i = 0; i < 2; i++) await proxy.exchange(getRequest(`/c${i}`)).catch(() => {});
  assert.equal(proxy.endpoint(bad).status, "up", "two cuts are not enough");
  await proxy.exchange(getRequest("/c2")).catch(() => {});
  assert.equal(proxy.endpoint(bad).status, "down", "the third cut takes it out");
  const res = await proxy.get("/elsewhere");
  assert.equal(res.text(), "good:/elsewhere");
});

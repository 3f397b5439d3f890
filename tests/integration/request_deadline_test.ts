/**
 * The whole-request deadline (`timeouts.requestMs`): it counts from the
 * request's start on the listener's clock, so a request that finishes in
 * time is served and one that does not is cut when it falls due, not before.
 */

import assert from "node:assert/strict";
import { delay, startProxy, startRawBackend, waitFor } from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

const REQUEST_MS = 1000;

/**
 * A proxy with a request deadline in front of a backend that answers each
 * request once `open()` is called; a request is sent and has reached the
 * backend when it resolves.
 */
async function gatedRequest(requestMs: number, clock?: FakeClock) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      await gate;
      await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
    }
  });
  const proxy = await startProxy([[backend.url]], {
    timeouts: { requestMs },
    ...(clock === undefined ? {} : { clock }),
  });
  const peer = await proxy.connect(5000);
  await peer.write("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
  await waitFor(() => backend.accepted === 1, 2000, "the request to reach the backend");
  return {
    open,
    response: peer.readResponse(),
    async [Symbol.asyncDispose]() {
      peer.close();
      open(); // the backend's handler ends with its connection
      await proxy[Symbol.asyncDispose]();
      await backend.close();
    },
  };
}

Deno.test("request deadline: a request answered before the deadline is served, past a sweep (fake clock)", async () => {
  const clock = new FakeClock();
  await using r = await gatedRequest(REQUEST_MS, clock);
  await clock.advance(600);
  await clock.advance(300); // 900 ms: within the deadline
  r.open();
  const res = await r.response;
  assert.equal(res.status, 200, "answered within the request deadline");
  assert.equal(res.text(), "ok");
});

Deno.test("request deadline: a request the endpoint never answers is cut at the deadline, not before (fake clock)", async () => {
  const clock = new FakeClock();
  await using r = await gatedRequest(REQUEST_MS, clock);
  let status = 0;
  const answer = r.response.then((res) => status = res.status);
  const t0 = clock.now();
  await clock.advance(REQUEST_MS - 10);
  await delay(20);
  assert.equal(status, 0, "no answer before the deadline");
  await clock.advanceUntil(() => status !== 0, 1000, "the 504", 5);
  await answer;
  assert.equal(status, 504);
  // The sweeper looks every quarter of the shortest timeout (250 ms).
  assert.ok(clock.now() - t0 <= REQUEST_MS + 250 + 10, `cut after ${clock.now() - t0} ms`);
});

Deno.test("request deadline: a request answered in time is served (wall-clock smoke)", async () => {
  await using r = await gatedRequest(2000);
  await delay(700); // past at least one sweep (every 500 ms), well within 2 s
  r.open();
  assert.equal((await r.response).status, 200);
});

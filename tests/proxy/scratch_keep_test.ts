/**
 * A keep-alive connection's working memory: given back after a first
 * request (connections with one request each share a few), kept between
 * requests that come back to back (no give-and-take per request), and given
 * back once the listener's sweeper finds the connection waiting.
 */

import assert from "node:assert/strict";
import { startHarness } from "../fixtures/harness.ts";
import { delay, HttpPeer, startNamedBackend, waitFor } from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("HTTP: back-to-back requests keep the connection's working memory; the sweep parks it (fake clock)", async () => {
  await using backend = startNamedBackend("A");
  const clock = new FakeClock();
  await using h = await startHarness([[backend.url]], { clock });
  const peer = await HttpPeer.connect(h.port);
  try {
    await peer.write(`GET /first HTTP/1.1\r\nHost: t\r\n\r\n`);
    assert.equal((await peer.readResponse()).text(), "A:/first");
    // One request: given back at once (many connections with one request each share a few).
    await waitFor(
      () => h.proxy.pooledScratchBytes > 0,
      2_000,
      "the scratch back after one request",
    );
    const one = h.proxy.pooledScratchBytes;
    for (let i = 0; i < 5; i++) {
      await peer.write(`GET /${i} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.equal((await peer.readResponse()).text(), `A:/${i}`);
      await delay(20); // the connection is waiting for its next request by now
      assert.equal(h.proxy.pooledScratchBytes, 0, "back to back: held between requests");
    }
    // The sweeper runs every second at the default timeouts: the waiting connection parks.
    await clock.advanceUntil(() => h.proxy.pooledScratchBytes === one, 2_000, "the park", 100);
  } finally {
    peer.close();
  }
});

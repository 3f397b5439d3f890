/**
 * A keep-alive connection's working memory while requests come back to back:
 * kept between requests (no give-and-take per request), given back once the
 * listener's sweeper finds the connection waiting.
 */

import assert from "node:assert/strict";
import { startHarness } from "../fixtures/harness.ts";
import { HttpPeer, startNamedBackend } from "../_helpers/http.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("HTTP: back-to-back requests keep the connection's working memory; the sweep parks it (fake clock)", async () => {
  await using backend = startNamedBackend("A");
  const clock = new FakeClock();
  await using h = await startHarness([[backend.url]], { clock });
  const peer = await HttpPeer.connect(h.port);
  try {
    for (let i = 0; i < 5; i++) {
      await peer.write(`GET /${i} HTTP/1.1\r\nHost: t\r\n\r\n`);
      assert.equal((await peer.readResponse()).text(), `A:/${i}`);
      assert.equal(h.proxy.pooledScratchBytes, 0, "held between requests, not given back");
    }
    // The sweeper runs every second at the default timeouts: the waiting connection parks.
    await clock.advanceUntil(() => h.proxy.pooledScratchBytes > 0, 2_000, "the park", 100);
    const one = h.proxy.pooledScratchBytes;
    await peer.write("GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
    assert.equal((await peer.readResponse()).text(), "A:/again");
    assert.equal(h.proxy.pooledScratchBytes, 0, "taken again from the pool");
    await clock.advanceUntil(() => h.proxy.pooledScratchBytes === one, 2_000, "the park", 100);
  } finally {
    peer.close();
  }
});

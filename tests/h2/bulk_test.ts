/**
 * Bulk DATA through a session: the writer's batch takes pooled buffers (no
 * growth by doubling, nothing left to the allocator per batch), gives them
 * back when the connection is idle, and the bytes arrive intact.
 */

import assert from "node:assert/strict";
import { lentBuffers, madeBuffers } from "../../src/h2/_buffers.ts";
import { pseudoRandomBytes, sha256, waitFor, within } from "../_helpers/net.ts";
import { dialH2, readAll, serveH2 } from "./_h2.ts";

const GET = [":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/"];
const BODY = pseudoRandomBytes(2 * 1024 * 1024, 7);
/** What the HTTP/1.1 relay hands a stream per upstream read. */
const CHUNK = 64 * 1024;

Deno.test("h2 bulk: 2 MiB responses in 64 KiB writes reuse pooled batch buffers", async () => {
  const lent = lentBuffers();
  await using srv = serveH2(async (stream) => {
    stream.sendHeaders([":status", "200"], false);
    for (let at = 0; at < BODY.length; at += CHUNK) {
      await stream.write(BODY.subarray(at, at + CHUNK));
    }
    await stream.end();
  });
  // Windows as large as h2load's, so that the server's batches fill up.
  const { session, done } = await dialH2(srv.port, {
    initialWindowSize: 1 << 30,
    connectionWindowSize: 1 << 30,
  });
  try {
    const get = async () => {
      const stream = session.request(GET, true);
      assert.equal((await within(stream.response(), 5_000, "the response"))[1], "200");
      return await within(readAll(stream), 10_000, "the body");
    };
    assert.equal(sha256(await get()), sha256(BODY)); // warms the free lists
    const made = madeBuffers();
    for (let i = 0; i < 4; i++) {
      const bodies = await Promise.all([get(), get()]);
      for (const body of bodies) assert.equal(sha256(body), sha256(BODY));
    }
    // 16 MiB went through; a batch grown by doubling made several buffers each time.
    assert.ok(madeBuffers() - made <= 4, `${madeBuffers() - made} buffers made`);
    await waitFor(() => lentBuffers() === lent, 5_000, "every buffer back");
  } finally {
    session.close();
    await done;
  }
});

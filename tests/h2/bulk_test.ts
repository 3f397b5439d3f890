/**
 * Bulk DATA through a session: the writer's batch takes pooled buffers (no
 * growth by doubling, nothing left to the allocator per batch), gives them
 * back when the connection is idle, and the bytes arrive intact.
 */

import assert from "node:assert/strict";
import { lentBuffers, madeBuffers } from "../../src/h2/_buffers.ts";
import { delay, pseudoRandomBytes, sha256, waitFor, within } from "../_helpers/net.ts";
import type { H2Session, H2Stream } from "../../src/h2/session.ts";
import { dialH2, readAll, serveH2 } from "./_h2.ts";

const GET = [":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/"];
const BODY = pseudoRandomBytes(2 * 1024 * 1024, 7);
/** What the HTTP/1.1 relay hands a stream per upstream read. */
const CHUNK = 64 * 1024;

/**
 * Serves BODY in CHUNK writes, as the relay does; `pause` waits a timer turn
 * between them, as the relay waits for its upstream (the connection is idle).
 */
function answer(pause: boolean) {
  return async (stream: H2Stream): Promise<void> => {
    stream.sendHeaders([":status", "200"], false);
    for (let at = 0; at < BODY.length; at += CHUNK) {
      await stream.write(BODY.subarray(at, at + CHUNK));
      if (pause) await delay(0);
    }
    await stream.end();
  };
}

/**
 * Runs `rounds` rounds of `parallel` GETs of BODY on each of `connections`
 * connections (after one to warm the free lists); checks every body, that at
 * most 4 buffers were made past the free lists (a batch grown beyond the
 * pooled size, or dropped by a full free list, makes one each time), and that
 * every buffer is back once the connections are idle.
 */
async function bulk(parallel: number, rounds: number, connections = 1): Promise<void> {
  const lent = lentBuffers();
  await using srv = serveH2(answer(connections > 1));
  const clients = await Promise.all(Array.from({ length: connections }, () =>
    dialH2(srv.port, {
      initialWindowSize: 1 << 30, // as large as h2load's, so that the server's batches fill up
      connectionWindowSize: 1 << 30,
    })));
  try {
    const get = async (session: H2Session) => {
      const stream = session.request(GET, true);
      assert.equal((await within(stream.response(), 5_000, "the response"))[1], "200");
      assert.equal(sha256(await within(readAll(stream), 20_000, "the body")), sha256(BODY));
    };
    const all = () =>
      Promise.all(
        clients.flatMap(({ session }) => Array.from({ length: parallel }, () => get(session))),
      );
    await all();
    const made = madeBuffers();
    for (let i = 0; i < rounds; i++) await all();
    assert.ok(madeBuffers() - made <= 4, `${madeBuffers() - made} buffers made`);
    await waitFor(() => lentBuffers() === lent, 5_000, "every buffer back");
  } finally {
    for (const { session, done } of clients) {
      session.close();
      await done;
    }
  }
}

Deno.test("h2 bulk: 2 MiB responses in 64 KiB writes reuse pooled batch buffers", async () => {
  await bulk(2, 4); // a batch grown by doubling made several buffers each time
});

Deno.test("h2 bulk: 32 streams writing at once wait for the socket before appending", async () => {
  await bulk(32, 1); // every stream appending its chunk past the high-water mark grew the batch
});

Deno.test("h2 bulk: 6 bulk connections waiting for their upstream keep reusing batches", async () => {
  await bulk(1, 4, 6); // a free list of 4 batches dropped what 6 idle connections gave back
});

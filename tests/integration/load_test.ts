/**
 * Failover under load: one of two endpoints dies while clients keep sending
 * GETs, and not one request fails.
 */

import assert from "node:assert/strict";
import { getRequest, startNamedBackend, startProxy } from "../_helpers/http.ts";

const CLIENTS = 4;
const REQUESTS = 150;

Deno.test("no request fails while one of two endpoints is killed under load", async () => {
  await using a = startNamedBackend("a");
  await using b = startNamedBackend("b");
  await using proxy = await startProxy([[a.url, b.url]], { health: { ejectMs: 60_000 } });
  let done = 0;
  let killedAfter = -1;
  const served = { a: 0, b: 0, other: 0 };
  const failures: string[] = [];
  const client = async (id: number) => {
    // Keep-alive clients; a new connection only if the proxy closes one.
    let peer = await proxy.connect(5000);
    try {
      for (let i = 0; i < REQUESTS; i++) {
        const path = `/c${id}/r${i}`;
        try {
          await peer.write(getRequest(path));
          const res = await peer.readResponse();
          const body = res.text();
          if (res.status !== 200) failures.push(`${path}: ${res.status} ${body}`);
          else if (body === `a:${path}`) served.a++;
          else if (body === `b:${path}`) served.b++;
          else served.other++;
          if (res.header("connection") === "close") {
            peer.close();
            peer = await proxy.connect(5000);
          }
        } catch (e) {
          failures.push(`${path}: ${e}`);
          peer.close();
          peer = await proxy.connect(5000);
        }
        if (++done === (CLIENTS * REQUESTS) / 2) {
          killedAfter = done;
          a.kill();
        }
      }
    } finally {
      peer.close();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
  assert.deepEqual(failures, []);
  assert.equal(served.other, 0);
  assert.equal(served.a + served.b, CLIENTS * REQUESTS);
  assert.equal(killedAfter, (CLIENTS * REQUESTS) / 2);
  assert.ok(served.a > 0, "a served until it was killed");
  assert.ok(served.a <= killedAfter + CLIENTS, `a served ${served.a}, some after it was killed`);
  assert.equal(proxy.endpoint(a).status, "down");
});

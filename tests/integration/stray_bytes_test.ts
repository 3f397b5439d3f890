/**
 * Stray bytes from a backend (issue 16 item 5): bytes that come on an idle
 * pooled connection, or past the end of a response, show that the backend
 * and sidekick no longer agree where responses start. Such bytes must never
 * reach a later client: the connection is closed, the endpoint's connections
 * are not reused for a while, and it is logged once.
 */

import assert from "node:assert/strict";
import { httpListener } from "../../src/config/builders.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { delay, HttpPeer, startRawBackend } from "../_helpers/http.ts";

async function startSidecar(url: string, notices: string[]) {
  const spec = httpListener("127.0.0.1:0", [[url]]);
  const sidecar = createSidecar({
    listeners: [{
      ...spec,
      cluster: { ...spec.cluster, health: { ...spec.cluster.health, active: false } },
    }],
  }, { onNotice: (m) => notices.push(m) });
  const [addr] = await sidecar.start();
  return {
    async get(path: string): Promise<string> {
      const peer = await HttpPeer.connect(addr.port, 5000);
      try {
        await peer.write(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
        return (await peer.readResponse()).text();
      } finally {
        peer.close();
      }
    },
    [Symbol.asyncDispose]: () => sidecar.close(),
  };
}

Deno.test("an unsolicited response from a backend never reaches the next client", async () => {
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      const body = `ok:${req.target}`;
      await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      await delay(300);
      await peer.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSTRAY");
    }
  });
  const notices: string[] = [];
  await using proxy = await startSidecar(backend.url, notices);
  assert.equal(await proxy.get("/a"), "ok:/a");
  await delay(500); // the stray response lands on the idle pooled connection
  assert.equal(await proxy.get("/b"), "ok:/b");
  await delay(50);
  // B's connection would be reused here, and its stray response taken for C's.
  assert.equal(await proxy.get("/c"), "ok:/c");
  await delay(400);
  assert.equal(await proxy.get("/d"), "ok:/d");
  const about = notices.filter((n) => n.includes(`127.0.0.1:${backend.port}`));
  assert.equal(about.length, 1, `logged once: ${JSON.stringify(notices)}`);
  assert.match(about[0], /not reused/);
});

Deno.test("bytes past the end of a response close the connection and are logged once", async () => {
  await using backend = startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      const body = `ok:${req.target}`;
      await peer.write(
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}EXTRA-BYTES`,
      );
    }
  });
  const notices: string[] = [];
  await using proxy = await startSidecar(backend.url, notices);
  for (const path of ["/a", "/b", "/c"]) assert.equal(await proxy.get(path), `ok:${path}`);
  assert.equal(notices.length, 1, JSON.stringify(notices));
  assert.match(notices[0], /past the end of a response|outside any response/);
});

/**
 * Connection upgrades: a WebSocket conversation through the proxy, and a raw
 * `Upgrade:` tunnel whose two directions close independently.
 */

import assert from "node:assert/strict";
import {
  startProxy,
  startRawBackend,
  startServeBackend,
  text,
  waitFor,
  within,
} from "../_helpers/http.ts";

Deno.test("a WebSocket echo works through the proxy, subprotocol and close code included", async () => {
  let backendClosed!: (code: number) => void;
  const backendClose = new Promise<number>((resolve) => backendClosed = resolve);
  let seenProtocol: string | null = null;
  await using backend = startServeBackend((req) => {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 400 });
    }
    seenProtocol = req.headers.get("sec-websocket-protocol");
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "echo.v1" });
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => socket.send(e.data);
    socket.onclose = (e) => backendClosed(e.code);
    return response;
  });
  await using proxy = await startProxy([[backend.url]]);

  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/chat`, ["echo.v1"]);
  ws.binaryType = "arraybuffer";
  const messages: (string | ArrayBuffer)[] = [];
  let received: () => void = () => {};
  ws.onmessage = (e) => {
    messages.push(e.data);
    received();
  };
  const next = () => new Promise<void>((resolve) => received = resolve);
  const clientClose = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
  try {
    await within(
      new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("WebSocket failed to open"));
      }),
      3000,
      "WebSocket open",
    );
    assert.equal(ws.protocol, "echo.v1");
    assert.equal(seenProtocol, "echo.v1");

    let got = next();
    ws.send("hello through sidekick");
    await within(got, 3000, "text echo");
    assert.equal(messages[0], "hello through sidekick");

    got = next();
    ws.send(new Uint8Array([0, 1, 2, 253, 254, 255]));
    await within(got, 3000, "binary echo");
    assert.deepEqual(
      new Uint8Array(messages[1] as ArrayBuffer),
      new Uint8Array([0, 1, 2, 253, 254, 255]),
    );

    got = next();
    const big = "x".repeat(200_000);
    ws.send(big);
    await within(got, 3000, "large echo");
    assert.equal(messages[2], big);

    ws.close(4001, "done");
    const closeEvent = await within(clientClose, 3000, "client close");
    assert.equal(closeEvent.code, 4001);
    assert.equal(await within(backendClose, 3000, "backend close"), 4001);
  } finally {
    if (ws.readyState !== WebSocket.CLOSED) {
      ws.close();
      await within(clientClose, 3000, "client close in cleanup");
    }
  }
});

Deno.test("a raw Upgrade tunnel relays both ways and keeps half-close", async () => {
  let upstreamHead = "";
  let backendSawEnd = false;
  await using backend = startRawBackend(async (peer) => {
    const req = await peer.readRequest();
    if (req === null) return;
    upstreamHead = req.head.raw;
    await peer.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: shout/1\r\nConnection: Upgrade\r\n\r\n",
    );
    // Shout back everything until the client's side ends, then say goodbye.
    for (;;) {
      const b = await peer.readSome();
      if (b === null) break;
      await peer.write(text(b).toUpperCase());
    }
    backendSawEnd = true;
    await peer.write("BYE");
  });
  await using proxy = await startProxy([[backend.url]]);
  const client = await proxy.connect(3000);
  try {
    await client.write(
      "GET /shout HTTP/1.1\r\nHost: test\r\nConnection: keep-alive, Upgrade\r\nUpgrade: shout/1\r\n\r\n",
    );
    const res = await client.readResponse();
    assert.equal(res.status, 101);
    assert.equal(res.header("upgrade"), "shout/1");
    assert.equal(res.header("connection"), "Upgrade");
    assert.match(upstreamHead, /\r\nUpgrade: shout\/1\r\n/);
    assert.match(upstreamHead, /\r\nConnection: Upgrade\r\n/);

    await client.write("hello");
    assert.equal(text(await client.readBytes(5)), "HELLO");
    await client.write("again, ");
    await client.write("in two writes");
    assert.equal(text(await client.readBytes(20)), "AGAIN, IN TWO WRITES");

    // Half-close: our FIN must reach the backend while its direction stays open.
    await client.closeWrite();
    assert.equal(text(await client.readToEnd()), "BYE");
    assert.ok(backendSawEnd);
    assert.ok(client.eof);
  } finally {
    client.close();
  }
});

Deno.test("a 101 that the client did not ask for is refused with 502", async () => {
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
    );
    await peer.readSome();
  });
  await using proxy = await startProxy([[backend.url]]);
  const res = await proxy.get("/no-upgrade");
  assert.equal(res.status, 502);
});

Deno.test("a raw Upgrade tunnel keeps half-close from the endpoint's side too", async () => {
  let lateData = "";
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
    );
    await peer.write("server done");
    await peer.closeWrite();
    lateData = new TextDecoder().decode(await peer.readToEnd());
  });
  await using proxy = await startProxy([[backend.url]]);
  const client = await proxy.connect(3000);
  try {
    await client.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n");
    assert.equal((await client.readResponse()).status, 101);
    assert.equal(text(await client.readToEnd()), "server done");
    // The endpoint's side ended; ours is still open and its bytes still arrive.
    await client.write("client still talking");
    await client.closeWrite();
    await waitFor(() => lateData !== "", 2000, "endpoint got the late bytes");
    assert.equal(lateData, "client still talking");
  } finally {
    client.close();
  }
});

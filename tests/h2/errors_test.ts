/**
 * Protocol errors a server-role session answers, driven by a raw peer on a
 * real socket: GOAWAY for connection errors, RST_STREAM for stream errors.
 */

import assert from "node:assert/strict";
import { FLAG, FRAME, writeUint32 } from "../../src/h2/frame.ts";
import { H2_ERROR, type H2Stream } from "../../src/h2/session.ts";
import { delay, text, utf8, within } from "../_helpers/net.ts";
import { frameBytes, RawPeer, serveH2 } from "./_h2.ts";

const GET = [":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/"];

/** A server answering 200 at once, or holding streams open while `hold` is set. */
function server(options: Parameters<typeof serveH2>[1] = {}, seen: H2Stream[] = []) {
  return serveH2((stream) => {
    seen.push(stream);
    if (stream.headTooLarge) {
      stream.sendHeaders([":status", "431"], true);
      return;
    }
    if (stream.head.includes("/hold")) return;
    stream.sendHeaders([":status", "200"], true);
  }, options);
}

/** Expects GOAWAY(code) and then the connection closed. */
async function expectGoaway(peer: RawPeer, code: number): Promise<void> {
  const frame = await within(peer.until(FRAME.GOAWAY), 5_000, "GOAWAY");
  assert.ok(frame !== null, "GOAWAY before the close");
  assert.equal(RawPeer.code(frame), code);
  for (let i = 0; i < 100; i++) {
    if ((await within(peer.next(), 5_000, "the close")) === null) return;
  }
  assert.fail("the connection stayed open");
}

Deno.test("h2 errors: a bad preface gets GOAWAY(PROTOCOL_ERROR) and the connection closes", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port, false);
  try {
    await peer.write(utf8("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const goaway = await within(peer.until(FRAME.GOAWAY), 5_000, "GOAWAY");
    assert.equal(RawPeer.code(goaway!), H2_ERROR.PROTOCOL_ERROR);
    assert.equal(text(goaway!.payload.subarray(8)), "not the HTTP/2 client preface");
    assert.equal(await within(peer.next(), 5_000, "the close"), null);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a frame above our max frame size is FRAME_SIZE_ERROR", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, GET, false);
    await peer.frame(FRAME.DATA, 0, 1, new Uint8Array(16_385));
    await expectGoaway(peer, H2_ERROR.FRAME_SIZE_ERROR);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: HEADERS on stream 2 from a client is PROTOCOL_ERROR", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(2, GET);
    await expectGoaway(peer, H2_ERROR.PROTOCOL_ERROR);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a window above 2^31-1 is FLOW_CONTROL_ERROR", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    const increment = new Uint8Array(4);
    writeUint32(increment, 0, 0x7fffffff);
    await peer.frame(FRAME.WINDOW_UPDATE, 0, 0, increment);
    await expectGoaway(peer, H2_ERROR.FLOW_CONTROL_ERROR);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a stream window above 2^31-1 resets the stream with FLOW_CONTROL_ERROR", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, [...GET.slice(0, 7), "/hold"]);
    const increment = new Uint8Array(4);
    writeUint32(increment, 0, 0x7fffffff);
    await peer.frame(FRAME.WINDOW_UPDATE, 0, 1, increment);
    const rst = await within(peer.until(FRAME.RST_STREAM, 1), 5_000, "RST_STREAM");
    assert.equal(RawPeer.code(rst!), H2_ERROR.FLOW_CONTROL_ERROR);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: an uppercase field name resets the stream with PROTOCOL_ERROR", async () => {
  const seen: H2Stream[] = [];
  await using srv = server({}, seen);
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, [...GET, "X-Upper", "1"]);
    const rst = await within(peer.until(FRAME.RST_STREAM, 1), 5_000, "RST_STREAM");
    assert.equal(RawPeer.code(rst!), H2_ERROR.PROTOCOL_ERROR);
    // The connection still serves the next stream.
    await peer.headers(3, GET);
    const head = await within(peer.until(FRAME.HEADERS, 3), 5_000, "the next response");
    assert.ok(head !== null);
    assert.equal(seen.length, 1, "the malformed request never reached onStream");
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: streams beyond maxConcurrentStreams get REFUSED_STREAM", async () => {
  await using srv = server({ maxConcurrentStreams: 2 });
  const peer = await RawPeer.connect(srv.port);
  try {
    const hold = [...GET.slice(0, 7), "/hold"];
    await peer.headers(1, hold);
    await peer.headers(3, hold);
    await peer.headers(5, hold);
    const rst = await within(peer.until(FRAME.RST_STREAM), 5_000, "RST_STREAM");
    assert.equal(rst!.stream, 5);
    assert.equal(RawPeer.code(rst!), H2_ERROR.REFUSED_STREAM);
    assert.equal(srv.sessions[0].activeStreams, 2);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a field section above maxHeaderListSize arrives as headTooLarge", async () => {
  const seen: H2Stream[] = [];
  await using srv = server({ maxHeaderListSize: 4096 }, seen);
  const peer = await RawPeer.connect(srv.port);
  try {
    // 6000 bytes of one field, in HEADERS + CONTINUATION frames.
    const block = peer.encoder.encode([...GET, "x-big", "v".repeat(6000)]).slice();
    await peer.frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 3000));
    await peer.frame(FRAME.CONTINUATION, FLAG.END_HEADERS, 1, block.subarray(3000));
    const head = await within(peer.until(FRAME.HEADERS, 1), 5_000, "the 431");
    assert.ok(head !== null);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].headTooLarge, true);
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a response complete before the request ends is followed by RST_STREAM(NO_ERROR)", async () => {
  await using srv = serveH2((stream) => stream.sendHeaders([":status", "413"], true));
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, [...GET.slice(0, 1), "POST", ...GET.slice(2)], false);
    const head = await within(peer.until(FRAME.HEADERS, 1), 5_000, "the 413");
    assert.ok(head !== null && (head.flags & FLAG.END_STREAM) !== 0);
    const rst = await within(peer.until(FRAME.RST_STREAM, 1), 5_000, "RST_STREAM");
    assert.equal(RawPeer.code(rst!), H2_ERROR.NO_ERROR);
    assert.equal(srv.sessions[0].activeStreams, 0, "the stream no longer counts");
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: GOAWAY reaches a peer that keeps sending after the error", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    // A frame far above the limit, then its megabyte of payload: the server
    // stops reading at the header, so its socket holds unread bytes when it closes.
    const header = new Uint8Array(9);
    header.set([0x10, 0, 0, FRAME.DATA, 0, 0, 0, 0, 1]);
    await peer.headers(1, GET, false);
    await peer.write(header);
    const flood = peer.write(new Uint8Array(1 << 20)).catch(() => {});
    await delay(200); // the server has answered and closed before we read
    await expectGoaway(peer, H2_ERROR.FRAME_SIZE_ERROR);
    peer.close();
    await flood;
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: frames in flight on a stream we reset are dropped quietly", async () => {
  await using srv = server({ maxConcurrentStreams: 1 });
  const peer = await RawPeer.connect(srv.port);
  try {
    await peer.headers(1, [...GET.slice(0, 7), "/hold"]);
    await peer.headers(3, [...GET.slice(0, 1), "POST", ...GET.slice(2)], false);
    const rst = await within(peer.until(FRAME.RST_STREAM, 3), 5_000, "REFUSED_STREAM");
    assert.equal(RawPeer.code(rst!), H2_ERROR.REFUSED_STREAM);
    // What the client had sent before it saw the reset: body and trailers.
    await peer.frame(FRAME.DATA, 0, 3, new Uint8Array(100));
    const trailers = peer.encoder.encode(["x-t", "1"]).slice();
    await peer.frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, trailers);
    await peer.frame(FRAME.PING, 0, 0, new Uint8Array(8));
    for (let frame = await peer.next();; frame = await peer.next()) {
      assert.ok(frame !== null, "the connection stays open");
      assert.notEqual(frame.type, FRAME.GOAWAY, "no connection error");
      assert.notEqual(frame.type, FRAME.RST_STREAM, "no second reset");
      if (frame.type === FRAME.PING) break;
    }
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a peer that opens and resets streams without end gets ENHANCE_YOUR_CALM", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    const parts: Uint8Array<ArrayBuffer>[] = [];
    const cancel = new Uint8Array(4);
    writeUint32(cancel, 0, H2_ERROR.CANCEL);
    for (let i = 0; i < 1500; i++) {
      const id = 2 * i + 1;
      const block = peer.encoder.encode([...GET.slice(0, 7), "/hold"]);
      parts.push(frameBytes(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, block));
      parts.push(frameBytes(FRAME.RST_STREAM, 0, id, cancel));
    }
    const flood = peer.write(new Uint8Array(await new Blob(parts).arrayBuffer())).catch(() => {});
    await expectGoaway(peer, H2_ERROR.ENHANCE_YOUR_CALM);
    await flood;
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a peer that sends PINGs and never reads the answers gets ENHANCE_YOUR_CALM", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    const ping = frameBytes(FRAME.PING, 0, 0, new Uint8Array(8));
    const burst = new Uint8Array(ping.length * 2000);
    for (let i = 0; i < 2000; i++) burst.set(ping, i * ping.length);
    const flood = peer.write(burst).catch(() => {});
    await expectGoaway(peer, H2_ERROR.ENHANCE_YOUR_CALM);
    await flood;
  } finally {
    peer.close();
  }
});

Deno.test("h2 errors: a field block in endless empty CONTINUATION frames gets ENHANCE_YOUR_CALM", async () => {
  await using srv = server();
  const peer = await RawPeer.connect(srv.port);
  try {
    const block = peer.encoder.encode(GET).slice();
    const parts = [frameBytes(FRAME.HEADERS, FLAG.END_STREAM, 1, block)];
    for (let i = 0; i < 1000; i++) parts.push(frameBytes(FRAME.CONTINUATION, 0, 1));
    await peer.write(new Uint8Array(await new Blob(parts).arrayBuffer()));
    await expectGoaway(peer, H2_ERROR.ENHANCE_YOUR_CALM);
  } finally {
    peer.close();
  }
});

/**
 * The server role answering real clients: curl, h2load and node:http2.
 */

import assert from "node:assert/strict";
import http2 from "node:http2";
import { H2_ERROR } from "../../src/h2/session.ts";
import { delay, utf8, within } from "../_helpers/net.ts";
import { have, readAll, run, serveH2 } from "./_h2.ts";

const decoder = new TextDecoder();

/** Echoes the request body in a 200, with the request path and a trailer. */
function echo() {
  return serveH2(async (stream) => {
    const body = await readAll(stream);
    const path = stream.head[stream.head.indexOf(":path") + 1];
    stream.sendHeaders([":status", "200", "x-path", path], false);
    await stream.write(utf8(`got ${body.length}: `));
    await stream.write(body);
    await stream.end(["x-checksum", String(body.length)]);
  });
}

Deno.test("h2 server: curl --http2-prior-knowledge posts a body and gets trailers", async (t) => {
  if (!(await have("curl"))) return void t.step({ name: "curl is absent: skipped", fn() {} });
  await using server = echo();
  const out = await run("curl", [
    "-sv",
    "--http2-prior-knowledge",
    "--data-binary",
    "hello h2",
    `http://127.0.0.1:${server.port}/some/path?q=1`,
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, "got 8: hello h2");
  assert.match(out.stderr, /< HTTP\/2 200/);
  assert.match(out.stderr, /< x-path: \/some\/path\?q=1/);
  assert.match(out.stderr, /< x-checksum: 8/); // the trailer, printed after the body
});

Deno.test("h2 server: h2load -n 2000 -c 4 -m 10 all succeed", async (t) => {
  if (!(await have("h2load"))) return void t.step({ name: "h2load is absent: skipped", fn() {} });
  await using server = serveH2((stream) => {
    stream.sendHeaders([":status", "200"], false);
    return stream.end(["x-done", "1"]).then(() => {});
  });
  const out = await run("h2load", [
    "-n",
    "2000",
    "-c",
    "4",
    "-m",
    "10",
    `http://127.0.0.1:${server.port}/`,
  ]);
  assert.equal(out.code, 0, out.stdout + out.stderr);
  assert.match(out.stdout, /2000 succeeded, 0 failed, 0 errored/);
  assert.equal(server.sessions.length, 4);
});

Deno.test("h2 server: a node:http2 client gets trailers and sees RST_STREAM", async () => {
  await using server = serveH2(async (stream) => {
    const path = stream.head[stream.head.indexOf(":path") + 1];
    if (path === "/reset") {
      stream.reset(H2_ERROR.REFUSED_STREAM);
      return;
    }
    await readAll(stream);
    stream.sendHeaders([":status", "200", "content-type", "text/plain"], false);
    await stream.write(utf8("body"));
    await stream.end(["grpc-status", "0", "grpc-message", "fine"]);
  });
  const client = http2.connect(`http://127.0.0.1:${server.port}`);
  try {
    const trailers = await within(
      new Promise<{ status: unknown; body: string; trailers: Record<string, unknown> }>(
        (resolve, reject) => {
          const req = client.request({ ":method": "POST", ":path": "/t" });
          let status: unknown;
          let body = "";
          req.on("response", (headers) => status = headers[":status"]);
          req.on("data", (chunk: Uint8Array) => body += decoder.decode(chunk));
          req.on("trailers", (t) => resolve({ status, body, trailers: t }));
          req.on("error", reject);
          req.end("request body");
        },
      ),
      5_000,
      "the node:http2 response",
    );
    assert.equal(trailers.status, 200);
    assert.equal(trailers.body, "body");
    assert.equal(trailers.trailers["grpc-status"], "0");
    assert.equal(trailers.trailers["grpc-message"], "fine");
    const code = await within(
      new Promise<number>((resolve) => {
        const req = client.request({ ":method": "GET", ":path": "/reset" });
        req.on("close", () => resolve(req.rstCode));
        req.on("error", () => {});
        req.resume();
        req.end();
      }),
      5_000,
      "the reset stream",
    );
    assert.equal(code, H2_ERROR.REFUSED_STREAM);
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
});

Deno.test("h2 server: request trailers and a client's RST_STREAM from node:http2", async () => {
  const seen = Promise.withResolvers<{ body: string; trailers: string[] | null }>();
  const resets = Promise.withResolvers<number>();
  await using server = serveH2(async (stream) => {
    const path = stream.head[stream.head.indexOf(":path") + 1];
    if (path === "/cancel") {
      stream.onReset = resets.resolve;
      return;
    }
    const body = decoder.decode(await readAll(stream));
    seen.resolve({ body, trailers: stream.trailers });
    stream.sendHeaders([":status", "200"], true);
  });
  const client = http2.connect(`http://127.0.0.1:${server.port}`);
  client.on("error", () => {});
  try {
    const req = client.request({ ":method": "POST", ":path": "/t" }, { waitForTrailers: true });
    req.on("wantTrailers", () => req.sendTrailers({ "x-sum": "abc" }));
    req.on("error", () => {});
    req.resume();
    req.end("payload");
    const got = await within(seen.promise, 5_000, "the request with trailers");
    assert.equal(got.body, "payload");
    assert.deepEqual(got.trailers, ["x-sum", "abc"]);

    const cancel = client.request({ ":method": "POST", ":path": "/cancel" });
    cancel.on("error", () => {});
    cancel.write("part of a body");
    await delay(50);
    cancel.close(http2.constants.NGHTTP2_CANCEL);
    assert.equal(await within(resets.promise, 5_000, "onReset"), H2_ERROR.CANCEL);
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
});

/**
 * Request tracing end to end: the records a sink gets (byte counts measured
 * on the wire, latency, endpoint, client, status), the exact text and JSON
 * lines, the filters (--errors, --status-code, --quiet, --trace minio), the
 * --debug form with headers, and that sidekick's own paths are not traced.
 */

import assert from "node:assert/strict";
import { type LogSpec } from "../../src/config/schema.ts";
import { DEFAULT_LOG } from "../../src/config/defaults.ts";
import {
  formatTrace,
  goDuration,
  goTime,
  type TraceRecord,
  traceWriter,
} from "../../src/observe/log.ts";
import { startHarness } from "../fixtures/harness.ts";
import { refusedPort, startNamedBackend } from "../_helpers/http.ts";

const ALL: LogSpec = { ...DEFAULT_LOG, trace: "all" };

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

Deno.test("trace: one record per request with wire byte counts, in exact text and JSON", async () => {
  await using backend = startNamedBackend("b");
  const records: TraceRecord[] = [];
  const text: string[] = [];
  const json: string[] = [];
  await using proxy = await startHarness([[backend.url]], {
    proxy: {
      log: ALL,
      onTrace: (r) => {
        records.push(r);
        traceWriter(ALL, (l) => text.push(l))(r);
        traceWriter({ ...ALL, json: true }, (l) => json.push(l))(r);
      },
    },
  });
  const request = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: test\r\nX-Custom: 1\r\n\r\n";
  const before = Date.now();
  const res = await proxy.exchange(request);
  assert.equal(res.text(), "b:/a/b?x=1&y=2");
  assert.equal(records.length, 1);
  const r = records[0];
  const endpoint = `http://127.0.0.1:${backend.port}`;
  assert.equal(r.endpoint, endpoint);
  assert.equal(r.client, "127.0.0.1");
  assert.equal(r.method, "GET");
  assert.equal(r.path, "/a/b");
  assert.equal(r.query, "x=1&y=2");
  assert.equal(r.status, 200);
  assert.equal(r.rx, request.length, "rx: the request head as received");
  assert.equal(r.tx, res.head.raw.length + res.wireBody.length, "tx: head and body as sent");
  assert.ok(r.time >= before - 1 && r.time <= Date.now());
  assert.ok(r.latencyMs > 0 && r.latencyMs < 1000);
  assert.ok(r.ttfbMs > 0 && r.ttfbMs <= r.latencyMs);
  assert.equal(r.requestHeaders, undefined, "headers only with --debug");

  const latency = goDuration(r.latencyMs);
  const pad = (n: number) => " ".repeat(Math.max(1, n));
  const latencyBytes = new TextEncoder().encode(latency.padStart(2)).length;
  assert.deepEqual(text, [
    `   LOG: ${clock(r.time)} [200 OK]  ${endpoint} GET /a/b?x=1&y=2 127.0.0.1 ${pad(6)}  ` +
    `${latency}${pad(12 - latencyBytes)} ↑ ${r.rx} B ↓ ${r.tx} B`,
  ]);
  assert.deepEqual(JSON.parse(json[0]), {
    type: "TRACE",
    host: endpoint,
    time: goTime(r.time),
    client: "127.0.0.1",
    callStats: {
      rx: r.rx,
      tx: r.tx,
      latency: Math.round(r.latencyMs * 1e6),
      timetofirstbyte: Math.round(r.ttfbMs * 1e6),
      healthError: null,
    },
    statusCode: 200,
    statusMsg: "OK",
    method: "GET",
    path: "/a/b",
    query: "x=1&y=2",
  });
});

Deno.test("trace: request bodies count in rx, keep-alive requests each get a record", async () => {
  await using backend = startNamedBackend("b");
  const records: TraceRecord[] = [];
  await using proxy = await startHarness([[backend.url]], {
    proxy: { log: ALL, onTrace: (r) => records.push(r) },
  });
  const peer = await (await import("../_helpers/http.ts")).HttpPeer.connect(proxy.port);
  try {
    const post = "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n";
    await peer.write(post);
    await peer.write("hello");
    await peer.readResponse();
    const chunked = "PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    await peer.write(chunked + "3\r\nabc\r\n0\r\n\r\n");
    await peer.readResponse();
    assert.deepEqual(records.map((r) => [r.method, r.path, r.rx]), [
      ["POST", "/up", post.length + 5],
      ["PUT", "/c", chunked.length + "3\r\nabc\r\n0\r\n\r\n".length],
    ]);
  } finally {
    peer.close();
  }
});

Deno.test("trace filters: --errors, --status-code, --quiet, off, and sidekick's own paths", async () => {
  await using backend = startNamedBackend("b");
  const down = `http://127.0.0.1:${refusedPort()}`;
  async function traced(log: LogSpec, sites: string[][], paths: string[]): Promise<TraceRecord[]> {
    const records: TraceRecord[] = [];
    await using proxy = await startHarness(sites, {
      proxy: { log, onTrace: (r) => records.push(r) },
    });
    for (const p of paths) await proxy.get(p);
    return records;
  }
  const paths = ["/ok", "/v1/health", "/.prometheus/metrics", "/v1/certificates"];
  assert.deepEqual((await traced(ALL, [[backend.url]], paths)).map((r) => r.path), ["/ok"]);
  assert.deepEqual(await traced({ ...ALL, errorsOnly: true }, [[backend.url]], ["/ok"]), []);
  const errors = await traced({ ...ALL, errorsOnly: true }, [[down]], ["/x"]);
  assert.deepEqual(errors.map((r) => [r.status, r.endpoint]), [[502, down]]);
  const offline = await traced(ALL, [[down]], ["/x", "/y"]);
  assert.deepEqual(offline.map((r) => [r.status, r.endpoint]), [[502, down], [502, ""]]);
  assert.deepEqual(await traced({ ...ALL, statusCodes: [404] }, [[backend.url]], ["/ok"]), []);
  assert.equal((await traced({ ...ALL, statusCodes: [200] }, [[backend.url]], ["/ok"])).length, 1);
  assert.deepEqual(await traced({ ...ALL, quiet: true }, [[backend.url]], ["/ok"]), []);
  assert.deepEqual(await traced(DEFAULT_LOG, [[backend.url]], ["/ok"]), []);
});

Deno.test("trace minio: only requests whose path is part of the endpoint's health URL", async () => {
  await using backend = startNamedBackend("b");
  const records: TraceRecord[] = [];
  await using proxy = await startHarness([[backend.url]], {
    health: { path: "/minio/health/live" },
    proxy: { log: { ...ALL, trace: "minio" }, onTrace: (r) => records.push(r) },
  });
  for (const p of ["/bucket/object", "/minio/health/live", "/minio/health", "/other"]) {
    await proxy.get(p);
  }
  assert.deepEqual(records.map((r) => r.path), ["/minio/health/live", "/minio/health"]);
});

Deno.test("trace --debug: request and response headers, multi-line text and JSON", async () => {
  await using backend = startNamedBackend("b");
  const records: TraceRecord[] = [];
  await using proxy = await startHarness([[backend.url]], {
    proxy: { log: { ...ALL, debug: true }, onTrace: (r) => records.push(r) },
  });
  await proxy.get("/d?q", "X-Custom: 1");
  const r = records[0];
  assert.deepEqual(r.requestHeaders, [["Host", "test"], ["X-Custom", "1"]]);
  assert.deepEqual(r.responseHeaders, [["Content-Length", "6"], ["X-Backend", "b"]]);
  const p = `DEBUG: http://127.0.0.1:${backend.port} `;
  const lines = formatTrace(r, false, true).split("\n");
  assert.deepEqual(lines.slice(0, 5), [
    `${p}[REQUEST] ${clock(r.time)}`,
    `${p}GET /d?q`,
    `${p}Host: test`,
    `${p}X-Custom: 1`,
    `${p}<BODY>`,
  ]);
  assert.ok(lines[5].startsWith(`${p}[RESPONSE] [`));
  assert.ok(lines[5].endsWith(`↑ ${r.rx} B  ↓ ${r.tx} B ]`));
  assert.deepEqual(lines.slice(6), [
    `${p}200 OK`,
    `${p}Content-Length: 6`,
    `${p}X-Backend: b`,
    `${p}<BODY>`,
  ]);
  const j = JSON.parse(formatTrace(r, true, true));
  assert.equal(j.type, "DEBUG");
  assert.deepEqual(j.request.headers, { Host: ["test"], "X-Custom": ["1"] });
  assert.deepEqual(j.response.headers, { "Content-Length": ["6"], "X-Backend": ["b"] });
  assert.equal(j.response.statuscode, 200);
});

Deno.test("trace: a sink that throws does not break the proxy", async () => {
  await using backend = startNamedBackend("b");
  await using proxy = await startHarness([[backend.url]], {
    proxy: {
      log: ALL,
      onTrace: () => {
        throw new Error("sink failed");
      },
    },
  });
  assert.equal((await proxy.get("/1")).text(), "b:/1");
  assert.equal((await proxy.get("/2")).text(), "b:/2");
});

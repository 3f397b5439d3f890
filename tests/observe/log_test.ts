import assert from "node:assert/strict";
import { DEFAULT_LOG } from "../../src/config/schema.ts";
import {
  formatHealthEvent,
  formatTrace,
  goDuration,
  shouldTrace,
  traceModeAllows,
  type TraceRecord,
  traceWriter,
} from "../../src/observe/log.ts";

const RECORD: TraceRecord = {
  time: Date.UTC(2024, 0, 2, 15, 4, 5, 123),
  endpoint: "http://minio1:9000",
  client: "10.0.0.7",
  method: "PUT",
  path: "/bucket/obj",
  query: "",
  status: 503,
  rx: 5 * 1024 * 1024 + 100,
  tx: 312,
  latencyMs: 2503.25,
  ttfbMs: 2500,
};

Deno.test("goDuration prints like Go's time.Duration rounded to microseconds", () => {
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(0.0004), "0s");
  assert.equal(goDuration(0.0015), "2µs");
  assert.equal(goDuration(0.35), "350µs");
  assert.equal(goDuration(1), "1ms");
  assert.equal(goDuration(1.25), "1.25ms");
  assert.equal(goDuration(999.9994), "999.999ms");
  assert.equal(goDuration(2500), "2.5s");
  assert.equal(goDuration(60_000), "1m0s");
  assert.equal(goDuration(3_723_500), "1h2m3.5s");
});

Deno.test("formatTrace: the short text line", () => {
  assert.equal(
    formatTrace(RECORD, false),
    "LOG: 15:04:05.123 [503 Service Unavailable]  http://minio1:9000 PUT /bucket/obj 10.0.0.7  " +
      "2.50325s  ↑ 5.0 MiB ↓ 312 B",
  );
  assert.equal(
    formatTrace({ ...RECORD, status: 299, query: "a=b" }, false).split("  ")[0],
    "LOG: 15:04:05.123 [299 ]",
  );
});

Deno.test("formatTrace: the short JSON line (minio/sidekick keys, durations in ns)", () => {
  assert.deepEqual(JSON.parse(formatTrace(RECORD, true)), {
    type: "Bucket",
    host: "http://minio1:9000",
    time: "2024-01-02T15:04:05.123Z",
    client: "10.0.0.7",
    callStats: { rx: 5242980, tx: 312, latency: 2503250000, timetofirstbyte: 2500000000 },
    statusCode: 503,
    statusMsg: "Service Unavailable",
    method: "PUT",
    path: "/bucket/obj",
    query: "",
  });
});

Deno.test("formatTrace --debug: every line prefixed by the node, headers in order", () => {
  const text = formatTrace(
    {
      ...RECORD,
      requestHeaders: [["Host", "minio"], ["X-Amz-Date", "20240102T150405Z"]],
      responseHeaders: [["Retry-After", "1"]],
    },
    false,
    true,
  );
  const p = "DEBUG: http://minio1:9000 ";
  assert.equal(
    text,
    [
      `${p}[REQUEST] 15:04:05.123`,
      `${p}PUT /bucket/obj`,
      `${p}Host: minio`,
      `${p}X-Amz-Date: 20240102T150405Z`,
      `${p}<BODY>`,
      `${p}[RESPONSE] [15:04:07.626] [ Duration 2.50325s  ↑ 5.0 MiB  ↓ 312 B ]`,
      `${p}503 Service Unavailable`,
      `${p}Retry-After: 1`,
      `${p}<BODY>`,
    ].join("\n"),
  );
});

Deno.test("shouldTrace and traceModeAllows: the filters", () => {
  const all = { ...DEFAULT_LOG, trace: "all" as const };
  assert.equal(shouldTrace(DEFAULT_LOG, 200), false, "off by default");
  assert.equal(shouldTrace(all, 200), true);
  assert.equal(shouldTrace({ ...all, quiet: true }, 500), false);
  assert.equal(shouldTrace({ ...all, errorsOnly: true }, 399), false);
  assert.equal(shouldTrace({ ...all, errorsOnly: true }, 400), true);
  assert.equal(shouldTrace({ ...all, errorsOnly: true }, 599), true);
  assert.equal(shouldTrace({ ...all, statusCodes: [404, 503] }, 503), true);
  assert.equal(shouldTrace({ ...all, statusCodes: [404, 503] }, 500), false);
  const minio = { ...all, trace: "minio" as const };
  const url = "http://h:9000/minio/health/live";
  assert.equal(traceModeAllows(minio, "/minio/health/live", url), true);
  assert.equal(traceModeAllows(minio, "/", url), true, "as minio/sidekick: a substring");
  assert.equal(traceModeAllows(minio, "/bucket", url), false);
  assert.equal(traceModeAllows(all, "/bucket", url), true);
});

Deno.test("traceWriter formats as the spec says; formatHealthEvent JSON", () => {
  const lines: string[] = [];
  traceWriter({ ...DEFAULT_LOG, trace: "all", debug: true, json: true }, (l) => lines.push(l))(
    RECORD,
  );
  assert.equal(JSON.parse(lines[0]).type, "DEBUG");
  assert.deepEqual(
    JSON.parse(formatHealthEvent(
      { endpoint: "http://h:1", status: "up", detail: "status 200", downtimeMs: 1500 },
      true,
      0,
    )),
    {
      Type: "LOG",
      Endpoint: "http://h:1",
      Error: "",
      Status: "online",
      Downtime: 1.5e9,
      Timestamp: "1970-01-01T00:00:00.000Z",
    },
  );
});

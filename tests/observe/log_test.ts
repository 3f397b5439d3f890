import assert from "node:assert/strict";
import { DEFAULT_LOG } from "../../src/config/defaults.ts";
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

Deno.test("formatTrace: the short text line, padded as minio/sidekick's shortTraceMsg", () => {
  // Go: " %5s: " LOG, time, "[%d %s] ", " %s " host, method path, " %s " client,
  // %*s to 15-len(client), "  %2s" latency, %*s to 12-len(latency) bytes, " ↑ " rx " ↓ " tx.
  assert.equal(
    formatTrace(RECORD, false),
    "   LOG: 15:04:05.123 [503 Service Unavailable]  http://minio1:9000 PUT /bucket/obj " +
      "10.0.0.7 " + " ".repeat(7) + "  2.50325s" + " ".repeat(4) + " ↑ 5.0 MiB ↓ 312 B",
  );
  // µ is two bytes to Go's len(), so a microsecond latency gets one space less.
  assert.equal(
    formatTrace({ ...RECORD, latencyMs: 0.35, client: "127.0.0.1", rx: 15 * 1024, tx: 9 }, false)
      .split("/bucket/obj ")[1],
    "127.0.0.1 " + " ".repeat(6) + "  350µs" + " ".repeat(6) + " ↑ 15 KiB ↓ 9 B",
  );
  assert.equal(
    formatTrace({ ...RECORD, status: 299, query: "a=b" }, false).split("]")[0],
    "   LOG: 15:04:05.123 [299 ",
  );
  assert.match(formatTrace({ ...RECORD, query: "a=b" }, false), / PUT \/bucket\/obj\?a=b /);
});

Deno.test("formatTrace: the short JSON line (type TRACE, healthError, durations in ns)", () => {
  const json = formatTrace(RECORD, true);
  assert.deepEqual(JSON.parse(json), {
    type: "TRACE",
    host: "http://minio1:9000",
    time: "2024-01-02T15:04:05.123Z",
    client: "10.0.0.7",
    callStats: {
      rx: 5242980,
      tx: 312,
      latency: 2503250000,
      timetofirstbyte: 2500000000,
      healthError: null,
    },
    statusCode: 503,
    statusMsg: "Service Unavailable",
    method: "PUT",
    path: "/bucket/obj",
    query: "",
  });
  assert.match(json, /^\{"type":"TRACE","host":/, "the original's key order");
  assert.match(json, /"timetofirstbyte":2500000000,"healthError":null\}/);
  assert.equal(JSON.parse(formatTrace({ ...RECORD, time: 0 }, true)).time, "1970-01-01T00:00:00Z");
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
  const up = formatHealthEvent(
    { endpoint: "http://h:1", status: "up", detail: "status 200", downtimeMs: 1500 },
    true,
    0,
  );
  assert.equal(
    up,
    '{"Type":"LOG","Endpoint":"http://h:1","Status":"up","Downtime":1500000000,' +
      '"Timestamp":"1970-01-01T00:00:00Z"}',
  );
});

Deno.test("formatHealthEvent: the original's LOG lines, text and JSON, no empty keys", () => {
  const t = Date.UTC(2024, 0, 2, 15, 4, 5, 120);
  const down = {
    endpoint: "http://h:9000",
    status: "down" as const,
    detail: "refused",
    downtimeMs: 0,
  };
  assert.equal(
    formatHealthEvent(down, false, t),
    "LOG  : 15:04:05.120  http://h:9000 is down: refused",
  );
  assert.equal(
    formatHealthEvent(down, true, t),
    '{"Type":"LOG","Endpoint":"http://h:9000","Error":"refused","Status":"down",' +
      '"Timestamp":"2024-01-02T15:04:05.12Z"}',
  );
  const up = { endpoint: "http://h:9000", status: "up" as const, detail: "", downtimeMs: 3200.5 };
  assert.equal(
    formatHealthEvent(up, false, t),
    "LOG  : 15:04:05.120  http://h:9000 is up Downtime duration: 3.2005s",
  );
  // The first check passing: no downtime, so neither the text nor the JSON mentions one.
  const first = { ...up, downtimeMs: 0 };
  assert.equal(formatHealthEvent(first, false, t), "LOG  : 15:04:05.120  http://h:9000 is up");
  assert.deepEqual(Object.keys(JSON.parse(formatHealthEvent(first, true, t))), [
    "Type",
    "Endpoint",
    "Status",
    "Timestamp",
  ]);
});

Deno.test("README's console examples are what formatTrace and formatHealthEvent print", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const t = (s: number, ms: number) => Date.UTC(2024, 0, 2, 15, 4, s, ms);
  const lines = [
    formatHealthEvent(
      { endpoint: "http://h:9000", status: "down", detail: "connection refused", downtimeMs: 0 },
      false,
      t(5, 0),
    ),
    formatHealthEvent(
      { endpoint: "http://h:9000", status: "up", detail: "", downtimeMs: 3200 },
      false,
      t(8, 200),
    ),
    formatTrace({
      ...RECORD,
      time: t(9, 0),
      endpoint: "http://h:9000",
      client: "10.0.0.1",
      method: "GET",
      path: "/p",
      query: "q",
      status: 200,
      rx: 1024,
      tx: 2048,
      latencyMs: 1.2,
    }, false),
  ];
  assert.ok(readme.includes("```\n" + lines.join("\n") + "\n```"), lines.join("\n"));
});

import assert from "node:assert/strict";
import { formatUptime, renderTable, type TableView } from "../../src/operator/table_render.ts";
import type { EndpointStats, ListenerStats } from "../../src/sidecar.ts";

function endpoint(port: number, extra: Partial<EndpointStats> = {}): EndpointStats {
  return {
    endpoint: `http://127.0.0.1:${port}`,
    site: 0,
    status: "up",
    inFlight: 0,
    requests: 0,
    failures: 0,
    ...extra,
  };
}

function listener(extra: Partial<ListenerStats> = {}): ListenerStats {
  return {
    name: "http",
    kind: "http",
    address: { transport: "tcp", hostname: "127.0.0.1", port: 8080 },
    connections: 0,
    policy: "least",
    servingSite: 0,
    endpoints: [
      endpoint(9001, {
        requests: 12,
        failures: 1,
        rxBytes: 2048,
        txBytes: 100,
        minLatencyMs: 0.35,
        maxLatencyMs: 12.5,
        downtimeMs: 3240,
        lastDowntimeMs: 1210,
      }),
      endpoint(9002, {
        site: 1,
        status: "down",
        lastProbe: { passed: false, detail: "connection refused", at: 0 },
      }),
    ],
    ...extra,
  };
}

function view(listeners: ListenerStats[], events: string[] = []): TableView {
  return { stats: { state: "running", listeners }, uptimeMs: 65_000, events };
}

const WIDE = { width: 160, height: 40 };

Deno.test("the table has minio/sidekick's columns and values, a header with policy and uptime", () => {
  const frame = renderTable(view([listener()]), WIDE);
  const lines = frame.split("\n");
  assert.equal(lines[0], "sidekick · running · uptime 1m05s");
  assert.equal(
    lines[2],
    "HTTP 127.0.0.1:8080 · policy least · up 1/2 · serving site 1 · uptime 1m05s",
  );
  assert.match(
    lines[3],
    /^SITE {2}HOST +STATUS {2}CALLS {2}FAILURES +Rx +Tx {2}TOTAL DOWNTIME {2}LAST DOWNTIME {2}MIN LATENCY {2}MAX LATENCY$/,
  );
  assert.match(
    lines[4],
    /^ {3}1 {2}http:\/\/127\.0\.0\.1:9001 {2}UP +12 +1 +2\.0 KiB +100 B +3\.2s +1\.2s +350µs +12\.5ms$/,
  );
  assert.match(
    lines[5],
    /^ {3}2 {2}http:\/\/127\.0\.0\.1:9002 {2}DOWN +0 +0 +0 B +0 B +0s +0s +- +-$/,
  );
  assert.ok(!frame.includes("\x1b"), "no escape codes without color");
});

Deno.test("TCP and UDP listeners show TIER and IN-FLIGHT; the header names the tier served", () => {
  const l = listener({
    name: "db",
    kind: "tcp",
    servingSite: 1,
    endpoints: [
      endpoint(5432, { endpoint: "tcp://127.0.0.1:5432", status: "down" }),
      endpoint(5433, { endpoint: "tcp://127.0.0.1:5433", site: 1, inFlight: 7 }),
    ],
  });
  const lines = renderTable(view([l]), WIDE).split("\n");
  assert.match(lines[2], /^TCP "db" 127\.0\.0\.1:8080 · policy least · up 1\/2 · serving tier 1/);
  assert.match(lines[3], /^TIER {2}HOST +STATUS {2}IN-FLIGHT {2}CALLS/);
  assert.match(lines[5], /^ {3}1 {2}tcp:\/\/127\.0\.0\.1:5433 {2}UP +7 /);
});

Deno.test("no line is wider than the terminal: columns go from the right, hosts keep their port", () => {
  for (const width of [160, 120, 90, 60, 40, 30]) {
    const lines = renderTable(view([listener()]), { width, height: 40 }).split("\n");
    for (const line of lines) assert.ok(line.length <= width, `${width}: ${line}`);
  }
  const narrow = renderTable(view([listener()]), { width: 60, height: 40 });
  assert.match(narrow, /SITE {2}HOST +STATUS {2}CALLS {2}FAILURES/);
  assert.ok(!narrow.includes("MAX LATENCY"));
  const tiny = renderTable(view([listener()]), { width: 30, height: 40 }).split("\n");
  assert.match(tiny[4], /^ {3}1 {2}…\S*:9001 {2}UP$/);
});

Deno.test("rows that do not fit the height are counted; events fill the rows left", () => {
  const many = listener({ endpoints: Array.from({ length: 30 }, (_, i) => endpoint(9000 + i)) });
  const lines = renderTable(view([many]), { width: 160, height: 10 }).split("\n");
  assert.equal(lines.length, 10);
  assert.equal(lines[9], "… 25 more lines: enlarge the terminal");
  const events = Array.from({ length: 20 }, (_, i) => `event ${i}`);
  const withEvents = renderTable(view([listener()], events), { width: 160, height: 12 }).split(
    "\n",
  );
  assert.equal(withEvents.length, 12);
  assert.deepEqual(withEvents.slice(7), ["EVENTS", "event 16", "event 17", "event 18", "event 19"]);
});

Deno.test("color paints only STATUS cells, without changing the layout", () => {
  const plain = renderTable(view([listener()]), WIDE);
  const colored = renderTable(view([listener()]), { ...WIDE, color: true });
  assert.ok(colored.includes("\x1b[32mUP    \x1b[0m"));
  assert.ok(colored.includes("\x1b[31mDOWN  \x1b[0m"));
  // deno-lint-ignore no-control-regex
  assert.equal(colored.replace(/\x1b\[\d+m/g, ""), plain);
});

Deno.test("a listener with nothing available says so in its header", () => {
  const l = listener({ servingSite: -1 });
  assert.match(renderTable(view([l]), WIDE), /· NO ENDPOINT AVAILABLE ·/);
});

Deno.test("formatUptime", () => {
  assert.equal(formatUptime(999), "0s");
  assert.equal(formatUptime(59_000), "59s");
  assert.equal(formatUptime(3_600_000 + 4 * 60_000), "1h04m");
  assert.equal(formatUptime(2 * 86_400_000 + 3 * 3_600_000), "2d03h");
});

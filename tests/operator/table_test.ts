import assert from "node:assert/strict";
import { LiveTable } from "../../src/operator/table.ts";
import { formatLine, Reporter } from "../../src/observe/output.ts";
import { Monitor } from "../../src/operator/monitor.ts";
import type { SidecarStats } from "../../src/sidecar.ts";
import { delay } from "../_helpers/net.ts";

const STATS: SidecarStats = {
  state: "running",
  listeners: [{
    name: "http",
    kind: "http",
    address: null,
    connections: 0,
    endpoints: [{
      endpoint: "http://127.0.0.1:9000",
      site: 0,
      status: "up",
      inFlight: 0,
      requests: 0,
      failures: 0,
    }],
  }],
};

Deno.test("LiveTable enters the alternate screen, redraws on its interval, restores on close", async () => {
  const writes: string[] = [];
  let size = { columns: 120, rows: 30 };
  const table = new LiveTable({
    stats: () => STATS,
    write: (t) => writes.push(t),
    size: () => size,
    intervalMs: 20,
    color: false,
  });
  table.start();
  table.start(); // idempotent: one interval, one ENTER
  assert.equal(writes[0], "\x1b[?1049h\x1b[?25l");
  assert.ok(writes[1].startsWith("\x1b[H") && writes[1].includes("SITE  HOST"));
  await delay(110);
  const frames = writes.length - 1;
  assert.ok(frames >= 2 && frames <= 8, `frames: ${frames}`);
  // A new size shows in the next frame: columns that do not fit go.
  size = { columns: 50, rows: 30 };
  table.draw();
  assert.ok(!writes.at(-1)!.includes("MAX LATENCY"));
  assert.ok(writes.at(-1)!.endsWith("\x1b[K\x1b[J"));
  table.event("failover");
  table.draw();
  assert.ok(writes.at(-1)!.includes("EVENTS\x1b[K\nfailover"));
  table.close();
  table.close();
  assert.equal(writes.at(-1), "\x1b[?25h\x1b[?1049l");
  const closedAt = writes.length;
  await delay(60);
  assert.equal(writes.length, closedAt, "no frame after close");
  assert.equal(table.active, false);
});

Deno.test("formatLine: text keeps sidekick's prefix; JSON has level, time, message and fields", () => {
  assert.equal(formatLine("info", "reloaded", { json: false, now: 0 }), "sidekick: reloaded");
  assert.equal(formatLine("error", "x", { json: false, now: 0 }), "sidekick: x");
  const j = JSON.parse(formatLine("event", "a\nb", { json: true, now: 0, fields: { k: 1 } }));
  assert.deepEqual(j, { level: "event", time: "1970-01-01T00:00:00.000Z", message: "a\nb", k: 1 });
});

Deno.test("Reporter diverts events and warnings to the table, never errors", () => {
  const lines: string[] = [], shown: string[] = [];
  const out = new Reporter({
    write: (l) => lines.push(l),
    now: () => Date.UTC(2026, 0, 1, 1, 2, 3),
  });
  out.divert((t) => shown.push(t));
  out.warn("w");
  out.event("e");
  out.error("boom");
  out.divert(null);
  out.info("i");
  assert.deepEqual(shown, ["01:02:03 warning: w", "01:02:03 e"]);
  assert.deepEqual(lines, ["sidekick: boom", "sidekick: i"]);
});

Deno.test("Monitor reports an outage once per repeat period and stops its interval on close", async () => {
  let now = 0;
  const seen: string[] = [];
  const down: SidecarStats = {
    ...STATS,
    listeners: [{
      ...STATS.listeners[0],
      endpoints: [{
        ...STATS.listeners[0].endpoints[0],
        status: "down",
        lastProbe: { passed: false, detail: "status 503", at: 0 },
      }],
    }],
  };
  let current = STATS;
  const monitor = new Monitor({
    stats: () => current,
    report: (e) => seen.push(e.message),
    intervalMs: 10,
    repeatMs: 1_000,
    now: () => now,
  });
  monitor.start();
  current = down;
  monitor.check();
  now = 500;
  monitor.check();
  now = 1_000;
  await delay(40);
  monitor.close();
  assert.deepEqual(seen, [
    "http: no endpoint available, every request fails: http://127.0.0.1:9000 (status 503)",
    "http: no endpoint available, every request fails: http://127.0.0.1:9000 (status 503)",
  ]);
});

Deno.test("LiveTable stops quietly when the terminal goes away", async () => {
  let broken = false, writes = 0;
  const table = new LiveTable({
    stats: () => STATS,
    write: () => {
      writes++;
      if (broken) throw new Deno.errors.BrokenPipe("terminal gone");
    },
    size: () => ({ columns: 80, rows: 24 }),
    intervalMs: 10,
  });
  table.start();
  broken = true;
  await delay(40);
  assert.equal(table.active, false);
  const after = writes;
  await delay(30);
  assert.equal(writes, after, "the interval stopped");
  table.close();
});

/**
 * Prometheus metrics end to end: `/.prometheus/metrics` is answered by
 * sidekick itself (never proxied), in the text exposition format 0.0.4, with
 * counters for the endpoints of every site (minio/sidekick exports only the
 * last site's), byte counts that match what went over the wire, a duration
 * histogram, up gauges and the serving site.
 */

import assert from "node:assert/strict";
import { startHarness } from "../fixtures/harness.ts";
import {
  type RawResponse,
  refusedPort,
  startNamedBackend,
  startServeBackend,
} from "../_helpers/http.ts";

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A strict parser of the text format: every line must be a comment, HELP, TYPE or a sample. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split("\n")) {
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m !== null) {
      if (m[1] === "TYPE") {
        assert.match(m[3], /^(counter|gauge|histogram|summary|untyped)$/);
        assert.ok(!types.has(m[2]), `one TYPE per family: ${m[2]}`);
        types.set(m[2], m[3]);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)/y;
    const body = m[2] ?? "";
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      assert.ok(l !== null, `bad labels: ${body}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
      at = re.lastIndex;
    }
    const value = m[3] === "+Inf" ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `bad value in ${line}`);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
}

function wire(res: RawResponse): number {
  return res.head.raw.length + res.wireBody.length;
}

Deno.test("metrics: counters for every site's endpoints, matching the bytes on the wire", async () => {
  await using a1 = startNamedBackend("a1");
  await using b1 = startServeBackend((req) =>
    new URL(req.url).pathname === "/missing"
      ? new Response("no", { status: 404 })
      : new Response("b1")
  );
  const a2 = `http://127.0.0.1:${refusedPort()}`;
  const A1 = a1.url, B1 = b1.url;
  await using proxy = await startHarness([[A1, a2], [B1]], { health: { ejectMs: 60_000 } });

  let aTx = 0, aRx = 0;
  for (let i = 0; i < 5; i++) {
    const req = `GET /a${i} HTTP/1.1\r\nHost: test\r\n\r\n`;
    const res = await proxy.exchange(req);
    assert.equal(res.text(), `a1:/a${i}`);
    aTx += wire(res);
    aRx += req.length;
  }
  // Site 1 goes away entirely: traffic fails over to site 2.
  await a1.close();
  let bTx = 0;
  const first = await proxy.get("/b0");
  assert.equal(first.text(), "b1");
  bTx += wire(first);
  for (let i = 1; i < 3; i++) bTx += wire(await proxy.get(`/b${i}`));
  const missing = await proxy.get("/missing");
  assert.equal(missing.status, 404);
  bTx += wire(missing);
  const b1Accepted = b1.accepted;

  const res = await proxy.get("/.prometheus/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(b1.accepted, b1Accepted, "never proxied");
  const { samples, types } = parseExposition(res.text());
  for (
    const [name, type] of [
      ["sidekick_requests_total", "counter"],
      ["sidekick_errors_total", "counter"],
      ["sidekick_rx_bytes_total", "counter"],
      ["sidekick_tx_bytes_total", "counter"],
      ["sidekick_endpoint_up", "gauge"],
      ["sidekick_request_duration_seconds", "histogram"],
      ["sidekick_active_connections", "gauge"],
      ["sidekick_health_transitions_total", "counter"],
    ]
  ) assert.equal(types.get(name), type, name);

  const s1 = { site: "site1", listener: "http" }, s2 = { site: "site2", listener: "http" };
  assert.equal(value(samples, "sidekick_requests_total", { endpoint: A1, ...s1 }), 5);
  assert.equal(value(samples, "sidekick_requests_total", { endpoint: a2, ...s1 }), 0);
  assert.equal(value(samples, "sidekick_requests_total", { endpoint: B1, ...s2 }), 4);
  // A1 refused the first request after it closed: failed in transport.
  assert.equal(value(samples, "sidekick_errors_total", { endpoint: A1 }), 1);
  assert.equal(value(samples, "sidekick_errors_total", { endpoint: B1 }), 1, "the 404");
  // As its HELP says: a request that failed in transport (here: refused) is an error too.
  assert.equal(value(samples, "sidekick_errors_total", { endpoint: a2 }), 1, "refused");
  assert.equal(value(samples, "sidekick_rx_bytes_total", { endpoint: A1 }), aRx);
  assert.equal(value(samples, "sidekick_tx_bytes_total", { endpoint: A1 }), aTx);
  assert.equal(value(samples, "sidekick_tx_bytes_total", { endpoint: B1 }), bTx);
  assert.equal(value(samples, "sidekick_transport_failures_total", { endpoint: A1 }), 1);
  assert.equal(value(samples, "sidekick_transport_failures_total", { endpoint: a2 }), 1);
  assert.equal(value(samples, "sidekick_endpoint_up", { endpoint: A1 }), 0, "ejected");
  assert.equal(value(samples, "sidekick_endpoint_up", { endpoint: a2 }), 0);
  assert.equal(value(samples, "sidekick_endpoint_up", { endpoint: B1 }), 1);
  assert.equal(value(samples, "sidekick_site_serving", s1), 0);
  assert.equal(value(samples, "sidekick_site_serving", s2), 1);
  assert.ok(value(samples, "sidekick_active_connections", { listener: "http" }) >= 1);
  assert.equal(
    value(samples, "sidekick_health_transitions_total", { endpoint: B1, to: "up" }),
    0,
  );

  // The histogram: cumulative buckets, +Inf equal to the count, one per request served.
  for (const [endpoint, n] of [[A1, 5], [B1, 4]] as const) {
    const buckets = samples.filter((s) =>
      s.name === "sidekick_request_duration_seconds_bucket" && s.labels.endpoint === endpoint
    );
    assert.ok(buckets.length > 5);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
    assert.equal(buckets.at(-1)!.labels.le, "+Inf");
    assert.equal(buckets.at(-1)!.value, n);
    assert.equal(value(samples, "sidekick_request_duration_seconds_count", { endpoint }), n);
    const sum = value(samples, "sidekick_request_duration_seconds_sum", { endpoint });
    assert.ok(sum > 0 && sum < 10);
  }
});

Deno.test("metrics: HEAD gets the head only; label values are escaped", async () => {
  await using backend = startNamedBackend("b");
  await using proxy = await startHarness([[backend.url]], { name: 'my "http"\\listener' });
  await proxy.get("/x");
  const head = await proxy.exchange(
    "HEAD /.prometheus/metrics HTTP/1.1\r\nHost: t\r\n\r\n",
    { method: "HEAD" },
  );
  assert.equal(head.status, 200);
  assert.ok(Number(head.header("content-length")) > 100);
  assert.equal(head.body.length, 0);
  const res = await proxy.get("/.prometheus/metrics?x=1");
  assert.ok(res.text().includes('listener="my \\"http\\"\\\\listener"'), "escaped");
  const { samples } = parseExposition(res.text());
  assert.equal(
    value(samples, "sidekick_requests_total", { listener: 'my "http"\\listener' }),
    1,
  );
  assert.equal(backend.accepted, 1, "only /x reached the backend");
});

Deno.test("metrics: a custom renderer replaces the default (e.g. a sidecar's every listener)", async () => {
  await using backend = startNamedBackend("b");
  await using proxy = await startHarness([[backend.url]], {
    proxy: { metrics: () => "custom_metric 1\n" },
  });
  assert.equal((await proxy.get("/.prometheus/metrics")).text(), "custom_metric 1\n");
});

Deno.test("metrics: sidekick_health_error_counts counts each failed health check, per endpoint", async () => {
  await using good = startNamedBackend("good");
  const bad = `http://127.0.0.1:${refusedPort()}`;
  await using proxy = await startHarness([[good.url, bad]], {
    health: { active: true, intervalMs: 20 },
  });
  const deadline = Date.now() + 5000;
  let samples: Sample[] = [];
  for (;;) {
    const res = await proxy.get("/.prometheus/metrics");
    const parsed = parseExposition(res.text());
    samples = parsed.samples;
    assert.equal(parsed.types.get("sidekick_health_error_counts"), "counter");
    if (value(samples, "sidekick_health_error_counts", { endpoint: bad }) >= 3) break;
    assert.ok(Date.now() < deadline, "the refused endpoint's failed checks are counted");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(value(samples, "sidekick_health_error_counts", { endpoint: good.url }), 0);
});

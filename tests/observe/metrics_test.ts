import assert from "node:assert/strict";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { initialHealthState } from "../../src/health/state.ts";
import { escapeLabelValue, formatValue, renderMetrics } from "../../src/observe/metrics.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { DURATION_BUCKETS } from "../../src/balance/endpoint.ts";

function cluster() {
  const e = (port: number) => ({ scheme: "http" as const, host: "10.0.0.1", port, basePath: "" });
  return new Cluster({
    policy: "least",
    health: { ...DEFAULT_HEALTH, active: true },
    sites: [{ name: "east", endpoints: [e(1), e(2)] }, { name: "west", endpoints: [e(3)] }],
  }, { now: () => 1000, random: () => 0 });
}

Deno.test("escapeLabelValue and formatValue follow the text format", () => {
  assert.equal(escapeLabelValue("plain"), "plain");
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(formatValue(1.5), "1.5");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
});

Deno.test("renderMetrics: every site's endpoints, counters from the endpoints", () => {
  const c = cluster();
  const [[a, b], [w]] = c.sites;
  c.setHealth(w, initialHealthState(true, 1000));
  c.setHealth(a, initialHealthState(true, 1000));
  // Seven requests as leases settle them: 100 bytes in, 2000 out, two 5xx;
  // two took 2 ms, one 30 s, the others no time.
  const seconds = [0.002, 0.002, 30, 0, 0, 0, 0];
  for (let i = 0; i < 7; i++) {
    a.acquire();
    a.reach();
    const outcome = { rx: i === 0 ? 100 : 0, tx: i === 0 ? 2000 : 0, status: i < 2 ? 502 : 200 };
    a.settle({ ...outcome, error: "none" }, true, seconds[i]);
  }
  for (let i = 0; i < 3; i++) {
    w.acquire();
    w.reach();
    w.settle({ rx: 0, tx: 0, status: 200, error: "none" }, true, 0);
  }
  const text = renderMetrics([{ listener: "s3", cluster: c, connections: () => 4 }], 1000);
  const lines = text.split("\n");
  const ea = 'endpoint="http://10.0.0.1:1",site="east",listener="s3"';
  for (
    const want of [
      `sidekick_requests_total{${ea}} 7`,
      `sidekick_requests_total{endpoint="http://10.0.0.1:3",site="west",listener="s3"} 3`,
      `sidekick_requests_total{endpoint="http://10.0.0.1:2",site="east",listener="s3"} 0`,
      `sidekick_errors_total{${ea}} 2`,
      `sidekick_rx_bytes_total{${ea}} 100`,
      `sidekick_tx_bytes_total{${ea}} 2000`,
      `sidekick_endpoint_up{${ea}} 1`,
      `sidekick_endpoint_up{endpoint="http://10.0.0.1:2",site="east",listener="s3"} 0`,
      `sidekick_health_transitions_total{${ea},to="up"} 1`,
      `sidekick_health_transitions_total{${ea},to="down"} 0`,
      `sidekick_request_duration_seconds_bucket{${ea},le="0.001"} 4`,
      `sidekick_request_duration_seconds_bucket{${ea},le="0.0025"} 6`,
      `sidekick_request_duration_seconds_bucket{${ea},le="10"} 6`,
      `sidekick_request_duration_seconds_bucket{${ea},le="+Inf"} 7`,
      `sidekick_request_duration_seconds_sum{${ea}} 30.004`,
      `sidekick_request_duration_seconds_count{${ea}} 7`,
      `sidekick_site_serving{site="east",listener="s3"} 1`,
      `sidekick_site_serving{site="west",listener="s3"} 0`,
      `sidekick_active_connections{listener="s3"} 4`,
      "# TYPE sidekick_request_duration_seconds histogram",
      "# TYPE sidekick_requests_total counter",
    ]
  ) assert.ok(lines.includes(want), `missing: ${want}`);
  assert.equal(
    lines.filter((l) => l.startsWith(`sidekick_request_duration_seconds_bucket{${ea}`)).length,
    DURATION_BUCKETS.length + 1,
  );
  assert.ok(text.endsWith("\n") && !text.endsWith("\n\n"));
  // b is untouched.
  assert.equal(b.requests, 0);
});

Deno.test("renderMetrics: families are grouped once each across listeners", () => {
  const text = renderMetrics([
    { listener: "one", cluster: cluster(), connections: () => 0 },
    { listener: "two", cluster: cluster(), connections: () => 0 },
  ], 0);
  const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  assert.equal(new Set(types).size, types.length);
  // Samples of one family are contiguous.
  const names = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) =>
    l.replace(/(_bucket|_sum|_count)?\{.*$/, "")
  );
  const seen = new Set<string>();
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && names[i] !== names[i - 1]) {
      assert.ok(!seen.has(names[i]), `${names[i]} appears in two places`);
    }
    seen.add(names[i]);
  }
});

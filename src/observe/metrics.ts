/**
 * Prometheus metrics in the text exposition format 0.0.4, rendered on demand
 * from the counters the endpoints keep (a few integer adds per request; no
 * registry, no work between scrapes).
 *
 * minio/sidekick's names and `endpoint` label are kept
 * (`sidekick_requests_total`, `sidekick_errors_total`,
 * `sidekick_rx_bytes_total`, `sidekick_tx_bytes_total`), for the endpoints of
 * every site (minio/sidekick exports only the last site's), with `site` and
 * `listener` labels added so that series stay unique across listeners.
 *
 * @module
 */

import type { Cluster } from "../balance/cluster.ts";
import { DURATION_BUCKETS } from "../balance/endpoint.ts";

/** The `Content-Type` of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * One listener whose cluster is exported.
 *
 * @example Usage
 * ```ts ignore
 * import type { MetricsSource } from "./metrics.ts";
 * const source: MetricsSource = { listener: "http", cluster, connections: () => proxy.connections };
 * ```
 */
export interface MetricsSource {
  /** The listener's name (the `listener` label). */
  readonly listener: string;
  /** Its cluster. */
  readonly cluster: Cluster;
  /** Client connections open now. */
  readonly connections: () => number;
  /** HTTP connections cut by the body, write and request timeouts (HTTP listeners only). */
  readonly timeouts?: () => {
    readonly requestBody: number;
    readonly responseWrite: number;
    readonly request: number;
  } | undefined;
}

/**
 * Escapes a label value: backslash, double quote and line feed.
 *
 * @param value The raw value.
 * @returns The escaped value (without quotes).
 *
 * @example Usage
 * ```ts
 * import { escapeLabelValue } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/**
 * A sample value as the exposition format writes it.
 *
 * @param n The value.
 * @returns `NaN`, `+Inf`, `-Inf` or the number.
 *
 * @example Usage
 * ```ts
 * import { formatValue } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatValue(Infinity), "+Inf");
 * ```
 */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

interface Family {
  readonly name: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly help: string;
  readonly lines: string[];
}

function family(name: string, type: Family["type"], help: string): Family {
  return { name, type, help, lines: [] };
}

/**
 * Renders the metrics of some listeners.
 *
 * Families: `sidekick_requests_total` (requests sent to the endpoint),
 * `sidekick_errors_total` (answered with a status >= 400, or failed in
 * transport), `sidekick_rx_bytes_total` / `sidekick_tx_bytes_total` (bytes
 * from / to clients), `sidekick_transport_failures_total`,
 * `sidekick_health_transitions_total{to}`, `sidekick_outlier_ejections_total`,
 * `sidekick_health_error_counts`
 * (failed health checks), `sidekick_endpoint_up` (1 when
 * healthy, not ejected, not draining), `sidekick_endpoint_in_flight`,
 * `sidekick_request_duration_seconds` (histogram), `sidekick_site_serving`
 * (1 for the site that takes new requests) and `sidekick_active_connections`
 * (client connections of the listener).
 *
 * @param sources The listeners.
 * @param now The current time (ms), for availability.
 * @returns The exposition text, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { renderMetrics } from "./metrics.ts";
 * import { Cluster } from "../balance/cluster.ts";
 * import { SYSTEM_RUNTIME } from "../pool/runtime.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const cluster = new Cluster({
 *   policy: "least",
 *   health: { ...DEFAULT_HEALTH, active: false },
 *   sites: [{ name: "a", endpoints: [{ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }] }],
 * }, SYSTEM_RUNTIME);
 * const text = renderMetrics([{ listener: "http", cluster, connections: () => 0 }], Date.now());
 * assert.ok(text.includes('sidekick_requests_total{endpoint="http://127.0.0.1:9000",site="a",listener="http"} 0'));
 * ```
 */
export function renderMetrics(sources: readonly MetricsSource[], now: number): string {
  const requests = family("sidekick_requests_total", "counter", "Requests sent to the endpoint.");
  const errors = family(
    "sidekick_errors_total",
    "counter",
    "Requests to the endpoint answered with a status >= 400 or failed in transport.",
  );
  const rx = family("sidekick_rx_bytes_total", "counter", "Bytes received from clients.");
  const tx = family("sidekick_tx_bytes_total", "counter", "Bytes sent to clients.");
  const failures = family(
    "sidekick_transport_failures_total",
    "counter",
    "Transport errors (refused, reset, timeout) on real traffic.",
  );
  const transitions = family(
    "sidekick_health_transitions_total",
    "counter",
    "Changes of the endpoint's health status, by new status.",
  );
  const ejections = family(
    "sidekick_outlier_ejections_total",
    "counter",
    "Times the endpoint was ejected as an outlier (runs of 5xx or gateway errors).",
  );
  const healthErrors = family(
    "sidekick_health_error_counts",
    "counter",
    "Health checks of the endpoint that failed (minio/sidekick's name).",
  );
  const up = family(
    "sidekick_endpoint_up",
    "gauge",
    "1 when the endpoint is healthy, not ejected and not draining.",
  );
  const inFlight = family("sidekick_endpoint_in_flight", "gauge", "Requests in flight now.");
  const duration = family(
    "sidekick_request_duration_seconds",
    "histogram",
    "Time from a request's head to the end of its response.",
  );
  const serving = family(
    "sidekick_site_serving",
    "gauge",
    "1 for the site that takes new requests.",
  );
  const active = family(
    "sidekick_active_connections",
    "gauge",
    "Client connections open on the listener.",
  );
  const cut = family(
    "sidekick_timeouts_total",
    "counter",
    "Client connections cut by the request-body, response-write or whole-request timeout.",
  );
  for (const source of sources) {
    const listener = escapeLabelValue(source.listener);
    const cluster = source.cluster;
    const servingSite = cluster.servingSite();
    active.lines.push(
      `sidekick_active_connections{listener="${listener}"} ${source.connections()}`,
    );
    const t = source.timeouts?.();
    if (t !== undefined) {
      cut.lines.push(
        `sidekick_timeouts_total{listener="${listener}",kind="request_body"} ${t.requestBody}`,
        `sidekick_timeouts_total{listener="${listener}",kind="response_write"} ${t.responseWrite}`,
        `sidekick_timeouts_total{listener="${listener}",kind="request"} ${t.request}`,
      );
    }
    cluster.sites.forEach((site, i) => {
      const siteName = escapeLabelValue(cluster.spec.sites[i]?.name ?? `site${i + 1}`);
      const siteLabels = `site="${siteName}",listener="${listener}"`;
      serving.lines.push(`sidekick_site_serving{${siteLabels}} ${i === servingSite ? 1 : 0}`);
      for (const e of site) {
        const labels = `endpoint="${escapeLabelValue(e.key)}",${siteLabels}`;
        requests.lines.push(`sidekick_requests_total{${labels}} ${e.requests}`);
        errors.lines.push(`sidekick_errors_total{${labels}} ${e.errors}`);
        rx.lines.push(`sidekick_rx_bytes_total{${labels}} ${e.rxBytes}`);
        tx.lines.push(`sidekick_tx_bytes_total{${labels}} ${e.txBytes}`);
        failures.lines.push(`sidekick_transport_failures_total{${labels}} ${e.failures}`);
        transitions.lines.push(`sidekick_health_transitions_total{${labels},to="up"} ${e.wentUp}`);
        transitions.lines.push(
          `sidekick_health_transitions_total{${labels},to="down"} ${e.wentDown}`,
        );
        ejections.lines.push(`sidekick_outlier_ejections_total{${labels}} ${e.ejections}`);
        healthErrors.lines.push(`sidekick_health_error_counts{${labels}} ${e.healthErrors}`);
        up.lines.push(`sidekick_endpoint_up{${labels}} ${e.isUp(now) ? 1 : 0}`);
        inFlight.lines.push(`sidekick_endpoint_in_flight{${labels}} ${e.inFlight}`);
        let count = 0;
        for (let b = 0; b < DURATION_BUCKETS.length; b++) {
          count += e.durationCounts[b];
          duration.lines.push(
            `sidekick_request_duration_seconds_bucket{${labels},le="${
              formatValue(DURATION_BUCKETS[b])
            }"} ${count}`,
          );
        }
        count += e.durationCounts[DURATION_BUCKETS.length];
        duration.lines.push(
          `sidekick_request_duration_seconds_bucket{${labels},le="+Inf"} ${count}`,
        );
        duration.lines.push(
          `sidekick_request_duration_seconds_sum{${labels}} ${formatValue(e.durationSum)}`,
        );
        duration.lines.push(`sidekick_request_duration_seconds_count{${labels}} ${count}`);
      }
    });
  }
  const out: string[] = [];
  for (
    const f of [
      requests,
      errors,
      rx,
      tx,
      failures,
      transitions,
      ejections,
      healthErrors,
      up,
      inFlight,
      duration,
      serving,
      active,
      ...(cut.lines.length > 0 ? [cut] : []),
    ]
  ) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.lines);
  }
  return out.join("\n") + "\n";
}

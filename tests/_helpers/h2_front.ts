/**
 * An HTTP listener that accepts h2c (prior knowledge) in front of endpoints
 * that speak HTTP/2, for the upstream side's tests: the real `HttpProxy`
 * (its h2 serving calls `forwardStreamToH2`) from the test harness, with
 * round-robin balancing, `h2://` endpoints trusting the test CA, and the
 * health probe of the configured kind.
 *
 * @module
 */

import type { HealthSpec } from "../../src/config/schema.ts";
import { DEFAULT_HTTP_TIMEOUTS } from "../../src/config/defaults.ts";
import type { Cluster } from "../../src/balance/cluster.ts";
import type { HealthEvent } from "../../src/health/checker.ts";
import { fixture, startHarness } from "../fixtures/harness.ts";

/** Options of {@linkcode startH2Front}. */
export interface H2FrontOptions {
  /** Health settings; active probes off unless set. */
  readonly health?: Partial<HealthSpec>;
  /** Health transitions. */
  readonly onHealthEvent?: (event: HealthEvent) => void;
  /** Response-header timeout (ms). @default the default */
  readonly responseHeaderMs?: number;
}

/** A running front. */
export interface H2Front extends AsyncDisposable {
  /** Its port on 127.0.0.1 (h2c prior knowledge, or HTTP/1.1). */
  readonly port: number;
  /** The cluster. */
  readonly cluster: Cluster;
  /** Client sessions open to the HTTP/2 endpoints. */
  readonly sessions: number;
  /** Stops everything. */
  close(): Promise<void>;
}

/**
 * Starts the front on 127.0.0.1.
 *
 * @param sites Endpoint URLs per site.
 * @param options Health, timeouts.
 * @returns The running front.
 */
export async function startH2Front(
  sites: readonly (readonly string[])[],
  options: H2FrontOptions = {},
): Promise<H2Front> {
  const h = await startHarness(sites, {
    policy: "round-robin",
    ...(options.health === undefined ? {} : { health: options.health }),
    ...(options.onHealthEvent === undefined ? {} : { onHealthEvent: options.onHealthEvent }),
    upstreamTls: { caFile: fixture("ca.pem"), insecure: false },
    spec: {
      h2c: true,
      ...(options.responseHeaderMs === undefined ? {} : {
        timeouts: { ...DEFAULT_HTTP_TIMEOUTS, responseHeaderMs: options.responseHeaderMs },
      }),
    },
  });
  return {
    port: h.port,
    cluster: h.cluster,
    get sessions() {
      return h.proxy.h2Sessions;
    },
    close: () => h.close(),
    [Symbol.asyncDispose]: () => h.close(),
  };
}

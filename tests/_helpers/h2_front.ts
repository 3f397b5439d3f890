/**
 * A minimal HTTP/2 cleartext front for tests of the upstream side: a
 * server-role H2Session per accepted connection whose streams go through
 * `forwardStreamToH2` to a cluster of `h2c://` / `h2://` endpoints, with the
 * lease loop the downstream serving runs (retry while `RETRY`, else 502).
 * Optionally a health checker with the listener's probe. Everything it opens
 * is closed by `close()`.
 *
 * @module
 */

import type { HealthSpec, HttpListenerSpec } from "../../src/config/schema.ts";
import {
  DEFAULT_HEALTH,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
} from "../../src/config/defaults.ts";
import { parseEndpoint } from "../../src/config/builders.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { Attempt } from "../../src/balance/lease.ts";
import { HealthChecker, type HealthEvent } from "../../src/health/checker.ts";
import { createProbe, type ProbeKind } from "../../src/health/probes.ts";
import { runtimeOf, SYSTEM_CLOCK } from "../../src/pool/clock.ts";
import { H2Session, type H2Stream } from "../../src/h2/session.ts";
import { H2Upstream } from "../../src/proxy/http/h2_upstream.ts";
import {
  forwardStreamToH2,
  type H2StreamAttempt,
  type H2StreamContext,
} from "../../src/proxy/http/h2_forward_h2.ts";
import type { TransportError } from "../../src/balance/endpoint.ts";
import {
  BLAME,
  DONE_KEEP,
  type ExchangeOutcome,
  FRESH,
  NO_RESPONSE,
  RETRY,
  shouldRetry,
  transportError,
} from "../../src/proxy/http/retry.ts";
import { loadUpstreamTls } from "../../src/pool/dial.ts";
import { fixture } from "../fixtures/harness.ts";

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
  /** Its port on 127.0.0.1 (h2c prior knowledge). */
  readonly port: number;
  /** The cluster. */
  readonly cluster: Cluster;
  /** The upstream sessions. */
  readonly h2: H2Upstream;
  /** The outcomes of the streams served, in order of their end. */
  readonly outcomes: ExchangeOutcome[];
  /** Stops everything. */
  close(): Promise<void>;
}

/**
 * Starts a front on 127.0.0.1 for `sites` of HTTP/2 endpoints (`h2://` ones
 * trust the test CA).
 *
 * @param sites Endpoint URLs per site.
 * @param options Health.
 * @returns The running front.
 */
export async function startH2Front(
  sites: readonly (readonly string[])[],
  options: H2FrontOptions = {},
): Promise<H2Front> {
  const health: HealthSpec = { ...DEFAULT_HEALTH, active: false, ...options.health };
  const spec: HttpListenerSpec = {
    kind: "http",
    name: "h2",
    hostname: "127.0.0.1",
    port: 0,
    cluster: {
      policy: "round-robin",
      health,
      sites: sites.map((urls, i) => ({ name: `site${i + 1}`, endpoints: urls.map(parseEndpoint) })),
    },
    timeouts: {
      ...DEFAULT_HTTP_TIMEOUTS,
      ...(options.responseHeaderMs === undefined
        ? {}
        : { responseHeaderMs: options.responseHeaderMs }),
    },
    limits: DEFAULT_HTTP_LIMITS,
  };
  const clock = SYSTEM_CLOCK;
  const runtime = runtimeOf(clock);
  const cluster = new Cluster(spec.cluster, runtime);
  const tls = loadUpstreamTls({ caFile: fixture("ca.pem"), insecure: false });
  cluster.tls = tls;
  const h2 = new H2Upstream({ connectMs: 5_000, idleMs: 30_000, clock, tls });
  const checker = health.active
    ? new HealthChecker(
      cluster,
      runtime,
      options.onHealthEvent ?? (() => {}),
      createProbe((health.kind ?? "http") as ProbeKind, cluster),
      clock,
    )
    : null;
  await checker?.start();
  const outcomes: ExchangeOutcome[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions = new Set<H2Session>();
  const running: Promise<void>[] = [];

  const sctx: H2StreamContext = {
    listener: { spec, h2 },
    clientIp: "127.0.0.1",
    tls: false,
    clock,
    upstreamH2: { current: null },
  };
  // The serving code's lease loop, as connection.ts runs it for HTTP/1.1.
  const serveStream = async (stream: H2Stream) => {
    const x: H2StreamAttempt & { error: TransportError } = {
      stream,
      attempt: new Attempt(),
      status: 0,
      answeredAt: 0,
      rx: 0,
      tx: 0,
      upstreamError: "",
      timedOut: false,
      clientGone: false,
      replaySafe: true,
      error: "none",
    };
    stream.onReset = () => x.clientGone = true;
    let outcome: ExchangeOutcome = NO_RESPONSE; // no lease at all answers 502 too
    let decision = RETRY;
    try {
      while ((decision & RETRY) !== 0) {
        const lease = cluster.lease(x.attempt);
        if (lease === undefined) break;
        try {
          for (;;) {
            outcome = await forwardStreamToH2(sctx, x, lease);
            decision = shouldRetry(outcome, x.attempt, x, spec.limits);
            if ((decision & FRESH) === 0) break;
            x.attempt.fresh = true;
          }
          x.error = outcome === DONE_KEEP ? "none" : transportError(outcome, x.attempt.reused);
          if ((decision & BLAME) !== 0) lease.blame(x.upstreamError, x.error);
        } finally {
          lease.release(x);
        }
        if (outcome === DONE_KEEP || x.clientGone) break;
      }
      outcomes.push(outcome);
      if (outcome !== DONE_KEEP && !x.clientGone) {
        stream.sendHeaders(
          [":status", x.timedOut ? "504" : "502", "x-error", x.upstreamError],
          true,
        );
      }
    } catch (e) {
      console.error("h2 front:", e);
      stream.reset();
    }
  };
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      const session = new H2Session(conn, {
        role: "server",
        clock,
        onStream: (stream) => void serveStream(stream),
      });
      sessions.add(session);
      running.push(session.run().finally(() => sessions.delete(session)));
    }
  })();
  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (async () => {
      await checker?.stop();
      listener.close();
      await accepting;
      for (const s of sessions) s.close();
      await Promise.all(running);
      await h2.closeAll();
    })();
  return {
    port: listener.addr.port,
    cluster,
    h2,
    outcomes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

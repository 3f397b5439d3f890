/**
 * What an HTTP client connection and its exchanges need from their listener.
 *
 * @module
 */

import type { HttpListenerSpec } from "../../config/schema.ts";
import type { Cluster } from "../../balance/cluster.ts";
import type { ScratchPool } from "./scratch.ts";
import type { HttpTracer } from "./trace.ts";
import type { UpstreamPool } from "./upstream_pool.ts";
import type { ClientLimiter } from "../client_limits.ts";
import type { Clock } from "../../pool/clock.ts";
import type { H2Upstream } from "./h2_upstream.ts";

/**
 * What a connection needs from its listener.
 *
 * @example Usage
 * ```ts ignore
 * import type { HttpConnectionContext } from "./context.ts";
 * const ctx: HttpConnectionContext = proxy; // the HttpProxy implements it
 * ```
 */
export interface HttpConnectionContext {
  /** The listener's spec. */
  readonly spec: HttpListenerSpec;
  /** Where requests go. */
  readonly cluster: Cluster;
  /** Upstream keep-alive connections. */
  readonly pool: UpstreamPool;
  /** Client sessions to the endpoints that speak HTTP/2 (with `spec` and `clock`, an `H2ForwardContext`). */
  readonly h2: H2Upstream;
  /** The listener's clock (timers of HTTP/2 streams). */
  readonly clock: Clock;
  /** Per-connection working memory, reused across connections. */
  readonly scratch: ScratchPool;
  /** Whether the listener is draining (answer, then close). */
  readonly draining: boolean;
  /** Whether clients connect over TLS (X-Forwarded-Proto). */
  readonly tls: boolean;
  /** Request tracing, or null when off. */
  readonly tracer: HttpTracer | null;
  /** Renders `/.prometheus/metrics`. */
  readonly metrics: () => { readonly contentType: string; readonly body: string };
  /** The PEM served at `/v1/certificates`, or null. */
  readonly certificates: string | null;
  /** Responses sidekick wrote itself, by status (owned by the listener). */
  readonly ownResponses: Map<number, number>;
  /** The time deadlines are set and enforced on. */
  readonly now: () => number;
  /** Per-client limits, or null when they are off (the connection then does nothing for them). */
  readonly limiter: ClientLimiter | null;
  /**
   * Takes over a plain connection whose first bytes are the HTTP/2 preface
   * (h2c prior knowledge), with the bytes already read; null when the
   * listener does not accept h2c (the preface is then answered as today: 505).
   */
  readonly h2c: ((conn: Deno.Conn, initial: Uint8Array) => void) | null;
  /** Called once by a connection when it is done (the listener stops tracking it). */
  readonly forget: (connection: object) => void;
}

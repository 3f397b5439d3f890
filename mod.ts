/**
 * sidekick: a sidecar load balancer for HTTP/1.1, TCP and UDP. Embed it in a
 * Deno service, or run it as a command line:
 * `deno run -A jsr:@sidekick/cli --address :8080 http://minio{1...4}:9000`.
 *
 * This module is the stable API: the typed config and its builders,
 * {@linkcode createSidecar}, the stats types and the duration and range
 * helpers. The cores (`HttpProxy`, `TcpProxy`, `UdpProxy`, `Cluster`, ...)
 * are in `@sidekick/cli/unstable`; the command line is `@sidekick/cli/cli`.
 *
 * @example Embedding
 * ```ts
 * import { createSidecar, httpListener } from "@sidekick/cli";
 * import assert from "node:assert/strict";
 *
 * await using backend = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("hi"));
 * await using sidecar = createSidecar({
 *   listeners: [httpListener("127.0.0.1:0", [[`http://127.0.0.1:${backend.addr.port}`]])],
 * });
 * const [address] = await sidecar.start(); // the first health round, then listen
 * const reply = await fetch(`http://127.0.0.1:${address.port}/`);
 * assert.equal(await reply.text(), "hi");
 * ```
 *
 * @module
 */

export * from "./src/config/schema.ts";
export * from "./src/config/builders.ts";
export * from "./src/config/defaults.ts";
export { formatDuration, parseDuration } from "./src/config/duration.ts";
export { expandPattern, expandSite } from "./src/config/expand.ts";
export {
  createSidecar,
  type EndpointStats,
  type ListenerStats,
  type Sidecar,
  type SidecarOptions,
  type SidecarState,
  type SidecarStats,
} from "./src/sidecar.ts";
export type { DnsRecordType, DnsResolver } from "./src/discovery/dns.ts";
export type { SrvResolver } from "./src/discovery/srv.ts";
export type { CertificatePair } from "./src/proxy/tls_listener.ts";
export type { TraceRecord } from "./src/observe/log.ts";
export type { HealthEvent } from "./src/health/checker.ts";
export type { Runtime } from "./src/pool/runtime.ts";
export type { RandomSource } from "./src/balance/policy.ts";
export type {
  EndpointDetails,
  LatencyHistogram,
  ListenerDetails,
  ProbeOutcome,
  ReloadStats,
} from "./src/observe/stats.ts";

if (import.meta.main) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(Deno.args));
}

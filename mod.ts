/**
 * sidekick: a sidecar load balancer for HTTP/1.1 (and, soon, TCP and UDP).
 * Embed it in a Deno service, or run it as a command line:
 * `deno run -A jsr:@sidekick/cli --address :8080 http://minio{1...4}:9000`.
 *
 * @example Embedding
 * ```ts ignore
 * import { createSidecar, httpListener } from "jsr:@sidekick/cli";
 * await using sidecar = createSidecar({
 *   listeners: [httpListener("127.0.0.1:8080", [["http://127.0.0.1:9001", "http://127.0.0.1:9002"]])],
 * });
 * await sidecar.start();
 * ```
 *
 * @module
 */

export * from "./src/config/schema.ts";
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
export type { CertificatePair } from "./src/proxy/http/tls_listener.ts";
export type { TraceRecord } from "./src/observe/log.ts";
export type { EndpointDownListener } from "./src/pool/cluster.ts";
export type { UpstreamTls } from "./src/pool/dial.ts";
export type { HttpProxyOptions } from "./src/proxy/http/server.ts";
export type { HealthEvent } from "./src/health/checker.ts";
export type { Runtime } from "./src/pool/cluster.ts";
export type { RandomSource } from "./src/balance/policy.ts";
export { HttpProxy } from "./src/proxy/http/server.ts";
export { TcpProxy, type TcpProxyOptions } from "./src/proxy/tcp/server.ts";
export type { CloseReason, TcpSessionContext } from "./src/proxy/tcp/session.ts";
export { BufferPool } from "./src/proxy/buffers.ts";
export { UdpProxy } from "./src/proxy/udp/server.ts";
export type { Listener, ListenerCoreStats } from "./src/proxy/listener.ts";
export { type Clock, runtimeOf, sleep, SYSTEM_CLOCK, type Timer } from "./src/clock.ts";
export { Cluster } from "./src/pool/cluster.ts";
export { Endpoint, type EndpointLoad } from "./src/pool/endpoint.ts";
export type { HealthState } from "./src/health/state.ts";
export { main, parseCommandLine, UsageError, VERSION } from "./cli.ts";

if (import.meta.main) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(Deno.args));
}

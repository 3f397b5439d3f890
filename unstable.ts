/**
 * The cores under {@linkcode createSidecar}: the HTTP, TCP and UDP proxies,
 * clusters and endpoints, and the buffer pool. Use them to build a sidecar
 * shaped differently from the one `mod.ts` offers.
 *
 * @experimental These classes are being reshaped (leases, one `Listener`
 * interface, an injected clock); their names, constructors and fields may
 * change in any minor release. The stable API is the package's main export.
 *
 * @example Usage
 * ```ts
 * import { Cluster, SYSTEM_RUNTIME, TcpProxy } from "./unstable.ts";
 * import { tcpListener } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const spec = tcpListener("127.0.0.1:0", [["127.0.0.1:5432"]]);
 * const cluster = new Cluster(spec.cluster, SYSTEM_RUNTIME);
 * const proxy = new TcpProxy(spec, cluster); // proxy.listen() would start serving
 * assert.equal(cluster.endpoints.length, 1);
 * assert.equal(proxy.cluster, cluster);
 * ```
 *
 * @module
 */

export { HttpProxy, type HttpProxyOptions } from "./src/proxy/http/server.ts";
export { TcpProxy, type TcpProxyOptions } from "./src/proxy/tcp/server.ts";
export type { CloseReason, TcpSessionContext } from "./src/proxy/tcp/session.ts";
export { UdpProxy } from "./src/proxy/udp/server.ts";
export { BufferPool } from "./src/proxy/buffers.ts";
export { HostAddresses, type HostConnectOptions } from "./src/discovery/host_addresses.ts";
export { TimeoutCounts } from "./src/proxy/http/stall.ts";
export {
  Cluster,
  type EndpointDownListener,
  type LocalFailureListener,
} from "./src/balance/cluster.ts";
export { SYSTEM_RUNTIME } from "./src/pool/runtime.ts";
export {
  Endpoint,
  type EndpointLoad,
  type LeaseOutcome,
  type TransportError,
} from "./src/balance/endpoint.ts";
export { Attempt, type Balancer, Lease, type LeaseOwner } from "./src/balance/lease.ts";
export type { UpstreamTls } from "./src/pool/dial.ts";
export type { HealthState } from "./src/health/state.ts";
export { type AdminServer, type AdminSource, serveAdmin } from "./src/operator/admin_server.ts";
export {
  type EndpointStatus,
  type ListenerStatus,
  type StatusDocument,
  statusDocument,
} from "./src/operator/status.ts";
export type { Listener, ListenerCoreStats } from "./src/proxy/listener.ts";
export { type Clock, runtimeOf, sleep, SYSTEM_CLOCK, type Timer } from "./src/pool/clock.ts";

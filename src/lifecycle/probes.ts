/**
 * The health probe each listener uses: its health spec's `kind`, else the
 * kind of the listener (HTTP GET, TCP connect, or a UDP datagram that must
 * be answered).
 *
 * @module
 */

import type { ClusterSpec, EndpointSpec, ListenerSpec } from "../config/schema.ts";
import type { Probe } from "../health/checker.ts";
import { probeHttp, type ProbeResult } from "../health/http_probe.ts";
import { probeTcp } from "../health/tcp_probe.ts";
import { probeUdp } from "../health/udp_probe.ts";
import type { Cluster } from "../pool/cluster.ts";
import type { HostAddresses } from "../discovery/host_addresses.ts";

/**
 * The probe kind of a listener: its health spec's `kind`, else the kind of
 * the listener itself.
 *
 * @param spec The listener.
 * @returns `http`, `tcp` or `udp`.
 *
 * @example Usage
 * ```ts
 * import { probeKind } from "./probes.ts";
 * import { udpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(probeKind(udpListener("127.0.0.1:0", [["127.0.0.1:53"]])), "udp");
 * ```
 */
export function probeKind(spec: ListenerSpec): "http" | "tcp" | "udp" {
  return spec.cluster.health.kind ?? spec.kind;
}

/**
 * Probes one configured endpoint once with the probe of `kind` and the
 * health settings of `cluster`.
 *
 * @param kind The probe kind.
 * @param endpoint The endpoint.
 * @param cluster The cluster spec it belongs to (health settings, site health path).
 * @param signal Cancels the probe.
 * @param addresses Resolves host names with stale-on-error. @default SYSTEM_ADDRESSES
 * @returns The result; never rejects.
 *
 * @example Usage
 * ```ts ignore
 * const result = await probeEndpoint("tcp", endpoint.spec, cluster.spec, signal);
 * ```
 */
export function probeEndpoint(
  kind: "http" | "tcp" | "udp",
  endpoint: EndpointSpec,
  cluster: ClusterSpec,
  signal: AbortSignal,
  addresses?: HostAddresses,
): Promise<ProbeResult> {
  const h = cluster.health;
  if (kind === "tcp") {
    return probeTcp(endpoint, { timeoutMs: h.timeoutMs, port: h.port, signal, addresses });
  }
  if (kind === "udp") {
    const payload = h.udpPayload ?? "ping";
    return probeUdp(endpoint, { timeoutMs: h.timeoutMs, port: h.port, payload, signal });
  }
  const site = cluster.sites.find((s) => s.endpoints.includes(endpoint));
  const path = endpoint.basePath + (site?.healthPath ?? h.path);
  return probeHttp(endpoint, { path, port: h.port, timeoutMs: h.timeoutMs, signal, addresses });
}

/**
 * The probe of a kind, reading the cluster's health settings at each probe
 * (so a reload's new timeout or payload applies). `undefined` for `http`:
 * the checker's own HTTP probe is the reference for HTTP.
 *
 * @param kind The probe kind.
 * @param cluster The cluster whose settings apply.
 * @returns The probe, or undefined for the checker's default.
 *
 * @example Usage
 * ```ts ignore
 * const probe = probeFor("tcp", cluster);
 * ```
 */
export function probeFor(kind: "http" | "tcp" | "udp", cluster: Cluster): Probe | undefined {
  if (kind === "http") return undefined;
  return (endpoint, signal) =>
    probeEndpoint(kind, endpoint.spec, cluster.spec, signal, cluster.addresses);
}

/**
 * The one probe factory: the health checker and the reload warm-up build
 * their probes here, so both honour the same settings (kind, port, timeout,
 * healthy statuses, UDP payload, gRPC service, the site's health path,
 * upstream TLS). HTTP probes of `h2c`/`h2` endpoints go over HTTP/2.
 *
 * @module
 */

import type { EndpointSpec, HealthSpec, ListenerSpec, SiteSpec } from "../config/schema.ts";
import type { UpstreamTls } from "../pool/dial.ts";
import type { HostAddresses } from "../discovery/host_addresses.ts";
import { probeHttp, type ProbeResult } from "./http_probe.ts";
import { probeH2 } from "./h2_probe.ts";
import { probeTcp } from "./tcp_probe.ts";
import { probeUdp } from "./udp_probe.ts";

/**
 * A probe kind: an HTTP GET, a TCP connect, a UDP datagram that must be
 * answered, or a gRPC health check.
 *
 * @example Usage
 * ```ts
 * import type { ProbeKind } from "./probes.ts";
 * const kind: ProbeKind = "tcp";
 * ```
 */
export type ProbeKind = "http" | "tcp" | "udp" | "grpc";

/**
 * What a probe needs of an endpoint.
 *
 * @example Usage
 * ```ts
 * import type { ProbeTarget } from "./probes.ts";
 * const t: ProbeTarget = {
 *   spec: { scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" },
 *   healthPath: "/ready",
 * };
 * ```
 */
export interface ProbeTarget {
  /** The endpoint. */
  readonly spec: EndpointSpec;
  /** Its site's health path (the endpoint's base path goes before it). */
  readonly healthPath: string;
}

/**
 * Where a probe reads its settings, at each probe (so a reload's new
 * settings apply): the cluster's health spec and its upstream TLS.
 *
 * @example Usage
 * ```ts
 * import type { ProbeSettings } from "./probes.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * const s: ProbeSettings = { spec: { health: DEFAULT_HEALTH }, tls: undefined };
 * ```
 */
export interface ProbeSettings {
  /** The cluster spec in force (its `health`). */
  readonly spec: { readonly health: HealthSpec };
  /** TLS toward https endpoints. */
  readonly tls: UpstreamTls | undefined;
  /** Resolves host names with stale-on-error (the cluster's). @default SYSTEM_ADDRESSES */
  readonly addresses?: HostAddresses;
}

/**
 * Probes one endpoint once; never rejects.
 *
 * @example Usage
 * ```ts ignore
 * const probe: Probe = createProbe("tcp", cluster);
 * const result = await probe(endpoint, signal);
 * ```
 */
export type Probe = (endpoint: ProbeTarget, signal: AbortSignal) => Promise<ProbeResult>;

/**
 * The probe kind of a listener: its health spec's `kind`, else the kind of
 * the listener itself.
 *
 * @param spec The listener.
 * @returns `http`, `tcp`, `udp` or `grpc`.
 *
 * @example Usage
 * ```ts
 * import { probeKind } from "./probes.ts";
 * import { udpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(probeKind(udpListener("127.0.0.1:0", [["127.0.0.1:53"]])), "udp");
 * ```
 */
export function probeKind(spec: ListenerSpec): ProbeKind {
  return spec.cluster.health.kind ?? spec.kind;
}

/**
 * The health path of a site's endpoints: the site's own, else the cluster's.
 *
 * @param site The site.
 * @param health The cluster's health settings.
 * @returns The path (the endpoint's base path not included).
 *
 * @example Usage
 * ```ts
 * import { siteHealthPath } from "./probes.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * assert.equal(siteHealthPath({ name: "a", endpoints: [], healthPath: "/ready" }, DEFAULT_HEALTH), "/ready");
 * ```
 */
export function siteHealthPath(site: SiteSpec, health: HealthSpec): string {
  return site.healthPath ?? health.path;
}

/**
 * Makes the probe of a kind, reading `settings` at each probe.
 *
 * @param kind The probe kind.
 * @param settings The cluster (health spec and upstream TLS), or a preview of it.
 * @returns The probe.
 *
 * @example Usage
 * ```ts ignore
 * const result = await createProbe("http", cluster)(endpoint, signal);
 * ```
 */
export function createProbe(kind: ProbeKind, settings: ProbeSettings): Probe {
  return (endpoint, signal) => {
    const h = settings.spec.health;
    const e = endpoint.spec;
    const addresses = settings.addresses;
    if (kind === "tcp") {
      // A TCP listener that originates TLS: the probe completes the handshake too.
      const tls = settings.tls?.allEndpoints === true ? settings.tls : undefined;
      return probeTcp(e, { timeoutMs: h.timeoutMs, port: h.port, signal, addresses, tls });
    }
    if (kind === "udp") {
      const payload = h.udpPayload ?? "ping";
      return probeUdp(e, { timeoutMs: h.timeoutMs, port: h.port, payload, signal });
    }
    const http = {
      path: e.basePath + endpoint.healthPath,
      port: h.port,
      timeoutMs: h.timeoutMs,
      signal,
      tls: settings.tls,
      statuses: h.statuses,
      addresses,
    };
    // HTTP/2 endpoints get the GET over HTTP/2; the gRPC check is HTTP/2 whatever the scheme.
    if (kind === "grpc") return probeH2(e, { ...http, grpcService: h.grpcService ?? "" });
    if (e.scheme === "h2c" || e.scheme === "h2") return probeH2(e, http);
    return probeHttp(e, http);
  };
}

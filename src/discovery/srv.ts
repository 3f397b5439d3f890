/**
 * DNS SRV discovery (Kubernetes headless services and Consul publish SRV
 * records): each record of a name is an endpoint, its target the host and
 * its port the port; its weight is the endpoint's weight, and its priority
 * the site (failover tier), lowest first. The name is resolved again every
 * `dns.ttlMs` (`Deno.resolveDns` gives no TTLs); a failed or empty lookup
 * keeps the last answer, as for A/AAAA names.
 *
 * @module
 */

import type { ClusterSpec, EndpointSpec, SiteSpec, SrvSpec } from "../config/schema.ts";
import type { DnsResolver } from "./dns.ts";

/**
 * Looks up the SRV records of a name; rejects with `Deno.errors.NotFound`
 * when it has none. Injectable for tests.
 */
export type SrvResolver = (name: string, signal: AbortSignal) => Promise<Deno.SrvRecord[]>;

/**
 * The real SRV lookup: `Deno.resolveDns` (net permission for the name
 * server's `IP:53`).
 *
 * @param name The SRV name.
 * @param signal Cancels the lookup.
 * @returns The records.
 *
 * @example Usage
 * ```ts ignore
 * import { systemSrvResolver } from "./srv.ts";
 * const records = await systemSrvResolver("_minio._tcp.minio.svc", new AbortController().signal);
 * ```
 */
export function systemSrvResolver(name: string, signal: AbortSignal): Promise<Deno.SrvRecord[]> {
  return Deno.resolveDns(name, "SRV", { signal });
}

/**
 * Both lookups against one name server instead of the system's (a test's
 * DNS server on loopback, or a cluster DNS service).
 *
 * @param ipAddr The name server's IP.
 * @param port Its port. @default 53
 * @returns The A/AAAA resolver and the SRV resolver.
 *
 * @example Usage
 * ```ts
 * import { nameServerResolvers } from "./srv.ts";
 * const { resolver, srvResolver } = nameServerResolvers("127.0.0.1", 5353);
 * ```
 */
export function nameServerResolvers(
  ipAddr: string,
  port = 53,
): { resolver: DnsResolver; srvResolver: SrvResolver } {
  const nameServer = { ipAddr, port };
  return {
    resolver: (hostname, type, signal) => Deno.resolveDns(hostname, type, { nameServer, signal }),
    srvResolver: (name, signal) => Deno.resolveDns(name, "SRV", { nameServer, signal }),
  };
}

/**
 * Records in a canonical order (priority, target, port), so that the same
 * answer in another order is no change.
 *
 * @param records The records as answered.
 * @returns A sorted copy.
 *
 * @example Usage
 * ```ts
 * import { sortSrv } from "./srv.ts";
 * import assert from "node:assert/strict";
 * const b = { priority: 10, weight: 1, port: 9000, target: "b." };
 * const a = { priority: 10, weight: 1, port: 9000, target: "a." };
 * assert.deepEqual(sortSrv([b, a]), [a, b]);
 * ```
 */
export function sortSrv(records: readonly Deno.SrvRecord[]): Deno.SrvRecord[] {
  return [...records].sort((x, y) =>
    x.priority - y.priority || (x.target < y.target ? -1 : x.target > y.target ? 1 : 0) ||
    x.port - y.port
  );
}

/**
 * Whether two sorted answers are the same.
 *
 * @param a One answer ({@linkcode sortSrv}ed).
 * @param b Another.
 * @returns True when every record matches.
 *
 * @example Usage
 * ```ts
 * import { sameSrv } from "./srv.ts";
 * import assert from "node:assert/strict";
 * const r = { priority: 10, weight: 1, port: 9000, target: "a." };
 * assert.equal(sameSrv([r], [{ ...r }]), true);
 * assert.equal(sameSrv([r], [{ ...r, weight: 2 }]), false);
 * ```
 */
export function sameSrv(a: readonly Deno.SrvRecord[], b: readonly Deno.SrvRecord[]): boolean {
  return a.length === b.length &&
    a.every((x, i) =>
      x.priority === b[i].priority && x.weight === b[i].weight && x.port === b[i].port &&
      x.target === b[i].target
    );
}

/**
 * The sites an SRV answer makes: one per priority, lowest first, named
 * `priority-N`; each record an endpoint (target without its trailing dot,
 * the record's port, its weight; weight 0, "use rarely", counts as 1). A
 * target:port listed under two priorities stays in the lower one only.
 *
 * @param srv The SRV setting (scheme and base path of the endpoints).
 * @param records The answer.
 * @returns The sites, possibly none.
 *
 * @example Usage
 * ```ts
 * import { sitesFromSrv } from "./srv.ts";
 * import assert from "node:assert/strict";
 * const sites = sitesFromSrv({ name: "_minio._tcp.minio", scheme: "http" }, [
 *   { priority: 20, weight: 1, port: 9000, target: "backup.example." },
 *   { priority: 10, weight: 3, port: 9000, target: "minio-0.example." },
 * ]);
 * assert.deepEqual(sites.map((s) => s.name), ["priority-10", "priority-20"]);
 * assert.deepEqual(sites[0].endpoints[0], {
 *   scheme: "http", host: "minio-0.example", port: 9000, basePath: "", weight: 3,
 * });
 * ```
 */
export function sitesFromSrv(srv: SrvSpec, records: readonly Deno.SrvRecord[]): SiteSpec[] {
  const sites: SiteSpec[] = [];
  const seen = new Set<string>();
  let current: { priority: number; endpoints: EndpointSpec[] } | null = null;
  for (const r of sortSrv(records)) {
    if (r.port < 1 || r.target === "." || r.target === "") continue; // "no service here"
    const host = r.target.endsWith(".") ? r.target.slice(0, -1) : r.target;
    const id = `${host}:${r.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (current === null || current.priority !== r.priority) {
      current = { priority: r.priority, endpoints: [] };
      sites.push({ name: `priority-${r.priority}`, endpoints: current.endpoints });
    }
    current.endpoints.push({
      scheme: srv.scheme,
      host,
      port: r.port,
      basePath: srv.basePath ?? "",
      weight: Math.max(1, r.weight),
    });
  }
  return sites;
}

/**
 * A cluster spec with the sites of its SRV answer after its own.
 *
 * @param template The cluster as configured.
 * @param records The last good SRV answer, or undefined when none came yet.
 * @returns The template itself when it has no SRV name or no answer yet.
 *
 * @example Usage
 * ```ts
 * import { withSrvSites } from "./srv.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const template = {
 *   policy: "least", health: DEFAULT_HEALTH, sites: [],
 *   srv: { name: "_db._tcp.example", scheme: "tcp" },
 * } as const;
 * const spec = withSrvSites(template, [{ priority: 0, weight: 0, port: 5432, target: "db1." }]);
 * assert.equal(spec.sites[0].endpoints[0].host, "db1");
 * ```
 */
export function withSrvSites(
  template: ClusterSpec,
  records: readonly Deno.SrvRecord[] | undefined,
): ClusterSpec {
  if (template.srv === undefined || records === undefined) return template;
  return { ...template, sites: [...template.sites, ...sitesFromSrv(template.srv, records)] };
}

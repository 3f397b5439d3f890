/**
 * Tier settings that live on endpoints: the per-endpoint cap of each tier
 * (fill and spill) and the `disabled` flag (drain).
 *
 * @module
 */

import type { Cluster } from "../../pool/cluster.ts";
import type { Endpoint } from "../../pool/endpoint.ts";

/**
 * Copies each site's `maxConnections` into `maxInFlight` of its endpoints,
 * and each endpoint's `disabled` flag into `draining`. Run it after every
 * `cluster.update()`; a full tier is then not available, so the next tier
 * takes new connections.
 *
 * @param cluster The cluster whose endpoints are updated in place.
 *
 * @example Usage
 * ```ts
 * import { applyTierCaps } from "./tiers.ts";
 * import { Cluster, SYSTEM_RUNTIME } from "../../pool/cluster.ts";
 * import { tcpListener } from "../../config/schema.ts";
 * import assert from "node:assert/strict";
 * const spec = tcpListener("127.0.0.1:0", [["127.0.0.1:1"], ["127.0.0.1:2"]]);
 * const cluster = new Cluster({
 *   ...spec.cluster,
 *   sites: spec.cluster.sites.map((s) => ({ ...s, maxConnections: 2 })),
 * }, SYSTEM_RUNTIME);
 * applyTierCaps(cluster);
 * assert.equal(cluster.sites[0][0].maxInFlight, 2);
 * ```
 */
export function applyTierCaps(cluster: Cluster): void {
  cluster.sites.forEach((site, i) => {
    const spec = cluster.spec.sites[i];
    const cap = spec?.maxConnections ?? 0;
    const disabled = new Set(
      (spec?.endpoints ?? []).filter((e) => e.disabled === true).map((e) => `${e.host}|${e.port}`),
    );
    for (const e of site) {
      e.maxInFlight = cap;
      e.draining = disabled.has(`${e.spec.host}|${e.spec.port}`);
    }
  });
}

/**
 * The tier (site index) of an endpoint in the cluster's current sites.
 *
 * @param cluster The cluster.
 * @param endpoint The endpoint.
 * @returns Its tier, or -1 when it is no longer in the cluster (removed: drain it).
 *
 * @example Usage
 * ```ts
 * import { tierOf } from "./tiers.ts";
 * import { Cluster, SYSTEM_RUNTIME } from "../../pool/cluster.ts";
 * import { tcpListener } from "../../config/schema.ts";
 * import assert from "node:assert/strict";
 * const cluster = new Cluster(tcpListener(":0", [["127.0.0.1:1"], ["127.0.0.1:2"]]).cluster, SYSTEM_RUNTIME);
 * assert.equal(tierOf(cluster, cluster.sites[1][0]), 1);
 * ```
 */
export function tierOf(cluster: Cluster, endpoint: Endpoint): number {
  return cluster.sites.findIndex((site) => site.includes(endpoint));
}

/**
 * Tiers of live endpoints (the sites of a cluster). Caps and `disabled`
 * are applied by `Cluster.update`.
 *
 * @module
 */

import type { Cluster } from "../../balance/cluster.ts";
import type { Endpoint } from "../../balance/endpoint.ts";

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
 * import { Cluster } from "../../balance/cluster.ts";
 * import { SYSTEM_RUNTIME } from "../../pool/runtime.ts";
 * import { tcpListener } from "../../config/builders.ts";
 * import assert from "node:assert/strict";
 * const cluster = new Cluster(tcpListener(":0", [["127.0.0.1:1"], ["127.0.0.1:2"]]).cluster, SYSTEM_RUNTIME);
 * assert.equal(tierOf(cluster, cluster.sites[1][0]), 1);
 * ```
 */
export function tierOf(cluster: Cluster, endpoint: Endpoint): number {
  return cluster.sites.findIndex((site) => site.includes(endpoint));
}

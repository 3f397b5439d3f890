/**
 * The simulation's scenarios: one row per policy and option. A row is a
 * policy plus overrides of the cluster, the health check, the sites or single
 * endpoints, so a new option (weights, slow start, outlier ejection, panic
 * threshold, ...) is one more row here.
 *
 * @module
 */

import {
  type ClusterSpec,
  DEFAULT_OUTLIER,
  type EndpointSpec,
  type HealthSpec,
  POLICY_NAMES,
  type PolicyName,
  type SiteSpec,
} from "../../mod.ts";
import type { BackendName } from "./backends.ts";

/**
 * One row of the table: a policy and what it changes from the base config.
 *
 * @example A policy with a rise threshold
 * ```ts
 * import type { Scenario } from "./scenarios.ts";
 * const row: Scenario = { name: "least, rise 3", policy: "least", health: { rise: 3 } };
 * ```
 */
export interface Scenario {
  /** The row's label. */
  readonly name: string;
  /** The policy. */
  readonly policy: PolicyName;
  /** Health check fields over {@linkcode BASE_HEALTH}. */
  readonly health?: Partial<HealthSpec>;
  /** Other cluster fields (failback, and options as they land). */
  readonly cluster?: Partial<Omit<ClusterSpec, "policy" | "sites" | "health">>;
  /** Fields of the one site (limits, and options as they land). */
  readonly site?: Partial<Omit<SiteSpec, "name" | "endpoints">>;
  /** Fields of single endpoints, by backend (e.g. weights). */
  readonly endpoints?: Partial<Record<BackendName, Partial<EndpointSpec>>>;
}

/**
 * The health check every scenario starts from: the backends' `/health`,
 * probed every 0.5-1 s (minio/sidekick's default is 5-10 s; shorter so a
 * 10 s run sees several rounds), rise 1, fall 1.
 */
export const BASE_HEALTH: Partial<HealthSpec> = {
  path: "/health",
  intervalMs: 500,
  timeoutMs: 500,
  rise: 1,
  fall: 1,
};

/**
 * Every scenario `deno task simulate` runs: each policy as it is, then each
 * option on the default policy. A new policy in `POLICY_NAMES` gets its row by
 * itself; a new option is one line, e.g. (with the fields their branches add)
 * `{ name: "least, slow start 2 s", policy: "least", cluster: { slowStartMs: 2_000 } }` or
 * `{ name: "p2c, weights", policy: "p2c", endpoints: { slow: { weight: 1 } } }`.
 */
export const SCENARIOS: readonly Scenario[] = [
  ...POLICY_NAMES.map((policy) => ({ name: policy, policy })),
  { name: "least, rise 3", policy: "least", health: { rise: 3 } },
  { name: "least, rise 3 / fall 2", policy: "least", health: { rise: 3, fall: 2 } },
  { name: "least, optimistic probes", policy: "least", health: { optimistic: true } },
  { name: "least, probes every 5-10 s (default)", policy: "least", health: { intervalMs: 5_000 } },
  { name: "least, slow start 5 s", policy: "least", health: { slowStartMs: 5_000 } },
  {
    name: "least, rise 3 + slow start 5 s",
    policy: "least",
    health: { rise: 3, slowStartMs: 5_000 },
  },
  {
    name: "p2c, rise 3 + slow start 5 s",
    policy: "p2c",
    health: { rise: 3, slowStartMs: 5_000 },
  },
  { name: "least, outlier ejection", policy: "least", health: { outlier: DEFAULT_OUTLIER } },
  { name: "p2c, outlier ejection", policy: "p2c", health: { outlier: DEFAULT_OUTLIER } },
  { name: "least, panic below 50%", policy: "least", health: { panicPercent: 50 } },
  {
    name: "least, fast backends weight 3",
    policy: "least",
    endpoints: { "fast-a": { weight: 3 }, "fast-b": { weight: 3 } },
  },
];

/**
 * iaido's `/statusz` for files that set `diagAddr`: the same YAML shape
 * (`buildID`, `buildInfo`, `listeners` keyed `TCP:[host]:port`, each with
 * `pool.tiers` of `{entry, load, mark, maxload, tier}`), filled from the
 * {@linkcode StatusDocument} and the configuration.
 *
 * @module
 */

import { stringify } from "npm:yaml@^2.9.1";
import { formatDuration } from "../config/duration.ts";
import type { SidecarConfig } from "../config/schema.ts";
import { buildInfo } from "../observe/build_info.ts";
import type { StatusDocument } from "./status.ts";

/**
 * Renders iaido's `/statusz` YAML.
 *
 * @param doc The status document.
 * @param config The configuration in force (tier caps, forced promotion).
 * @returns YAML text.
 *
 * @example Usage
 * ```ts
 * import { statuszText } from "./statusz.ts";
 * import { statusDocument } from "./status.ts";
 * import assert from "node:assert/strict";
 * const doc = statusDocument({ state: "running", listeners: [] }, { listeners: [] }, 0);
 * assert.ok(statuszText(doc, { listeners: [] }).startsWith("buildID: sidekick "));
 * ```
 */
export function statuszText(doc: StatusDocument, config: SidecarConfig): string {
  const b = buildInfo();
  const listeners: Record<string, unknown> = {};
  for (const l of doc.listeners) {
    const spec = config.listeners.find((s) => s.name === l.name);
    const tiers: Record<number, unknown[]> = {};
    l.sites.forEach((site, tier) => {
      const siteSpec = spec?.cluster.sites[tier];
      const cap = siteSpec?.maxConnections ?? 0;
      tiers[tier] = site.endpoints.map((e) => ({
        entry: {
          address: e.endpoint.replace(/^[a-z]+:\/\//, ""),
          disabledUntil: e.status === "up" ? null : e.statusSince,
          forcePromotionsAfter: formatDuration(siteSpec?.forcePromotionAfterMs ?? 0),
          latency: e.latencyMs === null ? null : `${e.latencyMs.p50}ms`,
          maxConnections: cap,
          tier,
        },
        load: e.inFlight,
        mark: e.requests,
        maxload: e.status === "up" ? cap : 0,
        tier,
      }));
    });
    const key = `${l.kind.toUpperCase()}:${l.address === null ? "unbound" : bracketed(l.address)}`;
    listeners[key] = {
      pool: { tiers },
      config: { name: l.name, policy: l.policy, check: l.check, servingTier: l.servingSite },
    };
  }
  return stringify({
    buildID: `sidekick ${b.version}`,
    buildInfo: { ...b, state: doc.state, uptimeSeconds: doc.uptimeSeconds },
    listeners,
  }, { lineWidth: 0 });
}

/** `host:port` as iaido writes it: `[host]:port`. */
function bracketed(address: string): string {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
  return `[${host}]:${address.slice(colon + 1)}`;
}

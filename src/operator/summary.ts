/**
 * The startup summary: what was understood from the flags or the file,
 * listener by listener, site (tier) by site, endpoint by endpoint, so that
 * a shell-expanded `{a,b}` that became four sites shows at once.
 *
 * @module
 */

import type { ListenerSpec, SidecarConfig } from "../config/schema.ts";
import { endpointKey } from "../balance/endpoint.ts";

/**
 * One summary line, with its JSON fields.
 *
 * @example Usage
 * ```ts
 * import type { SummaryLine } from "./summary.ts";
 * const line: SummaryLine = { text: "http listener ...", fields: { event: "listener" } };
 * ```
 */
export interface SummaryLine {
  /** The text form. */
  readonly text: string;
  /** The JSON form's fields. */
  readonly fields: Readonly<Record<string, unknown>>;
}

function host(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function listenerSummary(l: ListenerSpec): SummaryLine {
  const noun = l.kind === "http" ? "site" : "tier";
  const sites = l.cluster.sites;
  const h = l.cluster.health;
  const probe = !h.active
    ? "health checks off"
    : l.kind === "http"
    ? `health ${h.path} every ${h.intervalMs} ms`
    : `${h.kind ?? l.kind} health checks every ${h.intervalMs} ms`;
  const address = `${host(l.hostname)}:${l.port}`;
  const count = sites.reduce((n, s) => n + s.endpoints.length, 0);
  const lines = [
    `${l.kind} listener "${l.name}" on ${address}: ${sites.length} ${noun}${
      sites.length === 1 ? "" : "s"
    }, ${count} endpoint${count === 1 ? "" : "s"}, policy ${l.cluster.policy}, ${probe}`,
  ];
  sites.forEach((s, i) => {
    const label = l.kind === "http" ? `site ${i + 1}` : `tier ${i}`;
    // Generated names (site1, tier0, 2) add nothing to the label.
    const name = /^(site|tier)?\d*$/.test(s.name) ? "" : ` "${s.name}"`;
    const endpoints = s.endpoints.map((e) =>
      `${endpointKey(e)}${e.basePath}${e.disabled === true ? " (disabled)" : ""}`
    );
    lines.push(`  ${label}${name}: ${endpoints.join(", ") || "(no endpoints yet)"}`);
  });
  return {
    text: lines.join("\n"),
    fields: {
      event: "listener",
      listener: l.name,
      kind: l.kind,
      address,
      policy: l.cluster.policy,
      healthChecks: h.active,
      sites: sites.map((s) => ({
        name: s.name,
        endpoints: s.endpoints.map((e) => `${endpointKey(e)}${e.basePath}`),
      })),
    },
  };
}

/**
 * Describes a configuration: one entry per listener (its kind, name,
 * address, sites or tiers, policy and health checks, then one indented
 * line per site or tier listing its endpoints).
 *
 * @param config The configuration about to run.
 * @returns One entry per listener.
 *
 * @example Usage
 * ```ts
 * import { summarize } from "./summary.ts";
 * import { httpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * const [l] = summarize({ listeners: [httpListener("127.0.0.1:8080", [["http://a:9000"], ["http://b:9000"]])] });
 * assert.match(l.text, /2 sites, 2 endpoints/);
 * assert.match(l.text, /site 2: http:\/\/b:9000/);
 * ```
 */
export function summarize(config: SidecarConfig): SummaryLine[] {
  return config.listeners.map(listenerSummary);
}

/**
 * Operator events, decided by pure functions over stats snapshots and
 * configurations: site failover and fail-back (tier promotion for TCP and
 * UDP), endpoints drained because they were removed, listeners with no
 * available endpoint (a warning repeated at a bounded rate, naming each
 * endpoint's last probe result), and what a reload changed.
 *
 * @module
 */

import type { ListenerSpec, SidecarConfig } from "../config/schema.ts";
import { endpointKey } from "../balance/endpoint.ts";
import type { ListenerStats, SidecarStats } from "../sidecar.ts";
import type { Fields, Level } from "../observe/output.ts";

/**
 * One line to report.
 *
 * @example Usage
 * ```ts
 * import type { ObservedEvent } from "./events.ts";
 * const e: ObservedEvent = { level: "event", message: "http-0: failover", fields: { event: "failover" } };
 * ```
 */
export interface ObservedEvent {
  /** `event` for changes of state, `warning` for outages. */
  readonly level: Level;
  /** The text. */
  readonly message: string;
  /** JSON fields; `event` names the kind. */
  readonly fields: Fields;
}

function siteLabel(l: ListenerStats, site: number): string {
  return l.kind === "http" ? `site ${site + 1}` : `tier ${site}`;
}

function servingChange(before: ListenerStats, after: ListenerStats): ObservedEvent | null {
  const from = before.servingSite ?? -1, to = after.servingSite ?? -1;
  if (from === to || to < 0) return null;
  const fields = { listener: after.name, from, to };
  if (from < 0) {
    return {
      level: "event",
      message: `${after.name}: serving again from ${siteLabel(after, to)}`,
      fields: { event: "recovered", ...fields },
    };
  }
  const better = to < from;
  const kind = !better ? "failover" : after.kind === "http" ? "failback" : "promotion";
  const verb = !better ? "failover" : after.kind === "http" ? "fail-back" : "tier promotion";
  return {
    level: "event",
    message: `${after.name}: ${verb} from ${siteLabel(after, from)} to ${siteLabel(after, to)}`,
    fields: { event: kind, ...fields },
  };
}

/**
 * The events between two snapshots: a listener's serving site (tier)
 * changed (failover to a worse one, fail-back or tier promotion to a
 * better one, or serving again after an outage), and endpoints that left a
 * listener and drain their work in flight.
 *
 * @param before The earlier snapshot.
 * @param after The later snapshot.
 * @returns The events, listener by listener.
 *
 * @example Usage
 * ```ts
 * import { diffStats } from "./events.ts";
 * import assert from "node:assert/strict";
 * const l = { name: "db", kind: "tcp" as const, address: null, connections: 0, endpoints: [] };
 * const [e] = diffStats(
 *   { state: "running", listeners: [{ ...l, servingSite: 1 }] },
 *   { state: "running", listeners: [{ ...l, servingSite: 0 }] },
 * );
 * assert.equal(e.message, "db: tier promotion from tier 1 to tier 0");
 * ```
 */
export function diffStats(before: SidecarStats, after: SidecarStats): ObservedEvent[] {
  const out: ObservedEvent[] = [];
  const old = new Map(before.listeners.map((l) => [l.name, l]));
  for (const l of after.listeners) {
    const prev = old.get(l.name);
    if (prev === undefined || prev.kind !== l.kind) continue;
    const change = servingChange(prev, l);
    if (change !== null) out.push(change);
    const kept = new Set(l.endpoints.map((e) => e.endpoint));
    for (const e of prev.endpoints) {
      if (kept.has(e.endpoint)) continue;
      out.push({
        level: "event",
        message: `${l.name}: ${e.endpoint} removed, draining ${e.inFlight} in flight`,
        fields: { event: "drain", listener: l.name, endpoint: e.endpoint, inFlight: e.inFlight },
      });
    }
  }
  return out;
}

/**
 * When each listener without an available endpoint was last warned about
 * (ms); owned by whoever calls {@linkcode outageWarnings}.
 */
export type OutageState = Map<string, number>;

/**
 * The bounded rate of repeated warnings: true (and noted) when `key` was
 * never warned about or at least `repeatMs` ago.
 *
 * @param state When each key was last warned about (ms).
 * @param key What the warning is about.
 * @param options The current time and the repeat period (ms).
 * @returns True to warn now.
 *
 * @example Usage
 * ```ts
 * import { dueAgain } from "./events.ts";
 * import assert from "node:assert/strict";
 * const state = new Map<string, number>();
 * assert.equal(dueAgain(state, "db", { now: 0, repeatMs: 1000 }), true);
 * assert.equal(dueAgain(state, "db", { now: 999, repeatMs: 1000 }), false);
 * ```
 */
export function dueAgain(
  state: Map<string, number>,
  key: string,
  options: { readonly now: number; readonly repeatMs: number },
): boolean {
  const last = state.get(key);
  if (last !== undefined && options.now - last < options.repeatMs) return false;
  state.set(key, options.now);
  return true;
}

/**
 * The loud failure: for each listener with no available endpoint, one
 * warning naming every endpoint's last probe result (or saying it has no
 * endpoints at all), at once when the outage starts and again every
 * `repeatMs` while it lasts. Updates `state`.
 *
 * @param state When each listener was last warned about; listeners that recovered are dropped.
 * @param stats The current snapshot.
 * @param options The current time and the repeat period (ms).
 * @returns The warnings due now.
 *
 * @example Usage
 * ```ts
 * import { outageWarnings, type OutageState } from "./events.ts";
 * import assert from "node:assert/strict";
 * const state: OutageState = new Map();
 * const stats = { state: "running" as const, listeners: [{
 *   name: "http-0", kind: "http" as const, address: null, connections: 0,
 *   endpoints: [{ endpoint: "http://h:9000", site: 0, status: "down" as const, inFlight: 0, requests: 0, failures: 0, lastProbe: { passed: false, detail: "status 404", at: 0 } }],
 * }] };
 * assert.equal(outageWarnings(state, stats, { now: 0, repeatMs: 30_000 }).length, 1);
 * assert.equal(outageWarnings(state, stats, { now: 10_000, repeatMs: 30_000 }).length, 0);
 * assert.equal(outageWarnings(state, stats, { now: 30_000, repeatMs: 30_000 }).length, 1);
 * ```
 */
export function outageWarnings(
  state: OutageState,
  stats: SidecarStats,
  options: { readonly now: number; readonly repeatMs: number },
): ObservedEvent[] {
  const out: ObservedEvent[] = [];
  const live = new Set<string>();
  for (const l of stats.listeners) {
    if (l.endpoints.some((e) => e.status === "up" && e.draining !== true)) continue;
    live.add(l.name);
    if (!dueAgain(state, l.name, options)) continue;
    if (l.endpoints.length === 0) {
      out.push({
        level: "warning",
        message: `${l.name}: no endpoints, every request fails (no DNS answer yet, or all removed)`,
        fields: { event: "no_endpoint_available", listener: l.name, endpoints: [] },
      });
      continue;
    }
    const results = l.endpoints.map((e) => {
      const why = e.draining === true ? "draining" : e.lastProbe?.detail || "no probe result yet";
      return `${e.endpoint} (${why})`;
    });
    out.push({
      level: "warning",
      message: `${l.name}: no endpoint available, every request fails: ${results.join(", ")}`,
      fields: {
        event: "no_endpoint_available",
        listener: l.name,
        endpoints: l.endpoints.map((e) => ({
          endpoint: e.endpoint,
          status: e.status,
          lastProbe: e.lastProbe?.detail ?? "",
        })),
      },
    });
  }
  for (const name of [...state.keys()]) if (!live.has(name)) state.delete(name);
  return out;
}

function listenerShape(l: ListenerSpec): string {
  const { cluster, ...rest } = l;
  const { sites: _sites, ...settings } = cluster;
  return JSON.stringify({ ...rest, cluster: settings });
}

function endpointsOf(l: ListenerSpec): Map<string, string> {
  const out = new Map<string, string>();
  l.cluster.sites.forEach((s, i) => {
    for (const e of s.endpoints) {
      const tier = { ...s, endpoints: undefined, name: undefined };
      out.set(endpointKey(e), JSON.stringify({ e, i, tier }));
    }
  });
  return out;
}

/**
 * What a reload changes, as one event per listener touched: `+` added,
 * `-` removed, `~` changed (a listener's settings, or an endpoint's site,
 * tier settings or flags).
 *
 * @param before The configuration in force.
 * @param after The new configuration.
 * @returns One event per listener that changed (none when nothing did).
 *
 * @example Usage
 * ```ts
 * import { describeReload } from "./events.ts";
 * import { httpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * const [e] = describeReload(
 *   { listeners: [httpListener("127.0.0.1:8080", [["http://a:1", "http://b:1"]])] },
 *   { listeners: [httpListener("127.0.0.1:8080", [["http://a:1", "http://c:1"]])] },
 * );
 * assert.match(e.message, /\+http:\/\/c:1 -http:\/\/b:1/);
 * ```
 */
export function describeReload(before: SidecarConfig, after: SidecarConfig): ObservedEvent[] {
  const out: ObservedEvent[] = [];
  const key = (l: ListenerSpec) => `${l.kind} ${l.hostname}:${l.port}`;
  const old = new Map(before.listeners.map((l) => [key(l), l]));
  const reload = (listener: string, changes: string[]) =>
    out.push({
      level: "event",
      message: `reload: ${listener}: ${changes.join(" ")}`,
      fields: { event: "reload", listener, changes },
    });
  for (const l of after.listeners) {
    const prev = old.get(key(l));
    old.delete(key(l));
    if (prev === undefined) {
      reload(l.name, [`+listener ${key(l)}`]);
      continue;
    }
    const changes: string[] = [];
    if (listenerShape(prev) !== listenerShape(l)) changes.push("~settings");
    const a = endpointsOf(prev), b = endpointsOf(l);
    for (const [k, v] of b) {
      if (!a.has(k)) changes.push(`+${k}`);
      else if (a.get(k) !== v) changes.push(`~${k}`);
    }
    for (const k of a.keys()) if (!b.has(k)) changes.push(`-${k}`);
    if (changes.length > 0) reload(l.name, changes);
  }
  for (const l of old.values()) reload(l.name, [`-listener ${key(l)}`]);
  return out;
}

/**
 * What a reload changes, decided from the listener specs alone: which
 * listeners are kept in place, which move to a new address, which are new
 * and which go away. Pure, so that it is tested without sockets.
 *
 * @module
 */

import type { ListenerSpec } from "../config/schema.ts";

/**
 * How the listeners of a reload relate to the running ones. Indexes are
 * positions in the old and new listener lists.
 *
 * @example Usage
 * ```ts
 * import type { ReloadPlan } from "./plan.ts";
 * const plan: ReloadPlan = { kept: [[0, 0]], moved: [], added: [1], removed: [] };
 * ```
 */
export interface ReloadPlan {
  /** Same identity (kind, hostname, port): the new spec is applied in place. `[old, new]`. */
  readonly kept: readonly (readonly [number, number])[];
  /**
   * Same kind and name, another address: the new address is bound first,
   * then the old one drains; the cluster and its live state carry over. `[old, new]`.
   */
  readonly moved: readonly (readonly [number, number])[];
  /** New listeners. */
  readonly added: readonly number[];
  /** Listeners that go away (stop accepting, drain). */
  readonly removed: readonly number[];
}

/**
 * The identity of a listener across reloads: kind, hostname and configured port.
 *
 * @param spec The listener.
 * @returns A string equal for listeners that are the same one.
 *
 * @example Usage
 * ```ts
 * import { listenerIdentity } from "./plan.ts";
 * import { tcpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(listenerIdentity(tcpListener("127.0.0.1:5432", [["10.0.0.1:5432"]])), "tcp 127.0.0.1 5432");
 * ```
 */
export function listenerIdentity(spec: ListenerSpec): string {
  return `${spec.kind} ${spec.hostname} ${spec.port}`;
}

/**
 * Matches the new listeners with the running ones. Listeners with the same
 * identity are kept (the k-th old one with the identity pairs with the k-th
 * new one, so duplicates on port 0 work). Among the rest, an old and a new
 * listener of the same kind whose name is unique on both sides are the same
 * listener on another address.
 *
 * @param old The running listeners.
 * @param next The listeners of the new config.
 * @returns The plan.
 *
 * @example Usage
 * ```ts
 * import { planReload } from "./plan.ts";
 * import { httpListener, tcpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * const api = httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]], { name: "api" });
 * const moved = httpListener("127.0.0.1:8081", [["http://127.0.0.1:9000"]], { name: "api" });
 * const db = tcpListener("127.0.0.1:5432", [["127.0.0.1:5433"]]);
 * assert.deepEqual(planReload([api, db], [moved]), { kept: [], moved: [[0, 0]], added: [], removed: [1] });
 * ```
 */
export function planReload(
  old: readonly ListenerSpec[],
  next: readonly ListenerSpec[],
): ReloadPlan {
  const byIdentity = new Map<string, number[]>();
  old.forEach((spec, i) => {
    const id = listenerIdentity(spec);
    byIdentity.set(id, [...byIdentity.get(id) ?? [], i]);
  });
  const kept: [number, number][] = [];
  const oldLeft = new Set(old.keys());
  const newLeft: number[] = [];
  next.forEach((spec, j) => {
    const i = byIdentity.get(listenerIdentity(spec))?.shift();
    if (i === undefined) {
      newLeft.push(j);
    } else {
      kept.push([i, j]);
      oldLeft.delete(i);
    }
  });
  const key = (spec: ListenerSpec) => `${spec.kind} ${spec.name}`;
  const count = (indexes: Iterable<number>, specs: readonly ListenerSpec[]) => {
    const n = new Map<string, number>();
    for (const i of indexes) n.set(key(specs[i]), (n.get(key(specs[i])) ?? 0) + 1);
    return n;
  };
  const oldCount = count(oldLeft, old);
  const newCount = count(newLeft, next);
  const moved: [number, number][] = [];
  const added: number[] = [];
  for (const j of newLeft) {
    const k = key(next[j]);
    const i = [...oldLeft].find((i) => key(old[i]) === k);
    if (i !== undefined && oldCount.get(k) === 1 && newCount.get(k) === 1) {
      moved.push([i, j]);
      oldLeft.delete(i);
    } else {
      added.push(j);
    }
  }
  return { kept, moved, added, removed: [...oldLeft] };
}

/**
 * Whether binding `spec` may fail because `bound` (a listener being retired)
 * holds the address: same transport, same port, and hostnames that overlap
 * (equal, or either a wildcard).
 *
 * @param spec The listener to bind.
 * @param bound The address a running listener holds.
 * @returns True when the running listener must let go first.
 *
 * @example Usage
 * ```ts
 * import { holdsAddressOf } from "./plan.ts";
 * import { httpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * const spec = httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]]);
 * assert.equal(holdsAddressOf(spec, { transport: "tcp", hostname: "0.0.0.0", port: 8080 }), true);
 * assert.equal(holdsAddressOf(spec, { transport: "udp", hostname: "127.0.0.1", port: 8080 }), false);
 * ```
 */
export function holdsAddressOf(spec: ListenerSpec, bound: Deno.NetAddr): boolean {
  const transport = spec.kind === "udp" ? "udp" : "tcp";
  if (bound.transport !== transport || spec.port === 0 || bound.port !== spec.port) return false;
  const wildcard = (h: string) => h === "0.0.0.0" || h === "::" || h === "";
  return spec.hostname === bound.hostname || wildcard(spec.hostname) || wildcard(bound.hostname);
}

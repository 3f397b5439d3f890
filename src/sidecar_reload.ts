/**
 * A reload of a running sidecar, in three phases so that nothing is half
 * applied: prepare (new listeners get their DNS answers and first probes,
 * endpoints that kept listeners will gain are probed once), bind (every new
 * address, in config order; a failure undoes the phase and rejects), then
 * commit (synchronous: specs applied in place, moved and removed listeners
 * retired to drain in the background).
 *
 * @module
 */

import { adminConflict } from "./config/admin.ts";
import type { ListenerSpec, SidecarConfig } from "./config/schema.ts";
import type { ProbeResult } from "./health/http_probe.ts";
import { holdsAddressOf, planReload } from "./lifecycle/plan.ts";
import { bindProxy, isAddrInUse, type ListenerProxy } from "./lifecycle/proxies.ts";
import { ListenerUnit, type UnitContext } from "./lifecycle/unit.ts";

/** How long a new listener retries to take over an address its predecessor is letting go of. */
const HANDOVER_MS = 1_000;

/**
 * Takes work that drains in the background and can be cut short.
 *
 * @example Usage
 * ```ts ignore
 * retirer.retire(proxy.close(5_000), (graceMs) => proxy.close(graceMs));
 * ```
 */
export interface Retirer {
  /**
   * @param done Settles when the drain is over.
   * @param cut Ends it within `graceMs` (on close of the sidecar).
   */
  retire(done: Promise<void>, cut: (graceMs: number) => Promise<void>): void;
}

/**
 * What {@linkcode reloadUnits} needs from the sidecar.
 *
 * @example Usage
 * ```ts ignore
 * const options: ReloadOptions = { context, graceMs: 5_000, firstProbeWaitMs: 3_000, signal, retirer };
 * ```
 */
export interface ReloadOptions {
  /** Shared by every unit. */
  readonly context: UnitContext;
  /** How long removed listeners may drain. */
  readonly graceMs: number;
  /** Longest wait for first DNS answers and probes of what is new. */
  readonly firstProbeWaitMs: number;
  /** Aborted when the sidecar closes: the reload then gives up. */
  readonly signal: AbortSignal;
  /** Takes the proxies and units that drain. */
  readonly retirer: Retirer;
}

/**
 * Waits for `work`, but no longer than `ms` and not after `signal` aborted.
 * The timer is cleared either way; `work` goes on in the background.
 *
 * @param work What to wait for (its rejection is ignored).
 * @param ms The deadline.
 * @param signal Stops the wait at once.
 * @returns Resolves when the work is done, the deadline passed or the signal aborted.
 *
 * @example Usage
 * ```ts
 * import { waitBounded } from "./sidecar_reload.ts";
 * await waitBounded(new Promise(() => {}), 10, new AbortController().signal);
 * ```
 */
export async function waitBounded(
  work: Promise<unknown>,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      work.then(() => {}, () => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        onAbort = resolve;
        signal.addEventListener("abort", onAbort);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}

/** Binds a proxy to an address another listener is letting go of: retries for a short while. */
async function bindTakingOver(proxy: ListenerProxy): Promise<Deno.NetAddr> {
  const until = Date.now() + HANDOVER_MS;
  for (;;) {
    try {
      return await bindProxy(proxy);
    } catch (e) {
      if (!isAddrInUse(e) || Date.now() >= until) throw e;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/**
 * Reloads the units of a running sidecar to a new config.
 *
 * @param units The running units, in the old config's order.
 * @param config The new config.
 * @param options Context, grace period, bounds and the retirer.
 * @returns The units in the new config's order.
 * @throws {Error} When a new listener cannot bind, or the sidecar closed meanwhile; then nothing changed.
 *
 * @example Usage
 * ```ts ignore
 * units = await reloadUnits(units, config, options);
 * ```
 */
export async function reloadUnits(
  units: readonly ListenerUnit[],
  config: SidecarConfig,
  options: ReloadOptions,
): Promise<ListenerUnit[]> {
  const next = config.listeners;
  const plan = planReload(units.map((u) => u.spec), next);
  const keptFrom = new Map(plan.kept.map(([i, j]) => [j, i]));
  const movedFrom = new Map(plan.moved.map(([i, j]) => [j, i]));

  // Prepare: nothing running is touched.
  const fresh = new Map<number, ListenerUnit>();
  const movedProxies = new Map<number, ListenerProxy>();
  const commits = new Map<number, () => void>();
  try {
    for (const j of plan.added) {
      fresh.set(j, new ListenerUnit(next[j], options.context, config.log));
    }
    for (const [i, j] of plan.moved) movedProxies.set(j, units[i].newProxy(next[j]));
    // Kept listeners read their new TLS files now; the spec applies at the commit.
    for (const [i, j] of plan.kept) commits.set(j, units[i].proxy.update(next[j], config.log));
  } catch (e) {
    await Promise.all([
      ...[...fresh.values()].map((u) => u.close(0)),
      ...[...movedProxies.values()].map((p) => p.close(0)),
    ]);
    throw e; // e.g. unreadable TLS files
  }
  const probing = new AbortController();
  const warm = new Map<number, Map<string, ProbeResult>>();
  const kept = [...plan.kept, ...plan.moved];
  for (const [, j] of kept) warm.set(j, new Map());
  const prepared = Promise.all([
    ...[...fresh.values()].map((u) => u.prepare()),
    ...kept.map(async ([i, j]) => {
      await units[i].dns.lookahead(next[j].cluster);
      await units[i].probeAdded(next[j], warm.get(j)!, probing.signal);
    }),
  ]);
  // What is not done by then goes on in the background, owned by its unit.
  await waitBounded(prepared, options.firstProbeWaitMs, options.signal);
  probing.abort();

  // Bind every new address, in config order.
  const abandon = () =>
    Promise.all([
      ...[...fresh.values()].map((u) => u.close(0)),
      ...[...movedProxies.values()].map((p) => p.close(0)),
    ]);
  const addresses = new Map<number, Deno.NetAddr>();
  const leaving = [...plan.removed, ...plan.moved.map(([i]) => i)];
  const handedOver = new Set<number>();
  try {
    if (options.signal.aborted) throw new Error("Cannot reload the sidecar: it is closing");
    for (let j = 0; j < next.length; j++) {
      const proxy = fresh.get(j)?.proxy ?? movedProxies.get(j);
      if (proxy === undefined) continue;
      try {
        addresses.set(j, await bindProxy(proxy));
      } catch (e) {
        // The address may be held by a listener that is going away (another
        // kind, or a wildcard): only then it lets go first.
        const holder = leaving.find((i) => {
          const address = units[i].address;
          return !handedOver.has(i) && address !== null && holdsAddressOf(next[j], address);
        });
        if (!isAddrInUse(e) || holder === undefined) throw e;
        handedOver.add(holder);
        const old = units[holder].proxy;
        options.retirer.retire(old.close(options.graceMs), (g) => old.close(g));
        addresses.set(j, await bindTakingOver(proxy));
      }
    }
  } catch (e) {
    for (const [i] of kept) units[i].dns.set(units[i].dns.template); // ends the look-ahead
    await abandon();
    const lost = await restore(units, handedOver);
    if (lost.length === 0) throw e;
    throw new Error(`${(e as Error).message}; and could not listen again on ${lost.join(", ")}`, {
      cause: e,
    });
  }

  // Commit: synchronous, nothing here fails.
  const result = next.map((spec, j) => {
    const i = keptFrom.get(j) ?? movedFrom.get(j);
    if (i === undefined) {
      const unit = fresh.get(j)!;
      unit.address = addresses.get(j)!;
      return unit;
    }
    const unit = units[i];
    const proxy = movedProxies.get(j);
    if (proxy !== undefined) {
      const old = unit.proxy;
      if (!handedOver.has(i)) {
        options.retirer.retire(old.close(options.graceMs), (g) => old.close(g));
      }
      unit.proxy = proxy;
      unit.address = addresses.get(j)!;
    }
    unit.apply(spec, config.log, warm.get(j), commits.get(j));
    return unit;
  });
  for (const i of plan.removed) {
    const unit = units[i];
    options.retirer.retire(unit.close(options.graceMs), (g) => unit.proxy.close(g));
  }
  return result;
}

/**
 * After a failed reload, listeners that let go of their address for a new
 * one listen there again (a fresh proxy on the same cluster; the old one
 * goes on draining what it had).
 *
 * @returns The addresses that could not be bound again.
 */
async function restore(units: readonly ListenerUnit[], handedOver: Set<number>): Promise<string[]> {
  const lost: string[] = [];
  for (const i of handedOver) {
    const unit = units[i];
    const port = unit.address?.port ?? unit.spec.port;
    const proxy = unit.newProxy({ ...unit.spec, port });
    try {
      unit.address = await bindTakingOver(proxy);
      unit.proxy = proxy;
    } catch {
      lost.push(`${unit.spec.hostname}:${port}`);
    }
  }
  return lost;
}

/**
 * Proxies and units draining in the background after a reload; the sidecar
 * cuts them short on close.
 *
 * @example Usage
 * ```ts
 * import { RetiringSet } from "./sidecar_reload.ts";
 * const retiring = new RetiringSet();
 * retiring.retire(Promise.resolve(), () => Promise.resolve());
 * await retiring.closeAll(0);
 * ```
 */
export class RetiringSet implements Retirer {
  readonly #draining = new Map<Promise<void>, (graceMs: number) => Promise<void>>();

  /**
   * @param done Settles when the drain is over.
   * @param cut Ends it within `graceMs`.
   */
  retire(done: Promise<void>, cut: (graceMs: number) => Promise<void>): void {
    const p = done.catch(() => {});
    this.#draining.set(p, cut);
    p.finally(() => this.#draining.delete(p));
  }

  /**
   * Cuts every drain to at most `graceMs` and waits for all of them.
   *
   * @param graceMs How long they may still take.
   * @returns Resolves when every drain is over.
   */
  async closeAll(graceMs: number): Promise<void> {
    const all = [...this.#draining];
    await Promise.all(all.map(([done, cut]) => Promise.all([cut(graceMs).catch(() => {}), done])));
  }
}

/**
 * Checks what a sidecar cannot work without (the config loader validates
 * the rest): at least one listener, known kinds, ports in range.
 *
 * @param config The config.
 * @throws {TypeError} When there is no listener or a listener of an unknown kind.
 * @throws {RangeError} When a port is out of range.
 *
 * @example Usage
 * ```ts
 * import { checkConfig } from "./sidecar_reload.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkConfig({ listeners: [] }), TypeError);
 * ```
 */
export function checkConfig(config: SidecarConfig): void {
  if (config.listeners.length === 0) {
    throw new TypeError("Cannot use the config: it has no listeners");
  }
  for (const l of config.listeners) {
    if (l.kind !== "http" && l.kind !== "tcp" && l.kind !== "udp") {
      throw new TypeError(
        `Cannot use listener '${(l as ListenerSpec).name}': kind must be http, tcp or udp`,
      );
    }
    if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) {
      throw new RangeError(
        `Cannot use listener '${l.name}' as 'port' must be in 0..65535: current value is ${l.port}`,
      );
    }
  }
  const clash = config.admin === undefined ? null : adminConflict(config.admin, config.listeners);
  if (clash !== null) throw new RangeError(`Cannot use the admin address: ${clash}`);
}

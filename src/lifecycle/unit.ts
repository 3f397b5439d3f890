/**
 * One listener with everything behind it: its cluster (live endpoints), the
 * DNS watch that expands its names, the health checker with the probe its
 * kind calls for, and the proxy core that accepts clients. A unit owns all
 * of them; {@linkcode ListenerUnit.close} stops every timer, probe and loop.
 *
 * @module
 */

import type { Clock } from "../pool/clock.ts";
import type { ListenerSpec, LogSpec } from "../config/schema.ts";
import { ClusterDns } from "../discovery/cluster_dns.ts";
import type { DnsResolver } from "../discovery/dns.ts";
import type { SrvResolver } from "../discovery/srv.ts";
import { HostAddresses } from "../discovery/host_addresses.ts";
import { HealthChecker, type HealthEvent } from "../health/checker.ts";
import type { ProbeResult } from "../health/http_probe.ts";
import { initialHealthState, nextHealthState, thresholdsNow } from "../health/state.ts";
import { Cluster } from "../balance/cluster.ts";

import { type Runtime } from "../pool/runtime.ts";
import { endpointKey } from "../balance/endpoint.ts";
import { createProbe, type ProbeKind, probeKind, siteHealthPath } from "../health/probes.ts";
import { createProxy, type ListenerProxy, type SharedHttpOptions } from "./proxies.ts";

/**
 * What every unit of a sidecar shares.
 *
 * @example Usage
 * ```ts
 * import type { UnitContext } from "./unit.ts";
 * import { SYSTEM_RUNTIME } from "../pool/runtime.ts";
 * import { SYSTEM_CLOCK } from "../pool/clock.ts";
 * const context: UnitContext = { clock: SYSTEM_CLOCK, runtime: SYSTEM_RUNTIME, onHealthEvent: () => {} };
 * ```
 */
export interface UnitContext {
  /** Time and timers of the cores, sweepers and health checkers. */
  readonly clock: Clock;
  /** The cluster's time (the clock's) and randomness. */
  readonly runtime: Runtime;
  /** Every endpoint up/down transition. */
  readonly onHealthEvent: (event: HealthEvent) => void;
  /** DNS lookups of per-address clusters. @default systemResolver */
  readonly resolver?: DnsResolver | undefined;
  /** SRV lookups of clusters with `srv`. @default systemSrvResolver */
  readonly srvResolver?: SrvResolver | undefined;
  /** A failed or empty DNS lookup (the last answer stays). */
  readonly onDnsError?: ((hostname: string, error: unknown) => void) | undefined;
  /** What HTTP listeners share (tracing sink, metrics, TLS notices, certificate). */
  readonly http?: SharedHttpOptions;
}

/**
 * One listener, its cluster, DNS watch, health checker and proxy.
 *
 * @example Usage
 * ```ts ignore
 * const unit = new ListenerUnit(spec, context);
 * await unit.prepare();
 * unit.address = await bindProxy(unit.proxy);
 * await unit.close(5_000);
 * ```
 */
export class ListenerUnit {
  /** The listener as configured now. */
  spec: ListenerSpec;
  /** Live endpoints. */
  readonly cluster: Cluster;
  /** The DNS expansion of the cluster's names. */
  readonly dns: ClusterDns;
  /** The proxy core (replaced when the listener moves to another address). */
  proxy: ListenerProxy;
  /** The bound address (null until bound). */
  address: Deno.NetAddr | null = null;
  /** Console settings (HTTP request tracing). */
  log: LogSpec | undefined;
  readonly #context: UnitContext;
  #checker: HealthChecker | null = null;
  #checkerKind: ProbeKind | null = null;
  #started = false;
  #closed = false;
  readonly #background = new Set<Promise<void>>();
  readonly #localFailures: Disposable;

  /**
   * Creates everything; nothing runs until {@linkcode ListenerUnit.prepare}.
   *
   * @param spec The listener.
   * @param context Runtime, hooks and resolver.
   */
  constructor(spec: ListenerSpec, context: UnitContext, log?: LogSpec) {
    this.spec = spec;
    this.log = log;
    this.#context = context;
    this.dns = new ClusterDns(spec.cluster, {
      onChange: () => this.#refresh(),
      resolver: context.resolver,
      srvResolver: context.srvResolver,
      onError: context.onDnsError,
    });
    this.cluster = new Cluster(spec.cluster, context.runtime);
    this.cluster.addresses = new HostAddresses(context.resolver, context.onDnsError);
    this.#localFailures = this.cluster.onLocalFailure((reason) =>
      context.http?.onNotice?.(
        `listener ${this.spec.name} is out of local resources (${reason}): new clients are shed, no endpoint is blamed`,
      )
    );
    this.proxy = this.newProxy(spec);
  }

  /**
   * A new proxy core for this unit's cluster (a listener moving to another
   * address, or listening again after a failed reload).
   *
   * @param spec The listener spec to build it for.
   * @returns The proxy, not bound.
   * @throws {TypeError} When an HTTP listener's upstream TLS files cannot be read.
   */
  newProxy(spec: ListenerSpec): ListenerProxy {
    return createProxy(spec, this.cluster, this.#context.http, this.log, this.#context.clock);
  }

  /**
   * Starts the DNS watch and, once the first answers are in, the health
   * checker. Callers bound the wait; what is not done yet goes on in the
   * background (owned: {@linkcode ListenerUnit.close} stops it).
   *
   * @returns Resolves when the first answers are in and the first health round ended.
   */
  async prepare(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.dns.start();
    await this.dns.ready();
    if (this.#closed) return;
    this.cluster.update(this.dns.effective());
    await this.#replaceChecker();
  }

  /**
   * Probes once the endpoints that a reload to `spec` would add, so that
   * {@linkcode ListenerUnit.apply} can let them take traffic at once (a
   * reload that replaces every endpoint then has no gap). Names not resolved
   * yet are not probed. Probes still running when the caller stops waiting
   * are owned by the unit and end by {@linkcode ListenerUnit.close} at the latest.
   *
   * @param spec The listener as it will be configured.
   * @param results Filled with each result, by endpoint key, as it arrives.
   * @param signal Cancels the probes.
   * @returns Resolves when every probe has ended (no probes when active probes are off).
   */
  probeAdded(
    spec: ListenerSpec,
    results: Map<string, ProbeResult>,
    signal: AbortSignal,
  ): Promise<void> {
    if (!spec.cluster.health.active || this.#closed) return Promise.resolve();
    const cluster = this.dns.preview(spec.cluster);
    // The checker's own probe, with the new settings and this listener's upstream TLS.
    const probe = createProbe(probeKind(spec), {
      spec: cluster,
      tls: this.cluster.tls,
      addresses: this.cluster.addresses,
    });
    const known = new Set(this.cluster.endpoints.map((e) => e.key));
    const added = cluster.sites.flatMap((site) =>
      site.endpoints.filter((e) => !known.has(endpointKey(e))).map((e) => ({
        spec: e,
        healthPath: siteHealthPath(site, cluster.health),
      }))
    );
    const probes = added.map(async (target) => {
      results.set(endpointKey(target.spec), await probe(target, signal));
    });
    for (const p of probes) this.#track(p);
    return Promise.all(probes).then(() => {});
  }

  /**
   * Applies a reloaded spec of the same listener in place: endpoints that
   * stay keep their live state, new ones are probed at once, removed ones
   * drain; the proxy's timeouts and limits apply to new work. Never throws.
   *
   * @param spec The listener as configured now.
   * @param log Console settings now.
   * @param warm Results of {@linkcode ListenerUnit.probeAdded}, applied to the new endpoints.
   * @param commit What `this.proxy.update(spec, log)` returned (a moved listener's new proxy has none).
   */
  apply(
    spec: ListenerSpec,
    log: LogSpec | undefined,
    warm: ReadonlyMap<string, ProbeResult> = new Map(),
    commit: () => void = () => {},
  ): void {
    const before = new Set(this.cluster.endpoints);
    this.spec = spec;
    this.log = log;
    this.dns.set(spec.cluster);
    this.cluster.update(this.dns.effective());
    commit();
    const now = this.#context.runtime.now();
    for (const e of this.cluster.endpoints) {
      const result = warm.get(e.key);
      if (before.has(e) || result === undefined || !result.passed) continue;
      const rules = thresholdsNow(spec.cluster.health, e.wentUp > 0);
      const next = nextHealthState(e.health, true, rules, now);
      if (this.cluster.setHealth(e, next) && next.status === "up") {
        const event = {
          endpoint: e.key,
          status: "up",
          detail: result.detail,
          downtimeMs: 0,
        } as const;
        try {
          this.#context.onHealthEvent(event);
        } catch {
          // a throwing hook cannot break a reload
        }
      }
    }
    const kind = spec.cluster.health.active ? probeKind(spec) : null;
    if (kind !== this.#checkerKind) this.#track(this.#replaceChecker());
    else this.#sync();
  }

  /** A DNS answer changed the effective spec. */
  #refresh(): void {
    if (this.#closed) return;
    this.cluster.update(this.dns.effective());
    this.#sync();
  }

  /** Probes new endpoints now (and forgets removed ones). */
  #sync(): void {
    this.#checker?.sync();
  }

  /** Stops the running checker (if any) and starts the one the spec calls for. */
  async #replaceChecker(): Promise<void> {
    const old = this.#checker;
    const kind = this.spec.cluster.health.active ? probeKind(this.spec) : null;
    this.#checker = null;
    this.#checkerKind = kind;
    if (old !== null) this.#track(old.stop());
    if (kind === null) {
      // Passive health only from now on: nothing would ever bring a down endpoint up.
      const now = this.#context.runtime.now();
      for (const e of this.cluster.endpoints) {
        if (e.health.status === "down") this.cluster.setHealth(e, initialHealthState(true, now));
      }
      return;
    }
    if (this.#closed) return;
    const checker = new HealthChecker(
      this.cluster,
      this.#context.runtime,
      this.#context.onHealthEvent,
      createProbe(kind, this.cluster),
      this.#context.clock,
    );
    this.#checker = checker;
    await checker.start();
  }

  #track(work: Promise<void>): void {
    const p = work.catch(() => {});
    this.#background.add(p);
    p.finally(() => this.#background.delete(p));
  }

  /**
   * Stops accepting, lets work in flight finish for up to `graceMs`, then
   * stops the proxy, the checker and the DNS watch.
   *
   * @param graceMs How long in-flight work may take.
   * @returns Resolves when nothing of this unit runs any more.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    this.#localFailures[Symbol.dispose]();
    await this.proxy.close(graceMs);
    const checker = this.#checker;
    this.#checker = null;
    await Promise.all([checker?.stop(), this.dns.close()]);
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }
}

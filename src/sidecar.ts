/**
 * The composition root: wires a {@linkcode SidecarConfig} into clusters,
 * DNS watches, health checkers and listeners of every kind (HTTP, TCP,
 * UDP), and owns their lifecycle: start, reload without dropping work, and
 * drain.
 *
 * @module
 */

import { type Clock, runtimeOf, SYSTEM_CLOCK } from "./pool/clock.ts";
import type { SidecarConfig } from "./config/schema.ts";
import type { DnsResolver } from "./discovery/dns.ts";
import type { SrvResolver } from "./discovery/srv.ts";
import type { HealthEvent } from "./health/checker.ts";
import { bindProxy } from "./lifecycle/proxies.ts";
import { ListenerUnit, type UnitContext } from "./lifecycle/unit.ts";
import type { TraceRecord } from "./observe/log.ts";
import { renderMetrics } from "./observe/metrics.ts";
import { renderSidecarMetrics } from "./observe/sidecar_metrics.ts";
import { unitStats } from "./lifecycle/stats.ts";
import type {
  EndpointStats,
  ListenerStats,
  ReloadStats,
  SidecarState,
  SidecarStats,
} from "./observe/stats.ts";
import type { Runtime } from "./pool/runtime.ts";
import type { CertificatePair } from "./proxy/tls_listener.ts";
import { checkConfig, reloadUnits, RetiringSet, waitBounded } from "./sidecar_reload.ts";

export type { EndpointStats, ListenerStats, SidecarState, SidecarStats };

/**
 * Options of {@linkcode createSidecar}.
 *
 * @example Usage
 * ```ts
 * import type { SidecarOptions } from "./sidecar.ts";
 * const options: SidecarOptions = { onHealthEvent: (e) => console.error(e.endpoint, e.status) };
 * ```
 */
export interface SidecarOptions {
  /**
   * Time and timers of the proxy cores (deadlines, idle, drain), sweepers,
   * health checkers, fail-back and promotion. @default SYSTEM_CLOCK
   */
  readonly clock?: Clock | undefined;
  /** The cluster's time and randomness. @default the clock's time and Math.random */
  readonly runtime?: Runtime | undefined;
  /** Called on every endpoint up/down transition. */
  readonly onHealthEvent?: ((event: HealthEvent) => void) | undefined;
  /**
   * Longest wait in `start()` (and in `reload()` for new listeners) for the
   * first DNS answers and the first health round before listening. @default 3000
   */
  readonly firstProbeWaitMs?: number | undefined;
  /**
   * Looks up A and AAAA records of clusters with `dns.perAddress`, and of
   * plain host-name endpoints at each dial and probe (whose last good
   * address stays in use when a lookup fails). @default Deno.resolveDns for
   * `dns.perAddress`; the system's getaddrinfo for plain host names
   */
  readonly resolver?: DnsResolver | undefined;
  /** Looks up SRV records of clusters with `srv`. @default Deno.resolveDns */
  readonly srvResolver?: SrvResolver | undefined;
  /** Called with each failed or empty DNS lookup; the last good answer stays in use. */
  readonly onDnsError?: ((hostname: string, error: unknown) => void) | undefined;
  /**
   * Takes each traced HTTP request (tracing is on when the config's `log.trace`
   * says so). @default formatted as `log` says and written with `console.log`
   */
  readonly onTrace?: ((record: TraceRecord) => void) | undefined;
  /** Hears of server certificate reloads and of reloads that failed. */
  readonly onNotice?: ((message: string) => void) | undefined;
  /** A certificate every HTTP listener serves (e.g. generated for `--auto-tls-host`). */
  readonly certificate?: CertificatePair | undefined;
}

/**
 * A running (or ready to run) sidecar: listeners, clusters, DNS and probes.
 *
 * @example Usage
 * ```ts ignore
 * import { createSidecar, httpListener } from "../mod.ts";
 * await using sidecar = createSidecar({ listeners: [httpListener("127.0.0.1:0", [["http://127.0.0.1:9000"]])] });
 * const [addr] = await sidecar.start();
 * ```
 */
export interface Sidecar extends AsyncDisposable {
  /**
   * Resolves the DNS names and runs the first health round (bounded by
   * `firstProbeWaitMs`), then binds every listener. A second call returns
   * the first call's promise.
   *
   * @returns The bound addresses, in listener order.
   * @throws {Error} When a listener cannot bind (everything is closed again), or on `close()` meanwhile.
   */
  start(): Promise<readonly Deno.NetAddr[]>;
  /**
   * Applies a new configuration without dropping work in flight. Listeners
   * with the same kind, hostname and port are updated in place (endpoints
   * that stay keep their health, load and counters; new ones are probed at
   * once; removed ones drain). New listeners are bound, and a listener that
   * moved to another address is bound there before its old address stops
   * accepting; removed listeners drain for the grace period in the
   * background. Reloads run one at a time.
   *
   * @param config The new configuration.
   * @returns Resolves when the new configuration is in force.
   * @throws {Error} When a new listener cannot bind or the config is unusable: nothing changed.
   */
  reload(config: SidecarConfig): Promise<void>;
  /** Where the sidecar is in its life. */
  readonly state: SidecarState;
  /** The bound addresses, in listener order (empty before `start`). */
  readonly addresses: readonly Deno.NetAddr[];
  /** A snapshot of live state. */
  stats(): SidecarStats;
  /** The configuration in force. */
  readonly config: SidecarConfig;
  /**
   * Prometheus text (format 0.0.4) of every listener, with process, build
   * and reload metrics: what `/.prometheus/metrics` and the admin listener serve.
   */
  metrics(): string;
  /**
   * Counts a reload that failed before it reached {@linkcode Sidecar.reload}
   * (e.g. the changed file does not validate). Failures of `reload()` itself
   * are counted already.
   *
   * @param error Why it failed.
   */
  noteReloadFailure(error: unknown): void;
  /**
   * Drains and closes: `/v1/health` answers 503 at once, listeners stop
   * accepting, work in flight may finish for up to `graceMs`, then every
   * connection, probe, DNS watch and timer is closed. Idempotent.
   *
   * @param graceMs How long in-flight work may take. @default 0
   * @returns Resolves when everything is closed.
   */
  close(graceMs?: number): Promise<void>;
}

class SidecarImpl implements Sidecar {
  #state: SidecarState = "created";
  #units: ListenerUnit[];
  readonly #context: UnitContext;
  readonly #options: SidecarOptions;
  readonly #closing = new AbortController();
  readonly #retirer = new RetiringSet();
  #config: SidecarConfig;
  #queue: Promise<unknown> = Promise.resolve();
  #started: Promise<readonly Deno.NetAddr[]> | null = null;
  #closed: Promise<void> | null = null;
  readonly #createdAt = Date.now();
  #reloads: ReloadStats = { succeeded: 0, failed: 0, lastAt: null, lastError: null };

  constructor(config: SidecarConfig, options: SidecarOptions) {
    checkConfig(config);
    this.#options = options;
    this.#config = config;
    const clock = options.clock ?? SYSTEM_CLOCK;
    this.#context = {
      clock,
      runtime: options.runtime ?? runtimeOf(clock),
      onHealthEvent: options.onHealthEvent ?? (() => {}),
      resolver: options.resolver,
      srvResolver: options.srvResolver,
      onDnsError: options.onDnsError,
      http: {
        onTrace: options.onTrace,
        onNotice: options.onNotice,
        certificate: options.certificate,
        metrics: () => this.#metrics(),
      },
    };
    this.#units = this.#createUnits(config);
  }

  #createUnits(config: SidecarConfig): ListenerUnit[] {
    return config.listeners.map((spec) => new ListenerUnit(spec, this.#context, config.log));
  }

  /** `/.prometheus/metrics` of every HTTP listener: the endpoints of every listener. */
  #metrics(): string {
    const sources = this.#units.map((u) => ({
      listener: u.spec.name,
      cluster: u.cluster,
      connections: () => u.proxy.stats().connections,
      timeouts: () => u.proxy.stats().timeouts,
    }));
    return renderMetrics(sources, this.#context.clock.now()) + renderSidecarMetrics(this.stats());
  }

  metrics(): string {
    return this.#metrics();
  }

  get config(): SidecarConfig {
    return this.#config;
  }

  noteReloadFailure(error: unknown): void {
    const r = this.#reloads;
    const lastError = error instanceof Error ? error.message : String(error);
    this.#reloads = { ...r, failed: r.failed + 1, lastAt: Date.now(), lastError };
  }

  get state(): SidecarState {
    return this.#state;
  }

  get addresses(): readonly Deno.NetAddr[] {
    return this.#units.flatMap((u) => u.address === null ? [] : [u.address]);
  }

  /** Runs `work` after every earlier start/reload/close step, whatever their outcome. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  start(): Promise<readonly Deno.NetAddr[]> {
    this.#started ??= this.#serial(() => this.#start());
    return this.#started;
  }

  async #start(): Promise<readonly Deno.NetAddr[]> {
    if (this.#state !== "created") {
      throw new Error(`Cannot start the sidecar: it is ${this.#state}`);
    }
    this.#state = "starting";
    const units = this.#units;
    await waitBounded(
      Promise.all(units.map((u) => u.prepare())),
      this.#options.firstProbeWaitMs ?? 3000,
      this.#closing.signal,
    );
    try {
      for (const u of units) {
        if (this.#closing.signal.aborted) {
          throw new Error("Cannot start the sidecar: it was closed");
        }
        u.address = await bindProxy(u.proxy);
      }
    } catch (e) {
      this.#state = "draining";
      await Promise.all(units.map((u) => u.close(0)));
      this.#state = "closed";
      throw e;
    }
    this.#state = "running";
    return this.addresses;
  }

  reload(config: SidecarConfig): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#reload(config);
      } catch (e) {
        this.noteReloadFailure(e);
        throw e;
      }
      const r = this.#reloads;
      this.#reloads = { ...r, succeeded: r.succeeded + 1, lastAt: Date.now(), lastError: null };
    });
  }

  async #reload(config: SidecarConfig): Promise<void> {
    checkConfig(config);
    if (this.#state === "created") {
      // Nothing runs yet: the new config simply replaces the old one.
      const units = this.#createUnits(config);
      await Promise.all(this.#units.map((u) => u.close(0)));
      this.#units = units;
      this.#config = config;
      return;
    }
    if (this.#state !== "running") {
      throw new Error(`Cannot reload the sidecar: it is ${this.#state}`);
    }
    this.#units = await reloadUnits(this.#units, config, {
      context: this.#context,
      graceMs: config.gracePeriodMs ?? this.#config.gracePeriodMs ?? 5_000,
      firstProbeWaitMs: this.#options.firstProbeWaitMs ?? 3000,
      signal: this.#closing.signal,
      retirer: this.#retirer,
    });
    this.#config = config;
  }

  stats(): SidecarStats {
    const now = this.#context.runtime.now();
    return {
      state: this.#state,
      listeners: this.#units.map((u) => unitStats(u, now)),
      createdAt: this.#createdAt,
      reloads: this.#reloads,
    };
  }

  close(graceMs = 0): Promise<void> {
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    if (this.#state !== "closed") this.#state = "draining";
    // `/v1/health` answers 503 from now on, even before the listeners close.
    for (const u of this.#units) u.proxy.drain();
    this.#closing.abort();
    // A start or reload in progress stops waiting at once and then finds the sidecar closing.
    await this.#queue;
    await Promise.all([
      ...this.#units.map((u) => u.close(graceMs)),
      this.#retirer.closeAll(graceMs),
    ]);
    this.#state = "closed";
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a sidecar from a configuration. Nothing runs until `start()`.
 *
 * @param config What to listen on and where to send traffic.
 * @param options Runtime hooks and the DNS resolver.
 * @returns The sidecar.
 * @throws {TypeError} When the config has no listeners or a listener of an unknown kind.
 * @throws {RangeError} When a listener's port is out of range.
 *
 * @example Usage
 * ```ts ignore
 * import { createSidecar, httpListener } from "../mod.ts";
 * const sidecar = createSidecar({ listeners: [httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]])] });
 * await sidecar.start();
 * await sidecar.close();
 * ```
 */
export function createSidecar(config: SidecarConfig, options: SidecarOptions = {}): Sidecar {
  return new SidecarImpl(config, options);
}

/**
 * The composition root: wires a {@linkcode SidecarConfig} into clusters,
 * health checkers and listeners, and owns their lifecycle.
 *
 * @module
 */

import type { SidecarConfig } from "./config/schema.ts";
import { HealthChecker, type HealthEvent } from "./health/checker.ts";
import { Cluster, type Runtime, SYSTEM_RUNTIME } from "./pool/cluster.ts";
import { HttpProxy } from "./proxy/http/server.ts";

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
  /** Clock and randomness. @default the system's */
  readonly runtime?: Runtime;
  /** Called on every endpoint up/down transition. */
  readonly onHealthEvent?: (event: HealthEvent) => void;
  /** Longest wait in `start()` for the first health round before listening. @default 3000 */
  readonly firstProbeWaitMs?: number;
}

/**
 * A point-in-time view of one endpoint.
 *
 * @example Usage
 * ```ts
 * import type { EndpointStats } from "./sidecar.ts";
 * const s: EndpointStats = { endpoint: "http://127.0.0.1:9000", site: 0, status: "up", inFlight: 0, requests: 1, failures: 0 };
 * ```
 */
export interface EndpointStats {
  /** `scheme://host:port`. */
  readonly endpoint: string;
  /** Index of its site. */
  readonly site: number;
  /**
   * "down" while probes fail, and also while the endpoint is ejected after a
   * transport error on real traffic (probes off); "up" when it takes traffic.
   */
  readonly status: "up" | "down";
  /** In flight now. */
  readonly inFlight: number;
  /** Requests sent to it. */
  readonly requests: number;
  /** Transport failures seen. */
  readonly failures: number;
}

/**
 * A point-in-time view of the sidecar.
 *
 * @example Usage
 * ```ts
 * import type { SidecarStats } from "./sidecar.ts";
 * const s: SidecarStats = { listeners: [] };
 * ```
 */
export interface SidecarStats {
  /** One entry per listener. */
  readonly listeners: readonly {
    readonly name: string;
    readonly address: Deno.NetAddr | null;
    readonly connections: number;
    readonly endpoints: readonly EndpointStats[];
  }[];
}

/**
 * A running (or ready to run) sidecar: listeners, clusters and probes.
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
   * Runs the first health round (bounded), then binds every listener.
   *
   * @returns The bound addresses, in listener order.
   */
  start(): Promise<readonly Deno.NetAddr[]>;
  /** The bound addresses (empty before `start`). */
  readonly addresses: readonly Deno.NetAddr[];
  /** A snapshot of live state. */
  stats(): SidecarStats;
  /**
   * Stops accepting, lets work in flight finish for up to `graceMs`, then closes everything.
   *
   * @param graceMs How long in-flight work may take. @default 0
   */
  close(graceMs?: number): Promise<void>;
}

interface Unit {
  readonly cluster: Cluster;
  readonly checker: HealthChecker | null;
  readonly proxy: HttpProxy;
  address: Deno.NetAddr | null;
}

class SidecarImpl implements Sidecar {
  readonly #units: Unit[];
  readonly #options: SidecarOptions;
  readonly #runtime: Runtime;
  #closed: Promise<void> | null = null;

  constructor(config: SidecarConfig, options: SidecarOptions) {
    this.#options = options;
    const runtime = options.runtime ?? SYSTEM_RUNTIME;
    this.#runtime = runtime;
    const onEvent = options.onHealthEvent ?? (() => {});
    this.#units = config.listeners.map((spec) => {
      if (spec.kind !== "http") {
        throw new TypeError(
          `Cannot start listener '${spec.name}': ${spec.kind} listeners are not wired yet`,
        );
      }
      const cluster = new Cluster(spec.cluster, runtime);
      const checker = spec.cluster.health.active
        ? new HealthChecker(cluster, runtime, onEvent)
        : null;
      return { cluster, checker, proxy: new HttpProxy(spec, cluster), address: null };
    });
  }

  get addresses(): readonly Deno.NetAddr[] {
    return this.#units.flatMap((u) => u.address === null ? [] : [u.address]);
  }

  async start(): Promise<readonly Deno.NetAddr[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = new Promise<void>((resolve) =>
      timer = setTimeout(resolve, this.#options.firstProbeWaitMs ?? 3000)
    );
    await Promise.race([Promise.all(this.#units.map((u) => u.checker?.start())), wait]);
    clearTimeout(timer);
    try {
      for (const u of this.#units) u.address = u.proxy.listen();
    } catch (e) {
      await this.close();
      throw e;
    }
    return this.addresses;
  }

  stats(): SidecarStats {
    const now = this.#runtime.now();
    return {
      listeners: this.#units.map((u) => ({
        name: u.proxy.spec.name,
        address: u.address,
        connections: u.proxy.connections,
        endpoints: u.cluster.sites.flatMap((site, i) =>
          site.map((e) => ({
            endpoint: e.key,
            site: i,
            status: e.health.status === "up" && e.ejectedUntil <= now ? "up" : "down",
            inFlight: e.inFlight,
            requests: e.requests,
            failures: e.failures,
          }))
        ),
      })),
    };
  }

  close(graceMs = 0): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all(this.#units.map((u) => u.checker?.stop()));
      await Promise.all(this.#units.map((u) => u.proxy.close(graceMs)));
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a sidecar from a configuration. Nothing runs until `start()`.
 *
 * @param config What to listen on and where to send traffic.
 * @param options Runtime hooks.
 * @returns The sidecar.
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

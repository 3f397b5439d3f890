/**
 * Creating and binding the proxy core of any listener kind; everything else
 * goes through the {@linkcode Listener} interface.
 *
 * @module
 */

import type { Clock } from "../pool/clock.ts";
import type { ListenerSpec, LogSpec } from "../config/schema.ts";
import { HttpProxy, type HttpProxyOptions } from "../proxy/http/server.ts";
import { TcpProxy } from "../proxy/tcp/server.ts";
import { UdpProxy } from "../proxy/udp/server.ts";
import type { Cluster } from "../balance/cluster.ts";
import type { Listener } from "../proxy/listener.ts";

/**
 * The proxy core of any listener kind.
 *
 * @example Usage
 * ```ts ignore
 * const proxy: ListenerProxy = createProxy(spec, cluster);
 * ```
 */
export type ListenerProxy = Listener;

/**
 * What HTTP listeners of a sidecar share (tracing sink, metrics of every
 * listener, TLS notices, a generated certificate).
 *
 * @example Usage
 * ```ts
 * import type { SharedHttpOptions } from "./proxies.ts";
 * const shared: SharedHttpOptions = { onNotice: (m) => console.error(m) };
 * ```
 */
export type SharedHttpOptions = Omit<HttpProxyOptions, "log" | "upstreamTls">;

/**
 * Creates the proxy core of a listener (nothing bound yet).
 *
 * @param spec The listener.
 * @param cluster The cluster it serves.
 * @param shared Options every HTTP listener shares.
 * @param log Console settings (HTTP request tracing).
 * @param clock Time and timers. @default SYSTEM_CLOCK
 * @returns The proxy.
 * @throws {TypeError} When an HTTP or TCP listener's upstream TLS files cannot be read.
 *
 * @example Usage
 * ```ts ignore
 * const proxy = createProxy(spec, cluster, {}, config.log);
 * const address = await bindProxy(proxy);
 * ```
 */
export function createProxy(
  spec: ListenerSpec,
  cluster: Cluster,
  shared: SharedHttpOptions = {},
  log?: LogSpec,
  clock?: Clock,
): ListenerProxy {
  switch (spec.kind) {
    case "http":
      return new HttpProxy(spec, cluster, { ...shared, log, clock });
    case "tcp":
      return new TcpProxy(spec, cluster, {
        clock,
        onNotice: shared.onNotice,
        certCheckMs: shared.certCheckMs,
      });
    case "udp":
      return new UdpProxy(spec, cluster, { onNotice: shared.onNotice, clock });
  }
}

/**
 * Binds a proxy of any kind.
 *
 * @param proxy The proxy.
 * @returns The bound address.
 * @throws {Error} When the address cannot be bound (the message names the listener and the address).
 *
 * @example Usage
 * ```ts ignore
 * const address = await bindProxy(createProxy(spec, cluster));
 * ```
 */
export async function bindProxy(proxy: ListenerProxy): Promise<Deno.NetAddr> {
  try {
    return await proxy.listen();
  } catch (e) {
    const { name, kind, hostname, port } = proxy.spec;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    throw new Error(
      `Cannot listen on ${host}:${port} (${kind} listener '${name}'): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * Whether a bind failed because the address is taken.
 *
 * @param error What {@linkcode bindProxy} threw.
 * @returns True for "address in use".
 *
 * @example Usage
 * ```ts
 * import { isAddrInUse } from "./proxies.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isAddrInUse(new Error("x", { cause: new Deno.errors.AddrInUse("y") })), true);
 * ```
 */
export function isAddrInUse(error: unknown): boolean {
  const e = error instanceof Error && error.cause !== undefined ? error.cause : error;
  return e instanceof Deno.errors.AddrInUse ||
    (e as { code?: string } | null)?.code === "EADDRINUSE";
}

/**
 * The one face of every proxy core (HTTP, TCP, UDP) toward the composition
 * root: bind, apply a reloaded spec, drain, close, and a snapshot.
 *
 * @module
 */

import type { ListenerSpec, LogSpec } from "../config/schema.ts";

/**
 * A point-in-time view of a proxy core.
 *
 * @example Usage
 * ```ts
 * import type { ListenerCoreStats } from "./listener.ts";
 * const s: ListenerCoreStats = { kind: "udp", address: null, connections: 0 };
 * ```
 */
export interface ListenerCoreStats {
  /** The listener's kind. */
  readonly kind: ListenerSpec["kind"];
  /** The bound address (null before `listen`, and after `close`). */
  readonly address: Deno.NetAddr | null;
  /** Client connections open now (UDP: flows). */
  readonly connections: number;
  /** Responses the listener wrote itself, by status (HTTP only). */
  readonly ownResponses?: ReadonlyMap<number, number>;
  /** Connections cut by the body, write and request timeouts (HTTP only). */
  readonly timeouts?: {
    readonly requestBody: number;
    readonly responseWrite: number;
    readonly request: number;
  };
}

/**
 * A proxy core of any kind.
 *
 * `update` is in two phases so that a reload of many listeners is all or
 * nothing: the call reads and checks everything the new spec needs (TLS
 * files) and throws with nothing changed; the function it returns applies
 * the spec and cannot fail.
 *
 * @example Usage
 * ```ts ignore
 * const listener: Listener = new TcpProxy(spec, cluster);
 * const address = await listener.listen();
 * const commit = listener.update(newSpec); // throws: nothing changed
 * commit(); // in force for new work
 * await listener.close(5_000);
 * ```
 */
export interface Listener {
  /** The spec in force. */
  readonly spec: ListenerSpec;
  /**
   * Binds and starts accepting (and its timers).
   *
   * @returns The bound address (with the real port when 0 was asked for).
   * @throws {Error} When the address cannot be bound, or a server certificate file cannot be read.
   */
  listen(): Promise<Deno.NetAddr>;
  /**
   * Prepares a reloaded spec of the same listener (same kind and address):
   * timeouts, limits, pool sizes, server and upstream TLS files, tracing.
   *
   * @param spec The listener as configured now.
   * @param log Console settings now (HTTP request tracing).
   * @returns Applies the spec; never throws.
   * @throws {TypeError} When the spec cannot apply in place (another kind, plain <-> TLS) or a file cannot be read.
   */
  update(spec: ListenerSpec, log?: LogSpec): () => void;
  /** Stops taking new work at once (HTTP: `/v1/health` answers 503); `close` finishes the job. */
  drain(): void;
  /**
   * Stops accepting, lets work in flight go on for up to `graceMs`, then
   * closes whatever is left and stops every timer.
   *
   * @param graceMs How long work in flight may take. @default 0
   * @returns Resolves when nothing of it runs any more.
   */
  close(graceMs?: number): Promise<void>;
  /** A snapshot. */
  stats(): ListenerCoreStats;
}

/**
 * The error of an `update` with a spec of another kind.
 *
 * @param running The running listener's spec.
 * @param next The spec that was offered.
 * @returns A TypeError naming both.
 *
 * @example Usage
 * ```ts
 * import { kindMismatch } from "./listener.ts";
 * import { tcpListener, udpListener } from "../config/builders.ts";
 * const e = kindMismatch(tcpListener("127.0.0.1:0", [["127.0.0.1:1"]]), udpListener("127.0.0.1:0", [["127.0.0.1:1"]]));
 * e instanceof TypeError; // true
 * ```
 */
export function kindMismatch(running: ListenerSpec, next: ListenerSpec): TypeError {
  return new TypeError(
    `Cannot update ${running.kind} listener '${running.name}' with a ${next.kind} spec: ` +
      "a listener keeps its kind; give the new one another address",
  );
}

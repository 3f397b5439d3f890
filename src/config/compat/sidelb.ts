/**
 * The rsmvdl/SideLB command line and Docker environment, translated into an
 * L4 listener:
 *
 * `sidekick l4 <bind> [backends=HOST:PORT,...] [mode=round-robin|least-connections] [proto=tcp|udp] [ring_domain=HOST:PORT] [health_socket=PATH|off]`
 *
 * and `SIDELB_BIND_ADDR`, `SIDELB_BACKENDS`, `SIDELB_MODE`, `SIDELB_PROTO`,
 * `SIDELB_RING_DOMAIN`, `SIDELB_HEALTH_SOCKET` (an argument wins over its
 * variable). `health_socket` is sidekick's: SideLB's UDS health check is
 * always at `/run/sidelb.sock`, which stays the default. Options come in
 * any order; `backends=` may repeat and the lists add up; values are trimmed
 * and `mode`/`proto` are case-insensitive. Unlike SideLB, host names are
 * accepted in backends, IPv6 works everywhere as `[::1]:53`, and an unknown
 * option or a bad value is an error instead of a warning or a panic.
 *
 * @module
 */

import {
  type ClusterSpec,
  type EndpointSpec,
  type PolicyName,
  type TcpListenerSpec,
  type UdpListenerSpec,
} from "../schema.ts";
import { parseL4Endpoint, parseListenAddress, tcpListener, udpListener } from "../builders.ts";

/** How often SideLB re-resolves its ring domain, in ms. */
export const RING_DOMAIN_TTL_MS = 60_000;

/**
 * The result of {@linkcode parseSideLbArgs}.
 *
 * @example Usage
 * ```ts
 * import { parseSideLbArgs, type SideLbConfig } from "./sidelb.ts";
 * const config: SideLbConfig = parseSideLbArgs(["127.0.0.1:8080", "backends=10.0.0.1:80"]);
 * ```
 */
export interface SideLbConfig {
  /** The listener. A ring domain is also one of its cluster's endpoints, with `cluster.dns` set. */
  readonly listener: TcpListenerSpec | UdpListenerSpec;
  /** The `ring_domain` (whose A/AAAA records each become an endpoint), if given. */
  readonly ringDomain?: { readonly host: string; readonly port: number };
  /**
   * The `health_socket=` (or `SIDELB_HEALTH_SOCKET`) path of SideLB's UDS
   * health check, null for `off`; absent when not given (the default
   * `/run/sidelb.sock` then applies).
   */
  readonly healthSocket?: string | null;
}

const MODES: Record<string, PolicyName> = {
  "round-robin": "round-robin",
  "least-connections": "least",
};
const KEYS = ["backends", "mode", "proto", "ring_domain", "health_socket"] as const;
type Key = typeof KEYS[number];

/** The `key=value` options of `sidekick l4`, in SideLB's spelling. */
export const SIDELB_KEYS: readonly string[] = KEYS;
const ENV: Record<Key | "bind", string> = {
  bind: "SIDELB_BIND_ADDR",
  backends: "SIDELB_BACKENDS",
  mode: "SIDELB_MODE",
  proto: "SIDELB_PROTO",
  ring_domain: "SIDELB_RING_DOMAIN",
  health_socket: "SIDELB_HEALTH_SOCKET",
};

/** A value and how the user wrote it, for error messages. */
interface Given {
  readonly value: string;
  readonly label: string;
}

/**
 * Parses SideLB's arguments (those after `sidekick l4`) and environment.
 *
 * @param args The arguments: one bind address (unless `SIDELB_BIND_ADDR` is
 *   set) and `key=value` options.
 * @param env The environment. @default {}
 * @returns The listener, and the ring domain when one was given.
 * @throws {TypeError} On an unknown option, a second bind address, a
 *   malformed address, or when there is no bind address or no backend.
 * @throws {RangeError} On a `mode` or `proto` that is not accepted, or a bind port above 65535.
 *
 * @example Usage
 * ```ts
 * import { parseSideLbArgs } from "./sidelb.ts";
 * import assert from "node:assert/strict";
 * const { listener } = parseSideLbArgs([
 *   "[::]:53", "proto=UDP", "backends=10.0.0.1:53, [fd00::2]:53", "mode=least-connections",
 * ]);
 * assert.equal(listener.kind, "udp");
 * assert.equal(listener.cluster.policy, "least");
 * assert.deepEqual(listener.cluster.sites[0].endpoints.map((e) => e.host), ["10.0.0.1", "fd00::2"]);
 * ```
 *
 * @example Errors name the argument, the value and what is accepted
 * ```ts
 * import { parseSideLbArgs } from "./sidelb.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseSideLbArgs(["0.0.0.0:80", "backends=10.0.0.1:80", "mode=fastest"]), {
 *   message: "mode=fastest is not accepted: use round-robin or least-connections",
 * });
 * ```
 */
export function parseSideLbArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): SideLbConfig {
  let bind: Given | undefined;
  const options = new Map<Key, Given[]>();
  for (const raw of args) {
    const arg = raw.trim();
    if (arg === "") continue;
    const eq = arg.indexOf("=");
    if (eq < 0) {
      if (bind !== undefined) {
        throw new TypeError(
          `'${arg}' is not accepted: the bind address is already '${bind.value}', ` +
            `and options are ${KEYS.map((k) => `${k}=`).join(", ")}`,
        );
      }
      bind = { value: arg, label: `bind address '${arg}'` };
      continue;
    }
    const key = arg.slice(0, eq).trim().toLowerCase() as Key;
    const value = arg.slice(eq + 1).trim();
    if (!KEYS.includes(key)) {
      throw new TypeError(
        `${arg} is not accepted: options are ${KEYS.map((k) => `${k}=`).join(", ")}`,
      );
    }
    const list = options.get(key) ?? [];
    list.push({ value, label: `${arg.slice(0, eq).trim()}=${value}` });
    options.set(key, list);
  }
  const fromEnv = (key: Key | "bind"): Given | undefined => {
    const value = env[ENV[key]]?.trim();
    return value ? { value, label: `${ENV[key]}=${value}` } : undefined;
  };
  bind ??= fromEnv("bind");
  const given = (key: Key): Given[] => {
    const list = options.get(key);
    if (list !== undefined) return list;
    const e = fromEnv(key);
    return e === undefined ? [] : [e];
  };

  if (bind === undefined) {
    throw new TypeError(
      `Cannot start an l4 listener: give a bind address (HOST:PORT, :PORT or [IPv6]:PORT) ` +
        `as the first argument or in ${ENV.bind}`,
    );
  }
  let address: { hostname: string; port: number };
  try {
    address = parseListenAddress(bind.value);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new RangeError(`${bind.label} is not accepted: the port must be 0..65535`);
    }
    throw new TypeError(`${bind.label} is not accepted: use HOST:PORT, :PORT or [IPv6]:PORT`);
  }

  const mode = given("mode").at(-1);
  const policy = mode === undefined ? "round-robin" : MODES[mode.value.toLowerCase()];
  if (policy === undefined) {
    throw new RangeError(`${mode!.label} is not accepted: use round-robin or least-connections`);
  }
  const protoGiven = given("proto").at(-1);
  const proto = protoGiven === undefined ? "tcp" : protoGiven.value.toLowerCase();
  if (proto !== "tcp" && proto !== "udp") {
    throw new RangeError(`${protoGiven!.label} is not accepted: use tcp or udp`);
  }

  const endpoints: EndpointSpec[] = [];
  const seen = new Set<string>();
  for (const g of given("backends")) {
    for (const item of g.value.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
      const e = l4Endpoint(item, proto, g.label.slice(0, g.label.indexOf("=") + 1) + item);
      const key = `${e.host}|${e.port}`;
      if (!seen.has(key)) endpoints.push(e);
      seen.add(key);
    }
  }
  const ringGiven = given("ring_domain").at(-1);
  let ringDomain: SideLbConfig["ringDomain"];
  if (ringGiven !== undefined) {
    const e = l4Endpoint(ringGiven.value, proto, ringGiven.label);
    ringDomain = { host: e.host, port: e.port };
    if (!seen.has(`${e.host}|${e.port}`)) endpoints.push(e);
  }
  if (endpoints.length === 0) {
    throw new TypeError(
      `Cannot start an l4 listener without endpoints: give backends=HOST:PORT,... or ` +
        `ring_domain=HOST:PORT (or ${ENV.backends} / ${ENV.ring_domain})`,
    );
  }

  const bindText = address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
  const base = proto === "tcp" ? tcpListener(bindText, []) : udpListener(bindText, []);
  const cluster: ClusterSpec = {
    ...base.cluster,
    policy,
    sites: [{ name: "tier0", endpoints }],
    ...(ringDomain ? { dns: { perAddress: true, ttlMs: RING_DOMAIN_TTL_MS } } : {}),
  };
  const listener = { ...base, name: `l4-${proto}`, cluster };
  const socketGiven = given("health_socket").at(-1);
  const socket = socketGiven === undefined
    ? {}
    : { healthSocket: ["off", "none", ""].includes(socketGiven.value) ? null : socketGiven.value };
  return ringDomain === undefined ? { listener, ...socket } : { listener, ringDomain, ...socket };
}

function l4Endpoint(text: string, proto: "tcp" | "udp", label: string): EndpointSpec {
  try {
    return parseL4Endpoint(text, proto);
  } catch {
    throw new TypeError(
      `${label} is not accepted: use HOST:PORT or [IPv6]:PORT with a port in 1..65535`,
    );
  }
}

/**
 * Builders of complete listener specs with every default filled in, and
 * parsers of endpoint and listen addresses.
 *
 * @module
 */

import {
  type ClusterSpec,
  type EndpointSpec,
  type HashKey,
  type HttpListenerSpec,
  type TcpListenerSpec,
  type UdpListenerSpec,
} from "./schema.ts";
import { DEFAULT_HEALTH, DEFAULT_HTTP_LIMITS, DEFAULT_HTTP_TIMEOUTS } from "./defaults.ts";

/**
 * Parses one endpoint URL (`http://host:port/base`, scheme defaulting to
 * http, IPv6 in brackets). `h2c://` (HTTP/2 cleartext, port 80 by default)
 * and `h2://` (HTTP/2 over TLS, port 443 by default) name endpoints that
 * speak HTTP/2.
 *
 * @param url The endpoint as written by a user.
 * @returns The endpoint.
 * @throws {TypeError} When the URL is not an http, https, h2c or h2 URL with a host.
 *
 * @example Usage
 * ```ts
 * import { parseEndpoint } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseEndpoint("127.0.0.1:9000/s3"), {
 *   scheme: "http", host: "127.0.0.1", port: 9000, basePath: "/s3",
 * });
 * assert.equal(parseEndpoint("h2c://[::1]:50051").scheme, "h2c");
 * ```
 */
export function parseEndpoint(url: string): EndpointSpec {
  const withScheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(url) ? url : `http://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new TypeError(`Cannot parse endpoint '${url}': expected http://HOST[:PORT][/PATH]`);
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme === "h2" || scheme === "h2c") {
    // Parsed as its HTTP/1.1 twin, so host names are checked and normalised the same way.
    const twin = parseEndpoint(url.replace(/^h2c?:/i, scheme === "h2" ? "https:" : "http:"));
    return { ...twin, scheme };
  }
  if (scheme !== "http" && scheme !== "https") {
    throw new TypeError(
      `Cannot use endpoint '${url}': scheme must be http, https, h2c or h2, not ${scheme}`,
    );
  }
  if (parsed.hostname === "") {
    throw new TypeError(`Cannot use endpoint '${url}': a host is required`);
  }
  if (parsed.search !== "" || parsed.hash !== "" || parsed.username !== "") {
    throw new TypeError(
      `Cannot use endpoint '${url}': only scheme, host, port and path are allowed`,
    );
  }
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === "" ? (scheme === "https" ? 443 : 80) : Number(parsed.port);
  const basePath = parsed.pathname.replace(/\/+$/, "");
  return { scheme, host, port, basePath };
}

/**
 * Builds an HTTP listener with every default filled in.
 *
 * @param address `HOST:PORT`, `:PORT` (all interfaces) or `[V6]:PORT`.
 * @param sites Sites, each a list of endpoint URLs, in failover order.
 * @param overrides Anything to change from the defaults.
 * @returns A complete listener spec.
 *
 * @example Usage
 * ```ts
 * import { httpListener } from "./builders.ts";
 * import assert from "node:assert/strict";
 * const l = httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000", "http://127.0.0.1:9001"]]);
 * assert.equal(l.cluster.sites[0].endpoints.length, 2);
 * ```
 */
export function httpListener(
  address: string,
  sites: readonly (readonly string[])[],
  overrides: Partial<Omit<HttpListenerSpec, "kind" | "hostname" | "port">> = {},
): HttpListenerSpec {
  const { hostname, port } = parseListenAddress(address);
  return {
    kind: "http",
    name: overrides.name ?? "http",
    hostname,
    port,
    cluster: overrides.cluster ?? {
      policy: "least",
      health: DEFAULT_HEALTH,
      sites: sites.map((urls, i) => ({ name: `site${i + 1}`, endpoints: urls.map(parseEndpoint) })),
    },
    timeouts: overrides.timeouts ?? DEFAULT_HTTP_TIMEOUTS,
    limits: overrides.limits ?? DEFAULT_HTTP_LIMITS,
    ...(overrides.perClient === undefined ? {} : { perClient: overrides.perClient }),
  };
}

/**
 * Parses one L4 endpoint: `HOST:PORT` or `[V6]:PORT`.
 *
 * @param address The endpoint as written by a user.
 * @param scheme `tcp` or `udp`.
 * @returns The endpoint.
 * @throws {TypeError} When there is no port or the port is out of range.
 *
 * @example Usage
 * ```ts
 * import { parseL4Endpoint } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseL4Endpoint("[::1]:53", "udp").host, "::1");
 * ```
 */
export function parseL4Endpoint(address: string, scheme: "tcp" | "udp"): EndpointSpec {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]\s]+)):(\d{1,5})$/.exec(address);
  if (m === null) {
    throw new TypeError(`Cannot use endpoint '${address}': expected HOST:PORT or [IPv6]:PORT`);
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) {
    throw new TypeError(`Cannot use endpoint '${address}': port must be 1..65535, got ${port}`);
  }
  return { scheme, host: m[1] ?? m[2], port, basePath: "" };
}

/**
 * Builds a TCP listener with every default filled in.
 *
 * @param address `HOST:PORT`, `:PORT` or `[V6]:PORT`.
 * @param tiers Tiers, each a list of `HOST:PORT`, best first.
 * @param overrides Anything to change from the defaults.
 * @returns A complete listener spec.
 *
 * @example Usage
 * ```ts
 * import { tcpListener } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tcpListener(":5432", [["10.0.0.1:5432"]]).cluster.health.kind, "tcp");
 * ```
 */
export function tcpListener(
  address: string,
  tiers: readonly (readonly string[])[],
  overrides: Partial<Omit<TcpListenerSpec, "kind" | "hostname" | "port">> = {},
): TcpListenerSpec {
  const { hostname, port } = parseListenAddress(address);
  return {
    kind: "tcp",
    name: "tcp",
    cluster: l4Cluster(tiers, "tcp"),
    connectMs: 5_000,
    idleMs: 0,
    maxAttempts: 3,
    maxConnections: 0,
    proxyProtocol: "off",
    ...overrides,
    hostname,
    port,
  };
}

/**
 * Builds a UDP listener with every default filled in.
 *
 * @param address `HOST:PORT`, `:PORT` or `[V6]:PORT`.
 * @param tiers Tiers, each a list of `HOST:PORT`, best first.
 * @param overrides Anything to change from the defaults.
 * @returns A complete listener spec.
 *
 * @example Usage
 * ```ts
 * import { udpListener } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(udpListener(":53", [["10.0.0.1:53"]]).flowIdleMs, 30_000);
 * ```
 */
export function udpListener(
  address: string,
  tiers: readonly (readonly string[])[],
  overrides: Partial<Omit<UdpListenerSpec, "kind" | "hostname" | "port">> = {},
): UdpListenerSpec {
  const { hostname, port } = parseListenAddress(address);
  return {
    kind: "udp",
    name: "udp",
    cluster: l4Cluster(tiers, "udp"),
    flowIdleMs: 30_000,
    maxFlows: 10_000,
    ...overrides,
    hostname,
    port,
  };
}

function l4Cluster(tiers: readonly (readonly string[])[], scheme: "tcp" | "udp"): ClusterSpec {
  return {
    policy: "least",
    health: { ...DEFAULT_HEALTH, kind: scheme, intervalMs: 2_000, timeoutMs: 1_000 },
    sites: tiers.map((list, i) => ({
      name: `tier${i}`,
      endpoints: list.map((a) => parseL4Endpoint(a, scheme)),
    })),
  };
}

/**
 * Splits a listen address into hostname and port.
 *
 * @param address `HOST:PORT`, `:PORT` (meaning 0.0.0.0) or `[V6]:PORT`.
 * @returns The parts.
 * @throws {TypeError} When the address has no port or the port is not in 0..65535.
 *
 * @example Usage
 * ```ts
 * import { parseListenAddress } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseListenAddress(":8080"), { hostname: "0.0.0.0", port: 8080 });
 * ```
 */
export function parseListenAddress(address: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(address);
  if (m === null) {
    throw new TypeError(
      `Cannot listen on '${address}': expected HOST:PORT, :PORT or [IPv6]:PORT`,
    );
  }
  const port = Number(m[3]);
  if (port > 65535) {
    throw new RangeError(`Cannot listen on '${address}': port must be 0..65535, got ${port}`);
  }
  return { hostname: m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]), port };
}

/**
 * Parses a status list like `200`, `200-299,301`.
 *
 * @param text The list.
 * @returns Inclusive ranges.
 * @throws {RangeError} For anything else, saying what is accepted.
 *
 * @example Usage
 * ```ts
 * import { parseStatusList } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseStatusList("200-204,301"), [[200, 204], [301, 301]]);
 * ```
 */
export function parseStatusList(text: string): [number, number][] {
  return text.split(",").map((part) => {
    const m = /^\s*([1-5]\d\d)\s*(?:-\s*([1-5]\d\d)\s*)?$/.exec(part);
    if (m === null || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new RangeError(`'${part}' is not a status or range; use e.g. 200 or 200-299,301`);
    }
    return [Number(m[1]), Number(m[2] ?? m[1])];
  });
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses what the `hash` policy hashes: `client-ip`, `header:NAME` or
 * `cookie:NAME` (NAME an HTTP token).
 *
 * @param text The key as written.
 * @returns The key.
 * @throws {TypeError} Naming what is accepted.
 *
 * @example Usage
 * ```ts
 * import { parseHashKey } from "./builders.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseHashKey("cookie:session"), "cookie:session");
 * ```
 */
export function parseHashKey(text: string): HashKey {
  if (text === "client-ip") return text;
  const colon = text.indexOf(":");
  const kind = text.slice(0, colon);
  const name = text.slice(colon + 1);
  if (colon > 0 && (kind === "header" || kind === "cookie") && TOKEN.test(name)) {
    return `${kind}:${name}`;
  }
  throw new TypeError(
    `'${text}' is not a hash key; use client-ip, header:NAME or cookie:NAME (e.g. cookie:session)`,
  );
}

/**
 * Least privilege: the exact Deno permissions a configuration needs, and a
 * check at startup that says which flag is missing before any listener binds.
 *
 * @module
 */

import type { SidecarConfig } from "../config/schema.ts";
import { udpLocalAddress } from "../pool/udp_socket.ts";

/**
 * The permissions a configuration needs, as `deno run` values.
 *
 * @example Usage
 * ```ts
 * import type { RequiredPermissions } from "./permissions.ts";
 * const p: RequiredPermissions = { net: [{ value: "127.0.0.1:8080", why: "listen" }], read: [], env: [] };
 * ```
 */
export interface RequiredPermissions {
  /** `--allow-net` entries (host:port), each with the reason. */
  readonly net: readonly { readonly value: string; readonly why: string }[];
  /** `--allow-read` entries (paths). */
  readonly read: readonly { readonly value: string; readonly why: string }[];
  /** `--allow-env` entries (variable names). */
  readonly env: readonly { readonly value: string; readonly why: string }[];
  /** `--allow-write` entries (paths). @default [] */
  readonly write?: readonly { readonly value: string; readonly why: string }[];
}

/**
 * Where the configuration came from, for the read and env permissions.
 *
 * @example Usage
 * ```ts
 * import type { ConfigSources } from "./permissions.ts";
 * const s: ConfigSources = { files: ["sidekick.yaml"], env: ["SIDEKICK_SITES"], yaml: true };
 * ```
 */
export interface ConfigSources {
  /** Files read (the config file). */
  readonly files?: readonly string[];
  /** Environment variables the configuration was read from. */
  readonly env?: readonly string[];
  /**
   * Whether YAML is parsed. It needs nothing more: the yaml package's reads of
   * LOG_TOKENS and LOG_STREAM are skipped unless granted.
   */
  readonly yaml?: boolean;
  /** Name servers (from /etc/resolv.conf) that DNS discovery queries; `Deno.resolveDns` needs IP:53. */
  readonly nameservers?: readonly string[];
}

function isIpLiteral(host: string): boolean {
  return host.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/**
 * The name servers of /etc/resolv.conf-style text.
 *
 * @param text The file's content.
 * @returns The `nameserver` addresses, in order.
 *
 * @example Usage
 * ```ts
 * import { parseNameservers } from "./permissions.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseNameservers("# x\nnameserver 10.0.0.2\nsearch lan\n"), ["10.0.0.2"]);
 * ```
 */
export function parseNameservers(text: string): string[] {
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
}

/**
 * Where a UDP listener's replies go: each client's own address and port, so
 * the grant is a host with every port. Deno takes no IPv6 CIDR, so IPv6
 * clients of a non-loopback listener need their own grants.
 */
function udpClients(hostname: string): [string, string] {
  if (hostname.startsWith("127.")) {
    return ["127.0.0.1", "reply to loopback UDP clients on any port"];
  }
  if (hostname === "::1") return ["[::1]", "reply to loopback UDP clients on any port"];
  return [
    "0.0.0.0/0",
    "reply to UDP clients, any address and port (narrow it to your clients' CIDR; " +
    "IPv6 clients need their own entries)",
  ];
}

function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * Computes the permissions a configuration needs.
 *
 * @param config The configuration.
 * @param sources Files and variables it came from.
 * @returns Deduplicated entries in a stable order.
 *
 * @example Usage
 * ```ts
 * import { requiredPermissions } from "./permissions.ts";
 * import { httpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * const p = requiredPermissions({ listeners: [httpListener(":8080", [["http://10.0.0.1:9000"]])] });
 * assert.deepEqual(p.net.map((e) => e.value), ["0.0.0.0:8080", "10.0.0.1:9000"]);
 * ```
 */
export function requiredPermissions(
  config: SidecarConfig,
  sources: ConfigSources = {},
): RequiredPermissions {
  const net = new Map<string, string>();
  const read = new Map<string, string>();
  const env = new Map<string, string>();
  const write = new Map<string, string>();
  for (const l of config.listeners) {
    const where = hostPort(l.hostname, l.port);
    if (!net.has(where)) net.set(where, `listen (${l.kind} listener '${l.name}')`);
    if (l.kind === "udp") {
      const [clients, why] = udpClients(l.hostname);
      if (!net.has(clients)) net.set(clients, `${why} (UDP listener '${l.name}')`);
    }
    for (const site of l.cluster.sites) {
      for (const e of site.endpoints) {
        const key = hostPort(e.host, e.port);
        if (!net.has(key)) net.set(key, `reach endpoint ${e.scheme}://${key}`);
        const h = l.cluster.health;
        if (l.kind === "udp" || (h.active && h.kind === "udp")) {
          // Each UDP flow and each UDP probe binds its own local socket on port 0.
          const local = udpLocalAddress(e.host).address;
          const bind = hostPort(local, 0);
          if (!net.has(bind)) {
            net.set(bind, `bind local UDP sockets (flows and probes) on ${local}`);
          }
        }
        if (h.active && h.port > 0) {
          const probe = hostPort(e.host, h.port);
          if (!net.has(probe)) net.set(probe, `health-check ${e.host} on port ${h.port}`);
        }
      }
    }
    if (l.cluster.srv !== undefined) {
      for (const ns of sources.nameservers ?? []) {
        const key = hostPort(ns, 53);
        if (!net.has(key)) {
          net.set(
            key,
            `look up SRV ${l.cluster.srv.name} (name server in /etc/resolv.conf); its targets ` +
              "are dialled by name: grant their HOST:PORT too, or a CIDR like 10.0.0.0/8",
          );
        }
      }
    }
    if (l.cluster.dns?.perAddress) {
      const named = l.cluster.sites.flatMap((s) => s.endpoints.filter((e) => !isIpLiteral(e.host)));
      if (named.length > 0) {
        for (const ns of sources.nameservers ?? []) {
          const key = hostPort(ns, 53);
          if (!net.has(key)) {
            net.set(key, "resolve endpoint names (name server in /etc/resolv.conf)");
          }
        }
        for (const e of named) {
          const key = hostPort(e.host, e.port);
          net.set(
            key,
            `${net.get(key)}; each address it resolves to is dialled as an IP: grant those too, ` +
              `e.g. a CIDR like 10.0.0.0/8:${e.port}`,
          );
        }
      }
    }
    if (l.kind === "http" || l.kind === "tcp") {
      for (
        const [file, why] of [
          [l.tls?.certFile, "server certificate"],
          [l.tls?.keyFile, "server key"],
          [l.upstreamTls?.caFile, "CA certificate"],
          [l.upstreamTls?.certFile, "client certificate"],
          [l.upstreamTls?.keyFile, "client key"],
        ] as const
      ) {
        if (file !== undefined && !read.has(file)) read.set(file, why);
      }
    }
  }
  if (config.admin !== undefined) {
    const where = hostPort(config.admin.hostname, config.admin.port);
    if (!net.has(where)) net.set(where, "listen (admin listener)");
  }
  for (const f of sources.files ?? []) {
    if (!read.has(f)) {
      read.set(
        f,
        "configuration file (polled for changes; add its directory for instant change events)",
      );
    }
  }
  for (const v of sources.env ?? []) {
    if (!env.has(v)) env.set(v, "configuration from the environment");
  }
  if (config.healthSocket !== undefined) {
    const path = config.healthSocket;
    net.set(`unix:${path}`, "serve the UDS health check");
    read.set(path, "UDS health check socket");
    write.set(path, "UDS health check socket (created, and removed when stale)");
  }
  const list = (m: Map<string, string>) => [...m].map(([value, why]) => ({ value, why }));
  return { net: list(net), read: list(read), env: list(env), write: list(write) };
}

/**
 * The `deno run` flags for a set of permissions.
 *
 * @param p The permissions.
 * @returns Flags such as `--allow-net=a:1,b:2`.
 *
 * @example Usage
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * permissionFlags({ net: [{ value: "127.0.0.1:8080", why: "" }], read: [], env: [] }); // ["--allow-net=127.0.0.1:8080"]
 * ```
 */
export function permissionFlags(p: RequiredPermissions): string[] {
  const flags: string[] = [];
  if (p.net.length > 0) flags.push(`--allow-net=${p.net.map((e) => e.value).join(",")}`);
  if (p.read.length > 0) flags.push(`--allow-read=${p.read.map((e) => e.value).join(",")}`);
  if (p.env.length > 0) flags.push(`--allow-env=${p.env.map((e) => e.value).join(",")}`);
  const write = p.write ?? [];
  if (write.length > 0) flags.push(`--allow-write=${write.map((e) => e.value).join(",")}`);
  return flags;
}

/**
 * Finds the first permission the process lacks, before anything binds.
 *
 * @param p The permissions needed.
 * @returns One line naming the flag and the value to add, or null when all are granted.
 *
 * @example Usage
 * ```ts ignore
 * import { missingPermission, requiredPermissions } from "./permissions.ts";
 * const line = missingPermission(requiredPermissions(config));
 * if (line !== null) { console.error(line); Deno.exit(1); }
 * ```
 */
export function missingPermission(p: RequiredPermissions): string | null {
  for (const e of p.net) {
    if (Deno.permissions.querySync({ name: "net", host: e.value }).state !== "granted") {
      return `sidekick: missing permission --allow-net=${e.value} (to ${e.why}); ` +
        `run with ${permissionFlags(p).join(" ")}`;
    }
  }
  for (const e of p.read) {
    if (Deno.permissions.querySync({ name: "read", path: e.value }).state !== "granted") {
      return `sidekick: missing permission --allow-read=${e.value} (${e.why}); run with ${
        permissionFlags(p).join(" ")
      }`;
    }
  }
  for (const e of p.env) {
    if (Deno.permissions.querySync({ name: "env", variable: e.value }).state !== "granted") {
      return `sidekick: missing permission --allow-env=${e.value} (${e.why}); run with ${
        permissionFlags(p).join(" ")
      }`;
    }
  }
  for (const e of p.write ?? []) {
    if (Deno.permissions.querySync({ name: "write", path: e.value }).state !== "granted") {
      return `sidekick: missing permission --allow-write=${e.value} (${e.why}); run with ${
        permissionFlags(p).join(" ")
      }`;
    }
  }
  return null;
}

/**
 * The minio/sidekick command line, flag for flag: the table of flags (names,
 * short forms, defaults, environment variables, help) and the pure
 * translation of parsed values into a {@linkcode SidecarConfig}.
 *
 * @module
 */

import { parseDuration } from "./duration.ts";
import { expandSite } from "./expand.ts";
import {
  DEFAULT_HEALTH,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  DEFAULT_LOG,
  httpListener,
  type LogSpec,
  type PolicyName,
  type SidecarConfig,
} from "./schema.ts";

/**
 * One command-line flag.
 *
 * @example Usage
 * ```ts
 * import type { FlagSpec } from "./flags.ts";
 * const f: FlagSpec = { name: "address", short: "a", type: "string", default: ":8080", help: "listening address" };
 * ```
 */
export interface FlagSpec {
  /** Long name, without dashes. */
  readonly name: string;
  /** One-letter short form. */
  readonly short?: string;
  /** `boolean` flags take no value; `multiple` ones may repeat. */
  readonly type: "string" | "boolean" | "multiple";
  /** Default value shown in help (strings only). */
  readonly default?: string;
  /** One line of help. */
  readonly help: string;
  /** Value placeholder in help. */
  readonly value?: string;
  /** Parsed and validated, but the feature is not available yet. */
  readonly pending?: string;
}

/** Every flag, in `--help` order: minio/sidekick's, then sidekick's own. */
export const FLAGS: readonly FlagSpec[] = [
  {
    name: "address",
    short: "a",
    type: "string",
    default: ":8080",
    value: "HOST:PORT",
    help: "listening address",
  },
  {
    name: "health-path",
    short: "p",
    type: "string",
    default: "/",
    value: "PATH",
    help: "health check path",
  },
  {
    name: "read-health-path",
    short: "r",
    type: "string",
    value: "PATH",
    help: "health check path of the last site (a read-only failover site); needs two or more sites",
  },
  {
    name: "health-port",
    type: "string",
    default: "0",
    value: "PORT",
    help: "health check port (0 = each endpoint's)",
  },
  {
    name: "health-duration",
    short: "d",
    type: "string",
    default: "5s",
    value: "DUR",
    help: "health check interval; each wait is DUR + random[0, DUR); 0 turns checks off",
  },
  {
    name: "health-timeout",
    type: "string",
    default: "10s",
    value: "DUR",
    help: "health check timeout",
  },
  {
    name: "health-optimistic",
    type: "boolean",
    help: "stop checking an up endpoint until real traffic fails on it",
  },
  {
    name: "insecure",
    short: "i",
    type: "boolean",
    help:
      "do not check endpoint certificate host names (the chain is still verified: add --cacert)",
  },
  {
    name: "rr-dns-mode",
    type: "boolean",
    help: "every A/AAAA record of a hostname is its own endpoint",
  },
  {
    name: "dns-ttl",
    type: "string",
    default: "10m",
    value: "DUR",
    help: "how often hostnames are resolved again",
  },
  {
    name: "host-balance",
    type: "string",
    default: "least",
    value: "POLICY",
    help: "endpoint choice inside a site: least, random or round-robin",
  },
  { name: "log", short: "l", type: "boolean", help: "log endpoint up/down transitions" },
  {
    name: "trace",
    short: "t",
    type: "string",
    value: "MODE",
    help: "trace requests: all, application (both: proxied requests; health probes are never " +
      "traced) or minio (paths within the health URL); --log, --errors, --status-code imply all",
  },
  {
    name: "errors",
    short: "e",
    type: "boolean",
    help: "trace only responses with status 400..599",
  },
  {
    name: "status-code",
    type: "multiple",
    value: "CODE",
    help: "trace only this status (repeatable)",
  },
  { name: "quiet", short: "q", type: "boolean", help: "no console messages" },
  { name: "json", type: "boolean", help: "logs and traces as JSON lines" },
  { name: "debug", type: "boolean", help: "verbose traces with headers" },
  {
    name: "cacert",
    type: "string",
    value: "FILE",
    help: "CA certificate(s) to verify endpoints against (added to the built-in roots)",
  },
  {
    name: "client-cert",
    type: "string",
    value: "FILE",
    help: "client certificate file (mTLS to endpoints)",
  },
  {
    name: "client-key",
    type: "string",
    value: "FILE",
    help: "client private key file (mTLS to endpoints)",
  },
  {
    name: "cert",
    type: "string",
    value: "FILE",
    help: "serve TLS with this certificate chain (reloaded when the file changes)",
  },
  {
    name: "key",
    type: "string",
    value: "FILE",
    help: "private key of --cert",
  },
  {
    name: "key-password",
    type: "string",
    value: "PASS",
    help: "password of an encrypted --key",
  },
  {
    name: "auto-tls-host",
    type: "string",
    value: "HOSTS",
    help: "serve TLS with a self-signed certificate for these hosts (comma separated)",
  },
  {
    name: "tls-max",
    type: "string",
    default: "1.3",
    value: "VER",
    help:
      "highest TLS version: 1.2 or 1.3 (accepted for compatibility; Deno always offers 1.2 and 1.3)",
  },
  {
    name: "failback-delay",
    type: "string",
    default: "0",
    value: "DUR",
    help: "a recovered site serves again after staying healthy this long",
  },
  {
    name: "health-status",
    type: "string",
    default: "200",
    value: "LIST",
    help: "statuses that pass the health check, e.g. 200 or 200-299,301",
  },
  {
    name: "config",
    short: "c",
    type: "string",
    value: "FILE",
    help: "YAML config file (sidekick's or iaido's schema); reloaded on change and SIGHUP",
  },
  {
    name: "bootstrap",
    short: "b",
    type: "multiple",
    value: "LPORT:HOST:PORT",
    help: "write a starter config (to --config, default sidekick.yaml) and exit (repeatable)",
  },
  {
    name: "bootstrap-addr",
    type: "string",
    value: "HOST",
    help: "bind host for --bootstrap listeners",
  },
  {
    name: "force",
    short: "f",
    type: "boolean",
    help: "let --bootstrap overwrite an existing file",
  },
  { name: "help", short: "h", type: "boolean", help: "show help" },
  { name: "version", short: "v", type: "boolean", help: "print the version" },
];

/** A bad command line: the message names the flag or argument and what is accepted. */
export class UsageError extends Error {
  /**
   * Creates a usage error.
   *
   * @param message What is wrong and how to fix it.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parsed flag values: strings, booleans, or lists for `multiple` flags. */
export type FlagValues = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

/**
 * The environment variable of a flag: `SIDEKICK_` and the name in upper snake case.
 *
 * @param name A flag's long name.
 * @returns The variable's name.
 *
 * @example Usage
 * ```ts
 * import { envName } from "./flags.ts";
 * envName("health-path"); // "SIDEKICK_HEALTH_PATH"
 * ```
 */
export function envName(name: string): string {
  return `SIDEKICK_${name.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * Fills flags that were not given from the environment (flags win), and the
 * sites from `SIDEKICK_SITES` (whitespace separated) when no SITE was given.
 *
 * @param values Flags from the command line.
 * @param positionals SITE arguments from the command line.
 * @param env Reads one variable (undefined when unset or not permitted).
 * @returns Merged values and sites.
 * @throws {UsageError} For a boolean variable that is not true/false/1/0.
 *
 * @example Usage
 * ```ts
 * import { mergeEnv } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const env: Record<string, string> = { SIDEKICK_HEALTH_PATH: "/ready", SIDEKICK_SITES: "http://a:1 http://b:1" };
 * const { values, sites } = mergeEnv({}, [], (k) => env[k]);
 * assert.equal(values["health-path"], "/ready");
 * assert.deepEqual(sites, ["http://a:1", "http://b:1"]);
 * ```
 */
export function mergeEnv(
  values: FlagValues,
  positionals: readonly string[],
  env: (name: string) => string | undefined,
): { values: FlagValues; sites: readonly string[] } {
  const out: Record<string, string | boolean | readonly string[] | undefined> = { ...values };
  for (const f of FLAGS) {
    if (out[f.name] !== undefined || f.name === "help" || f.name === "version") continue;
    const raw = env(envName(f.name));
    if (raw === undefined || raw === "") continue;
    if (f.type === "boolean") {
      const v = raw.toLowerCase();
      if (!["1", "0", "true", "false", "yes", "no", "on", "off"].includes(v)) {
        throw new UsageError(`${envName(f.name)} must be true or false, got '${raw}'`);
      }
      out[f.name] = ["1", "true", "yes", "on"].includes(v);
    } else if (f.type === "multiple") {
      out[f.name] = raw.split(",").map((x) => x.trim()).filter((x) => x !== "");
    } else {
      out[f.name] = raw;
    }
  }
  const sites = positionals.length > 0
    ? positionals
    : (env("SIDEKICK_SITES") ?? "").split(/\s+/).filter((x) => x !== "");
  return { values: out, sites };
}

function str(values: FlagValues, name: string): string {
  const v = values[name];
  if (typeof v === "string") return v;
  return FLAGS.find((f) => f.name === name)?.default ?? "";
}

function duration(values: FlagValues, name: string): number {
  try {
    return parseDuration(str(values, name));
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

function port(values: FlagValues, name: string): number {
  const text = str(values, name);
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new UsageError(`--${name} must be 0..65535, got ${text}`);
  return n;
}

/**
 * Parses a status list like `200`, `200-299,301`.
 *
 * @param text The list.
 * @returns Inclusive ranges.
 * @throws {UsageError} Naming `--health-status` for anything else.
 *
 * @example Usage
 * ```ts
 * import { parseStatusList } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseStatusList("200-204,301"), [[200, 204], [301, 301]]);
 * ```
 */
export function parseStatusList(text: string): [number, number][] {
  return text.split(",").map((part) => {
    const m = /^\s*([1-5]\d\d)\s*(?:-\s*([1-5]\d\d)\s*)?$/.exec(part);
    if (m === null || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new UsageError(
        `--health-status: '${part}' is not a status or range; use e.g. 200 or 200-299,301`,
      );
    }
    return [Number(m[1]), Number(m[2] ?? m[1])];
  });
}

const TRACE_ALIASES: Record<string, LogSpec["trace"]> = {
  all: "all",
  application: "application",
  minio: "minio",
  cluster: "minio", // the sideweed fork's name
};

const POLICY_ALIASES: Record<string, PolicyName> = {
  least: "least",
  random: "random",
  "round-robin": "round-robin",
  roundrobin: "round-robin",
};

/**
 * Translates merged flag values and SITE arguments into a configuration.
 *
 * @param values Flags (after {@linkcode mergeEnv}).
 * @param sites SITE arguments.
 * @returns The configuration and warnings to print at startup.
 * @throws {UsageError} Naming the flag or argument, the bad value and what is accepted.
 *
 * @example Usage
 * ```ts
 * import { configFromFlags } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const { config } = configFromFlags({ address: "127.0.0.1:8080" }, ["http://127.0.0.1:{9001...9002}"]);
 * assert.equal(config.listeners[0].cluster.sites[0].endpoints.length, 2);
 * ```
 */
export function configFromFlags(
  values: FlagValues,
  sites: readonly string[],
): { config: SidecarConfig; warnings: string[] } {
  const warnings: string[] = [];
  for (const f of FLAGS) {
    if (f.pending && values[f.name] !== undefined && values[f.name] !== false) {
      throw new UsageError(
        `--${f.name} is not available yet in this version (${f.pending}); remove it to start`,
      );
    }
  }
  if (sites.length === 0) {
    throw new UsageError("no SITE given; e.g. sidekick http://127.0.0.1:9000 (see --help)");
  }
  const intervalMs = duration(values, "health-duration");
  const timeoutMs = duration(values, "health-timeout");
  const failbackDelayMs = duration(values, "failback-delay");
  const dnsTtl = duration(values, "dns-ttl");
  const healthPort = port(values, "health-port");
  const rawPath = str(values, "health-path");
  const path = rawPath.startsWith("/") ? rawPath : `/${rawPath}`;
  const readRaw = values["read-health-path"];
  const policy = POLICY_ALIASES[str(values, "host-balance")];
  if (policy === undefined) {
    throw new UsageError(
      `--host-balance must be least, random or round-robin, got '${str(values, "host-balance")}'`,
    );
  }
  const tlsMax = str(values, "tls-max");
  if (tlsMax !== "1.2" && tlsMax !== "1.3") {
    throw new UsageError(`--tls-max must be 1.2 or 1.3, got '${tlsMax}'`);
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together; give both or neither");
  }
  if (values["auto-tls-host"] !== undefined && values.cert !== undefined) {
    throw new UsageError("--auto-tls-host makes its own certificate; drop it or drop --cert/--key");
  }
  if (values["key-password"] !== undefined && values.key === undefined) {
    throw new UsageError("--key-password decrypts --key; give --key too");
  }
  if ((values["client-cert"] === undefined) !== (values["client-key"] === undefined)) {
    throw new UsageError("--client-cert and --client-key go together; give both or neither");
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw new UsageError("--cert and --key go together; give both or neither");
  }
  const traceRaw = values.trace;
  let traceMode: LogSpec["trace"] | undefined;
  if (typeof traceRaw === "string") {
    traceMode = TRACE_ALIASES[traceRaw];
    if (traceMode === undefined) {
      throw new UsageError(`--trace must be all, application or minio, got '${traceRaw}'`);
    }
  }
  const statusCodes = ((values["status-code"] as readonly string[] | undefined) ?? []).map((c) => {
    if (!/^[1-5]\d\d$/.test(c)) {
      throw new UsageError(`--status-code must be a status 100..599, got '${c}'`);
    }
    return Number(c);
  });
  const expanded = sites.map((arg, i) => {
    try {
      return expandSite(arg);
    } catch (e) {
      throw new UsageError(`SITE${i + 1} '${arg}': ${(e as Error).message}`);
    }
  });
  let readPath: string | undefined;
  if (typeof readRaw === "string") {
    readPath = readRaw.startsWith("/") ? readRaw : `/${readRaw}`;
    if (sites.length < 2) {
      warnings.push(
        `--read-health-path applies to the last of two or more sites; with one site, sidekick checks ${path} ` +
          `(minio/sidekick would have checked ${readPath} instead)`,
      );
      readPath = undefined;
    }
  }
  let base;
  try {
    base = httpListener(str(values, "address"), expanded);
  } catch (e) {
    const msg = (e as Error).message;
    throw new UsageError(msg.startsWith("Cannot listen") ? `--address: ${msg}` : msg);
  }
  // As minio/sidekick: --log (console on) traces all requests unless --trace says otherwise.
  const trace = traceMode ??
    (values.log === true || values.errors === true || statusCodes.length > 0 ? "all" : "off");
  const config: SidecarConfig = {
    listeners: [{
      ...base,
      cluster: {
        ...base.cluster,
        policy,
        failbackDelayMs,
        dns: { perAddress: values["rr-dns-mode"] === true, ttlMs: dnsTtl },
        sites: base.cluster.sites.map((s, i) =>
          readPath !== undefined && i === base.cluster.sites.length - 1
            ? { ...s, healthPath: readPath }
            : s
        ),
        health: {
          ...DEFAULT_HEALTH,
          active: intervalMs > 0,
          path,
          port: healthPort,
          intervalMs,
          timeoutMs,
          statuses: parseStatusList(str(values, "health-status")),
          optimistic: values["health-optimistic"] === true,
        },
      },
      timeouts: DEFAULT_HTTP_TIMEOUTS,
      limits: DEFAULT_HTTP_LIMITS,
      upstreamTls: {
        caFile: values.cacert as string | undefined,
        certFile: values["client-cert"] as string | undefined,
        keyFile: values["client-key"] as string | undefined,
        insecure: values.insecure === true,
      },
      ...(typeof values.cert === "string" && typeof values.key === "string"
        ? {
          tls: {
            certFile: values.cert,
            keyFile: values.key,
            ...(typeof values["key-password"] === "string"
              ? { keyPassword: values["key-password"] }
              : {}),
          },
        }
        : {}),
    }],
    log: {
      ...DEFAULT_LOG,
      health: values.log === true || !values.quiet,
      trace,
      errorsOnly: values.errors === true,
      statusCodes,
      quiet: values.quiet === true,
      json: values.json === true,
      debug: values.debug === true,
    },
  };
  return { config, warnings };
}

/**
 * The `--help` text, generated from {@linkcode FLAGS}.
 *
 * @returns The help text.
 *
 * @example Usage
 * ```ts
 * import { helpText } from "./flags.ts";
 * helpText().includes("--health-path, -p PATH"); // true
 * ```
 */
export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const left = `  --${f.name}${f.short ? `, -${f.short}` : ""}${f.value ? ` ${f.value}` : ""}`;
    const def = f.default !== undefined && f.type !== "boolean" ? ` (default "${f.default}")` : "";
    const pending = f.pending ? " [not available yet]" : "";
    return `${left.padEnd(34)}${f.help}${def}${pending}`;
  });
  return `sidekick - high-performance sidecar load balancer

USAGE:
  sidekick [FLAGS] SITE1 [SITE2..]

FLAGS:
${rows.join("\n")}

ENVIRONMENT:
  Every flag can also come from SIDEKICK_<FLAG> (e.g. SIDEKICK_HEALTH_PATH=/ready,
  SIDEKICK_LOG=true), and the sites from SIDEKICK_SITES (space separated). Flags win.

SITE:
  Each SITE is a comma separated list of pools of that site: http://172.17.0.{2...5},http://172.17.0.{6...9}.
  Ranges {START...END} (decimal or hex, zero padded like {01...16}) and lists {1,3,7} expand per pool.
  If all servers in SITE1 are down, then the traffic is routed to the next site - SITE2.

DURATIONS:
  Go syntax (5s, 1m30s, 250ms) or plain seconds (5).
`;
}

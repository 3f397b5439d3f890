/**
 * The minio/sidekick command line, flag for flag: merging flags with the
 * `SIDEKICK_*` environment and the pure
 * translation of parsed values into a {@linkcode SidecarConfig}.
 *
 * @module
 */

import { adminConflict, parseAdminAddress } from "../admin.ts";
import { parseDuration } from "../duration.ts";
import { parseRate, perClientLimits } from "../rate.ts";
import { envName, FLAGS } from "./flag_table.ts";
import { expandSite } from "../expand.ts";
import {
  type AdminSpec,
  type HashKey,
  type LogSpec,
  type PerClientLimits,
  POLICY_NAMES,
  type PolicyName,
  type SidecarConfig,
} from "../schema.ts";
import { listChoices } from "../problem.ts";
import {
  DEFAULT_HASH,
  DEFAULT_HEALTH,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  DEFAULT_LOG,
} from "../defaults.ts";
import { httpListener, parseHashKey, parseStatusList } from "../builders.ts";
import { healthFromFlags } from "./health_flags.ts";

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

function count(values: FlagValues, name: string, min: number): number | undefined {
  const v = values[name];
  if (typeof v !== "string") return undefined;
  const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min)) {
    throw new UsageError(`--${name} must be a whole number, ${min} or more, got '${v}'`);
  }
  return n;
}

/**
 * `--per-client-connections`, `--per-client-rate` and `--per-client-burst`
 * as a listener's `perClient`, or nothing when they are off.
 *
 * @param values The flags.
 * @returns `{ perClient }` when a limit is set, else `{}`.
 * @throws {UsageError} For a bad number or rate, naming the flag.
 *
 * @example Usage
 * ```ts
 * import { perClientFromFlags } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(perClientFromFlags({ "per-client-rate": "100/s" }), {
 *   perClient: { connections: 0, ratePerSec: 100, burst: 100 },
 * });
 * ```
 */
export function perClientFromFlags(values: FlagValues): { perClient?: PerClientLimits } {
  let rate = 0;
  try {
    rate = parseRate(str(values, "per-client-rate"));
  } catch (e) {
    throw new UsageError(`--per-client-rate: ${(e as Error).message}`);
  }
  const burst = count(values, "per-client-burst", 1);
  if (burst !== undefined && rate === 0) {
    throw new UsageError("--per-client-burst is the bucket of --per-client-rate; give that too");
  }
  const perClient = perClientLimits(count(values, "per-client-connections", 0) ?? 0, rate, burst);
  return perClient === undefined ? {} : { perClient };
}

/** `--health-status`: a status list, or a usage error naming the flag. */
function statusesFlag(text: string): [number, number][] {
  try {
    return parseStatusList(text);
  } catch (e) {
    throw new UsageError(`--health-status: ${(e as Error).message}`);
  }
}

/** The resilience flags, or a usage error naming the flag. */
function resilienceFlags(values: FlagValues): ReturnType<typeof healthFromFlags> {
  try {
    return healthFromFlags(values);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
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
  p2c: "p2c",
  hash: "hash",
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
      `--host-balance must be ${listChoices(POLICY_NAMES)}, got '${str(values, "host-balance")}'`,
    );
  }
  let hashKey: HashKey;
  try {
    hashKey = parseHashKey(str(values, "hash-key"));
  } catch (e) {
    throw new UsageError(`--hash-key: ${(e as Error).message}`);
  }
  if (values["hash-key"] !== undefined && policy !== "hash") {
    warnings.push(`--hash-key applies to --host-balance hash only; it is ignored with ${policy}`);
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
        ...(policy === "hash" ? { hash: { ...DEFAULT_HASH, key: hashKey } } : {}),
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
          statuses: statusesFlag(str(values, "health-status")),
          optimistic: values["health-optimistic"] === true,
          ...resilienceFlags(values),
        },
      },
      timeouts: {
        ...DEFAULT_HTTP_TIMEOUTS,
        responseHeaderMs: duration(values, "response-header-timeout"),
        requestBodyMs: duration(values, "request-body-timeout"),
        responseWriteMs: duration(values, "response-write-timeout"),
        requestMs: duration(values, "request-timeout"),
      },
      limits: DEFAULT_HTTP_LIMITS,
      ...(values["hide-metrics"] === true ? { metrics: false } : {}),
      ...(values.h2c === true ? { h2c: true } : {}),
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
      ...(values["no-proxy-headers"] === true ? { proxyHeaders: false } : {}),
      ...perClientFromFlags(values),
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
    ...adminFromFlag(values),
  };
  const clash = config.admin === undefined ? null : adminConflict(config.admin, config.listeners);
  if (clash !== null) throw new UsageError(`--admin: ${clash}`);
  return { config, warnings };
}

/**
 * `--admin HOST:PORT` as the config's `admin`, or nothing.
 *
 * @param values The flags.
 * @returns `{ admin }` when the flag was given, else `{}`.
 * @throws {UsageError} For an address without a port or with a bad one.
 *
 * @example Usage
 * ```ts
 * import { adminFromFlag } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(adminFromFlag({ admin: "127.0.0.1:9090" }), { admin: { hostname: "127.0.0.1", port: 9090 } });
 * ```
 */
export function adminFromFlag(values: FlagValues): { admin?: AdminSpec } {
  if (typeof values.admin !== "string") return {};
  try {
    return { admin: parseAdminAddress(values.admin) };
  } catch (e) {
    throw new UsageError(`--admin: ${(e as Error).message}; use HOST:PORT, like 127.0.0.1:9090`);
  }
}

export { envName, FLAGS, type FlagSpec, helpText } from "./flag_table.ts";

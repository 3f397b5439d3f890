/**
 * The table of command-line flags: minio/sidekick's, with their long and
 * short names and defaults, then sidekick's own; the environment variable of
 * each; and the `--help` text generated from the table.
 *
 * @module
 */

import { commandsSection } from "./command_help.ts";

/**
 * One command-line flag.
 *
 * @example Usage
 * ```ts
 * import type { FlagSpec } from "./flag_table.ts";
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
    help: "endpoint choice inside a site: least, random, round-robin, p2c (two random choices, " +
      "the faster by peak-EWMA latency x load) or hash (sticky by --hash-key)",
  },
  {
    name: "hash-key",
    type: "string",
    default: "client-ip",
    value: "KEY",
    help: "what --host-balance hash hashes: client-ip, header:NAME or cookie:NAME; " +
      "the least loaded endpoint serves when the key's endpoint is out",
  },
  {
    name: "log",
    short: "l",
    type: "boolean",
    help: "console output like minio/sidekick: trace every request (as --trace all) and " +
      "print LOG lines when an endpoint goes up or down (those are on by default)",
  },
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
  {
    name: "quiet",
    short: "q",
    type: "boolean",
    help: "print only errors: no LOG lines, traces or startup messages",
  },
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
    name: "health-rise",
    type: "string",
    default: "1",
    value: "N",
    help: "consecutive passing checks that bring an endpoint up (every probe kind)",
  },
  {
    name: "health-fall",
    type: "string",
    default: "1",
    value: "N",
    help: "consecutive failing checks that take an endpoint down",
  },
  {
    name: "slow-start",
    type: "string",
    default: "0",
    value: "DUR",
    help: "a recovered endpoint's share ramps up from 10% over DUR (0 = off; e.g. 30s for MinIO)",
  },
  {
    name: "panic-threshold",
    type: "string",
    default: "0",
    value: "PCT",
    help: "below PCT% healthy in a site (and no later site up), use all its endpoints (0 = off)",
  },
  {
    name: "passive-failures",
    type: "string",
    default: "3",
    value: "N",
    help: "failures in a row after connecting (resets, cut bodies) that take an endpoint out",
  },
  {
    name: "passive-window",
    type: "string",
    default: "10s",
    value: "DUR",
    help: "... when they fall within DUR of the first",
  },
  {
    name: "outlier-ejection",
    type: "boolean",
    help: "eject endpoints after 5 5xx or gateway errors in a row (30s x ejections, max 5m)",
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
  {
    name: "no-proxy-headers",
    type: "boolean",
    help: "do not send Server: SideKick (own answers) and X-Proxy: true (proxied responses)",
  },
  {
    name: "hide-metrics",
    type: "boolean",
    help: "do not answer /.prometheus/metrics here (it is proxied like any path)",
  },
  {
    name: "h2c",
    type: "boolean",
    help: "accept HTTP/2 cleartext (prior knowledge) on a plain listener; TLS offers h2 always",
  },
  {
    name: "response-header-timeout",
    type: "string",
    default: "60s",
    value: "DUR",
    help: "504 when a backend sends no response head within DUR (0 = wait forever)",
  },
  {
    name: "request-body-timeout",
    type: "string",
    default: "60s",
    value: "DUR",
    help: "close a client whose request body pauses for DUR (0 = never)",
  },
  {
    name: "response-write-timeout",
    type: "string",
    default: "60s",
    value: "DUR",
    help: "close a client that reads none of its response for DUR (0 = never)",
  },
  {
    name: "request-timeout",
    type: "string",
    default: "0",
    value: "DUR",
    help: "whole-request deadline, body and response included (0 = none)",
  },
  {
    name: "per-client-connections",
    type: "string",
    default: "0",
    value: "N",
    help: "most connections one client IP may hold; more get 429 (0 = unlimited)",
  },
  {
    name: "per-client-rate",
    type: "string",
    default: "0",
    value: "RATE",
    help: "requests one client IP may send, like 100/s or 6000/m; more get 429 (0 = unlimited)",
  },
  {
    name: "per-client-burst",
    type: "string",
    value: "N",
    help: "requests a quiet client may send at once (default: one second of --per-client-rate)",
  },
  {
    name: "admin",
    type: "string",
    value: "HOST:PORT",
    help:
      "serve a status page, /status JSON, /metrics, /healthz and /configz here (off by default)",
  },
  {
    name: "check",
    type: "boolean",
    help:
      "validate --config (default sidekick.yaml), print it normalised and exit (iaido's --check)",
  },
  {
    name: "reload-period",
    type: "string",
    default: "1s",
    value: "DUR",
    help:
      "how often --config is checked for changes (iaido's --reloadPeriod); 0 = file events only",
  },
  {
    name: "health-socket",
    type: "string",
    value: "PATH",
    help:
      "serve SideLB's UDS health check here (HEALTHY while an endpoint is up); see --health-check-uds",
  },
  { name: "help", short: "h", type: "boolean", help: "show help" },
  { name: "version", short: "v", type: "boolean", help: "print the version" },
];

/**
 * The environment variable of a flag: `SIDEKICK_` and the name in upper snake case.
 *
 * @param name A flag's long name.
 * @returns The variable's name.
 *
 * @example Usage
 * ```ts
 * import { envName } from "./flag_table.ts";
 * envName("health-path"); // "SIDEKICK_HEALTH_PATH"
 * ```
 */
export function envName(name: string): string {
  return `SIDEKICK_${name.toUpperCase().replaceAll("-", "_")}`;
}

/**
 * The `--help` text, generated from {@linkcode FLAGS}.
 *
 * @returns The help text.
 *
 * @example Usage
 * ```ts
 * import { helpText } from "./flag_table.ts";
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
  sidekick COMMAND [ARGS]

${commandsSection()}

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
  Go syntax (5s, 1m30s, 250ms) or plain seconds (5). In a config file a duration
  always has a unit (5s): iaido's files take Go's, where a bare 5 meant nanoseconds.
`;
}

/**
 * Every default of the configuration, in one place: what a setting is when a
 * flag, a file or a builder leaves it out. Adding a setting means a field in
 * `schema.ts`, its default here, and the readers that fill it.
 *
 * @module
 */

import type {
  HashSpec,
  HealthSpec,
  HttpLimits,
  HttpTimeouts,
  LogSpec,
  OutlierSpec,
  PassiveSpec,
} from "./schema.ts";

/** Log defaults: health transitions only. */
export const DEFAULT_LOG: LogSpec = {
  health: true,
  trace: "off",
  errorsOnly: false,
  statusCodes: [],
  quiet: false,
  json: false,
  debug: false,
};

/** Health defaults: those of minio/sidekick (`/`, 5 s, 10 s, one probe flips). */
export const DEFAULT_HEALTH: HealthSpec = {
  active: true,
  path: "/",
  port: 0,
  intervalMs: 5_000,
  timeoutMs: 10_000,
  rise: 1,
  fall: 1,
  ejectMs: 5_000,
};

/** Timeout defaults. */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  headerReadMs: 10_000,
  idleMs: 60_000,
  connectMs: 5_000,
  responseHeaderMs: 60_000,
  requestBodyMs: 60_000,
  responseWriteMs: 60_000,
  requestMs: 0,
};

/** Limit defaults. */
export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxHeadBytes: 64 * 1024,
  maxHeaders: 100,
  maxTargetBytes: 8 * 1024,
  maxConnections: 0,
  maxAttempts: 3,
  poolIdlePerEndpoint: 64,
  poolIdleMs: 30_000,
};

/** HTTP/2 on an HTTP listener by default: offered to TLS clients (ALPN `h2`), not cleartext (h2c). */
export const DEFAULT_HTTP2 = { http2: true, h2c: false } as const;

/** The DNS default: one endpoint per hostname, resolved again every 10 minutes (minio's `--dns-ttl`). */
export const DEFAULT_DNS = { perAddress: false, ttlMs: 600_000 } as const;

/** The grace period default, in ms (iaido's too). */
export const DEFAULT_GRACE_PERIOD_MS = 5_000;

/** The `hash` policy's default: the client IP, and the least loaded endpoint when that one is out. */
export const DEFAULT_HASH: HashSpec = { key: "client-ip", fallback: "least" };

/** Passive health's default threshold: 3 failures in a row within 10 s take an endpoint out. */
export const DEFAULT_PASSIVE: PassiveSpec = { failures: 3, windowMs: 10_000 };

/** Outlier ejection's settings when it is turned on without details (Envoy's defaults). */
export const DEFAULT_OUTLIER: OutlierSpec = {
  consecutive5xx: 5,
  consecutiveGatewayErrors: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectedPercent: 10,
};

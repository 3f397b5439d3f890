/**
 * The admin listener: a small HTTP server apart from the traffic listeners
 * (never on their ports), for people and scrapers. It is not on the hot
 * path, so it uses `Deno.serve`.
 *
 * | path | answer |
 * | --- | --- |
 * | `GET /` | the status page (HTML, inline CSS and JS, polls `/status`) |
 * | `GET /status` | {@linkcode StatusDocument} as JSON |
 * | `GET /metrics` | Prometheus text of every listener, the process and reloads |
 * | `GET /healthz` | `OK` while the process runs (iaido's too) |
 * | `GET /configz` | the normalised config as YAML, secrets redacted |
 * | `GET /statusz` | iaido's status YAML |
 *
 * @module
 */

import { formatConfig } from "../config/format.ts";
import type { AdminSpec, SidecarConfig } from "../config/schema.ts";
import type { SidecarStats } from "../sidecar.ts";
import { METRICS_CONTENT_TYPE } from "../observe/metrics.ts";
import { statusDocument } from "./status.ts";
import { STATUS_PAGE } from "./status_page.ts";
import { statuszText } from "./statusz.ts";

/** What a redacted secret reads as in `/configz`. */
export const REDACTED = "<redacted>";

/**
 * What the admin listener reads: a {@linkcode Sidecar} satisfies it.
 *
 * @example Usage
 * ```ts ignore
 * const source: AdminSource = sidecar;
 * ```
 */
export interface AdminSource {
  /** A snapshot of live state. */
  stats(): SidecarStats;
  /** The configuration in force. */
  readonly config: SidecarConfig;
  /** Prometheus text. */
  metrics(): string;
}

/**
 * A running admin listener.
 *
 * @example Usage
 * ```ts ignore
 * await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
 * console.log(admin.address.port);
 * ```
 */
export interface AdminServer extends AsyncDisposable {
  /** The bound address. */
  readonly address: Deno.NetAddr;
  /**
   * Stops accepting and closes every connection.
   *
   * @returns Resolves when it is closed.
   */
  close(): Promise<void>;
}

/**
 * The config with secrets (key passwords) replaced by {@linkcode REDACTED}.
 *
 * @param config The config.
 * @returns A copy that can be shown.
 *
 * @example Usage
 * ```ts
 * import { redactConfig, REDACTED } from "./admin_server.ts";
 * import { httpListener } from "../config/builders.ts";
 * import assert from "node:assert/strict";
 * const l = { ...httpListener("127.0.0.1:0", [["http://127.0.0.1:1"]]), tls: { certFile: "c", keyFile: "k", keyPassword: "s" } };
 * const out = redactConfig({ listeners: [l] });
 * assert.equal(out.listeners[0].kind === "http" && out.listeners[0].tls?.keyPassword, REDACTED);
 * ```
 */
export function redactConfig(config: SidecarConfig): SidecarConfig {
  return {
    ...config,
    listeners: config.listeners.map((l) =>
      l.kind === "http" && l.tls?.keyPassword !== undefined
        ? { ...l, tls: { ...l.tls, keyPassword: REDACTED } }
        : l
    ),
  };
}

function text(body: string, contentType: string, status = 200): Response {
  return new Response(body, {
    status,
    headers: { "content-type": contentType, "cache-control": "no-store" },
  });
}

const PATHS = "/, /status, /metrics, /healthz, /configz, /statusz";

/**
 * Answers one admin request (exported for tests and embedding).
 *
 * @param req The request.
 * @param source The sidecar.
 * @param now The current time (ms since the epoch).
 * @returns The response.
 *
 * @example Usage
 * ```ts
 * import { adminResponse } from "./admin_server.ts";
 * import assert from "node:assert/strict";
 * const source = { stats: () => ({ state: "running" as const, listeners: [] }), config: { listeners: [] }, metrics: () => "" };
 * const res = adminResponse(new Request("http://x/healthz"), source, Date.now());
 * assert.equal(await res.text(), "OK\n");
 * ```
 */
export function adminResponse(req: Request, source: AdminSource, now: number): Response {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("only GET and HEAD\n", {
      status: 405,
      headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
    });
  }
  switch (new URL(req.url).pathname) {
    case "/":
      return text(STATUS_PAGE, "text/html; charset=utf-8");
    case "/status":
      return text(
        JSON.stringify(statusDocument(source.stats(), source.config, now), null, 2) + "\n",
        "application/json",
      );
    case "/metrics":
      return text(source.metrics(), METRICS_CONTENT_TYPE);
    case "/healthz":
      return text("OK\n", "text/plain; charset=utf-8");
    case "/configz":
      return text(formatConfig(redactConfig(source.config)), "text/plain; charset=utf-8");
    case "/statusz":
      return text(
        statuszText(statusDocument(source.stats(), source.config, now), source.config),
        "text/plain; charset=utf-8",
      );
    default:
      return text(`not found; the admin paths are ${PATHS}\n`, "text/plain; charset=utf-8", 404);
  }
}

/**
 * Starts the admin listener.
 *
 * @param spec Where to listen.
 * @param source The sidecar to show.
 * @returns The running server.
 * @throws {Deno.errors.AddrInUse} When the address is taken (and other bind errors).
 *
 * @example Usage
 * ```ts ignore
 * import { createSidecar } from "../sidecar.ts";
 * const sidecar = createSidecar(config);
 * await sidecar.start();
 * await using admin = serveAdmin({ hostname: "127.0.0.1", port: 9090 }, sidecar);
 * ```
 */
export function serveAdmin(spec: AdminSpec, source: AdminSource): AdminServer {
  const server = Deno.serve({
    hostname: spec.hostname,
    port: spec.port,
    onListen: () => {},
    onError: (e) => text(`admin error: ${(e as Error).message}\n`, "text/plain", 500),
  }, (req) => adminResponse(req, source, Date.now()));
  let closed: Promise<void> | null = null;
  const close = () => closed ??= server.shutdown();
  return {
    address: server.addr,
    close,
    [Symbol.asyncDispose]: close,
  };
}

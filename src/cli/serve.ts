/**
 * Serving from the command line: the sidecar, the operator's view, the admin
 * listener and SideLB's health socket, reloads from SIGHUP and the config
 * file, and the drain on SIGTERM.
 *
 * @module
 */

import type { AdminSpec, SidecarConfig } from "../config/schema.ts";
import { Reporter } from "../observe/output.ts";
import { type AdminServer, serveAdmin } from "../operator/admin_server.ts";
import { Operator } from "../operator/operator.ts";
import type { CertificatePair } from "../proxy/tls_listener.ts";
import { createSidecar } from "../sidecar.ts";
import { type HealthSocket, startHealthSocket } from "./health_socket.ts";
import type { ProcessSignals } from "./signals.ts";
import { watchConfigFile } from "./watch.ts";

/**
 * What {@linkcode serve} needs besides the config.
 *
 * @example Usage
 * ```ts ignore
 * const options: ServeOptions = { reload: null, file: undefined, certificate: undefined, signals, pollMs: undefined, reporter };
 * ```
 */
export interface ServeOptions {
  /** Loads the config again (SIGHUP, a changed file); null when there is nothing to reload. */
  readonly reload: (() => Promise<SidecarConfig>) | null;
  /** The config file watched for changes. */
  readonly file: string | undefined;
  /** A self-signed certificate (`--auto-tls-host`). */
  readonly certificate: CertificatePair | undefined;
  /** The process's signals, installed before any work. */
  readonly signals: ProcessSignals;
  /** How often the file is polled (`--reload-period`). */
  readonly pollMs: number | undefined;
  /** Where sidekick's own lines go. */
  readonly reporter: Reporter;
}

/**
 * Runs the sidecar until SIGTERM or SIGINT, then drains.
 *
 * @param config The configuration to serve.
 * @param options Reloading, signals and output.
 * @returns The exit code: 0 after a drain, 1 when it cannot start.
 *
 * @example Usage
 * ```ts ignore
 * const code = await serve(config, options);
 * ```
 */
export async function serve(config: SidecarConfig, options: ServeOptions): Promise<number> {
  const { reload, file, certificate } = options;
  let out = options.reporter;
  if ((config.log?.json === true && !out.json) || config.log?.quiet === true) {
    out = new Reporter({ json: out.json || config.log?.json === true, quiet: config.log?.quiet });
  }
  using operator = new Operator(config, { reporter: out });
  const sidecar = createSidecar(config, {
    certificate,
    onNotice: (m) => (m.startsWith("cannot") ? out.error(m) : out.info(m)),
    onHealthEvent: (e) => operator.health(e),
    onDnsError: (hostname, error) => operator.dnsError(hostname, error),
  });
  operator.summary(config);
  let current = config;
  let graceMs = config.gracePeriodMs ?? 5_000;
  // Reloads queue behind startup; the watcher starts first so no change is missed.
  const { promise: started, resolve: startedOk } = Promise.withResolvers<void>();
  let reloading: Promise<void> = started;
  const doReload = (why: string) => {
    if (reload === null) return;
    reloading = reloading.then(async () => {
      let loaded = false;
      try {
        const next = await reload();
        loaded = true;
        await sidecar.reload(next);
        graceMs = next.gracePeriodMs ?? 5_000;
        operator.reloaded(why, current, next);
        if (!sameAdmin(next.admin, config.admin)) {
          out.warn("a new admin address takes effect on restart", { event: "admin_unchanged" });
        }
        current = next;
      } catch (e) {
        if (!loaded) sidecar.noteReloadFailure(e); // the sidecar counts its own failures
        out.error(
          `reload failed (${why}), still serving the previous configuration:\n${
            (e as Error).message
          }`,
          { event: "reload_failed", trigger: why },
        );
      }
    });
  };
  const ac = new AbortController();
  const watching = file === undefined
    ? Promise.resolve()
    : watchConfigFile(file, () => doReload(`${file} changed`), {
      signal: ac.signal,
      pollMs: options.pollMs,
    });
  const signals = options.signals;
  const fail = async (message: string) => {
    out.error(message);
    signals.onReload = null;
    ac.abort();
    await watching;
    await sidecar.close(0);
    return 1;
  };
  // A SIGHUP from now on queues a reload behind the start; SIGTERM stops the start.
  signals.onReload = () => doReload("SIGHUP");
  const starting = sidecar.start().then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const first = await Promise.race([starting, signals.stopped.then(() => null)]);
  if (first === null) {
    out.info("stopped while starting", { event: "stopped" });
    signals.onReload = null;
    ac.abort();
    await Promise.all([watching, sidecar.close(0), starting]);
    return 0;
  }
  if (!first.ok) return await fail(`cannot start: ${(first.error as Error).message}`);
  let admin: AdminServer | null = null;
  if (config.admin !== undefined) {
    try {
      admin = serveAdmin(config.admin, sidecar);
    } catch (e) {
      const where = `${config.admin.hostname}:${config.admin.port}`;
      return await fail(`cannot start the admin listener on ${where}: ${(e as Error).message}`);
    }
  }
  let healthSocket: HealthSocket | null = null;
  if (config.healthSocket !== undefined) {
    healthSocket = startHealthSocket(config.healthSocket, sidecar);
  }
  startedOk();
  operator.started(sidecar, admin?.address);
  await signals.stopped;
  operator.close(); // the screen comes back before anything else is written
  out.info(`draining for up to ${graceMs} ms`, { event: "draining", graceMs });
  signals.onReload = null;
  ac.abort();
  await watching;
  await reloading;
  await Promise.all([sidecar.close(graceMs), admin?.close(), healthSocket?.close()]);
  return 0;
}

function sameAdmin(a: AdminSpec | undefined, b: AdminSpec | undefined): boolean {
  return a?.hostname === b?.hostname && a?.port === b?.port;
}

/** Name servers from /etc/resolv.conf when it may be read (DNS discovery needs IP:53). */

/**
 * What the operator sees of a running sidecar, in one place for the CLI:
 * the startup summary, `LOG` lines for health transitions, operator events
 * and outage warnings (through a {@linkcode Monitor}), reload changes, and
 * on a terminal the live table. With `--json` every line is JSON.
 *
 * @module
 */

import type { LogSpec, SidecarConfig } from "../config/schema.ts";
import type { HealthEvent } from "../health/checker.ts";
import type { Sidecar } from "../sidecar.ts";
import { describeReload, dueAgain } from "./events.ts";
import { formatHealthEvent } from "../observe/log.ts";
import { Monitor } from "./monitor.ts";
import { Reporter } from "../observe/output.ts";
import { summarize } from "./summary.ts";
import { LiveTable } from "./table.ts";

/**
 * Options of {@linkcode Operator}.
 *
 * @example Usage
 * ```ts
 * import type { OperatorOptions } from "./operator.ts";
 * const options: OperatorOptions = { table: false };
 * ```
 */
export interface OperatorOptions {
  /** Where sidekick's own lines go. @default a text Reporter on stderr */
  readonly reporter?: Reporter;
  /**
   * Show the live table (stdout is a terminal, not quiet, not JSON, no
   * traces). @default whether stdout is a terminal and the log spec allows it
   */
  readonly table?: boolean;
  /** Outage warnings repeat this often while they last (ms). @default 30000 */
  readonly repeatMs?: number;
}

/**
 * Whether the live table should show: stdout is a terminal, and neither
 * `--quiet`, `--json` nor a trace (which writes lines to stdout) is on.
 *
 * @param log The log settings.
 * @param isTerminal Whether stdout is a terminal.
 * @returns True to show the table.
 *
 * @example Usage
 * ```ts
 * import { wantsTable } from "./operator.ts";
 * import { DEFAULT_LOG } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * assert.equal(wantsTable(DEFAULT_LOG, true), true);
 * assert.equal(wantsTable({ ...DEFAULT_LOG, json: true }, true), false);
 * ```
 */
export function wantsTable(log: LogSpec | undefined, isTerminal: boolean): boolean {
  return isTerminal && log?.quiet !== true && log?.json !== true &&
    (log?.trace ?? "off") === "off";
}

/**
 * The CLI's view of one sidecar.
 *
 * @example Usage
 * ```ts ignore
 * import { Operator } from "./operator.ts";
 * using operator = new Operator(config);
 * const sidecar = createSidecar(config, { onHealthEvent: (e) => operator.health(e) });
 * operator.summary(config);
 * await sidecar.start();
 * operator.started(sidecar);
 * ```
 */
export class Operator implements Disposable {
  /** sidekick's own lines. */
  readonly out: Reporter;
  readonly #log: LogSpec | undefined;
  readonly #options: OperatorOptions;
  #table: LiveTable | null = null;
  #monitor: Monitor | null = null;
  readonly #dnsWarned = new Map<string, number>();

  /**
   * @param config The configuration (its `log` settings decide what shows).
   * @param options The reporter, and whether to show the table.
   */
  constructor(config: SidecarConfig, options: OperatorOptions = {}) {
    this.#log = config.log;
    this.#options = options;
    this.out = options.reporter ?? new Reporter({ json: config.log?.json ?? false });
  }

  get #quiet(): boolean {
    return this.#log?.quiet === true;
  }

  /**
   * Prints what was understood: each listener, its sites or tiers and endpoints.
   *
   * @param config The configuration about to run.
   */
  summary(config: SidecarConfig): void {
    if (this.#quiet) return;
    for (const line of summarize(config)) this.out.info(line.text, line.fields);
  }

  /**
   * Takes a health transition (the sidecar's `onHealthEvent`): a `LOG` line
   * unless logs are off, and a check for failover at once. The first up of
   * an endpoint is logged without a downtime, as minio/sidekick logs it.
   *
   * @param event The transition.
   */
  health(event: HealthEvent): void {
    const log = this.#log;
    if (log === undefined || (log.health && !log.quiet)) {
      const line = formatHealthEvent(event, this.out.json, Date.now());
      if (this.#table !== null) this.#table.event(line);
      else console.log(line); // stdout, with the traces, as minio/sidekick prints them
    }
    this.#monitor?.check();
  }

  /**
   * Takes a failed or empty DNS lookup (the sidecar's `onDnsError`): a
   * warning, at most once per repeat period per name.
   *
   * @param hostname The name looked up.
   * @param error What failed.
   */
  dnsError(hostname: string, error: unknown): void {
    if (this.#quiet) return;
    const repeatMs = this.#options.repeatMs ?? 30_000;
    if (!dueAgain(this.#dnsWarned, hostname, { now: Date.now(), repeatMs })) return;
    const why = error instanceof Error ? error.message : String(error);
    this.out.warn(`cannot resolve ${hostname}: ${why} (the last good answer stays in use)`, {
      event: "dns_error",
      hostname,
      error: why,
    });
  }

  /**
   * The sidecar is serving: prints where, then starts the event monitor and,
   * on a terminal, the live table.
   *
   * @param sidecar The started sidecar.
   * @param admin Where the admin listener is bound, if there is one.
   */
  started(sidecar: Sidecar, admin?: Deno.NetAddr): void {
    const listeners = sidecar.stats().listeners;
    sidecar.addresses.forEach((a, i) => {
      const address = `${a.hostname}:${a.port}`;
      if (this.out.json) {
        this.out.info(`listening on ${address}`, {
          event: "listening",
          listener: listeners[i]?.name,
          address,
        });
      } else if (!this.#quiet) console.error(`sidekick listening on ${address}`);
    });
    if (admin !== undefined) {
      const host = admin.hostname.includes(":") ? `[${admin.hostname}]` : admin.hostname;
      const url = `http://${host}:${admin.port}/`;
      if (this.out.json) this.out.info(`admin on ${url}`, { event: "admin", url });
      else if (!this.#quiet) {
        console.error(`sidekick admin on ${url} (status page, /status, /metrics)`);
      }
    }
    if (this.#quiet) return;
    this.#monitor = new Monitor({
      stats: () => sidecar.stats(),
      report: (e) => this.out.line(e.level, e.message, e.fields),
      repeatMs: this.#options.repeatMs,
    });
    if (this.#options.table ?? wantsTable(this.#log, Deno.stdout.isTerminal())) {
      const table = this.#table = new LiveTable({ stats: () => sidecar.stats() });
      this.out.divert((text) => table.event(text));
      table.start();
    }
    this.#monitor.start();
  }

  /**
   * A reload succeeded: one line for it and one event per listener it changed.
   *
   * @param why What triggered it (SIGHUP, a file change).
   * @param before The configuration that was in force.
   * @param after The configuration in force now.
   */
  reloaded(why: string, before: SidecarConfig, after: SidecarConfig): void {
    this.out.info(`reloaded (${why})`, { event: "reloaded", trigger: why });
    if (this.#quiet) return;
    for (const e of describeReload(before, after)) this.out.line(e.level, e.message, e.fields);
  }

  /** Stops the monitor and the table, and gives the screen back. Idempotent. */
  close(): void {
    this.#monitor?.close();
    this.#monitor = null;
    if (this.#table !== null) {
      this.out.divert(null);
      this.#table.close();
      this.#table = null;
    }
  }

  /** Same as {@linkcode Operator.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

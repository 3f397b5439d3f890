/**
 * `deno task simulate`: the same bounded load through an in-process sidecar
 * under each policy and option (bench/sim/scenarios.ts), in front of six
 * loopback backends that misbehave on one timeline (bench/sim/backends.ts):
 * fast, slow, flapping, dead and "ready too early". Prints a markdown table of
 * requests, latency, errors and each backend's share of reads.
 *
 *   deno task simulate [--duration 10s] [--workers 8] [--only TEXT]
 *
 * Needs only `--allow-net=127.0.0.1`.
 *
 * @module
 */

import { createSidecar, httpListener, parseDuration, type SidecarConfig } from "../mod.ts";
import {
  BACKEND_NAMES,
  DEFAULT_TIMELINE,
  type SimBackends,
  type SimTimeline,
  startBackends,
} from "./sim/backends.ts";
import { BASE_HEALTH, type Scenario, SCENARIOS } from "./sim/scenarios.ts";
import { formatTable, quantile, type SimRow } from "./sim/table.ts";

export { formatTable, SCENARIOS };
export type { Scenario, SimRow };

/** How hard and how long each scenario is loaded. */
export interface SimOptions {
  /** Concurrent clients, each sending one request after another. */
  readonly workers: number;
  /** How long the load lasts per scenario, in ms. */
  readonly durationMs: number;
  /** When each backend misbehaves. @default DEFAULT_TIMELINE */
  readonly timeline?: SimTimeline;
}

/** Most requests one worker sends in one scenario (a bound besides the duration). */
const MAX_REQUESTS_PER_WORKER = 200_000;
/** Longest wait for the endpoints to come up before the load starts. */
const SETTLE_MS = 5_000;
/** The proxy answers 504 when a backend has not answered in this long. */
const RESPONSE_HEADER_MS = 2_000;

function configFor(scenario: Scenario, backends: SimBackends): SidecarConfig {
  const base = httpListener("127.0.0.1:0", [backends.urls]);
  const [site] = base.cluster.sites;
  const endpoints = site.endpoints.map((e, i) => ({
    ...e,
    ...scenario.endpoints?.[BACKEND_NAMES[i]],
  }));
  return {
    listeners: [{
      ...base,
      name: scenario.name,
      timeouts: { ...base.timeouts, responseHeaderMs: RESPONSE_HEADER_MS },
      cluster: {
        ...base.cluster,
        ...scenario.cluster,
        policy: scenario.policy,
        health: { ...base.cluster.health, ...BASE_HEALTH, ...scenario.health },
        sites: [{ ...site, ...scenario.site, endpoints }],
      },
    }],
  };
}

/** Waits (bounded) until every live backend is up, so a rise threshold does not cost the run. */
async function settle(sidecar: ReturnType<typeof createSidecar>, live: number): Promise<void> {
  const until = performance.now() + SETTLE_MS;
  for (let i = 0; i < SETTLE_MS / 50 && performance.now() < until; i++) {
    const [listener] = sidecar.stats().listeners;
    if (listener.endpoints.filter((e) => e.status === "up").length >= live) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface LoadResult {
  readonly latencies: number[];
  readonly statuses: Map<number, number>;
  transport: number;
}

/** Runs `workers` clients against `url` for `durationMs`; every request is bounded by a guard. */
async function load(url: string, options: SimOptions): Promise<LoadResult> {
  const result: LoadResult = { latencies: [], statuses: new Map(), transport: 0 };
  const client = Deno.createHttpClient({});
  const abort = new AbortController();
  const end = performance.now() + options.durationMs;
  const guard = setTimeout(() => abort.abort(), options.durationMs + RESPONSE_HEADER_MS * 2);
  const worker = async () => {
    for (let i = 0; i < MAX_REQUESTS_PER_WORKER && performance.now() < end; i++) {
      const started = performance.now();
      try {
        const res = await fetch(url, { client, signal: abort.signal });
        await res.arrayBuffer();
        if (res.status < 200 || res.status > 299) {
          result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
        }
      } catch {
        result.transport++;
      }
      result.latencies.push(performance.now() - started);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.workers }, worker));
  } finally {
    clearTimeout(guard);
    client.close();
  }
  return result;
}

/**
 * Runs one scenario: fresh backends and a fresh sidecar, the load, the row.
 *
 * @param scenario The policy and options.
 * @param options The load.
 * @returns What the clients and backends saw.
 *
 * @example Usage
 * ```ts ignore
 * import { runScenario, SCENARIOS } from "./simulate.ts";
 * const row = await runScenario(SCENARIOS[0], { workers: 2, durationMs: 1000 });
 * ```
 */
export async function runScenario(scenario: Scenario, options: SimOptions): Promise<SimRow> {
  const backends = startBackends(options.timeline ?? DEFAULT_TIMELINE);
  const sidecar = createSidecar(configFor(scenario, backends), { firstProbeWaitMs: 2_000 });
  try {
    const [addr] = await sidecar.start();
    await settle(sidecar, BACKEND_NAMES.length - 1);
    backends.begin();
    const result = await load(`http://127.0.0.1:${addr.port}/object`, options);
    const sorted = result.latencies.sort((a, b) => a - b);
    return {
      scenario: scenario.name,
      requests: sorted.length,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      statuses: result.statuses,
      transport: result.transport,
      reads: backends.reads(),
    };
  } finally {
    await sidecar.close();
    await backends.close();
  }
}

/**
 * Runs scenarios one after another (never at once: they would share the CPU).
 *
 * @param scenarios The rows to run.
 * @param options The load of each.
 * @param onRow Hears of each row as it is done.
 * @returns One row per scenario, in order.
 *
 * @example Usage
 * ```ts ignore
 * import { formatTable, runSimulation, SCENARIOS } from "./simulate.ts";
 * console.log(formatTable(await runSimulation(SCENARIOS, { workers: 8, durationMs: 10_000 })));
 * ```
 */
export async function runSimulation(
  scenarios: readonly Scenario[],
  options: SimOptions,
  onRow?: (row: SimRow) => void,
): Promise<SimRow[]> {
  const rows: SimRow[] = [];
  for (const scenario of scenarios) {
    const row = await runScenario(scenario, options);
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const value = args[i].includes("=") ? args[i].slice(name.length + 1) : args[i + 1];
  if (value === undefined) throw new Error(`simulate: ${name} needs a value`);
  return value;
}

async function main(args: readonly string[]): Promise<void> {
  const known = new Set(["--duration", "--workers", "--only"]);
  const unknown = args.find((a) => a.startsWith("-") && !known.has(a.split("=")[0]));
  if (unknown !== undefined) {
    throw new Error(`simulate: unknown flag ${unknown} (use --duration, --workers, --only)`);
  }
  const durationMs = parseDuration(flag(args, "--duration") ?? "10s");
  const workers = Number(flag(args, "--workers") ?? "8");
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
    throw new Error("simulate: --workers must be a whole number from 1 to 256");
  }
  const only = flag(args, "--only");
  const scenarios = SCENARIOS.filter((s) => only === undefined || s.name.includes(only));
  if (scenarios.length === 0) throw new Error(`simulate: no scenario name contains '${only}'`);
  console.error(
    `simulate: ${scenarios.length} scenarios x ${workers} workers x ${durationMs} ms`,
  );
  const rows = await runSimulation(scenarios, { workers, durationMs }, (row) => {
    console.error(`simulate: ${row.scenario} done (${row.requests} requests)`);
  });
  console.log(formatTable(rows));
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(2);
  }
}

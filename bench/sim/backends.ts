/**
 * The simulation's backends: real HTTP servers on loopback, each with one
 * misbehaviour on a timeline that starts when the load starts, so every
 * scenario meets the same events at the same moments.
 *
 * - `fast-a`, `fast-b`: answer at once.
 * - `slow`: answers after {@linkcode SimTimeline.slowMs}.
 * - `flapping`: answers 503 to everything (probe too) for `flapDownMs` out of
 *   every `flapUpMs + flapDownMs`, starting after `flapUpMs`.
 * - `early`: "ready too early", a MinIO node after a crash: every
 *   `earlyPeriodMs` its process goes away (connections refused) for
 *   `earlyDownMs`, then comes back answering its probe 200 at once but reads
 *   404 for `earlyNotFoundMs`.
 * - `dead`: nothing listens (connections refused).
 *
 * @module
 */

/** The backends, in table order. */
export const BACKEND_NAMES = ["fast-a", "fast-b", "slow", "flapping", "early", "dead"] as const;

/** The name of one simulated backend. */
export type BackendName = typeof BACKEND_NAMES[number];

/** When and how long each backend misbehaves, in ms from the start of the load. */
export interface SimTimeline {
  /** Delay of every `slow` answer. */
  readonly slowMs: number;
  /** `flapping` is healthy this long, then fails... */
  readonly flapUpMs: number;
  /** ...this long, and again. */
  readonly flapDownMs: number;
  /** First restart of `early`. */
  readonly earlyFirstRestartMs: number;
  /** Time between restarts of `early`. */
  readonly earlyPeriodMs: number;
  /** How long `early` refuses connections during a restart. */
  readonly earlyDownMs: number;
  /** How long `early` answers reads 404 (its probe 200) after coming back. */
  readonly earlyNotFoundMs: number;
}

/** The timeline `deno task simulate` uses: 200 ms slow, 2 s flaps, a restart every 3 s. */
export const DEFAULT_TIMELINE: SimTimeline = {
  slowMs: 200,
  flapUpMs: 2_000,
  flapDownMs: 2_000,
  earlyFirstRestartMs: 1_500,
  earlyPeriodMs: 3_000,
  earlyDownMs: 300,
  earlyNotFoundMs: 1_000,
};

/** The path the backends answer as their health check. */
export const HEALTH_PATH = "/health";

/** A running set of simulated backends. */
export interface SimBackends {
  /** Each backend's URL, in {@linkcode BACKEND_NAMES} order. */
  readonly urls: readonly string[];
  /** Reads (not probes) each backend received since {@linkcode begin}. */
  reads(): Readonly<Record<BackendName, number>>;
  /** Starts the timelines and the read counts (the load starts now). */
  begin(): void;
  /** Stops the timelines and every server; waits for their in-flight answers. */
  close(): Promise<void>;
}

const OK_BODY = "ok\n";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

type Handler = (path: string) => Response | Promise<Response>;

/** One backend: a server on a fixed port that can go away and come back. */
class Backend {
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #port = 0;
  readCount = 0;
  counting = false;

  constructor(readonly handler: Handler) {}

  get port(): number {
    return this.#port;
  }

  listen(): void {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: this.#port, onListen() {} },
      (req) => {
        const path = new URL(req.url).pathname;
        if (path !== HEALTH_PATH && this.counting) this.readCount++;
        return this.handler(path);
      },
    );
    this.#port = this.#server.addr.port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    await server?.shutdown();
  }
}

/** A loopback port with nothing listening on it (refuses connections). */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/**
 * Starts the six backends on free loopback ports.
 *
 * @param timeline When each misbehaves.
 * @returns The running backends; `close()` them.
 *
 * @example Usage
 * ```ts ignore
 * import { DEFAULT_TIMELINE, startBackends } from "./backends.ts";
 * const backends = startBackends(DEFAULT_TIMELINE);
 * backends.begin();
 * await backends.close();
 * ```
 */
export function startBackends(timeline: SimTimeline): SimBackends {
  const stop = new AbortController();
  let t0 = -1;
  let earlyBackAt = -Infinity;
  const ok = () => new Response(OK_BODY);
  const fast = new Backend(ok);
  const fastB = new Backend(ok);
  const slow = new Backend(async () => {
    await sleep(timeline.slowMs, stop.signal);
    return ok();
  });
  const flapping = new Backend(() => {
    const cycle = timeline.flapUpMs + timeline.flapDownMs;
    const failing = t0 >= 0 && (performance.now() - t0) % cycle >= timeline.flapUpMs;
    return failing ? new Response("flapping\n", { status: 503 }) : ok();
  });
  const early = new Backend((path) => {
    const warming = performance.now() - earlyBackAt < timeline.earlyNotFoundMs;
    return warming && path !== HEALTH_PATH ? new Response("NoSuchKey\n", { status: 404 }) : ok();
  });
  const live = [fast, fastB, slow, flapping, early];
  for (const b of live) b.listen();
  const dead = deadPort();
  let restarts: Promise<void> = Promise.resolve();

  async function restartEarly(): Promise<void> {
    await sleep(timeline.earlyFirstRestartMs, stop.signal);
    for (let i = 0; i < 10_000 && !stop.signal.aborted; i++) {
      await early.stop();
      await sleep(timeline.earlyDownMs, stop.signal);
      if (stop.signal.aborted) return;
      earlyBackAt = performance.now();
      early.listen();
      await sleep(timeline.earlyPeriodMs - timeline.earlyDownMs, stop.signal);
    }
  }

  return {
    urls: [...live.map((b) => b.port), dead].map((p) => `http://127.0.0.1:${p}`),
    reads() {
      const [a, b, s, f, e] = live.map((x) => x.readCount);
      return { "fast-a": a, "fast-b": b, slow: s, flapping: f, early: e, dead: 0 };
    },
    begin() {
      t0 = performance.now();
      for (const b of live) b.counting = true;
      restarts = restartEarly();
    },
    async close() {
      stop.abort();
      await restarts;
      await Promise.all(live.map((b) => b.stop()));
    },
  };
}

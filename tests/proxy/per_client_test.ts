/**
 * Per-client limits on real sockets: a greedy client (127.0.0.2) and a
 * polite one (127.0.0.1) share a listener; the greedy one gets 429s
 * (HTTP), closed connections (TCP) or dropped flows (UDP), the polite one
 * none of them.
 */
import assert from "node:assert/strict";
import net from "node:net";
import dgram from "node:dgram";
import { httpListener, tcpListener, udpListener } from "../../src/config/builders.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import type { ListenerSpec, PerClientLimits } from "../../src/config/schema.ts";
import { createSidecar, type Sidecar } from "../../src/sidecar.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";
import { startServeBackend } from "../_helpers/backends.ts";
import { delay, startUdpBackend, within } from "../_helpers/sidecar.ts";
import { echoServer } from "../_helpers/echo.ts";

const GREEDY = "127.0.0.2";
const POLITE = "127.0.0.1";

interface Reply {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly close: boolean;
}

/** A keep-alive HTTP/1.1 client on node:net, from a chosen source address. */
class Client {
  readonly #socket: net.Socket;
  #buf = "";
  #ended = false;
  #wake: (() => void) | null = null;
  readonly closed: Promise<void>;

  constructor(port: number, from: string) {
    this.#socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
    this.#socket.setEncoding("latin1");
    this.#socket.on("data", (d: string) => {
      this.#buf += d;
      this.#wake?.();
    });
    this.#socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.#socket.on("close", () => {
        this.#ended = true;
        this.#wake?.();
        resolve();
      })
    );
  }

  /** Sends `GET /` and reads one response; null when the connection ended first. */
  async get(): Promise<Reply | null> {
    this.#socket.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
    for (let i = 0; i < 1_000; i++) {
      const end = this.#buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = this.#buf.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (this.#buf.length >= end + 4 + length) {
          this.#buf = this.#buf.slice(end + 4 + length);
          return {
            status: Number(head.slice(9, 12)),
            retryAfter: /\r\nretry-after: *(\d+)/i.exec(head)?.[1] ?? null,
            close: /\r\nconnection: *close/i.test(head),
          };
        }
      }
      if (this.#ended) return null;
      await within(new Promise<void>((resolve) => this.#wake = resolve), 5_000, "a response");
      this.#wake = null;
    }
    throw new Error("no whole response after 1000 reads");
  }

  async close(): Promise<void> {
    this.#socket.destroy();
    await this.closed;
  }
}

function started(spec: ListenerSpec, clock?: FakeClock): Promise<[Sidecar, number]> {
  const sidecar = createSidecar({ listeners: [spec] }, { clock, firstProbeWaitMs: 1_000 });
  return sidecar.start().then(([addr]) => [sidecar, addr.port]);
}

/** A listener spec with per-client limits and no active probes. */
function limited<T extends ListenerSpec>(base: T, perClient: PerClientLimits): T {
  return {
    ...base,
    cluster: { ...base.cluster, health: { ...DEFAULT_HEALTH, active: false } },
    perClient,
  };
}

Deno.test("HTTP: a greedy client gets 429 with Retry-After, a polite one never does", async () => {
  await using backend = startServeBackend(() => new Response("ok"));
  const spec = limited(httpListener("127.0.0.1:0", [[backend.url]]), {
    connections: 2,
    ratePerSec: 20,
    burst: 5,
  });
  const [sidecar, port] = await started(spec);
  try {
    const greedy = [new Client(port, GREEDY), new Client(port, GREEDY)];
    const polite = new Client(port, POLITE);
    const greedyStatuses: number[] = [];
    const politeStatuses: number[] = [];
    const retryAfter = new Set<string | null>();
    const hammer = async (c: Client) => {
      for (let i = 0; i < 40; i++) {
        const r = await c.get();
        if (r === null) break;
        greedyStatuses.push(r.status);
        if (r.status === 429) retryAfter.add(r.retryAfter);
      }
    };
    const sip = async () => {
      for (let i = 0; i < 8; i++) {
        const r = await polite.get();
        politeStatuses.push(r?.status ?? 0);
        await delay(60); // ~16/s: under the rate of 20/s
      }
    };
    await Promise.all([...greedy.map(hammer), sip()]);
    // A third connection of the greedy client is over its cap: 429, then closed.
    const third = new Client(port, GREEDY);
    const refused = await third.get();
    assert.equal(refused?.status, 429);
    assert.equal(refused?.close, true);
    await within(third.closed, 5_000, "the refused connection to close");

    assert.deepEqual(politeStatuses, new Array(8).fill(200), "the polite client was never limited");
    const ok = greedyStatuses.filter((s) => s === 200).length;
    const limited = greedyStatuses.filter((s) => s === 429).length;
    assert.equal(ok + limited, 80, `only 200 and 429: ${greedyStatuses}`);
    assert.ok(limited >= 40, `the greedy client was limited ${limited} times of 80`);
    assert.ok(ok >= 5, `the greedy client still had its burst: ${ok}`);
    assert.deepEqual([...retryAfter], ["1"]);
    const own = sidecar.stats().listeners[0].ownResponses;
    assert.equal(own?.get(429), limited + 1, "every 429 is counted among sidekick's own responses");
    await Promise.all([...greedy, polite].map((c) => c.close()));
  } finally {
    await sidecar.close();
  }
});

/** An HTTP listener with limits in front of an `ok` backend, on a fake clock; closes both after `fn`. */
async function onFakeClock(
  perClient: PerClientLimits,
  fn: (port: number, clock: FakeClock) => Promise<void>,
): Promise<void> {
  const clock = new FakeClock();
  await using backend = startServeBackend(() => new Response("ok"));
  const [sidecar, port] = await started(
    limited(httpListener("127.0.0.1:0", [[backend.url]]), perClient),
    clock,
  );
  try {
    await fn(port, clock);
  } finally {
    await sidecar.close();
  }
}

Deno.test("HTTP: the bucket refills on the listener's clock (fake clock)", () =>
  onFakeClock({ connections: 0, ratePerSec: 0.5, burst: 2 }, async (port, clock) => {
    const c = new Client(port, GREEDY);
    const statuses = async (n: number) => {
      const out: (number | undefined)[] = [];
      for (let i = 0; i < n; i++) out.push((await c.get())?.status);
      return out;
    };
    assert.deepEqual(await statuses(3), [200, 200, 429]);
    await clock.advance(1_000); // half a token
    const r = await c.get();
    assert.equal(r?.status, 429);
    assert.equal(r?.retryAfter, "1");
    assert.equal(r?.close, false, "a rate-limited request keeps its connection");
    await clock.advance(1_000); // a whole token
    assert.deepEqual(await statuses(2), [200, 429]);
    await c.close();
  }));

Deno.test("HTTP: a connection over the cap that sends nothing is closed after a second (fake clock)", () =>
  onFakeClock({ connections: 1, ratePerSec: 0, burst: 1 }, async (port, clock) => {
    const admitted = new Client(port, GREEDY);
    assert.equal((await admitted.get())?.status, 200);
    const idle = new Client(port, GREEDY);
    let closed = false;
    idle.closed.then(() => closed = true);
    await clock.advance(900);
    assert.equal(closed, false);
    await clock.advance(200);
    await within(idle.closed, 5_000, "the idle refused connection to close");
    await clock.advance(30_000);
    assert.equal((await admitted.get())?.status, 200, "the admitted one waits the idle timeout");
    await admitted.close();
  }));

Deno.test("TCP: a greedy client's connections over its cap are closed, a polite one's are not", async () => {
  const echo = echoServer();
  const spec = limited(tcpListener("127.0.0.1:0", [[`127.0.0.1:${echo.port}`]]), {
    connections: 3,
    ratePerSec: 0,
    burst: 1,
  });
  const [sidecar, port] = await started(spec);
  const sockets: net.Socket[] = [];
  /** Connects, sends a line, and says whether it came back (false: closed by the proxy). */
  const echoes = async (from: string, keepOpen: boolean): Promise<boolean> => {
    const s = net.connect({ host: "127.0.0.1", port, localAddress: from });
    sockets.push(s);
    s.on("error", () => {});
    let got = "";
    const done = new Promise<boolean>((resolve) => {
      s.on("data", (d) => {
        got += d.toString();
        if (got === "hi") resolve(true);
      });
      s.on("close", () => resolve(got === "hi"));
    });
    s.write("hi");
    const ok = await within(done, 5_000, "an echo or a close");
    if (!keepOpen) s.destroy();
    return ok;
  };
  try {
    const greedy: boolean[] = [];
    for (let i = 0; i < 6; i++) greedy.push(await echoes(GREEDY, true));
    const polite: boolean[] = [];
    for (let i = 0; i < 3; i++) polite.push(await echoes(POLITE, true));
    assert.deepEqual(greedy, [true, true, true, false, false, false]);
    assert.deepEqual(polite, [true, true, true]);
  } finally {
    await Promise.all(sockets.map((s) =>
      new Promise<void>((resolve) => {
        if (s.closed) return resolve();
        s.on("close", () => resolve());
        s.destroy();
      })
    ));
    await sidecar.close();
    await echo.close();
  }
});

Deno.test("UDP: new flows of a greedy client beyond its cap are dropped, a polite one's pass", async () => {
  await using backend = await startUdpBackend();
  const spec = limited(udpListener("127.0.0.1:0", [[backend.address]]), {
    connections: 2,
    ratePerSec: 0,
    burst: 1,
  });
  const [sidecar, port] = await started(spec);
  const sockets: dgram.Socket[] = [];
  /** One flow (a new source port) from `from`: whether its datagram was answered. */
  const flow = async (from: string): Promise<boolean> => {
    const s = dgram.createSocket("udp4");
    sockets.push(s);
    await new Promise<void>((resolve) => s.bind(0, from, () => resolve()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = new Promise<boolean>((resolve) => {
      s.on("message", () => resolve(true));
      timer = setTimeout(() => resolve(false), 300);
    });
    s.send("ping", port, "127.0.0.1");
    try {
      return await answered;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    const greedy: boolean[] = [];
    for (let i = 0; i < 4; i++) greedy.push(await flow(GREEDY));
    const polite = [await flow(POLITE), await flow(POLITE)];
    assert.deepEqual(greedy, [true, true, false, false]);
    assert.deepEqual(polite, [true, true]);
  } finally {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await sidecar.close();
  }
});

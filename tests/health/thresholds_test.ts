/**
 * Rise and fall for every probe kind: the real HTTP, TCP and UDP probes
 * against a real service on loopback that stops and comes back on its port,
 * driven by the checker on a fake clock (no jitter). With rise 2 and fall 2,
 * one result never flips the state, two do; the first up needs one pass.
 */

import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { ClusterSpec } from "../../src/config/schema.ts";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { Cluster } from "../../src/balance/cluster.ts";
import { HealthChecker } from "../../src/health/checker.ts";
import { createProbe, type Probe } from "../../src/health/probes.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";
import { waitFor } from "../_helpers/net.ts";

type Kind = "http" | "tcp" | "udp";

/** A service of one kind on a fixed loopback port that can stop and start again. */
class Service {
  #close: () => Promise<void> = () => Promise.resolve();
  port = 0;
  /** Resolves once it listens. */
  ready: Promise<void> = Promise.resolve();
  constructor(readonly kind: Kind) {}

  start(): void {
    if (this.kind === "udp") {
      const sock = dgram.createSocket("udp4");
      const bound = new Promise<void>((resolve) => sock.bind(this.port, "127.0.0.1", resolve));
      sock.on("message", (m, r) => sock.send(m, r.port, r.address));
      this.#close = async () => {
        await bound;
        await new Promise<void>((resolve) => sock.close(() => resolve()));
      };
      this.ready = bound.then(() => {
        this.port = sock.address().port;
      });
      return;
    }
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.port = listener.addr.port;
    const http = this.kind === "http";
    const served = new Set<Promise<void>>();
    const loop = (async () => {
      for (let i = 0; i < 1000; i++) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch {
          return;
        }
        const one = (async () => {
          try {
            if (http) {
              await conn.read(new Uint8Array(1024));
              await conn.write(
                new TextEncoder().encode(
                  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
              );
            }
          } catch {
            // the probe left
          } finally {
            conn.close();
          }
        })();
        served.add(one);
        one.finally(() => served.delete(one));
      }
    })();
    this.#close = async () => {
      listener.close();
      await loop;
      await Promise.all([...served]);
    };
  }

  stop(): Promise<void> {
    return this.#close();
  }
}

for (const kind of ["http", "tcp", "udp"] as const) {
  Deno.test(`rise 2 / fall 2 with the ${kind} probe: two results flip the state, one does not`, async () => {
    const service = new Service(kind);
    service.start();
    await service.ready;
    const clock = new FakeClock();
    const spec: ClusterSpec = {
      policy: "least",
      health: {
        ...DEFAULT_HEALTH,
        kind,
        path: "/health",
        intervalMs: 1000,
        timeoutMs: 500,
        rise: 2,
        fall: 2,
      },
      sites: [{
        name: "a",
        endpoints: [{
          scheme: kind === "http" ? "http" : kind,
          host: "127.0.0.1",
          port: service.port,
          basePath: "",
        }],
      }],
    };
    const runtime = { now: () => clock.now(), random: () => 0 };
    const cluster = new Cluster(spec, runtime);
    const [e] = cluster.endpoints;
    const real = createProbe(kind, cluster);
    let probes = 0;
    const probe: Probe = async (t, signal) => {
      try {
        return await real(t, signal);
      } finally {
        probes++;
      }
    };
    const checker = new HealthChecker(cluster, runtime, () => {}, probe, clock);
    const round = async (expected: number) => {
      await clock.advance(1000);
      await waitFor(() => probes === expected, 3000, `probe ${expected}`);
      await clock.advance(0); // the checker takes the result
    };
    const status = () => e.health.status;
    try {
      await checker.start();
      assert.equal(status(), "up", "first pass: up at once");
      await service.stop();
      await round(2);
      assert.equal(status(), "up", "one failure is not enough");
      await round(3);
      assert.equal(status(), "down", "two are");
      service.start();
      await service.ready;
      await round(4);
      assert.equal(status(), "down", "one pass is not enough to recover");
      await round(5);
      assert.equal(status(), "up", "two are");
    } finally {
      await checker.stop();
      await service.stop();
    }
  });
}

/**
 * A real DNS server on loopback for discovery tests: Debian's dnsmasq on a
 * high port, answering only the records a test gives (no upstream, no
 * /etc/hosts). `.ci/run` installs it; tests skip, saying so, without it.
 *
 * @module
 */

import { freePort } from "./sidecar.ts";
import { delay } from "./net.ts";

/** Where Debian puts it (dnsmasq-base). */
export const DNSMASQ = "/usr/sbin/dnsmasq";

/** Whether dnsmasq can run here; prints why a test is skipped when not. */
export async function haveDnsmasq(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(DNSMASQ, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (success) return true;
  } catch {
    // not installed, or not allowed to run
  }
  console.log(
    `skipped: ${DNSMASQ} is missing; apt-get install dnsmasq-base (.ci/run does) to run the DNS SRV tests`,
  );
  return false;
}

/** An SRV record for `--srv-host`. */
export interface SrvRecordSpec {
  readonly name: string;
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** A running dnsmasq. */
export interface Dnsmasq extends AsyncDisposable {
  /** Its port on 127.0.0.1 (UDP and TCP). */
  readonly port: number;
  /** Stops it and waits for the process to end. */
  stop(): Promise<void>;
}

/**
 * Starts dnsmasq answering `srv` records and `addresses` (name -> IPv4).
 *
 * @param srv The SRV records.
 * @param addresses A records.
 * @param port The port. @default a free one
 * @returns The server, answering.
 */
export async function startDnsmasq(
  srv: readonly SrvRecordSpec[],
  addresses: Readonly<Record<string, string>>,
  port?: number,
): Promise<Dnsmasq> {
  const p = port ?? await freePort("udp");
  const args = [
    "--keep-in-foreground",
    `--port=${p}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--conf-file=/dev/null",
    "--pid-file=",
    "--local-ttl=0",
    ...srv.map((r) => `--srv-host=${r.name},${r.target},${r.port},${r.priority},${r.weight}`),
    ...Object.entries(addresses).map(([name, ip]) => `--address=/${name}/${ip}`),
  ];
  const child = new Deno.Command(DNSMASQ, { args, stdout: "null", stderr: "piped" }).spawn();
  const errors = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  const drained = (async () => {
    for (;;) {
      const { value, done } = await errors.read();
      if (done) return;
      stderr += value;
    }
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already ended
    }
    await child.status;
    await drained;
  };
  const probe = srv[0]?.name;
  for (let i = 0; i < 40; i++) {
    // A query sent before it listens would wait the resolver's 5 s: ask briefly, often.
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 100);
    try {
      const options = { nameServer: { ipAddr: "127.0.0.1", port: p }, signal: ac.signal };
      if (probe === undefined) await Deno.resolveDns("x.invalid", "A", options);
      else await Deno.resolveDns(probe, "SRV", options);
      return { port: p, stop, [Symbol.asyncDispose]: stop };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound && probe === undefined) {
        return { port: p, stop, [Symbol.asyncDispose]: stop };
      }
      await delay(20);
    } finally {
      clearTimeout(timer);
    }
  }
  await stop();
  throw new Error(`dnsmasq did not answer on 127.0.0.1:${p} within 5 s: ${stderr}`);
}

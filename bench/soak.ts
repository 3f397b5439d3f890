/**
 * The soak (`deno task bench soak`): sidekick's resident memory over a long
 * load and after it. sidekick proxies HTTP to a small backend; the script
 * measures its RSS when idle, then keeps CONCURRENCY keep-alive clients busy
 * for SECONDS while it samples RSS every EVERY seconds, then samples for
 * AFTER seconds more with no load, and says whether RSS came back within 10%
 * of idle. Printed as a curve (one line per sample) in markdown.
 *
 *   deno run --allow-net=127.0.0.1 --allow-run=deno,ps,taskset bench/soak.ts \
 *     [--seconds 180] [--after 30] [--every 5] [--concurrency 32] [--v8-flags FLAGS]
 *
 * Backend and load run in this process, sidekick in its own (pinned to
 * core 0 when `taskset` exists and there are 2 cores or more); both are
 * stopped at the end.
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "180" },
    after: { type: "string", default: "30" },
    every: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    "v8-flags": { type: "string", default: "" },
  },
});
const SECONDS = Number(opt.seconds);
const AFTER = Number(opt.after);
const EVERY = Number(opt.every);
const CONCURRENCY = Number(opt.concurrency);
const HOST = "127.0.0.1";
const ROOT = new URL("../", import.meta.url).pathname;
for (const [name, v] of [["seconds", SECONDS], ["after", AFTER], ["every", EVERY]] as const) {
  if (!(v > 0)) throw new Error(`soak: --${name} must be a number of seconds > 0`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The resident set of `pid` in MB (`ps -o rss`: Deno reads /proc only with --allow-all), NaN once gone. */
async function rssMb(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
  })
    .output().catch(() => null);
  const kb = out?.success ? Number(new TextDecoder().decode(out.stdout).trim()) : NaN;
  return kb / 1024;
}

const small = new TextEncoder().encode("x".repeat(100));
const backend = Deno.serve(
  { hostname: HOST, port: 0, onListen: () => {} },
  () => new Response(small),
);
const probe = Deno.listen({ hostname: HOST, port: 0 });
const port = probe.addr.port;
probe.close();
const flags = opt["v8-flags"] ? [`--v8-flags=${opt["v8-flags"]}`] : [];
const pin = Deno.build.os === "linux" && navigator.hardwareConcurrency >= 2 &&
  await new Deno.Command("taskset", { args: ["-V"], stdout: "null", stderr: "null" }).output()
    .then((o) => o.success, () => false);
const argv = [
  "deno",
  "run",
  ...flags,
  `--allow-net=${HOST}`,
  `${ROOT}mod.ts`,
  "--address",
  `${HOST}:${port}`,
  "--health-path",
  "/",
  `http://${HOST}:${backend.addr.port}`,
];
const cmd = pin ? ["taskset", "-c", "0", ...argv] : argv;
const sidekick = new Deno.Command(cmd[0], {
  args: cmd.slice(1),
  stdin: "null",
  stdout: "null",
  stderr: "null",
  env: { DENO_NO_UPDATE_CHECK: "1" },
}).spawn();
// with taskset the child is taskset, which execs deno: same pid
const pid = sidekick.pid;

const url = `http://${HOST}:${port}/`;
let requests = 0;
let failures = 0;
let stop = false;

async function client(): Promise<void> {
  while (!stop) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) requests++;
      else failures++;
    } catch {
      failures++;
      await delay(10);
    }
  }
}

const lines: string[] = [];
let idle = NaN;
try {
  // ready: sidekick answers through to the backend (30 s at most)
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(url).then(async (r) => (await r.arrayBuffer(), r.ok), () => false);
    if (ok) break;
    if (i === 299) throw new Error("soak: sidekick did not answer within 30 s");
    await delay(100);
  }
  await delay(2000);
  idle = await rssMb(pid);
  const clients = Array.from({ length: CONCURRENCY }, client);
  const begin = Date.now();
  const sample = async (phase: string) => {
    const t = (Date.now() - begin) / 1000;
    const mb = await rssMb(pid);
    const bar = "#".repeat(Math.max(0, Math.round(mb / 4)));
    lines.push(`| ${t.toFixed(0)} | ${phase} | ${mb.toFixed(1)} | ${requests} | \`${bar}\` |`);
    return mb;
  };
  while ((Date.now() - begin) / 1000 < SECONDS) {
    await delay(EVERY * 1000);
    await sample("load");
  }
  stop = true;
  await Promise.all(clients);
  const end = Date.now();
  let last = NaN;
  while ((Date.now() - end) / 1000 < AFTER) {
    await delay(Math.min(EVERY * 1000, AFTER * 1000 - (Date.now() - end)));
    last = await sample("after");
  }
  const peak = Math.max(...lines.map((l) => Number(l.split("|")[3])));
  const within = last <= idle * 1.1;
  const mode = opt["v8-flags"] ? `--v8-flags=${opt["v8-flags"]}` : "plain deno run, no V8 flags";
  console.log(
    `## soak: ${SECONDS} s of load (${CONCURRENCY} keep-alive clients, 100 B responses), ` +
      `then ${AFTER} s idle; RSS every ${EVERY} s; ${mode}; ${new Date().toISOString()}`,
  );
  console.log("| t s | phase | RSS MB | requests | |\n|---:|---|---:|---:|---|");
  console.log(`| 0 | idle | ${idle.toFixed(1)} | 0 | |`);
  for (const line of lines) console.log(line);
  console.log(
    `\nidle ${idle.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, ${AFTER} s after the load ` +
      `${last.toFixed(1)} MB: ${within ? "back" : "NOT back"} within 10% of idle; ` +
      `${requests} requests, ${failures} failed`,
  );
} finally {
  stop = true;
  try {
    sidekick.kill("SIGTERM");
  } catch {
    // gone already
  }
  await sidekick.status;
  await backend.shutdown();
}

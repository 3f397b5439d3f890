/**
 * The UDP bench (`deno task bench udp`): a burst of datagrams through
 * sidekick, nginx's stream proxy and straight at the backend, all on
 * 127.0.0.1, then `iperf3 -u` through sidekick and straight.
 *
 * Burst: CLIENTS client sockets each send DATAGRAMS datagrams at once to the
 * proxy; an echo backend (udp_echo.mjs, on Node) answers each one REPLIES times. A run
 * counts the replies that reach their client (it ends when all arrived or
 * nothing arrived for 1 s, at most 10 s). Each target runs RUNS times in a
 * row; the table shows the delivery of each run and the median.
 *
 *   deno run --unstable-net --allow-net=127.0.0.1 --allow-read --allow-write=/tmp --allow-run \
 *     bench/udp_burst.ts [--runs 5] [--clients 100] [--datagrams 20] [--replies 2] \
 *     [--no-nginx] [--no-iperf] [--iperf-seconds 5] [--rate 500M] [--length BYTES] [--v8-flags FLAGS]
 *
 * --length is iperf3's datagram size (-l; default iperf3's own).
 *
 * sidekick runs as a JSR user runs it (`deno run`, no V8 flags unless
 * --v8-flags), pinned to core 0 like nginx when `taskset` exists and there
 * are 2 cores or more; clients and backend share the other cores. Every
 * process started is killed at the end (by its own pid); temporary files
 * live in one directory removed at exit.
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    clients: { type: "string", default: "100" },
    datagrams: { type: "string", default: "20" },
    replies: { type: "string", default: "2" },
    "no-nginx": { type: "boolean", default: false },
    "no-iperf": { type: "boolean", default: false },
    "iperf-seconds": { type: "string", default: "5" },
    rate: { type: "string", default: "500M" },
    length: { type: "string", default: "" },
    "v8-flags": { type: "string", default: "" },
  },
});
const RUNS = Number(opt.runs);
const CLIENTS = Number(opt.clients);
const DATAGRAMS = Number(opt.datagrams);
const REPLIES = Number(opt.replies);
const HOST = "127.0.0.1";
const ROOT = new URL("../", import.meta.url).pathname;
const WORK = await Deno.makeTempDir({ prefix: "udp_bench." });
const started: Deno.ChildProcess[] = [];
const PIN = Deno.build.os === "linux" && await has("taskset") && navigator.hardwareConcurrency >= 2;
const DENO = Deno.execPath();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function has(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${command}`],
      stdout: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Starts a process whose output goes to WORK/NAME.log; `core` pins it. */
function start(name: string, cmd: string[], core?: string): Deno.ChildProcess {
  const argv = PIN && core !== undefined ? ["taskset", "-c", core, ...cmd] : cmd;
  const log = Deno.openSync(`${WORK}/${name}.log`, { write: true, create: true });
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: log.writable ? "piped" : "null",
    env: { DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  log.close();
  started.push(child);
  child.stderr.pipeTo(Deno.openSync(`${WORK}/${name}.err`, { write: true, create: true }).writable)
    .catch(() => {});
  return child;
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // gone already
  }
  await child.status;
  started.splice(started.indexOf(child), 1);
}

/** The first line a child prints. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0].trim();
}

/** A free UDP (and TCP) port on 127.0.0.1: bound with port 0 and let go. */
function freePort(): number {
  const udp = Deno.listenDatagram({ hostname: HOST, port: 0, transport: "udp" });
  const port = (udp.addr as Deno.NetAddr).port;
  udp.close();
  return port;
}

/** Waits until `port` relays a datagram to the echo backend and back (20 s at most). */
async function ready(port: number): Promise<boolean> {
  const conn = Deno.listenDatagram({ hostname: HOST, port: 0, transport: "udp" });
  try {
    for (let i = 0; i < 300; i++) {
      await conn.send(new Uint8Array([1]), { transport: "udp", hostname: HOST, port });
      const got = await Promise.race([conn.receive(), delay(200).then(() => null)]);
      if (got !== null) return true;
    }
    return false;
  } finally {
    conn.close();
    await delay(250); // let the late replies of the readiness check land
  }
}

/** Waits until `port` accepts TCP (iperf3's control connection; 20 s at most). */
async function accepts(port: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
      await delay(500); // the iperf3 server drops that empty control connection
      return true;
    } catch {
      await delay(100);
    }
  }
  return false;
}

/** One burst: returns the share of the replies delivered, in %. */
async function burst(port: number): Promise<number> {
  const conns: Deno.DatagramConn[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    conns.push(Deno.listenDatagram({ hostname: HOST, port: 0, transport: "udp" }));
  }
  let received = 0;
  let last = Date.now();
  const readers = conns.map(async (conn) => {
    const buf = new Uint8Array(2048);
    try {
      for (;;) {
        await conn.receive(buf);
        received++;
        last = Date.now();
      }
    } catch {
      // closed
    }
  });
  const to: Deno.NetAddr = { transport: "udp", hostname: HOST, port };
  const payload = new TextEncoder().encode("burst-datagram-0123456789");
  const sends: Promise<number>[] = [];
  for (let d = 0; d < DATAGRAMS; d++) {
    for (const conn of conns) sends.push(conn.send(payload, to));
  }
  await Promise.allSettled(sends);
  const expected = CLIENTS * DATAGRAMS * REPLIES;
  const begin = Date.now();
  last = begin;
  while (received < expected && Date.now() - last < 1000 && Date.now() - begin < 10_000) {
    await delay(20);
  }
  for (const conn of conns) conn.close();
  await Promise.all(readers);
  return (100 * received) / expected;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

const echo = start("echo", ["node", `${ROOT}bench/udp_echo.mjs`, "0", String(REPLIES)], "1");
const backend = Number(await firstLine(echo));

/** sidekick as a UDP (and a TCP, for iperf3's control connection) proxy on `port`. */
function sidekick(port: number, to: number, name: string, extra: string[] = []): Deno.ChildProcess {
  const cfg = `${WORK}/${name}.yaml`;
  Deno.writeTextFileSync(
    cfg,
    `listeners:
  - kind: udp
    address: ${HOST}:${port}
    tiers: [{ endpoints: ["${HOST}:${to}"] }]
    health: { active: false }
    flowIdle: 5s
  - kind: tcp
    address: ${HOST}:${port}
    tiers: [{ endpoints: ["${HOST}:${to}"] }]
    health: { active: false }
`,
  );
  const flags = opt["v8-flags"] ? [`--v8-flags=${opt["v8-flags"]}`] : [];
  return start(name, [
    DENO,
    "run",
    ...flags,
    ...extra,
    `--allow-net=${HOST}`,
    `--allow-read=${cfg}`,
    "--allow-env=LOG_TOKENS,LOG_STREAM",
    `${ROOT}mod.ts`,
    "--config",
    cfg,
  ], "0");
}

/** nginx's stream proxy, UDP and TCP on `port`, or null when nginx is missing. */
async function nginx(port: number, to: number): Promise<Deno.ChildProcess | null> {
  const module = "/usr/lib/nginx/modules/ngx_stream_module.so";
  if (!await has("nginx")) return null;
  const dir = `${WORK}/nginx`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  await Deno.chmod(WORK, 0o755);
  const load = await Deno.stat(module).then(() => `load_module ${module};\n`, () => "");
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${load}worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\n` +
      `events { worker_connections 8192; }\n` +
      `stream { server { listen ${HOST}:${port} udp; listen ${HOST}:${port};` +
      ` proxy_pass ${HOST}:${to}; proxy_timeout 5s; } }\n`,
  );
  return start("nginx", [
    "nginx",
    "-p",
    dir,
    "-e",
    `${dir}/error.log`,
    "-c",
    `${dir}/nginx.conf`,
    "-g",
    "daemon off;",
  ], "0");
}

/** `iperf3 -u` through `port` at the rate: "lost %" as iperf3's receiver saw it. */
async function iperf(port: number): Promise<string> {
  const out = await new Deno.Command("timeout", {
    args: [
      String(Number(opt["iperf-seconds"]) + 20),
      "iperf3",
      "-c",
      HOST,
      "-p",
      String(port),
      "-u",
      "-b",
      opt.rate!,
      "-t",
      opt["iperf-seconds"]!,
      ...(opt.length ? ["-l", opt.length] : []),
      "-J",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  try {
    const sum = JSON.parse(new TextDecoder().decode(out.stdout)).end.sum;
    return `${sum.lost_percent.toFixed(2)} % of ${sum.packets}`;
  } catch {
    return "failed";
  }
}

const rows: string[] = [];
const iperfRows: string[] = [];
const iperfServer = PIN || await has("iperf3") ? freePort() : 0;
try {
  const targets: [string, () => Promise<[number, Deno.ChildProcess | null] | null>][] = [
    ["direct", () => Promise.resolve([backend, null])],
    ["sidekick", () => {
      const port = freePort();
      return Promise.resolve([port, sidekick(port, backend, "sidekick")]);
    }],
    ["sidekick --unstable-net", () => {
      const port = freePort();
      return Promise.resolve([port, sidekick(port, backend, "sidekick-un", ["--unstable-net"])]);
    }],
  ];
  if (!opt["no-nginx"]) {
    targets.push(["nginx stream", async () => {
      const port = freePort();
      const child = await nginx(port, backend);
      return child === null ? null : [port, child];
    }]);
  }
  for (const [name, launch] of targets) {
    const got = await launch();
    if (got === null) {
      rows.push(`| ${name} | not installed |`);
      continue;
    }
    const [port, child] = got;
    try {
      if (!await ready(port)) {
        rows.push(`| ${name} | did not relay within 20 s |`);
        continue;
      }
      const runs: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        runs.push(await burst(port));
        await delay(300);
      }
      rows.push(
        `| ${name} | ${runs.map((x) => x.toFixed(1)).join(" | ")} | **${
          median(runs).toFixed(1)
        }** |`,
      );
    } finally {
      if (child !== null) await stop(child);
    }
  }
  if (!opt["no-iperf"] && await has("iperf3")) {
    const server = start("iperf3", ["iperf3", "-s", "-B", HOST, "-p", String(iperfServer)], "1");
    await delay(500);
    iperfRows.push(`| direct | ${await iperf(iperfServer)} |`);
    for (const extra of [[], ["--unstable-net"]]) {
      const port = freePort();
      const child = sidekick(port, iperfServer, "sidekick-iperf", extra);
      const name = ["sidekick", ...extra].join(" ");
      iperfRows.push(`| ${name} | ${await accepts(port) ? await iperf(port) : "did not listen"} |`);
      await stop(child);
    }
    await stop(server);
  }
} finally {
  for (const child of [...started]) await stop(child);
  await Deno.remove(WORK, { recursive: true });
}

const load = Deno.loadavg()[0].toFixed(2);
console.log(
  `## UDP burst: ${CLIENTS} clients x ${DATAGRAMS} datagrams at once, ${REPLIES} replies each ` +
    `(${CLIENTS * DATAGRAMS * REPLIES} replies), ${RUNS} runs, % delivered; ` +
    `${new Date().toISOString()}, load ${load}${
      opt["v8-flags"] ? `, sidekick --v8-flags=${opt["v8-flags"]}` : ""
    }`,
);
console.log(
  `| target | ${Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`).join(" | ")} | median |`,
);
console.log(`|---|${"---:|".repeat(RUNS + 1)}`);
for (const row of rows) console.log(row);
if (iperfRows.length > 0) {
  const length = opt.length ? ` -l ${opt.length}` : "";
  console.log(`\n## iperf3 -u -b ${opt.rate}${length}, ${opt["iperf-seconds"]} s: datagrams lost`);
  console.log("| target | lost |\n|---|---:|");
  for (const row of iperfRows) console.log(row);
}

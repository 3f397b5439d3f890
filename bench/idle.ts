/**
 * Idle-connection memory bench (issue 16 item 1): starts sidekick as a user
 * runs it (`deno run`, no V8 flags) in front of a backend on loopback, opens N
 * idle connections, and prints the RSS (VmRSS) per connection and the RSS
 * curve after they close.
 *
 * deno task bench idle [http|tcp|both] [N] [--nginx] [--v8-flags=...], or
 * deno task bench idle [floor|floor-http|floor-tcp] [N] [--buffer=B] [--no-read] [--byob], or
 * deno run --allow-net=127.0.0.1 --allow-run=deno,ps \
 *   bench/idle.ts [http|tcp|both] [N] [--nginx]
 *
 * HTTP: N connections that sent nothing, then the same N after one
 * keep-alive request each. TCP: N relayed pairs that echoed one byte. Each
 * is read 3 s after the last exchange, and again once idle for 30 s.
 *
 * `floor` measures the same way a bare Deno program (bench/idle_floor.ts: one
 * pending read per connection into a B-byte buffer, default 1; a relay
 * pair): what Deno itself costs per idle connection, below which sidekick
 * cannot go. `--no-read` holds the connections without a pending read,
 * `--byob` reads through `conn.readable`, `--tick=0` drops its 1 s timer,
 * `--gc` gives it sidekick's GC hint. `--v8-flags=...` goes to the
 * measured process (sidekick or the floor program).
 *
 * @module
 */

const ARGS = Deno.args.filter((a) => !a.startsWith("--"));
const FLOOR = ARGS[0]?.startsWith("floor") ?? false;
const MODE = FLOOR ? (ARGS[0] === "floor" ? "both" : ARGS[0].slice(6)) : ARGS[0] ?? "both";
const N = Math.min(Math.max(Number(ARGS[1] ?? 2000), 1), 8000);
/** With --nginx, the same probe runs against nginx (needs /usr/sbin/nginx; --allow-run=nginx --allow-write=/tmp). */
const NGINX = Deno.args.includes("--nginx");
/** Options for the floor program, passed on as given. */
const FLOOR_OPTIONS = Deno.args.filter((a) => /^--(buffer=\d+|no-read|byob|tick=\d+|gc)$/.test(a));
/** Without a pending read the HTTP floor answers nothing: only the "opened" line is measured. */
const NO_EXCHANGE = FLOOR && FLOOR_OPTIONS.includes("--no-read");
const V8_FLAGS = Deno.args.filter((a) => a.startsWith("--v8-flags="));
const ROOT = new URL("..", import.meta.url).pathname;
const DENO = "deno";
/** How long the connections stay idle before the last reading, in ms. */
const IDLE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();

/** RSS (VmRSS) of `pid` in KiB, through `ps` (Deno asks for --allow-all to read /proc). */
function rssKiB(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim()) || 0;
}

/** A backend that answers every request head with a small 200 (HTTP) or echoes (TCP). */
function backend(kind: "http" | "tcp"): { port: number; close: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const res = enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  (async () => {
    for await (const c of l) {
      conns.add(c);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            if (kind === "tcp") await c.write(buf.subarray(0, n));
            else if (new TextDecoder().decode(buf.subarray(0, n)).includes("\r\n\r\n")) {
              await c.write(res);
            }
          }
        } catch { /* closed */ }
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    close: () => {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  await sleep(10);
  return p;
}

/** Starts the measured Deno process: sidekick as a user runs it, or the bare floor program. */
async function startDeno(
  kind: "http" | "tcp",
  port: number,
  bport: number,
): Promise<Deno.ChildProcess> {
  const program = FLOOR
    ? [`${ROOT}bench/idle_floor.ts`, kind, String(port), String(bport), ...FLOOR_OPTIONS]
    : [
      "--allow-env=LOG_TOKENS,LOG_STREAM",
      `${ROOT}mod.ts`,
      ...(kind === "http"
        ? ["--address", `127.0.0.1:${port}`, "--health-path", "/", `http://127.0.0.1:${bport}`]
        : ["l4", `127.0.0.1:${port}`, `backends=127.0.0.1:${bport}`, "proto=tcp"]),
    ];
  const child = new Deno.Command(DENO, {
    args: ["run", ...V8_FLAGS, "--allow-net=127.0.0.1", ...program],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitListening(port, child);
  return child;
}

/** nginx in one process (no master), proxying like sidekick does (HTTP keep-alive upstreams, or stream). */
async function startNginx(
  kind: "http" | "tcp",
  port: number,
  bport: number,
): Promise<{ child: Deno.ChildProcess; pid: number; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "idle_nginx_" });
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `${t}_temp_path ${dir};`).join(" ");
  const server = kind === "http"
    ? `http { access_log off; ${temps} upstream b { server 127.0.0.1:${bport}; keepalive 64; }
       server { listen 127.0.0.1:${port}; location / { proxy_pass http://b;
         proxy_http_version 1.1; proxy_set_header Connection ""; } } }`
    : `stream { server { listen 127.0.0.1:${port}; proxy_pass 127.0.0.1:${bport}; } }`;
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${kind === "tcp" ? "load_module /usr/lib/nginx/modules/ngx_stream_module.so;" : ""}
daemon off; master_process off; worker_rlimit_nofile 20000;
error_log ${dir}/error.log; pid ${dir}/nginx.pid;
events { worker_connections 20000; }
${server}
`,
  );
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitListening(port, child);
  return { child, pid: child.pid, dir };
}

async function waitListening(port: number, child: Deno.ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await sleep(50);
    }
  }
  child.kill();
  throw new Error(`nothing listened on ${port} in 10 s`);
}

async function exchange(c: Deno.Conn, data: Uint8Array, until: string): Promise<void> {
  await c.write(data);
  const buf = new Uint8Array(1024);
  let got = "";
  while (!got.includes(until)) {
    const n = await c.read(buf);
    if (n === null) throw new Error("closed early");
    got += new TextDecoder().decode(buf.subarray(0, n));
  }
}

async function openMany(port: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < N; i += 100) {
    const batch = Math.min(100, N - i);
    conns.push(
      ...await Promise.all(
        Array.from({ length: batch }, () => Deno.connect({ hostname: "127.0.0.1", port })),
      ),
    );
  }
  return conns;
}

async function settledRss(pid: number): Promise<number> {
  await sleep(3000);
  return rssKiB(pid);
}

function perConn(kib: number, base: number): string {
  return ((kib - base) / N).toFixed(2);
}

async function run(kind: "http" | "tcp"): Promise<void> {
  const b = backend(kind);
  const port = await freePort();
  const peer = NGINX ? await startNginx(kind, port, b.port) : null;
  const child = peer?.child ?? await startDeno(kind, port, b.port);
  const pid = child.pid;
  const noExchange = NO_EXCHANGE && kind === "http";
  const req = enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  try {
    // warm up: a few exchanges so lazily loaded code is in
    for (let i = 0; i < (noExchange ? 0 : 20); i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      if (kind === "http") await exchange(c, req, "ok");
      else await exchange(c, enc.encode("x"), "x");
      c.close();
    }
    const base = await settledRss(pid);
    const who = NGINX ? "nginx" : FLOOR ? `deno floor ${FLOOR_OPTIONS.join(" ")}` : "sidekick";
    console.log(
      `\n## ${who} ${kind}: ${N} idle connections ${V8_FLAGS.join(" ")}` +
        " (RSS in MiB, per connection in KiB)",
    );
    console.log(`baseline RSS: ${(base / 1024).toFixed(1)} MiB`);
    const conns = await openMany(port);
    const opened = await settledRss(pid);
    if (noExchange) {
      console.log(
        `opened, no read: ${(opened / 1024).toFixed(1)} MiB, ${perConn(opened, base)} KiB/conn`,
      );
    } else if (kind === "http") {
      console.log(
        `opened, no bytes sent: ${(opened / 1024).toFixed(1)} MiB, ${
          perConn(opened, base)
        } KiB/conn`,
      );
      // 50 at a time: within the upstream pool's 64 idle connections, so this
      // measures the client side rather than upstream connection churn.
      for (let i = 0; i < conns.length; i += 50) {
        await Promise.all(conns.slice(i, i + 50).map((c) => exchange(c, req, "ok")));
      }
    } else {
      for (let i = 0; i < conns.length; i += 200) {
        await Promise.all(conns.slice(i, i + 200).map((c) => exchange(c, enc.encode("x"), "x")));
      }
    }
    const used = noExchange ? opened : await settledRss(pid);
    const what = kind === "http" ? "after one keep-alive request each" : "relayed pairs";
    if (!noExchange) {
      console.log(`${what}: ${(used / 1024).toFixed(1)} MiB, ${perConn(used, base)} KiB/conn`);
    }
    // The same connections once idle for 30 s: by then the runtime has had
    // the chance to collect the garbage of the requests (V8's memory reducer
    // runs only while the event loop turns, so a process with no timer
    // at all may never get there).
    await sleep(IDLE_MS - 3000);
    const steady = rssKiB(pid);
    console.log(
      `idle for ${IDLE_MS / 1000} s: ${(steady / 1024).toFixed(1)} MiB, ${
        perConn(steady, base)
      } KiB/conn`,
    );
    for (const c of conns) c.close();
    const curve: string[] = [];
    for (let t = 0; t <= 30; t += 5) {
      if (t > 0) await sleep(5000);
      curve.push(`${t}s ${(rssKiB(pid) / 1024).toFixed(1)}`);
    }
    const last = rssKiB(pid);
    console.log(`after close (MiB): ${curve.join(", ")}`);
    console.log(`30 s after close: ${((last / base - 1) * 100).toFixed(0)}% over baseline`);
  } finally {
    child.kill();
    await child.status;
    b.close();
    if (peer !== null) await Deno.remove(peer.dir, { recursive: true });
  }
}

if (MODE === "http" || MODE === "both") await run("http");
if (MODE === "tcp" || MODE === "both") await run("tcp");

/**
 * The Deno floor for bench/idle.ts: the least a bare Deno program holds per
 * idle connection, with none of sidekick's code. `bench/idle.ts floor` starts
 * it like sidekick and measures it the same way.
 *
 * deno run --allow-net=127.0.0.1 bench/idle_floor.ts http|tcp PORT BACKEND_PORT [options]
 *
 * - `http`: accepts, keeps one pending `conn.read` per connection, and
 *   answers every read that ends a request head with a fixed small 200
 *   (keep-alive), then reads again: an idle keep-alive HTTP connection.
 * - `tcp`: accepts, connects to BACKEND_PORT and relays both ways, one
 *   pending read per side: an idle relayed TCP pair.
 *
 * Options: `--buffer=N` read buffer size (default 1, the smallest a read
 * takes), `--no-read` (http: hold the connection without a pending read),
 * `--byob` (http: read through `conn.readable` with a BYOB reader instead of
 * `conn.read`), `--tick=MS` an interval timer that does nothing (default
 * 1000, like a server's sweeper; 0: none). Without any timer the event loop
 * never turns while the connections wait, so V8's memory reducer never runs
 * and the heap never shrinks after they close. `--gc`: sidekick's GC hint
 * (src/proxy/gc_hint.ts) on each tick, fed with the open connections, so
 * the floor after close shows what remains once the heap is collected.
 *
 * @module
 */

import { GcHint } from "../src/proxy/gc_hint.ts";

const [MODE, PORT, BACKEND] = Deno.args;
const opt = (name: string): string | undefined =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const SIZE = Math.max(1, Number(opt("buffer") ?? 1));
const NO_READ = Deno.args.includes("--no-read");
const BYOB = Deno.args.includes("--byob");
const TICK = Number(opt("tick") ?? 1000);
const hint = Deno.args.includes("--gc") ? new GcHint() : null;
if (TICK > 0) setInterval(() => hint?.sweep(Date.now(), held.size), TICK);
const OK = new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
const held = new Set<Deno.Conn>();

function closeQuietly(c: Deno.Conn): void {
  held.delete(c);
  try {
    c.close();
  } catch { /* already closed */ }
}

/** Answers each request head (ends with CR LF CR LF, possibly across reads) with OK. */
async function serveHttp(c: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(SIZE);
  const byob = BYOB ? c.readable.getReader({ mode: "byob" }) : null;
  let tail = 0; // bytes of CR LF CR LF matched so far
  try {
    for (;;) {
      let n: number | null;
      if (byob !== null) {
        const r = await byob.read(new Uint8Array(SIZE));
        n = r.done ? null : r.value.length;
        if (r.value !== undefined) buf.set(r.value);
      } else n = await c.read(buf);
      if (n === null) break;
      for (let i = 0; i < n; i++) {
        const want = tail % 2 === 0 ? 13 : 10;
        tail = buf[i] === want ? tail + 1 : buf[i] === 13 ? 1 : 0;
        if (tail === 4) {
          tail = 0;
          await c.write(OK);
        }
      }
    }
  } catch { /* reset */ }
  closeQuietly(c);
}

async function pump(src: Deno.Conn, dst: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(SIZE);
  try {
    for (;;) {
      const n = await src.read(buf);
      if (n === null) break;
      await dst.write(buf.subarray(0, n));
    }
  } catch { /* reset */ }
  closeQuietly(src);
  closeQuietly(dst);
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(PORT) });
for await (const c of listener) {
  held.add(c);
  if (MODE === "tcp") {
    Deno.connect({ hostname: "127.0.0.1", port: Number(BACKEND) }).then((u) => {
      held.add(u);
      pump(c, u);
      pump(u, c);
    }, () => closeQuietly(c));
  } else if (!NO_READ) serveHttp(c);
}

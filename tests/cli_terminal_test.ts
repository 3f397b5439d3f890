/**
 * The live table as a user sees it: the real CLI in a real terminal (tmux),
 * real backends, a backend going down, a resize, and Ctrl-C restoring the
 * screen.
 */
import assert from "node:assert/strict";
import { delay } from "./_helpers/net.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const TMUX = hasTmux();
if (!TMUX) {
  console.warn(
    "cli_terminal_test: tmux is not installed, the terminal table test is SKIPPED " +
      "(apt-get install -y tmux; .ci/run installs it)",
  );
}

/** One tmux server of our own (its own socket), killed at the end. */
class Tmux implements AsyncDisposable {
  readonly socket = `sidekick-test-${Deno.pid}-${Math.floor(Math.random() * 1e9)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    if (!out.success) throw new Error(`tmux ${args.join(" ")}: ${d.decode(out.stderr)}`);
    return d.decode(out.stdout);
  }

  /** The visible pane with wrapped lines joined, and the scrollback too with `history`. */
  capture(history = false): Promise<string> {
    return this.run("capture-pane", "-p", "-J", "-t", "sk", ...(history ? ["-S", "-"] : []));
  }

  /** Captures the pane until `check` passes (bounded), and returns that capture. */
  async until(
    check: (screen: string) => boolean,
    what: string,
    history = false,
    ms = 15_000,
  ): Promise<string> {
    const deadline = Date.now() + ms;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.capture(history);
      if (check(screen)) return screen;
      await delay(100);
    }
    throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}

function backend(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
}

Deno.test({
  name:
    "on a terminal: the live table shows, follows a backend going down and a resize, and Ctrl-C restores the screen",
  ignore: !TMUX,
  async fn() {
    const a = backend(), b = backend();
    let aClosed = false;
    try {
      await using tmux = new Tmux();
      // bash stays after sidekick exits, so the pane (and its cursor state) can be read.
      const sidekick = [
        "env DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 deno run --allow-net=127.0.0.1",
        `${ROOT}mod.ts -a 127.0.0.1:0 -d 200ms`,
        `http://127.0.0.1:${a.addr.port} http://127.0.0.1:${b.addr.port}`,
      ].join(" ");
      const command = `bash -c '${sidekick}; echo "sidekick exited with $?"; exec sleep 60'`;
      await tmux.run("new-session", "-d", "-s", "sk", "-x", "160", "-y", "40", command);
      const first = await tmux.until(
        (s) => /SITE {2}HOST/.test(s) && (s.match(/ UP /g) ?? []).length === 2,
        "the table with both endpoints up",
      );
      assert.equal(await tmux.run("display", "-p", "-t", "sk", "#{alternate_on}"), "1\n");
      assert.match(first, /MIN LATENCY {2}MAX LATENCY/);
      const port = Number(/HTTP 127\.0\.0\.1:(\d+) · policy least/.exec(first)?.[1]);
      assert.ok(port > 0, first);
      for (let i = 0; i < 3; i++) {
        assert.equal(await (await fetch(`http://127.0.0.1:${port}/x`)).text(), "ok");
      }
      await tmux.until(
        (s) => new RegExp(`:${a.addr.port} {2}UP +3 +0 `).test(s),
        "three calls counted on site 1",
      );

      // A backend goes down: its row says so and the failover shows as an event.
      await a.shutdown();
      aClosed = true;
      const down = await tmux.until(
        (s) =>
          new RegExp(`:${a.addr.port} {2}DOWN `).test(s) &&
          s.includes("failover from site 1 to site 2"),
        "site 1 down and the failover event",
      );
      assert.match(down, /serving site 2/);
      assert.match(down, /is down: connection refused/);

      // Resize: the next frame fits the new width.
      await tmux.run("resize-window", "-t", "sk", "-x", "70", "-y", "20");
      const narrow = await tmux.until(
        (s) => /SITE {2}HOST/.test(s) && !s.includes("MIN LATENCY"),
        "a frame that fits 70 columns",
      );
      for (const line of narrow.split("\n")) assert.ok(line.length <= 70, line);
      assert.match(narrow, /CALLS {2}FAILURES/);

      // Ctrl-C: the main screen is back, cursor shown, the table gone, the summary kept.
      await tmux.run("send-keys", "-t", "sk", "C-c");
      const after = await tmux.until((s) => s.includes("sidekick exited"), "the exit", true);
      assert.match(after, /sidekick exited with 0/);
      assert.equal(await tmux.run("display", "-p", "-t", "sk", "#{alternate_on}"), "0\n");
      assert.equal(await tmux.run("display", "-p", "-t", "sk", "#{cursor_flag}"), "1\n");
      assert.ok(!after.includes("SITE  HOST"), after);
      assert.match(after, /http listener "http" on 127\.0\.0\.1:0: 2 sites, 2 endpoints/);
      assert.match(after, /sidekick: draining for up to/);
    } finally {
      await b.shutdown();
      if (!aClosed) await a.shutdown();
    }
  },
});

Deno.test({
  name: "on a terminal: SIGTERM restores the screen too",
  ignore: !TMUX,
  async fn() {
    const a = backend();
    const dir = await Deno.makeTempDir();
    try {
      await using tmux = new Tmux();
      const sidekick = [
        "env DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 deno run --allow-net=127.0.0.1",
        `${ROOT}mod.ts -a 127.0.0.1:0 http://127.0.0.1:${a.addr.port}`,
      ].join(" ");
      const command = `bash -c '${sidekick} & echo $! >${dir}/pid; wait $!; ` +
        `echo "sidekick exited with $?"; exec sleep 60'`;
      await tmux.run("new-session", "-d", "-s", "sk", "-x", "120", "-y", "30", command);
      await tmux.until((s) => /SITE {2}HOST/.test(s) && / UP /.test(s), "the table");
      const pid = Number((await Deno.readTextFile(`${dir}/pid`)).trim());
      assert.ok(pid > 0);
      // A real SIGTERM from another process (the test may not signal processes itself).
      await tmux.run("run-shell", `kill -TERM ${pid}`);
      const after = await tmux.until((s) => s.includes("sidekick exited"), "the exit", true);
      assert.match(after, /sidekick exited with 0/);
      assert.equal(await tmux.run("display", "-p", "-t", "sk", "#{alternate_on}"), "0\n");
      assert.equal(await tmux.run("display", "-p", "-t", "sk", "#{cursor_flag}"), "1\n");
      assert.ok(!after.includes("SITE  HOST"), after);
      assert.match(after, /sidekick: draining for up to/);
    } finally {
      await a.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

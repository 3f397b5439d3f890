/**
 * Runs the sidekick command line as a real subprocess (`deno run mod.ts`),
 * reads its stderr as it comes, and stops it with real signals.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running `sidekick` process. */
export class CliProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  #reader: ReadableStreamDefaultReader<string>;
  /** Everything written to stderr so far. */
  stderr = "";

  /** Everything written to stdout so far (collected when constructed with `{ stdout: true }`). */
  stdout = "";
  #stdoutDone: Promise<void> = Promise.resolve();

  constructor(
    permissions: readonly string[],
    args: readonly string[],
    options: { readonly stdout?: boolean } = {},
  ) {
    this.child = new Deno.Command("deno", {
      args: ["run", ...permissions, `${ROOT}mod.ts`, ...args],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: options.stdout ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    this.#reader = this.child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    if (options.stdout) {
      this.#stdoutDone = this.child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (chunk) => void (this.stdout += chunk) }),
      ).catch(() => {});
    }
  }

  /** Waits (polling, bounded) until stdout matches `pattern`; returns the match. */
  async waitForStdout(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.stdout);
      if (m !== null) return m;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${pattern} on stdout:\n${this.stdout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Reads stderr until `pattern` matches (or the deadline passes); returns the match. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.stderr);
      if (m !== null) return m;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${pattern}; stderr so far:\n${this.stderr}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        this.#reader.read(),
        new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), left)),
      ]);
      clearTimeout(timer);
      if (r === null) continue;
      if (r.done) {
        const m2 = pattern.exec(this.stderr);
        if (m2 !== null) return m2;
        throw new Error(`process ended before ${pattern}; stderr:\n${this.stderr}`);
      }
      this.stderr += r.value;
    }
  }

  /** Waits for "listening on HOST:PORT" lines and returns the ports, in order. */
  async ports(count = 1): Promise<number[]> {
    const pattern = new RegExp(`(?:listening on \\S+:(\\d+)[\\s\\S]*?){${count}}`);
    await this.waitFor(pattern);
    return [...this.stderr.matchAll(/listening on \S+:(\d+)/g)].map((m) => Number(m[1]));
  }

  /** Exit code after the process ends (reads the rest of stderr). */
  async exitCode(timeoutMs = 15_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      this.child.status,
      new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (status === null) throw new Error(`process did not exit within ${timeoutMs} ms`);
    for (;;) {
      const r = await this.#reader.read();
      if (r.done) break;
      this.stderr += r.value;
    }
    return status.code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.child.status;
    await this.#reader.cancel().catch(() => {});
    await this.#stdoutDone;
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  permissions: readonly string[],
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args: ["run", ...permissions, `${ROOT}mod.ts`, ...args],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/**
 * Real gRPC peers for tests: the Python grpcio server and client of
 * `grpc_server.py` and `grpc_client.py` (python3-grpcio; `.ci/run` installs
 * it). Each server is a subprocess owned by the test and stopped by
 * `close()`.
 *
 * @module
 */

const HERE = new URL("./", import.meta.url);
const PYTHON = "/usr/bin/python3";

/**
 * Whether grpcio is importable (tests skip, saying so, when it is not).
 *
 * @returns True when `import grpc` works.
 */
export async function haveGrpc(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import grpc"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** A running grpcio server. */
export interface GrpcServer extends AsyncDisposable {
  /** Its name (answered by `/test.Echo/Who`). */
  readonly name: string;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** The lines it printed after `listening` (e.g. `cancelled Hold`). */
  readonly lines: string[];
  /** Sets the health status of a service ("" = the server): 1 SERVING, 2 NOT_SERVING. */
  setStatus(service: string, status: number): Promise<void>;
  /** Waits (bounded) for a printed line matching `pattern`. */
  waitLine(pattern: RegExp, ms?: number): Promise<string>;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * Starts `grpc_server.py NAME` on a free port of 127.0.0.1.
 *
 * @param name The server's name.
 * @param tls Certificate and key files: serve TLS (ALPN h2).
 * @returns The running server.
 */
export async function startGrpcServer(
  name: string,
  tls?: { readonly cert: string; readonly key: string },
): Promise<GrpcServer> {
  const args = [new URL("grpc_server.py", HERE).pathname, name];
  if (tls !== undefined) args.push("--tls", tls.cert, tls.key);
  const child = new Deno.Command(PYTHON, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let port = 0;
  const reading = (async () => {
    const decoder = child.stdout.pipeThrough(new TextDecoderStream());
    let rest = "";
    for await (const text of decoder) {
      rest += text;
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        const m = /^listening (\d+)$/.exec(line);
        if (m !== null) port = Number(m[1]);
        else lines.push(line);
        for (const w of waiters) w();
      }
    }
  })();
  const waitLine = async (pattern: RegExp, ms = 10_000): Promise<string> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = lines.find((l) => pattern.test(l));
      if (hit !== undefined) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${name}: no line like ${pattern} in ${ms} ms: ${lines}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  };
  const started = Date.now();
  while (port === 0) {
    if (Date.now() - started > 15_000) {
      child.kill();
      await child.status;
      throw new Error(`grpc server ${name} did not start`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let closed: Promise<void> | null = null;
  const close = () =>
    closed ??= (async () => {
      try {
        await stdin.write(new TextEncoder().encode("quit\n"));
        await stdin.close();
      } catch {
        // exited already
      }
      const timer = setTimeout(() => child.kill(), 5_000);
      await child.status;
      clearTimeout(timer);
      await reading;
    })();
  return {
    name,
    port,
    lines,
    async setStatus(service, status) {
      const before = lines.filter((l) => l === "ok").length;
      await stdin.write(new TextEncoder().encode(`status ${service || "-"} ${status}\n`));
      const deadline = Date.now() + 5_000;
      while (lines.filter((l) => l === "ok").length === before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    waitLine,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Runs `grpc_client.py TARGET COMMAND ARG` and returns its output lines.
 *
 * @param target `host:port`.
 * @param command The client's command and argument (see grpc_client.py).
 * @returns The lines printed, and whether it exited 0.
 */
export async function grpcClient(
  target: string,
  ...command: string[]
): Promise<{ readonly lines: string[]; readonly ok: boolean }> {
  const out = await new Deno.Command(PYTHON, {
    args: [new URL("grpc_client.py", HERE).pathname, target, ...command],
    stdout: "piped",
    stderr: "piped",
    clearEnv: true, // no http_proxy / grpc_proxy from the environment
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const lines = text.split("\n").filter((l) => l !== "");
  if (!out.success && lines.length === 0) lines.push(new TextDecoder().decode(out.stderr));
  return { lines, ok: out.success };
}

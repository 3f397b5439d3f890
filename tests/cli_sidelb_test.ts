import assert from "node:assert/strict";
import { CliProcess, runCli } from "./_helpers/cli.ts";
import { HOST } from "./_helpers/net.ts";
import { delay } from "./_helpers/net.ts";
import { startHalfCloseEcho } from "./_helpers/sidecar.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The flags a Unix socket client or server needs. */
const socketFlags = (path: string) => [
  `--allow-net=unix:${path}`,
  `--allow-read=${path}`,
  `--allow-write=${path}`,
];

/** SideLB's own client, byte for byte: connect, send `Q`, print the whole reply (JSON). */
async function rawQuery(path: string): Promise<string> {
  const code = `const c = await Deno.connect({ transport: "unix", path: ${JSON.stringify(path)} });
await c.write(new TextEncoder().encode("Q"));
const buf = new Uint8Array(64); let got = "";
for (let n = await c.read(buf); n !== null; n = await c.read(buf)) got += new TextDecoder().decode(buf.subarray(0, n));
c.close(); console.log(JSON.stringify(got));`;
  const out = await new Deno.Command("deno", {
    args: ["eval", "--no-prompt", ...socketFlags(path), code],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  assert.equal(out.code, 0, d.decode(out.stderr));
  return JSON.parse(d.decode(out.stdout));
}

Deno.test("sidekick l4 with no arguments and no SIDELB_* variables prints the help and exits 0, as SideLB", async () => {
  const r = await runCli(["--no-prompt"], ["l4"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sidekick l4 <bind_ip:port> \[backends=ip:port,\.\.\.\]/);
  assert.match(r.stdout, /SIDELB_BIND_ADDR/);
  assert.equal(r.stderr, "");
});

Deno.test("SideLB's UDS health check: HEALTHY while a backend is up, UNHEALTHY after; --health-check-uds exits 0/1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_uds_" });
  const socket = `${dir}/sidelb.sock`;
  let backend: ReturnType<typeof startHalfCloseEcho> | null = startHalfCloseEcho();
  try {
    const port = backend.port;
    await using cli = new CliProcess(
      [
        "--no-prompt",
        `--allow-net=${HOST},unix:${socket}`,
        `--allow-read=${socket}`,
        `--allow-write=${socket}`,
      ],
      ["l4", `${HOST}:0`, `backends=${HOST}:${port}`, `health_socket=${socket}`],
    );
    await cli.ports();
    assert.equal(await rawQuery(socket), "HEALTHY\n", "SideLB's exact reply");
    const ok = await runCli(["--no-prompt", ...socketFlags(socket)], [
      "--health-check-uds",
      socket,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "HEALTHY\n");
    const asL4 = await runCli(["--no-prompt", ...socketFlags(socket)], [
      "l4",
      "--health-check-uds",
      socket,
    ]);
    assert.equal(asL4.code, 0, asL4.stderr);
    await backend.close();
    backend = null;
    let reply = "";
    for (let i = 0; i < 60 && reply !== "UNHEALTHY\n"; i++) {
      reply = await rawQuery(socket);
      if (reply !== "UNHEALTHY\n") await delay(250);
    }
    assert.equal(reply, "UNHEALTHY\n", "no backend up");
    const down = await runCli(["--no-prompt", ...socketFlags(socket)], [
      "--health-check-uds",
      socket,
    ]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /answered 'UNHEALTHY'/);
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0, cli.stderr);
    await assert.rejects(Deno.lstat(socket), Deno.errors.NotFound, "the socket file is removed");
    const gone = await runCli(["--no-prompt", ...socketFlags(socket)], [
      "--health-check-uds",
      socket,
    ]);
    assert.equal(gone.code, 1, "nothing listening: unhealthy");
    assert.match(gone.stderr, new RegExp(`cannot ask the UDS health check on ${socket}: `));
  } finally {
    await backend?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIDELB_HEALTH_SOCKET sets the socket for the server and for --health-check-uds; a missing grant is one line naming the flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_uds_" });
  const socket = `${dir}/env.sock`;
  const backend = startHalfCloseEcho();
  const env = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", SIDELB_HEALTH_SOCKET: socket };
  const server = new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      `--allow-net=${HOST},unix:${socket}`,
      `--allow-read=${socket}`,
      `--allow-write=${socket}`,
      "--allow-env=SIDELB_HEALTH_SOCKET",
      `${ROOT}mod.ts`,
      "l4",
      `${HOST}:0`,
      `backends=${HOST}:${backend.port}`,
    ],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const ask = (perms: string[]) =>
      new Deno.Command("deno", {
        args: ["run", "--no-prompt", ...perms, `${ROOT}mod.ts`, "--health-check-uds"],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
    let out = await ask([...socketFlags(socket), "--allow-env=SIDELB_HEALTH_SOCKET"]);
    for (let i = 0; i < 60 && out.code !== 0; i++) {
      await delay(250);
      out = await ask([...socketFlags(socket), "--allow-env=SIDELB_HEALTH_SOCKET"]);
    }
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const denied = await ask(["--allow-env=SIDELB_HEALTH_SOCKET"]);
    assert.equal(denied.code, 1);
    const lines = new TextDecoder().decode(denied.stderr).trim().split("\n");
    assert.deepEqual(lines, [
      `sidekick: cannot ask the UDS health check on ${socket}: run deno with ${
        socketFlags(socket).join(" ")
      }`,
    ]);
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sidekick l4 without the default socket's permissions says so in one line and serves", async () => {
  const backend = startHalfCloseEcho();
  try {
    await using cli = new CliProcess(["--no-prompt", `--allow-net=${HOST}`], [
      "l4",
      `${HOST}:0`,
      `backends=${HOST}:${backend.port}`,
    ]);
    await cli.ports();
    assert.match(
      cli.stderr,
      /sidekick: not serving the UDS health check on \/run\/sidelb\.sock: run deno with --allow-net=unix:\/run\/sidelb\.sock --allow-read=\/run\/sidelb\.sock --allow-write=\/run\/sidelb\.sock/,
    );
    cli.child.kill("SIGTERM");
    assert.equal(await cli.exitCode(), 0);
  } finally {
    await backend.close();
  }
});

Deno.test("sidekick l4 proto=udp without its UDP grants stops before binding, with one line naming the first", async () => {
  const r = await runCli(["--no-prompt", `--allow-net=${HOST}:5353,${HOST}:5354`], [
    "l4",
    `${HOST}:5353`,
    `backends=${HOST}:5354`,
    "proto=udp",
    "health_socket=off",
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^sidekick: missing permission --allow-net=127\.0\.0\.1 \(to reply to loopback UDP clients on any port \(UDP listener 'l4-udp'\)\); run with --allow-net=127\.0\.0\.1:5353,127\.0\.0\.1,127\.0\.0\.1:5354,127\.0\.0\.1:0\n$/,
  );
});

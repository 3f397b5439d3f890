/**
 * The printed flags must never open Deno's permission prompt. A prompt only
 * shows on a terminal, so sidekick runs here under `script` (a pseudo
 * terminal), exactly as a user types the printed command.
 */
import assert from "node:assert/strict";
import { HOST } from "./_helpers/net.ts";
import { freePort, halfCloseExchange, startHalfCloseEcho } from "./_helpers/sidecar.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Reads until `done` matches everything read so far, or `ms` pass; returns everything read. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  sofar: string,
  done: (text: string) => boolean,
  ms: number,
): Promise<string> {
  let text = sofar;
  const deadline = Date.now() + ms;
  while (!done(text) && Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      reader.read(),
      new Promise<null>((resolve) =>
        timer = setTimeout(() => resolve(null), deadline - Date.now())
      ),
    ]);
    clearTimeout(timer);
    if (r === null || r.done) break;
    text += r.value;
  }
  return text;
}

Deno.test("a config file run on a terminal with exactly the printed flags never prompts (and serves)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sidekick_prompt_" });
  const backend = startHalfCloseEcho();
  try {
    const port = await freePort();
    await Deno.writeTextFile(
      `${dir}/sidekick.yaml`,
      `listeners:\n  - kind: tcp\n    address: ${HOST}:${port}\n    tiers: [{endpoints: ["${HOST}:${backend.port}"]}]\n`,
    );
    // A relative path, as typed in the config's directory: its directory is "."
    const asked = await new Deno.Command("deno", {
      args: [
        "run",
        "--no-prompt",
        "--allow-read=sidekick.yaml",
        `${ROOT}mod.ts`,
        "permissions",
        "--config",
        "sidekick.yaml",
      ],
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(asked.code, 0, new TextDecoder().decode(asked.stderr));
    const flags = new TextDecoder().decode(asked.stdout).split("\n")[0];
    const command = `deno run ${flags} ${ROOT}mod.ts --config sidekick.yaml`;
    const child = new Deno.Command("script", {
      args: ["-qefc", command, "/dev/null"],
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const prompt = /Deno requests/;
      const seen = await readUntil(reader, "", (t) => /Deno requests|listening on/.test(t), 20_000);
      assert.doesNotMatch(seen, prompt, "no permission prompt");
      assert.match(seen, /sidekick listening on/);
      const reply = await halfCloseExchange({ transport: "tcp", hostname: HOST, port }, 3);
      assert.equal(reply, "got 3 bytes after EOF");
      const later = await readUntil(reader, seen, (t) => prompt.test(t), 1_000);
      assert.doesNotMatch(later, prompt, "no prompt after start either");
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    }
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});

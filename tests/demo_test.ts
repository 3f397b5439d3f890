/**
 * `deno task demo` as a new user runs it: when 127.0.0.1:8080 is taken it
 * falls back to a free port instead of crashing, and its health lines name
 * the backends (site1-a, not http://127.0.0.1:PORT).
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("demo: falls back to a free port when 8080 is taken; health lines show backend names; the status page is served", async () => {
  let holder: Deno.TcpListener | null = null;
  try {
    holder = Deno.listen({ hostname: "127.0.0.1", port: 8080 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e; // taken already: the case under test
  }
  const child = new Deno.Command("deno", {
    args: ["run", "--allow-net=127.0.0.1", `${ROOT}examples/demo.ts`],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (out += chunk) }),
  );
  const errText = new Response(child.stderr).text();
  try {
    const deadline = Date.now() + 20_000;
    const wait = async (pattern: RegExp): Promise<RegExpExecArray> => {
      for (;;) {
        const m = pattern.exec(out);
        if (m !== null) return m;
        assert.ok(Date.now() < deadline, `timed out waiting for ${pattern}; stdout:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const [, port] = await wait(/sidekick: {3}http:\/\/127\.0\.0\.1:(\d+)/);
    assert.notEqual(Number(port), 8080);
    assert.match(out, /127\.0\.0\.1:8080 is taken; sidekick listens on a free port instead/);
    await wait(/\[health\] site1-a is up/);
    assert.doesNotMatch(out, /\[health\] http:/, "backend names, not addresses");
    const res = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.match(await res.text(), /^hello from site1-[ab] /);
    const [, admin] = await wait(/status: {5}http:\/\/127\.0\.0\.1:(\d+)\//);
    const status = await (await fetch(`http://127.0.0.1:${admin}/status`)).json();
    const endpoints = status.listeners[0].sites.flatMap((s: { endpoints: unknown[] }) =>
      s.endpoints
    );
    assert.equal(endpoints.length, 3, "the status page's JSON sees the demo");
  } finally {
    child.kill("SIGINT");
    const status = await child.status;
    await reading;
    const stderr = await errText;
    holder?.close();
    assert.equal(status.code, 0, stderr);
  }
});

/**
 * The status page in a real browser: headless Chromium (Debian's
 * `chromium`, driven by puppeteer-core in `_page_driver.ts`, a process of
 * its own) renders the admin listener's `/` for a sidecar with two real
 * backends, one backend is stopped, and the page must show its endpoint
 * down within a few seconds. The screenshot goes to /tmp; with
 * SIDEKICK_SCREENSHOT=docs it replaces docs/status-page.png (the README's).
 * Skipped, with a message, where /usr/bin/chromium is missing (`.ci/run`
 * installs it).
 */

import assert from "node:assert/strict";
import { DEFAULT_HEALTH } from "../../src/config/defaults.ts";
import { httpListener } from "../../src/config/builders.ts";
import { serveAdmin } from "../../src/operator/admin_server.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { startServeBackend } from "../_helpers/backends.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = new URL("../../", import.meta.url).pathname;
/** Where the screenshot goes: /tmp, or docs/status-page.png with SIDEKICK_SCREENSHOT=docs. */
const SCREENSHOT = Deno.env.get("SIDEKICK_SCREENSHOT") === "docs"
  ? `${ROOT}docs/status-page.png`
  : "/tmp/sidekick-status-page.png";

function chromiumMissing(): boolean {
  try {
    Deno.statSync(CHROMIUM);
    return false;
  } catch {
    console.error(
      `skipping the status page test: ${CHROMIUM} is missing (apt-get install chromium)`,
    );
    return true;
  }
}

/** Reads the driver's stdout line by line. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
}

Deno.test({
  name: "status page: Chromium renders it and shows a stopped backend down within seconds",
  ignore: chromiumMissing(),
  fn: async () => {
    await using a = startServeBackend(() => new Response("a"));
    const b = startServeBackend(() => new Response("b"));
    const health = { ...DEFAULT_HEALTH, intervalMs: 250, timeoutMs: 1_000 };
    const base = httpListener("127.0.0.1:0", [[a.url, b.url]], { name: "web" });
    await using sidecar = createSidecar({
      listeners: [{ ...base, cluster: { ...base.cluster, health, policy: "round-robin" } }],
    });
    const [addr] = await sidecar.start();
    for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${addr.port}/`)).text();
    await using admin = serveAdmin({ hostname: "127.0.0.1", port: 0 }, sidecar);
    const child = new Deno.Command("deno", {
      args: [
        "run",
        "--no-prompt",
        `--allow-run=${CHROMIUM}`,
        "--allow-env",
        `--allow-read=/tmp,${CHROMIUM}`,
        `--allow-write=/tmp,${ROOT}docs`,
        "--allow-net=127.0.0.1,localhost",
        `${ROOT}tests/operator/_page_driver.ts`,
        `http://127.0.0.1:${admin.address.port}/`,
        b.url,
        SCREENSHOT,
      ],
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const out = lines(child.stdout);
    const writer = child.stdin.getWriter();
    try {
      assert.equal((await out.next()).value, "up", "the page shows both endpoints up");
      await b.close();
      await writer.write(new TextEncoder().encode("stopped\n"));
      const down = (await out.next()).value ?? "";
      const ms = Number(down.split(" ")[1]);
      console.error(`status page showed the stopped backend down after ${ms} ms`);
      assert.match(down, /^down \d+$/);
      assert.ok(ms < 5_000, `shown down after ${ms} ms`);
    } finally {
      await writer.close().catch(() => {});
      await b.close();
      for await (const _ of out) { /* drain */ }
      const status = await child.status;
      assert.equal(status.code, 0, "the driver succeeded");
    }
    assert.ok(Deno.statSync(SCREENSHOT).size > 10_000, "a screenshot was saved");
  },
});

/**
 * HTTP/2 clients and the rest of sidekick: the `--h2c` flag and the `h2c`
 * key through a whole sidecar, reloads that turn h2c on, and request
 * tracing of h2 streams.
 */

import assert from "node:assert/strict";
import { startHarness } from "../fixtures/harness.ts";
import { DEFAULT_LOG } from "../../src/config/defaults.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { createSidecar } from "../../src/sidecar.ts";
import type { TraceRecord } from "../../src/observe/log.ts";
import { parseCommandLine } from "../../cli.ts";
import { delay, startNamedBackend, waitFor } from "../_helpers/http.ts";
import { connectH2c, curl, request } from "../_helpers/h2_clients.ts";

Deno.test("h2c follows a reload: off, then on without a restart", async () => {
  await using backend = startNamedBackend("a");
  await using proxy = await startHarness([[backend.url]]);
  const url = `http://127.0.0.1:${proxy.port}/r`;
  assert.notEqual((await curl(["--http2-prior-knowledge", url])).version, "2");
  proxy.proxy.update({ ...proxy.proxy.spec, h2c: true })();
  const on = await curl(["--http2-prior-knowledge", url]);
  assert.equal(`${on.version} ${on.status}`, "2 200", on.stderr);
  assert.equal(on.body, "a:/r");
});

Deno.test("h2: a traced stream gives one trace record like an HTTP/1.1 request", async () => {
  await using backend = startNamedBackend("a");
  const records: TraceRecord[] = [];
  await using proxy = await startHarness([[backend.url]], {
    spec: { h2c: true },
    proxy: { log: { ...DEFAULT_LOG, trace: "all", debug: true }, onTrace: (r) => records.push(r) },
  });
  const session = connectH2c(proxy.port);
  try {
    const res = await request(session, { ":method": "GET", ":path": "/traced?q=1", "x-a": "1" });
    assert.equal(res.body, "a:/traced?q=1");
    await waitFor(() => records.length === 1, 2000, "the trace record");
    const r = records[0];
    assert.equal(r.method, "GET");
    assert.equal(r.path, "/traced");
    assert.equal(r.query, "q=1");
    assert.equal(r.status, 200);
    assert.equal(r.endpoint, backend.url);
    assert.equal(r.client, "127.0.0.1");
    assert.ok(r.requestHeaders?.some(([n, v]) => n === "x-a" && v === "1"));
    assert.ok(r.responseHeaders?.some(([n, v]) => n === "X-Backend" && v === "a"));
    // Own paths are not traced.
    await request(session, { ":method": "GET", ":path": "/v1/health" });
    await delay(50);
    assert.equal(records.length, 1);
  } finally {
    session.close();
  }
});

Deno.test("--h2c on the command line and h2c: true in a file reach the listener (a whole sidecar)", async () => {
  await using backend = startNamedBackend("a");
  const parsed = parseCommandLine(
    ["--h2c", "-a", "127.0.0.1:0", "-d", "0", backend.url],
    () => undefined,
  );
  assert.ok(typeof parsed === "object");
  const file = validateConfig(
    `listeners:\n  - kind: http\n    address: 127.0.0.1:0\n    h2c: true\n    sites:\n      - endpoints: [${backend.url}]\n`,
    "h2c.yaml",
  );
  assert.ok("config" in file);
  for (const config of [parsed.config, file.config]) {
    const sidecar = createSidecar(config, { firstProbeWaitMs: 2000 });
    try {
      const [addr] = await sidecar.start();
      const res = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${addr.port}/cli`]);
      assert.equal(`${res.version} ${res.status}`, "2 200", res.stderr);
      assert.equal(res.body, "a:/cli");
    } finally {
      await sidecar.close();
    }
  }
});

/**
 * Hardening of the HTTP listener against hostile or broken peers (issue 16):
 * what the data port exposes, a backend that never answers, a client that
 * stalls its body or never reads its response. Real sockets, small timeouts.
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../cli.ts";
import { type SidecarConfig } from "../../src/config/schema.ts";
import { DEFAULT_HTTP_TIMEOUTS } from "../../src/config/defaults.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { createSidecar } from "../../src/sidecar.ts";
import {
  delay,
  HttpPeer,
  startNamedBackend,
  startProxy,
  startRawBackend,
  utf8,
  waitFor,
} from "../_helpers/http.ts";

/** Starts a sidecar for `config` and returns its first port and a closer. */
async function serve(config: SidecarConfig) {
  const sidecar = createSidecar(config, { firstProbeWaitMs: 2000 });
  const [addr] = await sidecar.start();
  return {
    port: addr.port,
    async get(path: string) {
      const peer = await HttpPeer.connect(addr.port, 5000, addr.hostname);
      try {
        await peer.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
        return await peer.readResponse();
      } finally {
        peer.close();
      }
    },
    [Symbol.asyncDispose]: () => sidecar.close(),
  };
}

function fileConfig(text: string): SidecarConfig {
  const r = validateConfig(text, "test.yaml");
  assert.ok("config" in r, JSON.stringify("problems" in r ? r.problems : []));
  return r.config;
}

Deno.test("/.prometheus/metrics: served on the data port by default, proxied with `metrics: false`", async () => {
  await using backend = startNamedBackend("b");
  const yaml = (extra: string) =>
    `listeners:\n  - kind: http\n    address: 127.0.0.1:0\n${extra}    health: {active: false}\n` +
    `    sites:\n      - endpoints: [${backend.url}]\n`;
  {
    await using on = await serve(fileConfig(yaml("")));
    const res = await on.get("/.prometheus/metrics");
    assert.match(res.text(), /sidekick_requests_total/);
  }
  {
    await using off = await serve(fileConfig(yaml("    metrics: false\n")));
    const res = await off.get("/.prometheus/metrics");
    assert.equal(res.status, 200);
    assert.equal(res.text(), "b:/.prometheus/metrics");
  }
});

Deno.test("--hide-metrics turns the data-port metrics off; /v1/health stays", async () => {
  await using backend = startNamedBackend("b");
  const parsed = parseCommandLine(
    ["--hide-metrics", "-a", "127.0.0.1:0", "-d", "0", backend.url],
    () => undefined,
  );
  assert.ok(typeof parsed === "object");
  await using s = await serve(parsed.config);
  assert.equal((await s.get("/.prometheus/metrics")).text(), "b:/.prometheus/metrics");
  assert.equal((await s.get("/v1/health")).status, 200);
});

Deno.test("a backend that never answers gets 504 from the default response-header timeout (flag sets it)", async () => {
  assert.equal(DEFAULT_HTTP_TIMEOUTS.responseHeaderMs, 60_000);
  const defaults = parseCommandLine(["http://127.0.0.1:9"], () => undefined);
  assert.ok(typeof defaults === "object");
  assert.equal(defaults.config.listeners[0].kind, "http");
  const l = defaults.config.listeners[0];
  assert.ok(l.kind === "http" && l.timeouts.responseHeaderMs === 60_000);
  await using silent = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.drainUntilClosed();
  });
  const parsed = parseCommandLine(
    ["--response-header-timeout", "300ms", "-a", "127.0.0.1:0", "-d", "0", silent.url],
    () => undefined,
  );
  assert.ok(typeof parsed === "object");
  await using s = await serve(parsed.config);
  const t0 = Date.now();
  const res = await s.get("/hang");
  assert.equal(res.status, 504);
  const ms = Date.now() - t0;
  assert.ok(ms >= 280 && ms < 3000, `504 after ${ms} ms`);
});

/** A backend that reads a request head and then whatever body comes, answering once it is whole. */
function bodyBackend() {
  return startRawBackend(async (peer) => {
    const req = await peer.readRequest();
    if (req === null) return;
    await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n`);
    await peer.write(req.body);
  });
}

/** Asserts the listener's `sidekick_timeouts_total` count of one kind. */
async function assertCut(port: number, kind: string, n: number): Promise<void> {
  const pattern = new RegExp(`sidekick_timeouts_total\\{listener="http",kind="${kind}"\\} ${n}\n`);
  assert.match(await metricsText(port), pattern);
}

async function metricsText(port: number): Promise<string> {
  const peer = await HttpPeer.connect(port);
  try {
    await peer.write("GET /.prometheus/metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    return (await peer.readResponse()).text();
  } finally {
    peer.close();
  }
}

Deno.test("a request body that stops is cut after the body idle timeout, and counted", async () => {
  await using backend = bodyBackend();
  await using proxy = await startProxy([[backend.url]], { timeouts: { requestBodyMs: 300 } });
  const peer = await proxy.connect(4000);
  try {
    await peer.write("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
    const t0 = Date.now();
    await waitFor(() => proxy.stats().connections === 0, 3000, "the stalled client to be cut");
    const ms = Date.now() - t0;
    assert.ok(ms >= 250, `cut after ${ms} ms`);
    await waitFor(() => backend.open === 0, 2000, "the upstream connection to close");
  } finally {
    peer.close();
  }
  await assertCut(proxy.port, "request_body", 1);
  assert.equal(proxy.endpoint(backend).failures, 0, "a stalled client is not the backend's fault");
});

Deno.test("a slow but steady body is allowed past the body idle timeout; a request deadline cuts it", async () => {
  await using backend = bodyBackend();
  {
    await using proxy = await startProxy([[backend.url]], { timeouts: { requestBodyMs: 500 } });
    const peer = await proxy.connect(5000);
    try {
      await peer.write("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 15\r\n\r\n");
      for (let i = 0; i < 15; i++) {
        await delay(100); // 1.5 s in all, three times the idle timeout
        await peer.write(utf8(String.fromCharCode(97 + i)));
      }
      const res = await peer.readResponse();
      assert.equal(res.text(), "abcdefghijklmno");
    } finally {
      peer.close();
    }
  }
  {
    await using proxy = await startProxy([[backend.url]], {
      timeouts: { requestBodyMs: 500, requestMs: 600 },
    });
    const peer = await proxy.connect(5000);
    try {
      await peer.write("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 30\r\n\r\n");
      let cut = false;
      for (let i = 0; i < 30 && !cut; i++) {
        await delay(100);
        try {
          await peer.write(utf8("x"));
        } catch {
          cut = true;
        }
        cut ||= proxy.stats().connections === 0;
      }
      assert.ok(cut, "the request deadline cut the trickle");
    } finally {
      peer.close();
    }
    await assertCut(proxy.port, "request", 1);
  }
});

Deno.test("a client that never reads its response is cut after the write idle timeout, and counted", async () => {
  const size = 64 * 1024 * 1024;
  await using backend = startRawBackend(async (peer) => {
    await peer.readRequest();
    await peer.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 64; i++) await peer.write(chunk);
  });
  await using proxy = await startProxy([[backend.url]], { timeouts: { responseWriteMs: 300 } });
  const peer = await proxy.connect(5000);
  try {
    await peer.write("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    await peer.readHead();
    // never read the body
    await waitFor(() => proxy.stats().connections === 0, 5000, "the non-reading client to be cut");
    await waitFor(() => backend.open === 0, 3000, "the upstream connection to close");
  } finally {
    peer.close();
  }
  await assertCut(proxy.port, "response_write", 1);
});

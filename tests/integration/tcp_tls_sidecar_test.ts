/**
 * TLS on a TCP listener from the YAML file to the wire: the keys are read,
 * printed back by `check` and granted by `permissions`; a sidecar built
 * from the file terminates and originates TLS, its TCP probes complete the
 * handshake (a backend with a certificate from another CA is down, named),
 * and a reload with a bad file is refused while the listener keeps serving.
 */

import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.ts";
import { checkConfigText } from "../../src/config/format.ts";
import { formatProblem } from "../../src/config/problem.ts";
import type { SidecarConfig } from "../../src/config/schema.ts";
import { requiredPermissions } from "../../src/cli/permissions.ts";
import { createSidecar } from "../../src/sidecar.ts";
import { fixture } from "../fixtures/harness.ts";
import { utf8, waitFor } from "../_helpers/net.ts";
import { connectTls, sendAndFinish, startEcho } from "../_helpers/tls_echo.ts";

function yaml(endpoints: string[], cert = "server"): string {
  return [
    "listeners:",
    "  - kind: tcp",
    "    name: db",
    "    address: 127.0.0.1:0",
    "    tiers:",
    `      - endpoints: [${endpoints.join(", ")}]`,
    "    health: {kind: tcp, interval: 60s, timeout: 2s}",
    "    tls:",
    `      cert: ${fixture(`${cert}.pem`)}`,
    `      key: ${fixture(`${cert}-key.pem`)}`,
    "    upstreamTls:",
    `      ca: ${fixture("ca.pem")}`,
    "      serverName: localhost",
    "",
  ].join("\n");
}

function config(text: string): SidecarConfig {
  const result = validateConfig(text, "s.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  return result.config;
}

function problems(text: string): string[] {
  const result = validateConfig(text, "s.yaml");
  assert.ok("problems" in result, "expected problems");
  return result.problems.map(formatProblem);
}

Deno.test("TCP TLS in the file: read, printed back by check, granted by permissions", () => {
  const text = yaml(["127.0.0.1:9001"]);
  const l = config(text).listeners[0];
  assert.equal(l.kind, "tcp");
  assert.deepEqual(l.kind === "tcp" && [l.tls, l.upstreamTls], [
    { certFile: fixture("server.pem"), keyFile: fixture("server-key.pem") },
    { caFile: fixture("ca.pem"), serverName: "localhost", insecure: false },
  ]);
  const checked = checkConfigText(text, "s.yaml");
  assert.ok(checked.ok);
  assert.match(checked.normalized, /\n {4}tls:\n {6}cert: .*server\.pem\n {6}key: /);
  assert.match(
    checked.normalized,
    /\n {4}upstreamTls:\n {6}ca: .*ca\.pem\n {6}serverName: localhost\n {6}insecure: false\n/,
  );
  // What check prints reads back to the same config.
  assert.deepEqual(config(checked.normalized), config(text));
  // A plain TCP listener prints neither key.
  const plain = checkConfigText(
    "listeners:\n  - kind: tcp\n    tiers: [{endpoints: [127.0.0.1:1]}]\n",
    "s.yaml",
  );
  assert.ok(plain.ok && !/tls|upstreamTls/i.test(plain.normalized));

  const read = requiredPermissions(config(text)).read.map((e) => `${e.value} (${e.why})`);
  assert.deepEqual(read, [
    `${fixture("server.pem")} (server certificate)`,
    `${fixture("server-key.pem")} (server key)`,
    `${fixture("ca.pem")} (CA certificate)`,
  ]);
});

Deno.test("TCP TLS in the file: problems are located and say how to fix", () => {
  const l = (extra: string) =>
    `listeners:\n  - kind: udp\n    address: 127.0.0.1:53\n    tiers: [{endpoints: [127.0.0.1:54]}]\n    ${extra}\n`;
  assert.deepEqual(problems(l("tls: {cert: a.pem, key: b.pem}")), [
    "s.yaml:5:5: listeners[0].tls: 'tls' is for http or tcp listeners, not udp",
  ]);
  const tcp = (extra: string) =>
    `listeners:\n  - kind: tcp\n    tiers: [{endpoints: [127.0.0.1:1]}]\n    ${extra}\n`;
  assert.deepEqual(problems(tcp("upstreamTls: {cert: c.pem, key: k.pem, serverName: db}")), [
    "s.yaml:4:56: listeners[0].upstreamTls.serverName: cannot go with a client certificate (Deno sends the dialled host as the name with one); drop serverName, or name the endpoints by that host",
  ]);
  assert.deepEqual(problems(tcp("tls: {key: k.pem}")), [
    "s.yaml:4:10: listeners[0].tls.cert: is missing; give the certificate chain (PEM) file",
  ]);
});

Deno.test("TCP TLS in the file: a sidecar terminates and originates it, probes name a bad certificate, a bad reload changes nothing", async () => {
  await using good = startEcho("server");
  await using stranger = startEcho("server2"); // issued by ca2
  const text = yaml([good.address, stranger.address]);
  const notices: string[] = [];
  await using sidecar = createSidecar(config(text), { onNotice: (m) => notices.push(m) });
  const [addr] = await sidecar.start();
  const endpoints = sidecar.stats().listeners[0].endpoints;
  assert.deepEqual(endpoints.map((e) => e.status), ["up", "down"]);
  assert.equal(endpoints[0].lastProbe?.detail, "connected (TLS)");
  assert.match(endpoints[1].lastProbe?.detail ?? "", /UnknownIssuer|certificate/i);

  for (let i = 0; i < 3; i++) {
    const conn = await connectTls(addr);
    assert.equal(await sendAndFinish(conn, utf8(`c${i}`)), `c${i}|eof 2`);
    conn.close();
  }

  const bad = config(text.replace(fixture("ca.pem"), fixture("nope.pem")));
  await assert.rejects(() => sidecar.reload(bad), /nope\.pem/);
  const conn = await connectTls(addr);
  assert.equal(await sendAndFinish(conn, utf8("still")), "still|eof 5");
  conn.close();

  // A good reload with another certificate is served once swapped in (the socket is replaced).
  await sidecar.reload(config(yaml([good.address, stranger.address], "server2")));
  await waitFor(() => notices.some((m) => m.startsWith("reloaded")), 3_000, "reload notice");
  const after = await connectTls(addr, "ca2.pem");
  assert.equal(await sendAndFinish(after, utf8("new")), "new|eof 3");
  after.close();
});

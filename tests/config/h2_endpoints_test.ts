/**
 * HTTP/2 endpoints in every config input: `h2c://` and `h2://` URLs as
 * minio-style SITE arguments (with ranges), in sidekick YAML sites, as the
 * scheme of SRV-discovered endpoints; the gRPC health kind and its service
 * name; and the normalised output writes them back.
 */

import assert from "node:assert/strict";
import { parseEndpoint } from "../../src/config/builders.ts";
import { configFromFlags } from "../../src/config/compat/flags.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import { formatConfig } from "../../src/config/format.ts";
import type { SidecarConfig } from "../../src/config/schema.ts";

function config(text: string): SidecarConfig {
  const result = validateConfig(text, "s.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  return result.config;
}

function problems(text: string): string[] {
  const result = validateConfig(text, "s.yaml");
  assert.ok("problems" in result, `expected problems for:\n${text}`);
  return result.problems.map(formatProblem);
}

Deno.test("parseEndpoint: h2c and h2 URLs, default ports, IPv6, base path; others refused", () => {
  assert.deepEqual(parseEndpoint("h2c://127.0.0.1:50051"), {
    scheme: "h2c",
    host: "127.0.0.1",
    port: 50051,
    basePath: "",
  });
  assert.deepEqual(parseEndpoint("H2://Grpc.Example/api/"), {
    scheme: "h2",
    host: "grpc.example",
    port: 443,
    basePath: "/api",
  });
  assert.equal(parseEndpoint("h2c://backend").port, 80);
  assert.equal(parseEndpoint("h2c://[::1]:9000").host, "::1");
  assert.throws(() => parseEndpoint("h3://a:1"), /scheme must be http, https, h2c or h2, not h3/);
  assert.throws(() => parseEndpoint("h2c://a:1?x=1"), /only scheme, host, port and path/);
});

Deno.test("minio-style SITE arguments: h2c endpoints with a {1...N} range", () => {
  const { config } = configFromFlags({ address: "127.0.0.1:8080" }, [
    "h2c://127.0.0.1:{9001...9003}",
    "h2://grpc.example:443",
  ]);
  const sites = config.listeners[0].cluster.sites;
  assert.deepEqual(sites[0].endpoints.map((e) => `${e.scheme}:${e.port}`), [
    "h2c:9001",
    "h2c:9002",
    "h2c:9003",
  ]);
  assert.equal(sites[1].endpoints[0].scheme, "h2");
});

Deno.test("sidekick YAML: h2c sites, SRV with h2c, grpc health; the normalised output round-trips", () => {
  const text = [
    "listeners:",
    "  - kind: http",
    "    address: 127.0.0.1:8080",
    "    sites:",
    "      - endpoints:",
    '          - "h2c://127.0.0.1:{9001...9002}"',
    '          - "h2://[::1]:9443"',
    "    health: {kind: grpc, grpcService: my.pkg.Greeter}",
    "  - kind: http",
    "    address: 127.0.0.1:8081",
    "    discovery: {srv: h2c://_grpc._tcp.svc.example}",
    "",
  ].join("\n");
  const c = config(text);
  const [a, b] = c.listeners;
  assert.deepEqual(a.cluster.sites[0].endpoints.map((e) => e.scheme), ["h2c", "h2c", "h2"]);
  assert.equal(a.cluster.health.kind, "grpc");
  assert.equal(a.cluster.health.grpcService, "my.pkg.Greeter");
  assert.deepEqual(b.cluster.srv, { name: "_grpc._tcp.svc.example", scheme: "h2c" });
  const out = formatConfig(c);
  assert.match(out, /h2c:\/\/127\.0\.0\.1:9001/);
  assert.match(out, /h2:\/\/\[::1\]:9443/);
  assert.match(out, /srv: h2c:\/\/_grpc\._tcp\.svc\.example/);
  assert.match(out, /grpcService: my\.pkg\.Greeter/);
  assert.deepEqual(config(out).listeners.map((l) => l.cluster), c.listeners.map((l) => l.cluster));
});

Deno.test("sidekick YAML: grpc health on a TCP listener and a bad scheme are located problems", () => {
  const tcp = problems([
    "listeners:",
    "  - kind: tcp",
    "    address: 127.0.0.1:8080",
    "    tiers:",
    "      - endpoints: [127.0.0.1:9001]",
    "    health: {kind: grpc}",
    "",
  ].join("\n"));
  assert.ok(
    tcp.some((p) => /s\.yaml:6:13.*kind: grpc needs an HTTP listener/.test(p)),
    tcp.join("\n"),
  );
  const scheme = problems([
    "listeners:",
    "  - kind: http",
    "    address: 127.0.0.1:8080",
    "    sites:",
    "      - endpoints: [h3://127.0.0.1:9001]",
    "",
  ].join("\n"));
  assert.ok(scheme.some((p) => /s\.yaml:5:.*h2c or h2, not h3/.test(p)), scheme.join("\n"));
});

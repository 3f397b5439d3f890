import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../../cli.ts";
import { formatConfig } from "../../src/config/format.ts";
import { applyFlagOverrides } from "../../src/config/compat/overrides.ts";
import { requiredPermissions } from "../../src/cli/permissions.ts";
import { formatProblem } from "../../src/config/problem.ts";
import { tcpListener } from "../../src/config/builders.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { createSidecar } from "../../src/sidecar.ts";

const SITE = "http://127.0.0.1:9000";

function parsed(args: string[], env: Record<string, string> = {}) {
  const p = parseCommandLine(args, (n) => env[n]);
  assert.ok(typeof p === "object");
  return p.config;
}

Deno.test("--admin and SIDEKICK_ADMIN set the admin listener; it is off by default", () => {
  assert.equal(parsed([SITE]).admin, undefined);
  assert.deepEqual(parsed(["--admin", "127.0.0.1:9090", SITE]).admin, {
    hostname: "127.0.0.1",
    port: 9090,
  });
  assert.deepEqual(parsed([SITE], { SIDEKICK_ADMIN: ":9091" }).admin, {
    hostname: "0.0.0.0",
    port: 9091,
  });
});

Deno.test("--admin refuses the traffic port and a malformed address, naming the flag", () => {
  assert.throws(
    () => parsed(["-a", ":8080", "--admin", "127.0.0.1:8080", SITE]),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        "--admin: port 8080 is the traffic port of http listener 'http'; give the admin listener a port of its own, like 127.0.0.1:9090",
  );
  assert.throws(
    () => parsed(["--admin", "localhost", SITE]),
    (e: Error) =>
      e instanceof UsageError && e.message.startsWith("--admin: ") &&
      e.message.endsWith("use HOST:PORT, like 127.0.0.1:9090"),
  );
  // Another host on the same port is fine; so is any free port.
  assert.ok(parsed(["-a", "127.0.0.1:8080", "--admin", "127.0.0.2:8080", SITE]).admin);
  assert.ok(parsed(["--admin", "127.0.0.1:0", SITE]).admin);
});

Deno.test("admin.address in the file: read, written back, and kept off the traffic ports", () => {
  const text = (admin: string) =>
    `listeners:\n  - kind: tcp\n    address: 127.0.0.1:26257\n    tiers:\n      - endpoints: [127.0.0.1:26258]\nadmin:\n  address: ${admin}\n`;
  const ok = validateConfig(text("127.0.0.1:9090"), "s.yaml");
  assert.ok("config" in ok);
  assert.deepEqual(ok.config.admin, { hostname: "127.0.0.1", port: 9090 });
  assert.ok(formatConfig(ok.config).includes("admin:\n  address: 127.0.0.1:9090\n"));
  const again = validateConfig(formatConfig(ok.config), "n.yaml");
  assert.ok("config" in again && again.config.admin?.port === 9090);

  const clash = validateConfig(text(":26257"), "s.yaml");
  assert.ok("problems" in clash);
  assert.deepEqual(clash.problems.map(formatProblem), [
    "s.yaml:7:12: admin.address: port 26257 is the traffic port of tcp listener 'tcp:127.0.0.1:26257'; give the admin listener a port of its own, like 127.0.0.1:9090",
  ]);
  const bad = validateConfig(text("nowhere"), "s.yaml");
  assert.ok("problems" in bad);
  assert.match(
    formatProblem(bad.problems[0]),
    /^s\.yaml:7:12: admin\.address: .*127\.0\.0\.1:9090$/,
  );
  const typo = validateConfig(
    text("127.0.0.1:1").replace("admin:\n  address", "admin:\n  adress"),
    "s.yaml",
  );
  assert.ok("problems" in typo);
  assert.match(formatProblem(typo.problems[0]), /admin\.adress: unknown key 'adress'/);
});

Deno.test("iaido's diagAddr on a frontend's port is refused at its place", () => {
  const r = validateConfig(
    "diagAddr: :26257\nfrontends:\n  - bindAddress: :26257\n    backendPool:\n      tiers: [{targets: [{hosts: [127.0.0.1], port: 1}]}]\n",
    "iaido.yaml",
  );
  assert.ok("problems" in r);
  assert.match(
    formatProblem(r.problems[0]),
    /^iaido\.yaml:1:11: diagAddr: port 26257 is the traffic port/,
  );
});

Deno.test("--admin with --config overrides the file's admin listener", () => {
  const file = { listeners: [tcpListener("127.0.0.1:26257", [["127.0.0.1:26258"]])] };
  assert.deepEqual(applyFlagOverrides(file, { admin: "127.0.0.1:8080" }).admin, {
    hostname: "127.0.0.1",
    port: 8080,
  });
  assert.throws(
    () => applyFlagOverrides(file, { admin: "127.0.0.1:26257" }),
    /--admin: port 26257 is the traffic port/,
  );
});

Deno.test("the admin address is in the printed permissions; a library config with a clash is refused", () => {
  const config = {
    listeners: [tcpListener("127.0.0.1:26257", [["127.0.0.1:26258"]])],
    admin: { hostname: "127.0.0.1", port: 9090 },
  };
  const net = requiredPermissions(config).net;
  assert.ok(net.some((e) => e.value === "127.0.0.1:9090" && e.why === "listen (admin listener)"));
  assert.throws(
    () => createSidecar({ ...config, admin: { hostname: "0.0.0.0", port: 26257 } }),
    /Cannot use the admin address: port 26257 is the traffic port/,
  );
});

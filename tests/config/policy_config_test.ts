import assert from "node:assert/strict";
import { checkConfigText } from "../../src/config/format.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import { configFromFlags, UsageError } from "../../src/config/compat/flags.ts";
import { applyFlagOverrides } from "../../src/config/compat/overrides.ts";
import type { ClusterSpec } from "../../src/config/schema.ts";

function clusterOf(text: string): ClusterSpec {
  const result = validateConfig(text, "p.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  return result.config.listeners[0].cluster;
}

function problemsOf(text: string): string[] {
  const result = validateConfig(text, "p.yaml");
  assert.ok("problems" in result, "expected problems");
  return result.problems.map(formatProblem);
}

const HEAD = "listeners:\n  - kind: http\n    address: 127.0.0.1:8080\n";
const SITES = "    sites:\n      - endpoints: [http://127.0.0.1:9001, http://127.0.0.1:9002]\n";

Deno.test("policy: p2c and hash by name; hash gets its defaults", () => {
  assert.equal(clusterOf(`${HEAD}    policy: p2c\n${SITES}`).policy, "p2c");
  const c = clusterOf(`${HEAD}    policy: hash\n${SITES}`);
  assert.equal(c.policy, "hash");
  assert.deepEqual(c.hash, { key: "client-ip", fallback: "least" });
});

Deno.test("policy: the map form sets the hash key and fallback, and check prints it normalised", () => {
  const text = `${HEAD}    policy: {name: hash, key: "cookie:session", fallback: p2c}\n${SITES}`;
  assert.deepEqual(clusterOf(text).hash, { key: "cookie:session", fallback: "p2c" });
  const checked = checkConfigText(text, "p.yaml");
  assert.ok(checked.ok);
  assert.match(
    checked.normalized,
    /policy:\n\s+name: hash\n\s+key: cookie:session\n\s+fallback: p2c\n/,
  );
  const plain = checkConfigText(`${HEAD}    policy: p2c\n${SITES}`, "p.yaml");
  assert.ok(plain.ok);
  assert.match(plain.normalized, /policy: p2c\n/);
});

Deno.test("policy: bad keys and fallbacks are located problems that say how to fix them", () => {
  assert.deepEqual(problemsOf(`${HEAD}    policy: {name: hash, key: "header:"}\n${SITES}`), [
    "p.yaml:4:31: listeners[0].policy.key: 'header:' is not a hash key; use client-ip, header:NAME or cookie:NAME (e.g. cookie:session)",
  ]);
  assert.deepEqual(problemsOf(`${HEAD}    policy: {name: hash, fallback: hash}\n${SITES}`), [
    "p.yaml:4:36: listeners[0].policy.fallback: 'hash' is not a fallback policy; use least, random, round-robin or p2c",
  ]);
  assert.deepEqual(problemsOf(`${HEAD}    policy: {name: least, key: client-ip}\n${SITES}`), [
    "p.yaml:4:32: listeners[0].policy.key: only the hash policy takes this key; remove it",
  ]);
});

Deno.test("weight: endpoints take weight 1..65535 in the map form; check writes it back", () => {
  const text =
    `${HEAD}    sites:\n      - endpoints:\n          - {address: http://127.0.0.1:9001, weight: 3}\n          - http://127.0.0.1:9002\n`;
  const c = clusterOf(text);
  assert.equal(c.sites[0].endpoints[0].weight, 3);
  assert.equal(c.sites[0].endpoints[1].weight, undefined);
  const checked = checkConfigText(text, "p.yaml");
  assert.ok(checked.ok);
  assert.match(checked.normalized, /- address: http:\/\/127\.0\.0\.1:9001\n\s+weight: 3\n/);
  const bad = problemsOf(text.replace("weight: 3", "weight: 0"));
  assert.deepEqual(bad, [
    "p.yaml:6:54: listeners[0].sites[0].endpoints[0].weight: 0 is out of range; use 1..65535",
  ]);
});

Deno.test("flags: --host-balance p2c and hash, --hash-key, with errors naming the flag", () => {
  const p2c = configFromFlags({ "host-balance": "p2c" }, ["http://127.0.0.1:9000"]);
  assert.equal(p2c.config.listeners[0].cluster.policy, "p2c");
  const hash = configFromFlags({ "host-balance": "hash", "hash-key": "header:X-User" }, [
    "http://127.0.0.1:9000",
  ]);
  assert.deepEqual(hash.config.listeners[0].cluster.hash, {
    key: "header:X-User",
    fallback: "least",
  });
  assert.throws(
    () => configFromFlags({ "host-balance": "hash", "hash-key": "ip" }, ["http://h:1"]),
    (e: Error) =>
      e instanceof UsageError &&
      e.message ===
        "--hash-key: 'ip' is not a hash key; use client-ip, header:NAME or cookie:NAME (e.g. cookie:session)",
  );
  const ignored = configFromFlags({ "hash-key": "cookie:s" }, ["http://h:1"]);
  assert.deepEqual(ignored.warnings, [
    "--hash-key applies to --host-balance hash only; it is ignored with least",
  ]);
});

Deno.test("flags: --hash-key overrides the key of a file whose policy is hash", () => {
  const result = validateConfig(
    `${HEAD}    policy: {name: hash, key: "cookie:a", fallback: random}\n${SITES}`,
    "p.yaml",
  );
  assert.ok("config" in result);
  const out = applyFlagOverrides(result.config, { "hash-key": "header:X-B" });
  assert.equal(out.listeners[0].cluster.policy, "hash");
  assert.deepEqual(out.listeners[0].cluster.hash?.key, "header:X-B");
  const kept = applyFlagOverrides(result.config, { "host-balance": "hash" });
  assert.deepEqual(kept.listeners[0].cluster.hash, { key: "cookie:a", fallback: "random" });
});

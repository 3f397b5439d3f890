/**
 * The resilience settings from a file (`health: {rise, fall, slowStart,
 * panicThreshold, passive, outlier}`), from flags, and back through
 * `--check`'s normalised output.
 */

import assert from "node:assert/strict";
import { validateConfig } from "../../src/config/validate.ts";
import { formatConfig } from "../../src/config/format.ts";
import { formatProblem } from "../../src/config/problem.ts";
import { DEFAULT_OUTLIER } from "../../src/config/defaults.ts";
import { configFromFlags, UsageError } from "../../src/config/compat/flags.ts";
import { applyFlagOverrides } from "../../src/config/compat/overrides.ts";
import type { SidecarConfig } from "../../src/config/schema.ts";

function file(kind: "http" | "tcp" | "udp", ...health: string[]): string {
  const endpoint = kind === "http" ? "http://127.0.0.1:9001" : "127.0.0.1:9001";
  return [
    "listeners:",
    `  - kind: ${kind}`,
    "    address: 127.0.0.1:8080",
    `    ${kind === "http" ? "sites" : "tiers"}:`,
    `      - endpoints: [${endpoint}]`,
    "    health:",
    ...health.map((line) => `      ${line}`),
    "",
  ].join("\n");
}

function load(text: string): SidecarConfig {
  const result = validateConfig(text, "s.yaml");
  if ("problems" in result) assert.fail(result.problems.map(formatProblem).join("\n"));
  return result.config;
}

for (const kind of ["http", "tcp", "udp"] as const) {
  Deno.test(`${kind}: rise, fall, slow start, panic, passive and outlier read from the file and round-trip`, () => {
    const config = load(file(
      kind,
      "rise: 3",
      "fall: 2",
      "slowStart: 30s",
      "panicThreshold: 50",
      "passive: {failures: 5, window: 20s}",
      "outlier: {consecutive5xx: 4, baseEjection: 10s}",
    ));
    const h = config.listeners[0].cluster.health;
    assert.deepEqual(
      [h.rise, h.fall, h.slowStartMs, h.panicPercent, h.passive],
      [3, 2, 30_000, 50, { failures: 5, windowMs: 20_000 }],
    );
    assert.deepEqual(h.outlier, { ...DEFAULT_OUTLIER, consecutive5xx: 4, baseEjectionMs: 10_000 });
    const again = validateConfig(formatConfig(config), "n.yaml");
    assert.ok("config" in again);
    assert.deepEqual(again.config, config);
  });
}

Deno.test("outlier: true turns on the defaults; left out, everything is off", () => {
  assert.deepEqual(
    load(file("http", "outlier: true")).listeners[0].cluster.health.outlier,
    DEFAULT_OUTLIER,
  );
  const h = load(file("http", "rise: 1")).listeners[0].cluster.health;
  assert.deepEqual([h.slowStartMs, h.panicPercent, h.passive, h.outlier], [
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

Deno.test("bad resilience values are named with their place", () => {
  const result = validateConfig(
    file(
      "http",
      "panicThreshold: 150",
      "passive: {failures: 0}",
      "outlier: {maxEjectedPercnt: 5}",
      "slowStart: 30",
    ),
    "s.yaml",
  );
  assert.ok("problems" in result);
  assert.deepEqual(result.problems.map(formatProblem), [
    "s.yaml:7:23: listeners[0].health.panicThreshold: 150 is out of range; use 0..100",
    "s.yaml:8:27: listeners[0].health.passive.failures: 0 is out of range; use 1 or more",
    "s.yaml:9:17: listeners[0].health.outlier.maxEjectedPercnt: unknown key 'maxEjectedPercnt'; did you mean 'maxEjectedPercent'?",
    "s.yaml:10:18: listeners[0].health.slowStart: 30 is not a duration; add a unit, e.g. 30s",
  ]);
});

Deno.test("flags: --health-rise, --health-fall, --slow-start, --panic-threshold, --passive-*, --outlier-ejection", () => {
  const { config } = configFromFlags({
    "health-rise": "2",
    "health-fall": "3",
    "slow-start": "30s",
    "panic-threshold": "50",
    "passive-failures": "5",
    "outlier-ejection": true,
  }, ["http://127.0.0.1:9001"]);
  const h = config.listeners[0].cluster.health;
  assert.deepEqual(
    [h.rise, h.fall, h.slowStartMs, h.panicPercent, h.passive, h.outlier],
    [2, 3, 30_000, 50, { failures: 5, windowMs: 10_000 }, DEFAULT_OUTLIER],
  );
  assert.throws(
    () => configFromFlags({ "health-rise": "0" }, ["http://127.0.0.1:9001"]),
    (e) =>
      e instanceof UsageError &&
      e.message === "--health-rise must be a whole number 1 or more, got '0'",
  );
  assert.throws(
    () => configFromFlags({ "panic-threshold": "101" }, ["http://127.0.0.1:9001"]),
    /--panic-threshold must be a whole number 0\.\.100, got '101'/,
  );
});

Deno.test("flags given with --config override the file's health thresholds", () => {
  const out = applyFlagOverrides(load(file("http", "rise: 3", "fall: 2")), {
    "health-rise": "5",
    "slow-start": "1m",
  });
  const h = out.listeners[0].cluster.health;
  assert.deepEqual([h.rise, h.fall, h.slowStartMs], [5, 2, 60_000]);
});

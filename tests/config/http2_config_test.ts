import assert from "node:assert/strict";
import { configFromFlags } from "../../src/config/compat/flags.ts";
import { formatConfig } from "../../src/config/format.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { formatProblem } from "../../src/config/problem.ts";
import type { HttpListenerSpec } from "../../src/config/schema.ts";

function httpOf(values: Record<string, string | boolean | undefined>): HttpListenerSpec {
  const l = configFromFlags(values, ["http://127.0.0.1:9000"]).config.listeners[0];
  assert.equal(l.kind, "http");
  return l as HttpListenerSpec;
}

Deno.test("--h2c turns h2c on; without it neither key is set (the defaults apply)", () => {
  const plain = httpOf({});
  assert.equal(plain.h2c, undefined);
  assert.equal(plain.http2, undefined);
  assert.equal(httpOf({ h2c: true }).h2c, true);
});

Deno.test("formatConfig() writes http2 and h2c only when they differ from the defaults, and they load back", () => {
  const base = configFromFlags({ h2c: true }, ["http://127.0.0.1:9000"]).config;
  const l = base.listeners[0] as HttpListenerSpec;
  const config = { ...base, listeners: [{ ...l, http2: false }] };
  const text = formatConfig(config);
  assert.match(text, /^ {4}http2: false$/m);
  assert.match(text, /^ {4}h2c: true$/m);
  const back = validateConfig(text, "out.yaml");
  if ("problems" in back) assert.fail(back.problems.map(formatProblem).join("\n"));
  const read = back.config.listeners[0] as HttpListenerSpec;
  assert.equal(read.http2, false);
  assert.equal(read.h2c, true);
  assert.doesNotMatch(
    formatConfig(configFromFlags({}, ["http://127.0.0.1:9000"]).config),
    /h2c|http2/,
  );
});

import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "../../src/config/duration.ts";
import { mulberry32 } from "../_helpers/random.ts";

Deno.test("parseDuration() reads Go durations and plain seconds", async (t) => {
  const cases: [string, number][] = [
    ["5s", 5_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["300ms", 300],
    ["0", 0],
    ["0s", 0],
    ["10m", 600_000],
    ["1h2m3.456s", 3_723_456],
    ["2h45m", 9_900_000],
    ["1.5ms", 2],
    ["1500us", 2],
    ["1500µs", 2],
    ["1500μs", 2],
    ["2000000ns", 2],
    ["500us", 1],
    ["100us", 1],
    ["1ns", 1],
    [".5s", 500],
    ["5.s", 5_000],
    ["+5s", 5_000],
    ["5", 5_000],
    ["0.5", 500],
    ["120", 120_000],
  ];
  for (const [text, ms] of cases) {
    await t.step(text, () => assert.equal(parseDuration(text), ms));
  }
});

Deno.test("parseDuration() rejects what Go rejects, and negatives", async (t) => {
  const cases = [
    "x5",
    "",
    " ",
    "-5s",
    "-5",
    "5 s",
    " 5s",
    "5s ",
    "NaN",
    "Infinity",
    "5d",
    "1m30x",
    "5S",
    "s",
    ".",
    ".s",
    "1..5s",
    "1e3",
    "1e3s",
    "0x10",
    "5s5",
    "1h 30m",
  ];
  for (const text of cases) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(() => parseDuration(text), (error: unknown) => {
        assert.ok(error instanceof SyntaxError);
        assert.ok(error.message.startsWith(`Cannot parse duration '${text}'`), error.message);
        assert.ok(
          error.message.endsWith(
            ": expected a Go duration like 5s, 1m30s, 250ms or plain seconds",
          ),
          error.message,
        );
        return true;
      });
    });
  }
  assert.throws(
    () => parseDuration("x5"),
    new SyntaxError(
      "Cannot parse duration 'x5': expected a Go duration like 5s, 1m30s, 250ms or plain seconds",
    ),
  );
  assert.throws(() => parseDuration("-5s"), /negative/);
  assert.throws(() => parseDuration("5d"), /'d' is not a unit/);
  assert.throws(() => parseDuration("99999999999999999999h"), RangeError);
});

Deno.test("formatDuration() writes Go-style text without zero units", async (t) => {
  const cases: [number, string][] = [
    [0, "0s"],
    [1, "1ms"],
    [250, "250ms"],
    [999, "999ms"],
    [1_000, "1s"],
    [1_500, "1.5s"],
    [1_050, "1.05s"],
    [1_001, "1.001s"],
    [5_000, "5s"],
    [60_000, "1m"],
    [60_500, "1m0.5s"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [3_661_000, "1h1m1s"],
    [3_600_500, "1h0.5s"],
    [864_000_000, "240h"],
  ];
  for (const [ms, text] of cases) {
    await t.step(text, () => assert.equal(formatDuration(ms), text));
  }
});

Deno.test("formatDuration() rejects negative, fractional and non-finite values", () => {
  for (const ms of [-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
    assert.throws(() => formatDuration(ms), RangeError);
  }
});

Deno.test("formatDuration() property: parseDuration reads it back exactly", () => {
  const random = mulberry32(2024);
  const tenDays = 10 * 24 * 3_600_000;
  for (let iteration = 0; iteration < 2_000; iteration++) {
    // Half the samples small, so the ms and seconds forms are exercised too.
    const limit = iteration % 2 === 0 ? tenDays : 120_000;
    const ms = Math.floor(random() * (limit + 1));
    const text = formatDuration(ms);
    assert.equal(parseDuration(text), ms, `${ms} -> ${text}`);
  }
  for (const ms of [0, 1, 999, 1_000, 59_999, 60_000, 3_599_999, 3_600_000, tenDays]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

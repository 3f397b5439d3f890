import assert from "node:assert/strict";
import { expandPattern, expandSite, MAX_EXPANSION } from "../../src/config/expand.ts";
import { mulberry32 } from "../_helpers/random.ts";

function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function numbered(from: number, to: number, width: number, radix = 10): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(i.toString(radix).padStart(width, "0"));
  return out;
}

Deno.test("expandPattern() expands the minio/sidekick examples", async (t) => {
  const cases: [string, string[]][] = [
    ["{1...4}", ["1", "2", "3", "4"]],
    ["{01...16}", numbered(1, 16, 2)],
    ["{01...036}", numbered(1, 36, 3)],
    ["{0f...10f}", numbered(0xf, 0x10f, 3, 16)],
    ["{1...a}", ["1", "2", "3", "4", "5", "6", "7", "8", "9", "a"]],
    ["{0...05}", ["00", "01", "02", "03", "04", "05"]],
    ["{A...C}", ["a", "b", "c"]],
    ["{10...1f}", numbered(0x10, 0x1f, 0, 16)],
    ["172.17.0.{2...5}", ["172.17.0.2", "172.17.0.3", "172.17.0.4", "172.17.0.5"]],
    ["h{1...2}:900{1...2}", ["h1:9001", "h2:9001", "h1:9002", "h2:9002"]],
    ["{7...7}", ["7"]],
  ];
  for (const [pattern, expected] of cases) {
    await t.step(pattern, () => assert.deepEqual(expandPattern(pattern), expected));
  }
});

Deno.test("expandPattern() expands lists, alone and with ranges", async (t) => {
  const cases: [string, string[]][] = [
    ["{1,3,7}", ["1", "3", "7"]],
    ["http://{eu,us-east}.example.com", ["http://eu.example.com", "http://us-east.example.com"]],
    ["h{a,b}:{1...2}", ["ha:1", "hb:1", "ha:2", "hb:2"]],
    ["h{1...2}-{x,y,z}", ["h1-x", "h2-x", "h1-y", "h2-y", "h1-z", "h2-z"]],
  ];
  for (const [pattern, expected] of cases) {
    await t.step(pattern, () => assert.deepEqual(expandPattern(pattern), expected));
  }
});

Deno.test("expandPattern() leaves text without braces and IPv6 brackets alone", () => {
  for (const text of ["", "http://[::1]:9000", "http://h:9000/base", "http://[fd00::1]"]) {
    assert.deepEqual(expandPattern(text), [text]);
  }
  assert.deepEqual(expandPattern("http://[fd00::{1...3}]:9000"), [
    "http://[fd00::1]:9000",
    "http://[fd00::2]:9000",
    "http://[fd00::3]:9000",
  ]);
});

Deno.test("expandPattern() rejects malformed braces, naming the position", async (t) => {
  const cases: [string, number][] = [
    ["{", 1],
    ["http://h{", 9],
    ["http://h{1...}", 9],
    ["{1..3}", 1],
    ["{a...}", 1],
    ["{...3}", 1],
    ["{3...1}", 1],
    ["{}", 1],
    ["{1}", 1],
    ["{g...h}", 1],
    ["{1...2...3}", 1],
    ["{1...3,5}", 1],
    ["{1,,2}", 1],
    ["{1,}", 1],
    ["{1, 2}", 1],
    ["{1,1}", 1],
    ["a{1...2}b}", 10],
    ["a}", 2],
    ["x{1,{2,3}}", 5],
    ["{1...2}{3...4", 8],
    ["é{", 2],
  ];
  for (const [pattern, position] of cases) {
    await t.step(pattern, () => {
      assert.throws(() => expandPattern(pattern), (error: unknown) => {
        assert.ok(error instanceof SyntaxError);
        assert.match(error.message, new RegExp(`^Cannot expand '`));
        assert.ok(error.message.includes(`'${pattern}'`), error.message);
        assert.ok(error.message.includes(`at character ${position}:`), error.message);
        assert.ok(error.message.includes("{START...END}"), error.message);
        return true;
      });
    });
  }
  assert.throws(
    () => expandPattern("http://h{1...}"),
    new SyntaxError(
      "Cannot expand 'http://h{1...}' at character 9: expected {START...END} or {A,B,C}",
    ),
  );
});

Deno.test("expandPattern() caps the expansion", () => {
  assert.equal(expandPattern(`{1...${MAX_EXPANSION}}`).length, MAX_EXPANSION);
  assert.throws(() => expandPattern(`{1...${MAX_EXPANSION + 1}}`), RangeError);
  assert.throws(() => expandPattern("{1...100}{1...101}"), /yields 10100 endpoints/);
  assert.throws(() => expandPattern("{0...ffffffffffffffffffffffff}"), RangeError);
});

Deno.test("expandSite() expands each pool and keeps commas inside braces", () => {
  assert.deepEqual(expandSite("http://a{1...2}:9000,http://b:9000"), [
    "http://a1:9000",
    "http://a2:9000",
    "http://b:9000",
  ]);
  assert.deepEqual(expandSite("http://b:9000,http://a{1...2}:9000"), [
    "http://b:9000",
    "http://a1:9000",
    "http://a2:9000",
  ]);
  assert.deepEqual(expandSite("http://h{1,3}:9000,http://k:9000"), [
    "http://h1:9000",
    "http://h3:9000",
    "http://k:9000",
  ]);
  assert.deepEqual(expandSite("http://[::1]:9000, http://[::2]:9000"), [
    "http://[::1]:9000",
    "http://[::2]:9000",
  ]);
  assert.deepEqual(expandSite("x"), ["x"]);
});

Deno.test("expandSite() rejects empty pools and reports positions in the argument", () => {
  for (const arg of ["", "a,", ",a", "a,,b", "a, ,b"]) {
    assert.throws(() => expandSite(arg), (error: unknown) => {
      assert.ok(error instanceof SyntaxError);
      assert.ok(error.message.includes(`site '${arg}'`), error.message);
      assert.match(error.message, /is empty/);
      return true;
    });
  }
  assert.throws(() => expandSite("a:1, b{1..2}"), /'a:1, b\{1..2\}' at character 7:/);
  assert.throws(() => expandSite(`a{1...6000},b{1...6000}`), /yields 12000 endpoints/);
});

Deno.test("expandPattern() property: ranges expand to the ordered cartesian product", () => {
  const random = mulberry32(0x5eed);
  // Literal characters that are neither digits nor hex letters, so that the
  // expanded values can be read back unambiguously.
  const alphabet = ["h", "x", ".", ":", "-", "/", "[", "]", "z"];
  for (let iteration = 0; iteration < 500; iteration++) {
    const groupCount = randomInt(random, 1, 3);
    // Literals between two ranges are never empty, so the shape stays unambiguous.
    const literals = Array.from(
      { length: groupCount + 1 },
      (_, i) =>
        Array.from(
          { length: randomInt(random, i === 0 || i === groupCount ? 0 : 1, 3) },
          () => pick(random, alphabet),
        ).join(""),
    );
    const ranges = Array.from({ length: groupCount }, () => {
      const radix = pick(random, [10, 16]);
      const start = randomInt(random, 0, 300);
      const end = start + randomInt(random, 0, 7);
      const padding = pick(random, ["none", "start", "end"]);
      let startText = start.toString(radix);
      let endText = end.toString(radix);
      if (padding === "start") startText = "0" + startText;
      if (padding === "end") endText = "0" + endText;
      // Hex only when either side is not decimal, as in minio.
      const hex = !/^\d+$/.test(startText) || !/^\d+$/.test(endText);
      const padded = (startText.length > 1 && startText[0] === "0") || endText[0] === "0";
      return {
        text: `{${startText}...${endText}}`,
        start: parseInt(startText, hex ? 16 : 10),
        size: parseInt(endText, hex ? 16 : 10) - parseInt(startText, hex ? 16 : 10) + 1,
        hex,
        width: padded ? endText.length : 0,
      };
    });
    const pattern = literals[0] + ranges.map((r, i) => r.text + literals[i + 1]).join("");
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
    const shape = new RegExp(
      "^" + escape(literals[0]) +
        ranges.map((_, i) => "([0-9a-f]+)" + escape(literals[i + 1])).join("") + "$",
    );

    const out = expandPattern(pattern);
    const expectedCount = ranges.reduce((product, r) => product * r.size, 1);
    assert.equal(out.length, expectedCount, pattern);
    assert.equal(new Set(out).size, out.length, `${pattern}: outputs are distinct`);
    out.forEach((text, position) => {
      const match = shape.exec(text);
      assert.ok(match, `${pattern}: ${text} has the pattern's shape`);
      let index = 0;
      let stride = 1;
      ranges.forEach((r, i) => {
        const digits = match[i + 1];
        const value = parseInt(digits, r.hex ? 16 : 10);
        assert.equal(digits, value.toString(r.hex ? 16 : 10).padStart(r.width, "0"), pattern);
        assert.ok(value >= r.start && value < r.start + r.size, `${pattern}: ${text} in range`);
        index += (value - r.start) * stride;
        stride *= r.size;
      });
      assert.equal(index, position, `${pattern}: leftmost range varies fastest`);
    });
  }
});

Deno.test("expandPattern() property: text without braces is returned unchanged", () => {
  const random = mulberry32(42);
  const alphabet = [..."abcXYZ019.:/-_[]@%?=&,# "];
  for (let iteration = 0; iteration < 500; iteration++) {
    const text = Array.from({ length: randomInt(random, 0, 24) }, () => pick(random, alphabet))
      .join("");
    assert.deepEqual(expandPattern(text), [text]);
  }
});

Deno.test("expandSite() property: a site is the concatenation of its pools", () => {
  const random = mulberry32(7);
  const pools = ["http://a{1...3}:9000", "http://b:9000", "http://c{x,y}:{1...2}", "[::1]:80"];
  for (let iteration = 0; iteration < 200; iteration++) {
    const chosen = Array.from({ length: randomInt(random, 1, 4) }, () => pick(random, pools));
    assert.deepEqual(expandSite(chosen.join(",")), chosen.flatMap((p) => expandPattern(p)));
  }
});

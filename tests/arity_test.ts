/**
 * No function or method of the hot path (`src/proxy/`, `src/balance/`) takes
 * more than four positional parameters: more go in an options object that
 * its owner keeps (per connection, per listener), so a call allocates
 * nothing and reads by name.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const HOT = ["src/proxy", "src/balance"];
const MAX = 4;

/** Blanks comments and string contents (keeping line numbers), so that only code is scanned. */
function codeOnly(src: string): string {
  return src.replace(
    /\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`/g,
    (m) => m.replace(/[^\n]/g, " "),
  );
}

/** Every function declaration, method and arrow function with more than `max` parameters. */
function wideFunctions(src: string, max: number): { line: number; name: string; count: number }[] {
  const code = codeOnly(src);
  const found: { line: number; name: string; count: number }[] = [];
  const head =
    /(?:function\s*\*?\s*([\w$]*)|(?:^|\n)[ \t]*(?:(?:public|private|protected|static|async|override|get|set)\s+)*(#?[\w$]+))\s*(?:<[^()]*?>)?\s*\(/g;
  for (let m; (m = head.exec(code)) !== null;) {
    const name = m[1] || m[2] || "(anonymous)";
    if (/^(if|for|while|switch|catch|return|await|typeof)$/.test(name)) continue;
    let depth = 1, nest = 0, commas = 0, i = head.lastIndex, last = "";
    for (; i < code.length && depth > 0; i++) {
      const c = code[i];
      if (c === "(") depth++;
      else if (c === ")") depth--;
      else if (c === "{" || c === "[" || c === "<") nest++;
      else if (c === "}" || c === "]" || (c === ">" && code[i - 1] !== "=")) nest--;
      else if (c === "," && depth === 1 && nest === 0) commas++;
      if (depth > 0 && !/\s/.test(c)) last = c;
    }
    const inner = code.slice(head.lastIndex, i - 1).trim();
    const count = inner === "" ? 0 : commas + (last === "," ? 0 : 1);
    // A call site looks the same as a head: a head is followed by `{` or a return type.
    if (!/^\s*(:[^;{]*)?\{/.test(code.slice(i, i + 200)) && !/^\s*=>/.test(code.slice(i))) {
      continue;
    }
    if (count > max) {
      found.push({ line: code.slice(0, m.index).split("\n").length, name, count });
    }
  }
  return found;
}

Deno.test("the arity scanner finds a wide function and passes a narrow one", () => {
  const wide =
    "export function f(\n  a: number,\n  b: { x: 1, y: 2 },\n  c: Map<string, number>,\n" +
    "  d = 1,\n  e?: string,\n): void {}\n";
  assert.deepEqual(wideFunctions(wide, MAX), [{ line: 1, name: "f", count: 5 }]);
  const method =
    "class A {\n  async #m(a: number, b: number, c: number, d: number, e: number) {}\n}\n";
  assert.deepEqual(wideFunctions(method, MAX).map((w) => w.name), ["#m"]);
  const narrow =
    "function g(a: number, b: (x: number, y: number) => void, c: [1, 2], d = f(1, 2, 3, 4, 5)) {}\n" +
    "// function h(a, b, c, d, e) {}\ng(1, 2, 3, 4, 5);\n";
  assert.deepEqual(wideFunctions(narrow, MAX), []);
});

Deno.test(`no function on the hot path takes more than ${MAX} positional parameters`, async () => {
  const wide: string[] = [];
  for (const dir of HOT) {
    for await (const path of walk(`${ROOT}${dir}`)) {
      const src = await Deno.readTextFile(path);
      for (const w of wideFunctions(src, MAX)) {
        wide.push(`${path.slice(ROOT.length)}:${w.line} ${w.name} takes ${w.count}`);
      }
    }
  }
  assert.deepEqual(wide, [], "use an options object its owner keeps (per connection or listener)");
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

/**
 * The import graph of `mod.ts` (from `deno info --json`): folders under src/
 * import only lower layers, and no two files import each other through a
 * cycle. The layers, lowest first:
 *
 * config; discovery and pool (dialing, sockets, the runtime); health;
 * balance (endpoints, cluster, leases); observe; proxy; lifecycle; the
 * composition root (src/*.ts).
 */

import assert from "node:assert/strict";

const RANK: Record<string, number> = {
  "src/config": 0,
  "src/discovery": 1,
  "src/pool": 1,
  "src/health": 2,
  "src/balance": 3,
  "src/observe": 4,
  "src/proxy": 5,
  "src/lifecycle": 6,
  "src": 7,
};

/** File cycles inside src/config, which another branch splits (issue 10). */
const KNOWN_CONFIG_CYCLES = new Set(["src/config/builders.ts", "src/config/schema.ts"].concat(
  ["src/config/iaido.ts", "src/config/validate.ts"],
));

interface Module {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier: string };
    readonly type?: { readonly specifier: string };
  }[];
}

async function sourceGraph(): Promise<Map<string, string[]>> {
  const out = await new Deno.Command("deno", {
    args: ["info", "--json", "mod.ts"],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: Module[] };
  const root = new URL("../", import.meta.url).href;
  const rel = (s: string) => s.startsWith(root + "src/") ? s.slice(root.length) : null;
  const graph = new Map<string, string[]>();
  for (const m of info.modules) {
    const from = rel(m.specifier);
    if (from === null) continue;
    const to: string[] = [];
    for (const d of m.dependencies ?? []) {
      for (const s of [d.code?.specifier, d.type?.specifier]) {
        const t = s === undefined ? null : rel(s);
        if (t !== null && !to.includes(t)) to.push(t);
      }
    }
    graph.set(from, to);
  }
  return graph;
}

function layerOf(file: string): string {
  const parts = file.split("/");
  return parts.length <= 2 ? "src" : `${parts[0]}/${parts[1]}`;
}

Deno.test("layers: every folder under src/ imports only lower layers", async () => {
  const graph = await sourceGraph();
  assert.ok(graph.size > 50, "the graph was read");
  const wrong: string[] = [];
  for (const [from, deps] of graph) {
    const a = layerOf(from);
    assert.ok(a in RANK, `${from}: the folder ${a} has no layer; add it to RANK`);
    for (const to of deps) {
      const b = layerOf(to);
      if (a !== b && RANK[b] >= RANK[a]) wrong.push(`${from} -> ${to}`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("layers: no file-level import cycle under src/", async () => {
  const graph = await sourceGraph();
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>(), cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  const unknown = cycles.filter((c) => !c.every((f) => KNOWN_CONFIG_CYCLES.has(f)));
  assert.deepEqual(unknown, []);
});

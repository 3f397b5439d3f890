/**
 * Import boundaries, checked on the real module graph (`deno info --json` of
 * every entry point): no file-level import cycle, no folder-level cycle under
 * src/, no import of a higher layer, and library code names packages with full
 * `npm:` / `node:` specifiers (so that mod.ts imports without our import map).
 *
 * LAYERS below is the one declaration of the layer order; ARCHITECTURE.md
 * mirrors it. Type-only imports count: a lower layer that names an upper
 * layer's type still knows about it.
 */

import assert from "node:assert/strict";
import {
  cyclePath,
  findCycles,
  type ImportEdge,
  type ModuleGraph,
  readGraph,
} from "./_helpers/import_graph.ts";

/**
 * The layers, bottom first. A file may import files of its own layer and of
 * the layers before it, never of a layer after it. A layer is the first
 * directory under src/ (src/proxy/http/x.ts is in `proxy`), except the
 * composition root: src/sidecar*.ts is `sidecar`, and mod.ts, unstable.ts and
 * cli.ts are `entry`. A new folder under src/ must be added here.
 */
export const LAYERS: readonly string[] = [
  "config", // the typed schema, defaults.ts, builders, the YAML readers, compat/ (flags, iaido, SideLB)
  "discovery", // DNS answers for clusters
  "pool", // dialing (TCP, upstream TLS, stale-on-error addresses), UDP sockets, the injected runtime
  "h2", // the HTTP/2 codec
  "health", // probes, the health state machine, the checker loop
  "balance", // endpoints with live state, clusters of sites, leases, policies, failover, promotion
  "observe", // log and trace formats, metrics text: sinks the cores write to
  "proxy", // the HTTP, TCP and UDP cores
  "lifecycle", // composition root: listener units, reload plans, warm-up probes
  "sidecar", // composition root: src/sidecar.ts, src/sidecar_reload.ts
  "operator", // what an operator sees: terminal table, events, startup summary, admin listener
  "cli", // the process side of the command line: load, watch, env, permissions, signals, serve
  "entry", // mod.ts, unstable.ts, cli.ts
];

/** What `deno info` starts from: every published entry point. */
const ENTRIES = ["mod.ts", "unstable.ts", "cli.ts"];

/**
 * Imports allowed to break the rules, each with its reason. Empty: keep it so;
 * the test fails when a listed import is gone, so the list only shrinks.
 */
const KNOWN_VIOLATIONS: readonly string[] = [];

const ROOT = new URL("../", import.meta.url);

/** The layer of a repository-relative file, or undefined when none is declared. */
export function layerOf(file: string): string | undefined {
  const parts = file.split("/");
  if (parts[0] !== "src") return parts.length === 1 ? "entry" : undefined;
  if (parts.length === 2) {
    return /^sidecar(_[a-z0-9_]+)?\.ts$/.test(parts[1]) ? "sidecar" : undefined;
  }
  return LAYERS.includes(parts[1]) ? parts[1] : undefined;
}

/** Imports that go to a later layer than their own, as `from -> to (layer -> layer)`. */
export function upwardImports(edges: readonly ImportEdge[]): string[] {
  const rank = (file: string) => LAYERS.indexOf(layerOf(file) ?? "");
  return edges
    .filter((e) => rank(e.to) > rank(e.from))
    .map((e) => `${e.from} -> ${e.to} (${layerOf(e.from)} imports ${layerOf(e.to)})`);
}

/** The folder-level graph: each import between two different units, as a pair of units. */
function unitEdges(
  edges: readonly ImportEdge[],
  unit: (file: string) => string,
): [string, string][] {
  return edges
    .filter((e) => e.from.startsWith("src/") && e.to.startsWith("src/"))
    .map((e): [string, string] => [unit(e.from), unit(e.to)])
    .filter(([a, b]) => a !== b);
}

/** The first directory under src/ (`proxy`), or the file itself for src/*.ts. */
const topFolder = (file: string) => file.split("/").slice(0, 2).join("/");
/** The file's own directory (`src/proxy/http`): subfolders count on their own too. */
const ownFolder = (file: string) => file.slice(0, file.lastIndexOf("/"));

/** Each cycle as one path through it, plus the whole component when it is larger. */
function describeCycles(pairs: [string, string][]): string[] {
  return findCycles(pairs).map((c) => {
    const path = cyclePath(pairs, c);
    return path.split(" -> ").length - 1 < c.length ? `${path} (all of: ${c.join(", ")})` : path;
  });
}

/** A specifier that resolves the same in any project: `node:x`, or `npm:name@version`. */
export function isFullSpecifier(specifier: string): boolean {
  return /^(node:|npm:(@[^/@]+\/)?[^/@]+@[~^]?\d)/.test(specifier);
}

let graph: Promise<ModuleGraph> | undefined;
/** The graph minus the allow-listed imports (read once, shared by the tests). */
async function checkedEdges(): Promise<readonly ImportEdge[]> {
  graph ??= readGraph(ROOT, ENTRIES);
  const known = new Set(KNOWN_VIOLATIONS);
  return (await graph).edges.filter((e) => !known.has(`${e.from} -> ${e.to}`));
}

Deno.test("architecture: every file in the graph belongs to a declared layer", async () => {
  graph ??= readGraph(ROOT, ENTRIES);
  const { files } = await graph;
  assert.ok(files.has("src/sidecar.ts") && files.has("src/config/schema.ts"), "graph is read");
  const undeclared = [...files].filter((f) => layerOf(f) === undefined);
  assert.deepEqual(undeclared, [], "add the folder to LAYERS in tests/architecture_test.ts");
});

Deno.test("architecture: no file imports a higher layer", async () => {
  assert.deepEqual(upwardImports(await checkedEdges()), [], `layers, bottom first: ${LAYERS}`);
});

Deno.test("architecture: no file-level import cycle", async () => {
  const pairs = (await checkedEdges()).map((e): [string, string] => [e.from, e.to]);
  assert.deepEqual(describeCycles(pairs), []);
});

Deno.test("architecture: no folder-level cycle under src/ (top folders, then every subfolder)", async () => {
  const edges = await checkedEdges();
  assert.deepEqual(describeCycles(unitEdges(edges, topFolder)), [], "between top folders");
  assert.deepEqual(describeCycles(unitEdges(edges, ownFolder)), [], "between folders");
});

Deno.test("architecture: code imports packages by full specifiers, never through our import map", async () => {
  graph ??= readGraph(ROOT, ENTRIES);
  const bare = (await graph).external
    .filter(({ specifier }) => !isFullSpecifier(specifier))
    .map(({ from, specifier }) => `${from}: "${specifier}"`);
  assert.deepEqual(bare, [], 'write "npm:name@^x.y.z" (or node:...) in library code');
});

Deno.test("architecture: every allow-listed violation still exists (delete the ones fixed)", async () => {
  graph ??= readGraph(ROOT, ENTRIES);
  const present = new Set((await graph).edges.map((e) => `${e.from} -> ${e.to}`));
  assert.deepEqual(KNOWN_VIOLATIONS.filter((v) => !present.has(v)), []);
});

Deno.test("architecture: ARCHITECTURE.md's layer table lists LAYERS, in order", async () => {
  const doc = await Deno.readTextFile(new URL("ARCHITECTURE.md", ROOT));
  const table = doc.slice(doc.indexOf("| layer (bottom first)")).split("\n\n")[0];
  const rows = table.split("\n").slice(2);
  assert.deepEqual(rows.map((r) => r.split("|")[1].trim()), LAYERS);
});

Deno.test("architecture: the checks catch a cycle, an upward import and a stray folder", () => {
  const e = (from: string, to: string): ImportEdge => ({ from, to, typeOnly: false });
  const cyclic = [e("src/a/x.ts", "src/a/y.ts"), e("src/a/y.ts", "src/a/z.ts")];
  cyclic.push(e("src/a/z.ts", "src/a/x.ts"));
  const pairs = cyclic.map((x): [string, string] => [x.from, x.to]);
  assert.deepEqual(describeCycles(pairs), ["src/a/x.ts -> src/a/y.ts -> src/a/z.ts -> src/a/x.ts"]);
  assert.deepEqual(describeCycles([["a", "a"]]), ["a -> a"]);
  assert.deepEqual(describeCycles([["a", "b"], ["b", "c"]]), []);
  const folders = unitEdges([
    e("src/pool/p.ts", "src/balance/b.ts"),
    e("src/balance/b.ts", "src/pool/q.ts"),
  ], topFolder);
  assert.deepEqual(describeCycles(folders), ["src/balance -> src/pool -> src/balance"]);
  const sub = [
    e("src/proxy/http/h.ts", "src/proxy/s.ts"),
    e("src/proxy/s.ts", "src/proxy/http/g.ts"),
  ];
  assert.deepEqual(describeCycles(unitEdges(sub, topFolder)), []);
  assert.deepEqual(describeCycles(unitEdges(sub, ownFolder)), [
    "src/proxy -> src/proxy/http -> src/proxy",
  ]);
  assert.deepEqual(upwardImports([e("src/config/a.ts", "src/proxy/http/b.ts")]), [
    "src/config/a.ts -> src/proxy/http/b.ts (config imports proxy)",
  ]);
  assert.deepEqual(
    upwardImports([e("src/sidecar.ts", "src/config/a.ts"), e("cli.ts", "src/sidecar.ts")]),
    [],
  );
  assert.deepEqual(upwardImports([e("src/lifecycle/u.ts", "src/sidecar_reload.ts")]).length, 1);
  assert.equal(layerOf("src/admin/x.ts"), undefined);
  assert.equal(layerOf("src/types.ts"), undefined);
  assert.equal(layerOf("unstable.ts"), "entry");
  assert.ok(isFullSpecifier("npm:yaml@^2.9.1") && isFullSpecifier("npm:@std/x@1.0.0"));
  assert.ok(isFullSpecifier("node:dgram"));
  assert.ok(
    !isFullSpecifier("yaml") && !isFullSpecifier("npm:yaml") && !isFullSpecifier("jsr:@std/x"),
  );
});

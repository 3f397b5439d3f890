/**
 * The project's module graph as `deno info --json` sees it, and the pure
 * checks the architecture test runs over it: strongly connected components
 * (import cycles) and one concrete cycle path per component.
 *
 * @module
 */

/** One import: `from` imports `to` (both paths relative to the repository root). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  /** `import type` / `export type ... from` only: erased at run time, still a dependency. */
  readonly typeOnly: boolean;
}

/** What {@linkcode readGraph} found. */
export interface ModuleGraph {
  /** Local files (repository-relative) in the graph. */
  readonly files: ReadonlySet<string>;
  /** Imports between local files, each once. */
  readonly edges: readonly ImportEdge[];
  /** Every import written in a local file toward something that is not a local file, as written. */
  readonly external: readonly { readonly from: string; readonly specifier: string }[];
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string };
  type?: { specifier?: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/**
 * Runs `deno info --json` on each entry (relative to `root`, the repository
 * directory URL) and merges the graphs.
 */
export async function readGraph(root: URL, entries: readonly string[]): Promise<ModuleGraph> {
  const files = new Set<string>();
  const edges = new Map<string, ImportEdge>();
  const external = new Map<string, { from: string; specifier: string }>();
  const local = (specifier: string): string | undefined =>
    specifier.startsWith(root.href) ? specifier.slice(root.href.length) : undefined;
  for (const entry of entries) {
    const out = await new Deno.Command("deno", {
      args: ["info", "--json", entry],
      cwd: root,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`deno info --json ${entry} failed:\n${stderr}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    for (const module of info.modules) {
      const from = local(module.specifier);
      if (from === undefined) continue;
      files.add(from);
      for (const dep of module.dependencies ?? []) {
        const code = dep.code?.specifier && local(dep.code.specifier);
        const type = dep.type?.specifier && local(dep.type.specifier);
        const to = code || type;
        if (!to) {
          external.set(`${from} ${dep.specifier}`, { from, specifier: dep.specifier });
          continue;
        }
        const key = `${from} -> ${to}`;
        const typeOnly = !code && (edges.get(key)?.typeOnly ?? true);
        edges.set(key, { from, to, typeOnly });
      }
    }
  }
  return { files, edges: [...edges.values()], external: [...external.values()] };
}

/**
 * The import cycles of a directed graph: every strongly connected component
 * with more than one node, or a node importing itself (Tarjan's algorithm).
 *
 * @returns Each component's nodes, sorted; components sorted by first node.
 */
export function findCycles(edges: Iterable<readonly [string, string]>): string[][] {
  const next = adjacency(edges);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v)?.has(v)) found.push(component.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * One shortest cycle through the first node of a component, for the error
 * message: `a -> b -> a`.
 */
export function cyclePath(
  edges: Iterable<readonly [string, string]>,
  component: readonly string[],
): string {
  const members = new Set(component);
  const next = adjacency(edges);
  const start = component[0];
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const w of next.get(queue[i]) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let v = queue[i]; v !== start; v = previous.get(v)!) path.splice(1, 0, v);
        return [...path, start].join(" -> ");
      }
      if (!previous.has(w)) {
        previous.set(w, queue[i]);
        queue.push(w);
      }
    }
  }
  return component.join(" <-> ");
}

function adjacency(edges: Iterable<readonly [string, string]>): Map<string, Set<string>> {
  const next = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    if (!next.has(from)) next.set(from, new Set());
    if (!next.has(to)) next.set(to, new Set());
    next.get(from)!.add(to);
  }
  return next;
}

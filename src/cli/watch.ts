/**
 * Watches a config file for changes: `Deno.watchFs` on its directory (an
 * atomic rename or a ConfigMap symlink swap replaces the inode, so the file
 * itself cannot be watched), plus an mtime poll as a fallback for file systems
 * and editors that do not send events, and the only source when read access
 * covers the file but not its directory. Changes are debounced.
 *
 * @module
 */

/**
 * Options of {@linkcode watchConfigFile}.
 *
 * @example Usage
 * ```ts
 * import type { WatchOptions } from "./watch.ts";
 * const o: WatchOptions = { pollMs: 2000, debounceMs: 200 };
 * ```
 */
export interface WatchOptions {
  /** mtime poll interval; 0 = no polling. @default 2000 */
  readonly pollMs?: number | undefined;
  /** Quiet time after the last event before `onChange` runs. @default 200 */
  readonly debounceMs?: number;
  /** Stops watching. */
  readonly signal?: AbortSignal;
}

async function fingerprint(path: string): Promise<string> {
  try {
    const st = await Deno.stat(path);
    return `${st.mtime?.getTime()}:${st.size}:${st.ino}`;
  } catch {
    return "missing";
  }
}

/**
 * Calls `onChange` after the file changed (content, mtime or inode).
 *
 * @param path The config file.
 * @param onChange Called once per settled change; awaited before the next.
 * @param options Poll interval, debounce and the stop signal.
 * @returns Resolves when the signal aborts and every timer is stopped.
 *
 * @example Usage
 * ```ts ignore
 * import { watchConfigFile } from "./watch.ts";
 * const ac = new AbortController();
 * const done = watchConfigFile("sidekick.yaml", () => console.log("changed"), { signal: ac.signal });
 * ac.abort();
 * await done;
 * ```
 */
export async function watchConfigFile(
  path: string,
  onChange: () => void | Promise<void>,
  options: WatchOptions = {},
): Promise<void> {
  const signal = options.signal;
  if (signal?.aborted) return;
  const pollMs = options.pollMs ?? 2000;
  const debounceMs = options.debounceMs ?? 200;
  let last = await fingerprint(path);
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const check = () => {
    debounce = undefined;
    running = running.then(async () => {
      if (signal?.aborted) return;
      const now = await fingerprint(path);
      if (now === last) return;
      last = now;
      try {
        await onChange();
      } catch {
        // the callback reports its own errors; watching goes on
      }
    });
  };
  const poke = () => {
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(check, debounceMs);
  };
  const poll = pollMs > 0 ? setInterval(poke, pollMs) : undefined;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const name = path.slice(path.lastIndexOf("/") + 1);
  let watcher: Deno.FsWatcher | undefined;
  try {
    // Read access to the file alone does not cover its directory: then only
    // the poll runs (asking would open Deno's prompt on a terminal).
    if (Deno.permissions.querySync({ name: "read", path: dir }).state === "granted") {
      watcher = Deno.watchFs(dir, { recursive: false });
    }
  } catch {
    // no events here (file system): the poll remains
  }
  const stop = () => watcher?.close();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    if (watcher !== undefined) {
      for await (const event of watcher) {
        if (event.paths.some((p) => p.endsWith(name) || p.includes("..data"))) poke();
      }
    } else if (signal !== undefined) {
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
  } catch {
    // watcher failed: fall back to waiting for the signal
    if (signal !== undefined && !signal.aborted) {
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true })
      );
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    if (poll !== undefined) clearInterval(poll);
    if (debounce !== undefined) clearTimeout(debounce);
    await running;
  }
}

/**
 * `--bootstrap LOCALPORT:HOST:PORT` (repeatable) with `--bootstrap-addr`:
 * writes a starter config file, the way iaido's `--bootstrap` does.
 *
 * Decision: the file is written in iaido's format (frontends, bindAddress,
 * tiers of targets), which sidekick reads as is, so the same file also works
 * with iaido itself, and an iaido user gets the file they know.
 * `sidekick check FILE` prints it in sidekick's own schema with every
 * default filled in. Like iaido: one frontend per local port with
 * `bindAddress: ADDR:PORT` and one tier; one target per remote port (sorted by
 * port) with its hosts sorted; frontends sorted by bindAddress (as text). Unlike
 * iaido: `diagAddr: ADDR:13013` is left out (a comment says so) so that the
 * unauthenticated admin listener it would open stays opt-in;
 * defaults are not spelt out; a host given twice is listed once; an IPv6
 * `--bootstrap-addr` is bracketed so the bindAddress parses.
 *
 * @module
 */

import { stringify } from "npm:yaml@^2.9.1";
import { UsageError } from "./flags.ts";

/** iaido's pattern: the host is everything between the first and the last colon, so `8080:::1:80` works. */
const BIND = /^(\d+):(.*):(\d+)$/;

/** The port iaido's bootstrap puts in `diagAddr`. */
export const IAIDO_DIAG_PORT = 13013;

function port(text: string, spec: string, what: string): number {
  const n = Number(text);
  if (!(n >= 1 && n <= 65535)) {
    throw new UsageError(`--bootstrap '${spec}': ${what} ${text} is not a port; use 1..65535`);
  }
  return n;
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Builds the starter config for `--bootstrap` specs, as iaido-format YAML.
 *
 * @param specs `LOCALPORT:HOST:PORT` values; each may also be a comma-separated list (as with iaido).
 * @param addr The host part of every `bindAddress` (`--bootstrap-addr`); "" listens on all interfaces.
 * @returns The file's text.
 * @throws {UsageError} Naming the bad spec and what is accepted, or when there is no spec.
 *
 * @example Usage
 * ```ts
 * import { bootstrapConfig } from "./bootstrap.ts";
 * import assert from "node:assert/strict";
 * const text = bootstrapConfig(["26257:127.0.0.1:26259", "26257:127.0.0.1:26258"], "127.0.0.1");
 * assert.ok(text.includes("bindAddress: 127.0.0.1:26257"));
 * ```
 */
export function bootstrapConfig(specs: readonly string[], addr: string): string {
  const all = specs.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  if (all.length === 0) {
    throw new UsageError(
      "--bootstrap needs LOCALPORT:HOST:PORT, like --bootstrap 26257:127.0.0.1:26258",
    );
  }
  const byLocal = new Map<number, Map<number, Set<string>>>();
  for (const spec of all) {
    const m = BIND.exec(spec);
    if (m === null) {
      throw new UsageError(
        `--bootstrap '${spec}': expected LOCALPORT:HOST:PORT, like 26257:127.0.0.1:26258`,
      );
    }
    const local = port(m[1], spec, "LOCALPORT");
    const remote = port(m[3], spec, "PORT");
    const host = unbracket(m[2]);
    if (host === "" || /\s/.test(host)) {
      throw new UsageError(`--bootstrap '${spec}': HOST '${m[2]}' is not a hostname or IP`);
    }
    const targets = byLocal.get(local) ?? new Map<number, Set<string>>();
    byLocal.set(local, targets);
    const hosts = targets.get(remote) ?? new Set<string>();
    targets.set(remote, hosts);
    hosts.add(host);
  }
  const bare = unbracket(addr.trim());
  const host = bare.includes(":") ? `[${bare}]` : bare;
  const frontends = [...byLocal].map(([local, targets]) => ({
    bindAddress: `${host}:${local}`,
    backendPool: {
      tiers: [{
        targets: [...targets].sort(([a], [b]) => a - b).map(([remote, hosts]) => ({
          hosts: [...hosts].sort(),
          port: remote,
        })),
      }],
    },
  })).sort((a, b) => a.bindAddress < b.bindAddress ? -1 : a.bindAddress > b.bindAddress ? 1 : 0);
  return [
    "# Written by sidekick --bootstrap in iaido's format, which sidekick reads as is.",
    "# `sidekick check FILE` shows it in sidekick's schema with every default filled in.",
    `# (iaido would also write diagAddr: ${host}:${IAIDO_DIAG_PORT}; add it to serve the admin listener there.)`,
    stringify({ frontends }, { lineWidth: 0 }),
  ].join("\n");
}

/**
 * Writes a bootstrapped config file (mode 0644), refusing to replace an
 * existing file unless `force` (`--force`) is set.
 *
 * @param path The config file (`--config`).
 * @param text The file's text, from {@linkcode bootstrapConfig}.
 * @param force Overwrite an existing file.
 * @returns When the file is written.
 * @throws {Deno.errors.AlreadyExists} When the file exists and `force` is false; the message says to pass --force.
 * @throws {Deno.errors.NotCapable} When `--allow-write` does not cover the path.
 *
 * @example Usage
 * ```ts
 * import { bootstrapConfig, writeBootstrap } from "./bootstrap.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const text = bootstrapConfig(["8080:127.0.0.1:8181"], "127.0.0.1");
 * await writeBootstrap(`${dir}/iaido.yaml`, text, false);
 * await assert.rejects(() => writeBootstrap(`${dir}/iaido.yaml`, text, false), Deno.errors.AlreadyExists);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeBootstrap(path: string, text: string, force: boolean): Promise<void> {
  try {
    await Deno.writeTextFile(path, text, { createNew: !force, mode: 0o644 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new Deno.errors.AlreadyExists(
        `Cannot write the bootstrapped config to '${path}' as it already exists: pass --force to overwrite it`,
        { cause: e },
      );
    }
    if (e instanceof Deno.errors.NotCapable) {
      throw new Deno.errors.NotCapable(
        `Cannot write the bootstrapped config to '${path}' as write access was not granted: ` +
          `run deno with --allow-write=${path}`,
        { cause: e },
      );
    }
    throw e;
  }
}

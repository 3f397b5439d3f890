/**
 * DNS discovery: a host name's A and AAAA records, re-resolved every
 * interval, each address becoming its own endpoint (minio's rr-dns, iaido's
 * targets, SideLB's `ring_domain`).
 *
 * Unlike iaido, a failed lookup keeps the last good answer instead of
 * draining every endpoint, and so does an empty one. A changed answer is
 * yielded as soon as it is seen, so new addresses can be probed at once.
 *
 * @module
 */

import type { EndpointSpec } from "../config/schema.ts";

/** The record types looked up. */
export type DnsRecordType = "A" | "AAAA";

/**
 * Looks up one record type; rejects with `Deno.errors.NotFound` when the
 * name has no such records. Injectable for tests.
 */
export type DnsResolver = (
  hostname: string,
  type: DnsRecordType,
  signal: AbortSignal,
) => Promise<string[]>;

/**
 * The real resolver: `Deno.resolveDns` (it reads /etc/hosts first, and
 * needs net permission for the name server's `IP:53`).
 *
 * @param hostname The name.
 * @param type A or AAAA.
 * @param signal Cancels the lookup.
 * @returns The addresses.
 *
 * @example Usage
 * ```ts ignore
 * import { systemResolver } from "./dns.ts";
 * const v4 = await systemResolver("localhost", "A", new AbortController().signal);
 * ```
 */
export function systemResolver(
  hostname: string,
  type: DnsRecordType,
  signal: AbortSignal,
): Promise<string[]> {
  return Deno.resolveDns(hostname, type, { signal });
}

/**
 * How the address list changed.
 *
 * @param previous The last list.
 * @param next The new list.
 * @returns Addresses only in `next` (`added`) and only in `previous` (`removed`), in list order.
 *
 * @example Usage
 * ```ts
 * import { diffAddresses } from "./dns.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(diffAddresses(["10.0.0.1", "10.0.0.2"], ["10.0.0.2", "10.0.0.3"]), {
 *   added: ["10.0.0.3"],
 *   removed: ["10.0.0.1"],
 * });
 * ```
 */
export function diffAddresses(
  previous: readonly string[],
  next: readonly string[],
): { added: string[]; removed: string[] } {
  const before = new Set(previous);
  const after = new Set(next);
  return {
    added: [...after].filter((a) => !before.has(a)),
    removed: [...before].filter((a) => !after.has(a)),
  };
}

/**
 * Resolves A and AAAA records at once. An IP literal is its own answer.
 *
 * @param hostname The name (or an IP literal).
 * @param resolver The lookup function.
 * @param signal Cancels the lookups.
 * @returns The addresses, IPv4 first, sorted and without duplicates.
 * @throws {Deno.errors.NotFound} When neither type has a record.
 * @throws When a lookup fails for any other reason (timeout, server failure).
 *
 * @example Usage
 * ```ts
 * import { resolveAddresses } from "./dns.ts";
 * import assert from "node:assert/strict";
 * const fake = (_: string, type: "A" | "AAAA") =>
 *   Promise.resolve(type === "A" ? ["10.0.0.2", "10.0.0.1"] : ["fd00::1"]);
 * assert.deepEqual(await resolveAddresses("svc", fake, new AbortController().signal), [
 *   "10.0.0.1", "10.0.0.2", "fd00::1",
 * ]);
 * ```
 */
export async function resolveAddresses(
  hostname: string,
  resolver: DnsResolver,
  signal: AbortSignal,
): Promise<string[]> {
  if (hostname.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname)) return [hostname];
  const lookup = (type: DnsRecordType) =>
    resolver(hostname, type, signal).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    });
  const [v4, v6] = await Promise.all([lookup("A"), lookup("AAAA")]);
  const all = [...new Set(v4)].sort().concat([...new Set(v6)].sort());
  if (all.length === 0) throw new Deno.errors.NotFound(`no A or AAAA records for ${hostname}`);
  return all;
}

/**
 * Options of {@linkcode watchDns}.
 *
 * @example Usage
 * ```ts
 * import type { DnsWatchOptions } from "./dns.ts";
 * const o: DnsWatchOptions = { intervalMs: 30_000, onError: (e) => console.error(e) };
 * ```
 */
export interface DnsWatchOptions {
  /** Pause between lookups, in ms. */
  readonly intervalMs: number;
  /** Deadline of one lookup, in ms. @default 5000 */
  readonly timeoutMs?: number | undefined;
  /** The lookup function. @default systemResolver */
  readonly resolver?: DnsResolver | undefined;
  /** Stops watching (the generator then returns). */
  readonly signal?: AbortSignal;
  /** Called with each failed or empty lookup; the last good answer stays. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Resolves `hostname` now and then every `intervalMs`, yielding the address
 * list whenever it differs from the last one yielded. Stop it with the
 * signal (or by leaving a `for await` loop, which ends it at its next yield).
 *
 * @param hostname The name to watch.
 * @param options Interval, timeout, resolver, signal and error hook.
 * @returns An async generator of address lists (see {@linkcode resolveAddresses}).
 *
 * @example Usage
 * ```ts
 * import { watchDns } from "./dns.ts";
 * import assert from "node:assert/strict";
 * const resolver = (_: string, type: "A" | "AAAA") =>
 *   Promise.resolve(type === "A" ? ["10.0.0.1"] : []);
 * for await (const addresses of watchDns("svc", { intervalMs: 1000, resolver })) {
 *   assert.deepEqual(addresses, ["10.0.0.1"]);
 *   break;
 * }
 * ```
 */
export function watchDns(
  hostname: string,
  options: DnsWatchOptions,
): AsyncGenerator<readonly string[], void, undefined> {
  const resolver = options.resolver ?? systemResolver;
  return watchLookup((signal) => resolveAddresses(hostname, resolver, signal), sameList, options);
}

/**
 * The loop behind every DNS watch: runs `lookup` now and then every
 * `intervalMs` (each bounded by `timeoutMs`), yielding each answer that
 * `same` says differs from the last one yielded; a failed lookup goes to
 * `onError` and the last answer stays.
 *
 * @param lookup One lookup.
 * @param same Whether two answers are the same.
 * @param options Interval, timeout, signal and error hook (`resolver` is not used).
 * @returns An async generator of answers.
 *
 * @example Usage
 * ```ts
 * import { watchLookup } from "./dns.ts";
 * import assert from "node:assert/strict";
 * const answers = watchLookup(() => Promise.resolve(42), (a, b) => a === b, { intervalMs: 1000 });
 * for await (const n of answers) {
 *   assert.equal(n, 42);
 *   break;
 * }
 * ```
 */
export async function* watchLookup<T>(
  lookup: (signal: AbortSignal) => Promise<T>,
  same: (a: T, b: T) => boolean,
  options: Omit<DnsWatchOptions, "resolver">,
): AsyncGenerator<T, void, undefined> {
  const signal = options.signal;
  let last: T | null = null;
  while (!signal?.aborted) {
    let next: T | null = null;
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal?.addEventListener("abort", onAbort);
    const timer = setTimeout(() => ac.abort(), options.timeoutMs ?? 5_000);
    try {
      next = await lookup(ac.signal);
    } catch (e) {
      if (signal?.aborted) return;
      try {
        options.onError?.(e);
      } catch {
        // a throwing hook cannot stop the watch
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    if (next !== null && (last === null || !same(last, next))) {
      last = next;
      yield next;
    }
    await sleep(options.intervalMs, signal);
  }
}

/**
 * One endpoint per address, each a copy of `template` with its host replaced.
 *
 * @param template The configured endpoint (its host is the name that was resolved).
 * @param addresses The addresses.
 * @returns The endpoints.
 *
 * @example Usage
 * ```ts
 * import { endpointsFor } from "./dns.ts";
 * import assert from "node:assert/strict";
 * const t = { scheme: "tcp", host: "svc", port: 5432, basePath: "" } as const;
 * assert.deepEqual(endpointsFor(t, ["10.0.0.1"]), [{ ...t, host: "10.0.0.1" }]);
 * ```
 */
export function endpointsFor(
  template: EndpointSpec,
  addresses: readonly string[],
): EndpointSpec[] {
  return addresses.map((host) => ({ ...template, host }));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}

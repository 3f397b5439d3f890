/**
 * Per-address DNS expansion of a cluster: with `dns.perAddress` set, every
 * endpoint whose host is a name (not an IP literal) stands for one endpoint
 * per A/AAAA record of that name. {@linkcode ClusterDns} keeps the
 * {@linkcode ClusterSpec} the user gave as a template, watches each name in
 * the background (one {@linkcode watchDns} loop per name, every
 * `dns.ttlMs`), and computes the effective spec from the template and the
 * last good answers. A failed lookup keeps the last answer; a name with no
 * answer yet stays as it is (dialed through the system resolver).
 *
 * @module
 */

import type { ClusterSpec, EndpointSpec } from "../config/schema.ts";
import { type DnsResolver, endpointsFor, watchDns, watchLookup } from "./dns.ts";
import { sameSrv, sortSrv, type SrvResolver, systemSrvResolver, withSrvSites } from "./srv.ts";

/** Shortest re-resolution interval, so that a zero TTL cannot spin. */
const MIN_INTERVAL_MS = 20;

/**
 * Options of {@linkcode ClusterDns}.
 *
 * @example Usage
 * ```ts
 * import type { ClusterDnsOptions } from "./cluster_dns.ts";
 * const options: ClusterDnsOptions = { onChange: () => {}, timeoutMs: 2_000 };
 * ```
 */
export interface ClusterDnsOptions {
  /** Called after an answer changed the effective spec. A throwing hook cannot stop the watch. */
  readonly onChange: () => void;
  /** The lookup function. @default systemResolver */
  readonly resolver?: DnsResolver | undefined;
  /** Called with each failed or empty lookup (the last answer stays). */
  readonly onError?: ((hostname: string, error: unknown) => void) | undefined;
  /** Deadline of one lookup, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** The SRV lookup of clusters with `srv`. @default systemSrvResolver */
  readonly srvResolver?: SrvResolver | undefined;
}

/** The key of an SRV name among the watches (a space never occurs in a DNS name). */
const SRV = "SRV ";

interface Watch {
  readonly ac: AbortController;
  readonly intervalMs: number;
  /** Settles after the first lookup, good or bad. */
  readonly first: Promise<void>;
  readonly loop: Promise<void>;
}

/**
 * Whether a host is an IP literal (IPv6 without brackets, or dotted IPv4).
 *
 * @param host The host.
 * @returns True for an address, false for a name.
 *
 * @example Usage
 * ```ts
 * import { isIpLiteral } from "./cluster_dns.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isIpLiteral("::1"), true);
 * assert.equal(isIpLiteral("minio1"), false);
 * ```
 */
export function isIpLiteral(host: string): boolean {
  return host.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/**
 * The names a cluster spec asks to expand (none without `dns.perAddress`).
 *
 * @param spec The cluster as configured.
 * @returns Distinct host names, in order of first appearance.
 *
 * @example Usage
 * ```ts
 * import { namesToExpand } from "./cluster_dns.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const endpoint = (host: string) => ({ scheme: "http", host, port: 9000, basePath: "" }) as const;
 * assert.deepEqual(namesToExpand({
 *   policy: "least", health: DEFAULT_HEALTH, dns: { perAddress: true, ttlMs: 60_000 },
 *   sites: [{ name: "a", endpoints: [endpoint("minio"), endpoint("10.0.0.1"), endpoint("minio")] }],
 * }), ["minio"]);
 * ```
 */
export function namesToExpand(spec: ClusterSpec): string[] {
  if (spec.dns?.perAddress !== true) return [];
  const names = new Set<string>();
  for (const site of spec.sites) {
    for (const e of site.endpoints) if (!isIpLiteral(e.host)) names.add(e.host);
  }
  return [...names];
}

/**
 * The effective spec: the template with each named endpoint replaced by one
 * endpoint per address of its name (a name without an answer stays).
 *
 * @param template The cluster as configured.
 * @param answers The last good addresses of each name.
 * @returns The spec to give the cluster (the template itself when nothing is expanded).
 *
 * @example Usage
 * ```ts
 * import { expandCluster } from "./cluster_dns.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const spec = {
 *   policy: "least", health: DEFAULT_HEALTH, dns: { perAddress: true, ttlMs: 60_000 },
 *   sites: [{ name: "a", endpoints: [{ scheme: "tcp", host: "db", port: 5432, basePath: "" }] }],
 * } as const;
 * const hosts = expandCluster(spec, new Map([["db", ["10.0.0.1", "fd00::1"]]]))
 *   .sites[0].endpoints.map((e) => e.host);
 * assert.deepEqual(hosts, ["10.0.0.1", "fd00::1"]);
 * ```
 */
export function expandCluster(
  template: ClusterSpec,
  answers: ReadonlyMap<string, readonly string[]>,
): ClusterSpec {
  if (template.dns?.perAddress !== true || answers.size === 0) return template;
  const expand = (e: EndpointSpec): EndpointSpec[] => {
    const addresses = isIpLiteral(e.host) ? undefined : answers.get(e.host);
    return addresses === undefined ? [e] : endpointsFor(e, addresses);
  };
  return {
    ...template,
    sites: template.sites.map((site) => ({ ...site, endpoints: site.endpoints.flatMap(expand) })),
  };
}

/**
 * The DNS side of one cluster: a template, one watch per name, and the
 * effective spec. Nothing runs until {@linkcode ClusterDns.start}; every
 * loop and timer ends with {@linkcode ClusterDns.close}.
 *
 * @example Usage
 * ```ts
 * import { ClusterDns } from "./cluster_dns.ts";
 * import { DEFAULT_HEALTH } from "../config/defaults.ts";
 * import assert from "node:assert/strict";
 * const dns = new ClusterDns({
 *   policy: "least", health: DEFAULT_HEALTH, dns: { perAddress: true, ttlMs: 60_000 },
 *   sites: [{ name: "a", endpoints: [{ scheme: "tcp", host: "db", port: 5432, basePath: "" }] }],
 * }, { onChange: () => {}, resolver: (_, type) => Promise.resolve(type === "A" ? ["10.0.0.1"] : []) });
 * dns.start();
 * await dns.ready();
 * assert.equal(dns.effective().sites[0].endpoints[0].host, "10.0.0.1");
 * await dns.close();
 * ```
 */
export class ClusterDns {
  #template: ClusterSpec;
  #effective: ClusterSpec;
  readonly #options: ClusterDnsOptions;
  readonly #answers = new Map<string, readonly string[]>();
  /** The last good SRV answer of each SRV name. */
  readonly #srvAnswers = new Map<string, readonly Deno.SrvRecord[]>();
  readonly #watches = new Map<string, Watch>();
  /** Loops of watches stopped by a reload, still winding down. */
  readonly #stopping = new Set<Promise<void>>();
  /** A template a reload is preparing, whose names are watched ahead. */
  #pending: ClusterSpec | null = null;
  #started = false;
  #closed = false;

  /**
   * @param template The cluster as configured.
   * @param options Change hook, resolver, error hook and lookup deadline.
   */
  constructor(template: ClusterSpec, options: ClusterDnsOptions) {
    this.#template = template;
    this.#effective = template;
    this.#options = options;
  }

  /** The cluster as configured. */
  get template(): ClusterSpec {
    return this.#template;
  }

  /** The names watched now. */
  get names(): readonly string[] {
    return [...this.#watches.keys()];
  }

  /**
   * The spec to give the cluster: the template, expanded with the last answers.
   *
   * @returns The effective spec (the same object until something changes).
   */
  effective(): ClusterSpec {
    return this.#effective;
  }

  /**
   * What the effective spec would be under another template, with the
   * answers known now (names not resolved yet stay as they are).
   *
   * @param template A cluster spec.
   * @returns Its expansion.
   */
  preview(template: ClusterSpec): ClusterSpec {
    return this.#compute(template);
  }

  /** The template with its SRV sites, expanded with the A/AAAA answers. */
  #compute(template: ClusterSpec): ClusterSpec {
    const srv = template.srv === undefined ? undefined : this.#srvAnswers.get(template.srv.name);
    return expandCluster(withSrvSites(template, srv), this.#answers);
  }

  /** Starts watching every name of the template. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#reconcile();
  }

  /**
   * Takes a new template (a reload): names that stay keep their answers and
   * their watch (restarted only when the interval changed), new names are
   * watched at once, names no longer used are forgotten. Does not call
   * `onChange`; read {@linkcode ClusterDns.effective} afterwards.
   *
   * @param template The cluster as configured now.
   */
  set(template: ClusterSpec): void {
    this.#template = template;
    this.#pending = null;
    const names = new Set(namesToExpand(template));
    for (const name of this.#answers.keys()) if (!names.has(name)) this.#answers.delete(name);
    for (const name of this.#srvAnswers.keys()) {
      if (name !== template.srv?.name) this.#srvAnswers.delete(name);
    }
    this.#effective = this.#compute(template);
    if (this.#started && !this.#closed) this.#reconcile();
  }

  /**
   * Starts watching the names of a template that may come (a reload being
   * prepared) without changing the effective spec, so that
   * {@linkcode ClusterDns.preview} and then {@linkcode ClusterDns.set} find
   * their answers. {@linkcode ClusterDns.set} ends the look-ahead, taking
   * the template or not.
   *
   * @param template The cluster as it may be configured.
   * @returns Resolves once each of its new names has had its first lookup.
   */
  lookahead(template: ClusterSpec): Promise<void> {
    if (!this.#started || this.#closed) return Promise.resolve();
    const fresh = watchKeys(template).filter((n) => !this.#watches.has(n));
    this.#pending = template;
    this.#reconcile();
    return Promise.all(fresh.map((n) => this.#watches.get(n)?.first)).then(() => {});
  }

  /**
   * Resolves once every watched name has had its first lookup, good or bad.
   *
   * @returns Resolves when the first answers are in.
   */
  async ready(): Promise<void> {
    await Promise.all([...this.#watches.values()].map((w) => w.first));
  }

  /**
   * Stops every watch and waits for the loops to end.
   *
   * @returns Resolves when no lookup or timer is left.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const watches = [...this.#watches.values()];
    this.#watches.clear();
    for (const w of watches) w.ac.abort();
    await Promise.all([...watches.map((w) => w.loop), ...this.#stopping]);
  }

  #reconcile(): void {
    const wanted = new Map<string, number>();
    for (const template of [this.#pending, this.#template]) {
      if (template === null) continue;
      const intervalMs = Math.max(MIN_INTERVAL_MS, template.dns?.ttlMs ?? 0);
      for (const name of watchKeys(template)) wanted.set(name, intervalMs);
    }
    for (const [name, w] of this.#watches) {
      if (wanted.get(name) !== w.intervalMs) {
        w.ac.abort();
        this.#watches.delete(name);
        this.#stopping.add(w.loop);
        w.loop.finally(() => this.#stopping.delete(w.loop));
      }
    }
    for (const [name, intervalMs] of wanted) {
      if (!this.#watches.has(name)) this.#watches.set(name, this.#watch(name, intervalMs));
    }
  }

  #watch(key: string, intervalMs: number): Watch {
    const ac = new AbortController();
    const first = Promise.withResolvers<void>();
    const { resolver, onError, timeoutMs } = this.#options;
    const srv = key.startsWith(SRV) ? key.slice(SRV.length) : null;
    const name = srv ?? key;
    const options = {
      intervalMs,
      timeoutMs,
      signal: ac.signal,
      onError: (e: unknown) => {
        first.resolve();
        onError?.(name, e);
      },
    };
    const lookupSrv = this.#options.srvResolver ?? systemSrvResolver;
    const loop = (async () => {
      try {
        const answers: AsyncGenerator<readonly string[] | readonly Deno.SrvRecord[]> = srv === null
          ? watchDns(name, { ...options, resolver })
          : watchLookup((signal) => srvLookup(lookupSrv, srv, signal), sameSrv, options);
        for await (const answer of answers) {
          first.resolve();
          if (ac.signal.aborted) return;
          if (srv === null) this.#answers.set(name, answer as readonly string[]);
          else this.#srvAnswers.set(srv, answer as readonly Deno.SrvRecord[]);
          this.#effective = this.#compute(this.#template);
          try {
            this.#options.onChange();
          } catch {
            // a throwing hook cannot stop the watch
          }
        }
      } finally {
        first.resolve();
      }
    })();
    return { ac, intervalMs, first: first.promise, loop };
  }
}

/** What a cluster spec asks to watch: its A/AAAA names, and its SRV name (keyed with {@linkcode SRV}). */
function watchKeys(spec: ClusterSpec): string[] {
  const names = namesToExpand(spec);
  return spec.srv === undefined ? names : [...names, SRV + spec.srv.name];
}

/** One SRV lookup, sorted; an empty answer is an error, so that the last one stays. */
async function srvLookup(
  resolver: SrvResolver,
  name: string,
  signal: AbortSignal,
): Promise<Deno.SrvRecord[]> {
  const records = sortSrv(await resolver(name, signal));
  if (records.length === 0) throw new Deno.errors.NotFound(`no SRV records for ${name}`);
  return records;
}

/**
 * The typed configuration that every core is driven by. The CLI, the YAML
 * loader and library users all build a {@linkcode SidecarConfig}; the cores
 * never read flags or files themselves.
 *
 * All durations are in milliseconds and all sizes in bytes.
 *
 * @module
 */

/** The algorithm that picks one endpoint among the available ones of a site. */
export type PolicyName = "least" | "random" | "round-robin" | "p2c" | "hash";

/** All policy names, in the order `--help` lists them. */
export const POLICY_NAMES: readonly PolicyName[] = [
  "least",
  "random",
  "round-robin",
  "p2c",
  "hash",
];

/**
 * What the `hash` policy hashes: the client's IP address, a request header
 * (`header:NAME`) or a cookie (`cookie:NAME`). TCP and UDP listeners hash
 * the client IP whatever is set.
 */
export type HashKey = "client-ip" | `header:${string}` | `cookie:${string}`;

/**
 * Settings of the `hash` policy (rendezvous hashing).
 *
 * @example Usage
 * ```ts
 * import type { HashSpec } from "./schema.ts";
 * const h: HashSpec = { key: "cookie:session", fallback: "least" };
 * ```
 */
export interface HashSpec {
  /** What is hashed. @default "client-ip" */
  readonly key: HashKey;
  /** The policy used when the key's endpoint is not available or a request has no key. @default "least" */
  readonly fallback: Exclude<PolicyName, "hash">;
}

/**
 * One dialable backend address, as configured.
 *
 * @example Usage
 * ```ts
 * import type { EndpointSpec } from "./schema.ts";
 * const e: EndpointSpec = { scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" };
 * ```
 */
export interface EndpointSpec {
  /**
   * `http` or `https` (HTTP/1.1), `h2c` (HTTP/2 cleartext, prior knowledge) or
   * `h2` (HTTP/2 over TLS, ALPN `h2`) for HTTP listeners; `tcp` or `udp` for L4 listeners.
   */
  readonly scheme: "http" | "https" | "h2" | "h2c" | "tcp" | "udp";
  /** Hostname or IP literal (IPv6 without brackets). */
  readonly host: string;
  /** TCP port, 1..65535. */
  readonly port: number;
  /** A path prefix put before every proxied request target, without a trailing slash ("" for none). */
  readonly basePath: string;
  /** Takes no new traffic; its connections drain (iaido's `disabled: true`). @default false */
  readonly disabled?: boolean;
  /** Relative share of traffic, an integer 1..65535 (an SRV record's weight; 0 counts as 1), honoured by every policy. @default 1 */
  readonly weight?: number;
}

/**
 * An ordered failover group: a request goes to the first site that has an
 * available endpoint.
 *
 * @example Usage
 * ```ts
 * import type { SiteSpec } from "./schema.ts";
 * const site: SiteSpec = {
 *   name: "site1",
 *   endpoints: [{ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }],
 * };
 * ```
 */
export interface SiteSpec {
  /** A label for logs and metrics. */
  readonly name: string;
  /** The endpoints of this site; at least one. */
  readonly endpoints: readonly EndpointSpec[];
  /** Health path for this site; overrides {@linkcode HealthSpec.path} when set. */
  readonly healthPath?: string;
  /** Most connections (or requests) in flight per endpoint; 0 = unlimited. A full tier spills to the next. @default 0 */
  readonly maxConnections?: number;
  /**
   * Once a better site has been available this long, long-lived connections
   * on this site are moved back (closed, smeared over time); 0 = off (iaido's
   * `forcePromotionAfter`). @default 0
   */
  readonly forcePromotionAfterMs?: number;
}

/**
 * Active and passive health checking of a cluster's endpoints.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_HEALTH } from "./defaults.ts";
 * const health = { ...DEFAULT_HEALTH, path: "/ready" };
 * ```
 */
export interface HealthSpec {
  /** Whether active probes run. Without them endpoints start up and only passive ejection applies. */
  readonly active: boolean;
  /**
   * The probe: an HTTP GET of {@linkcode path} (over HTTP/2 for `h2c`/`h2`
   * endpoints), a TCP connect, a UDP datagram that must be answered, or a
   * gRPC health check (`grpc.health.v1.Health/Check` over HTTP/2, passing on
   * SERVING; HTTP listeners only). @default "http" for HTTP listeners, "tcp" for TCP, "udp" for UDP
   */
  readonly kind?: "http" | "tcp" | "udp" | "grpc" | undefined;
  /** The service name of the gRPC health check ("" asks about the whole server). @default "" */
  readonly grpcService?: string | undefined;
  /** Payload of the UDP probe. @default "ping" */
  readonly udpPayload?: string | undefined;
  /** Path of the HTTP probe, starting with `/`. */
  readonly path: string;
  /** Port of the probe; 0 uses the endpoint's own port. */
  readonly port: number;
  /** Base interval; each next probe waits `interval + random[0, interval)`. */
  readonly intervalMs: number;
  /** Deadline of one probe. */
  readonly timeoutMs: number;
  /** Consecutive passing probes that bring an endpoint up. */
  readonly rise: number;
  /** Consecutive failing probes that take an endpoint down. */
  readonly fall: number;
  /** How long an endpoint stays out after a transport error on real traffic when active probes are off. */
  readonly ejectMs: number;
  /** Statuses that pass the HTTP probe, as inclusive ranges. @default [[200, 200]] */
  readonly statuses?: readonly (readonly [number, number])[] | undefined;
  /** Stop probing an endpoint once it is up; probe again after a transport error (minio's --health-optimistic). @default false */
  readonly optimistic?: boolean | undefined;
  /**
   * Slow start: after an endpoint recovers (down to up, or the end of an
   * ejection) its share of traffic ramps up from 10% over this window; 0 =
   * off. Recommended for MinIO (a restarted node answers its readiness check
   * before it serves every object). @default 0
   */
  readonly slowStartMs?: number | undefined;
  /**
   * Panic threshold, in percent: when less than this share of a site's
   * endpoints is healthy and no later site can serve, every endpoint of the
   * site takes traffic, healthy or not; 0 = off. @default 0
   */
  readonly panicPercent?: number | undefined;
  /** When failures on real traffic take an endpoint out. @default DEFAULT_PASSIVE */
  readonly passive?: PassiveSpec | undefined;
  /** Outlier ejection on runs of 5xx or gateway errors; off when absent. */
  readonly outlier?: OutlierSpec | undefined;
}

/**
 * Passive health's failure threshold: failures seen after a connection was
 * made (a reset, a truncated body, no response, a response-header timeout)
 * take an endpoint out only when `failures` of them come in a row within
 * `windowMs`, and never the last up endpoint of a site while its probes
 * pass. A refused connect takes an endpoint out at once.
 *
 * @example Usage
 * ```ts
 * import type { PassiveSpec } from "./schema.ts";
 * const p: PassiveSpec = { failures: 3, windowMs: 10_000 };
 * ```
 */
export interface PassiveSpec {
  /** Failures in a row that take an endpoint out (>= 1; 1 = at once). */
  readonly failures: number;
  /** ... within this time of the first (ms). */
  readonly windowMs: number;
}

/**
 * Outlier ejection (Envoy's model): runs of 5xx responses or of gateway
 * errors (502/503/504, transport failures) eject an endpoint for
 * `baseEjectionMs` times its ejections in a row, at most `maxEjectionMs`;
 * probes go on meanwhile. At most `maxEjectedPercent` of the cluster is
 * ejected at once (one endpoint always may be), and never the last up
 * endpoint of a site while its probes pass.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_OUTLIER } from "./defaults.ts";
 * const o = { ...DEFAULT_OUTLIER, consecutive5xx: 3 };
 * ```
 */
export interface OutlierSpec {
  /** 5xx responses (or transport failures) in a row that eject; 0 = this rule off. */
  readonly consecutive5xx: number;
  /** 502/503/504 responses (or transport failures) in a row that eject; 0 = this rule off. */
  readonly consecutiveGatewayErrors: number;
  /** The first ejection's length (ms); the n-th in a row lasts n times this. */
  readonly baseEjectionMs: number;
  /** The longest an ejection lasts (ms). */
  readonly maxEjectionMs: number;
  /** Most of the cluster ejected at once, in percent. */
  readonly maxEjectedPercent: number;
}

/**
 * A named group of interchangeable endpoints with its policy and checks.
 *
 * @example Usage
 * ```ts
 * import { type ClusterSpec } from "./schema.ts";
 * import { DEFAULT_HEALTH } from "./defaults.ts";
 * const cluster: ClusterSpec = {
 *   policy: "least",
 *   health: DEFAULT_HEALTH,
 *   sites: [{ name: "a", endpoints: [{ scheme: "http", host: "127.0.0.1", port: 9000, basePath: "" }] }],
 * };
 * ```
 */
export interface ClusterSpec {
  /** How an endpoint is chosen inside a site. */
  readonly policy: PolicyName;
  /** Settings of the `hash` policy (ignored by the others). @default DEFAULT_HASH */
  readonly hash?: HashSpec;
  /** Ordered sites; the first with an available endpoint serves. */
  readonly sites: readonly SiteSpec[];
  /** Health checking. */
  readonly health: HealthSpec;
  /** A recovered better site serves again only after it stayed available this long (0 = at once). @default 0 */
  readonly failbackDelayMs?: number | undefined;
  /** Resolve hostnames and make every A/AAAA record its own endpoint, re-resolved every `ttlMs`. */
  readonly dns?: { readonly perAddress: boolean; readonly ttlMs: number };
  /**
   * Endpoints from DNS SRV records instead of (or after) `sites`: one site
   * per record priority, lowest first; re-resolved every `dns.ttlMs`.
   */
  readonly srv?: SrvSpec;
}

/**
 * A DNS SRV name whose records are a cluster's endpoints (Kubernetes
 * headless services, Consul): each record's target and port make an
 * endpoint, its weight the endpoint's weight, and its priority the site
 * (lower priority first, as failover tiers).
 *
 * @example Usage
 * ```ts
 * import type { SrvSpec } from "./schema.ts";
 * const srv: SrvSpec = { name: "_minio._tcp.minio.default.svc.cluster.local", scheme: "http" };
 * ```
 */
export interface SrvSpec {
  /** The SRV name, like `_minio._tcp.minio.svc`. */
  readonly name: string;
  /** The scheme of the endpoints made from it (`http`/`https`/`h2c`/`h2` for HTTP, the listener's kind for TCP/UDP). */
  readonly scheme: EndpointSpec["scheme"];
  /** The path prefix of HTTP endpoints ("" for none). @default "" */
  readonly basePath?: string;
}

/**
 * Per-client limits of a listener, by client IP (SideLB's roadmap). An HTTP
 * client over its request rate, or with too many connections, is answered
 * 429 with `Retry-After`; a TCP client's new connection is closed; a UDP
 * client's new flow is dropped. Absent or all 0: no limits, and no cost.
 *
 * @example Usage
 * ```ts
 * import type { PerClientLimits } from "./schema.ts";
 * const limits: PerClientLimits = { connections: 20, ratePerSec: 100, burst: 200 };
 * ```
 */
export interface PerClientLimits {
  /** Most connections (UDP: flows) one client IP has open at once; 0 = unlimited. */
  readonly connections: number;
  /** Requests (TCP: connections, UDP: new flows) per second one client IP may start on average; 0 = unlimited. */
  readonly ratePerSec: number;
  /** How many may come at once after a quiet spell (the token bucket's size); at least 1. */
  readonly burst: number;
}

/**
 * Timeouts of an HTTP listener, in milliseconds; 0 turns one off.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_HTTP_TIMEOUTS } from "./defaults.ts";
 * const t = { ...DEFAULT_HTTP_TIMEOUTS, responseHeaderMs: 30_000 };
 * ```
 */
export interface HttpTimeouts {
  /** From the first byte of a request head to its end (slowloris guard). */
  readonly headerReadMs: number;
  /** An idle keep-alive client connection is closed after this. */
  readonly idleMs: number;
  /** Dialing an endpoint. */
  readonly connectMs: number;
  /** From the request being sent to the response head arriving (0 = off; nginx answers 504 at 60 s). */
  readonly responseHeaderMs: number;
  /**
   * Longest pause while reading a request body from the client; the
   * connection is closed when it passes (nginx's `client_body_timeout`).
   * A slow steady body is fine: only a pause counts.
   */
  readonly requestBodyMs: number;
  /**
   * Longest time one write to the client may stay blocked (a client that
   * does not read); the connection is closed when it passes (nginx's
   * `send_timeout`).
   */
  readonly responseWriteMs: number;
  /**
   * Whole-request deadline, from the request head to the end of the
   * response (0 = off, the default). The only timeout that cuts a slow but
   * steady body or reader.
   */
  readonly requestMs: number;
}

/**
 * Size and count limits of an HTTP listener.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_HTTP_LIMITS } from "./defaults.ts";
 * const l = { ...DEFAULT_HTTP_LIMITS, maxConnections: 100 };
 * ```
 */
export interface HttpLimits {
  /** Largest request head (request line and headers), else 431. */
  readonly maxHeadBytes: number;
  /** Most header lines in a request, else 431. */
  readonly maxHeaders: number;
  /** Longest request target, else 414. */
  readonly maxTargetBytes: number;
  /** Most client connections at once; further ones are closed at accept (0 = unlimited). */
  readonly maxConnections: number;
  /** Most endpoints one request is tried on. */
  readonly maxAttempts: number;
  /** Idle upstream connections kept per endpoint. */
  readonly poolIdlePerEndpoint: number;
  /** An idle upstream connection is closed after this. */
  readonly poolIdleMs: number;
}

/**
 * A listener for HTTP/1.1 clients in front of one cluster.
 *
 * @example Usage
 * ```ts
 * import { httpListener } from "./builders.ts";
 * const l = httpListener("127.0.0.1:8080", [["http://127.0.0.1:9000"]]);
 * ```
 */
export interface HttpListenerSpec {
  /** Discriminant. */
  readonly kind: "http";
  /** A label for logs. */
  readonly name: string;
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Where requests go. */
  readonly cluster: ClusterSpec;
  /** Timeouts. */
  readonly timeouts: HttpTimeouts;
  /** Limits. */
  readonly limits: HttpLimits;
  /** Serve TLS to clients. */
  readonly tls?: ServerTlsSpec | undefined;
  /** TLS toward https endpoints. */
  readonly upstreamTls?: UpstreamTlsSpec | undefined;
  /**
   * Send minio/sidekick's identifying headers: `Server: SideKick` on
   * sidekick's own answers (`/v1/health`, the 502) and `X-Proxy: true` on
   * proxied responses. @default true
   */
  readonly proxyHeaders?: boolean;
  /**
   * Serve `/.prometheus/metrics` on this listener (minio/sidekick does);
   * false makes the path an ordinary one that goes to the backends.
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * Offer HTTP/2 to TLS clients: ALPN `h2` before `http/1.1` (clients that
   * do not ask for h2 get HTTP/1.1 as before). No effect on a plain listener.
   * @default true
   */
  readonly http2?: boolean;
  /**
   * Accept HTTP/2 cleartext with prior knowledge on a plain listener (a
   * client whose first bytes are the HTTP/2 preface). @default false
   */
  readonly h2c?: boolean;
  /** Per-client connection and rate limits (by client IP); off when absent. */
  readonly perClient?: PerClientLimits;
}

/**
 * TLS toward clients: PEM files, reloaded when they change.
 *
 * @example Usage
 * ```ts
 * import type { ServerTlsSpec } from "./schema.ts";
 * const tls: ServerTlsSpec = { certFile: "public.crt", keyFile: "private.key" };
 * ```
 */
export interface ServerTlsSpec {
  /** Certificate chain (PEM). */
  readonly certFile: string;
  /** Private key (PEM). */
  readonly keyFile: string;
  /** Password of an encrypted key (legacy `Proc-Type: 4,ENCRYPTED` PEM or encrypted PKCS#8). */
  readonly keyPassword?: string | undefined;
}

/**
 * TLS toward https endpoints.
 *
 * @example Usage
 * ```ts
 * import type { UpstreamTlsSpec } from "./schema.ts";
 * const tls: UpstreamTlsSpec = { caFile: "ca.crt", insecure: false };
 * ```
 */
export interface UpstreamTlsSpec {
  /** CA certificates (PEM) to verify endpoints against, instead of the system's. */
  readonly caFile?: string | undefined;
  /** Client certificate (PEM) for mTLS. */
  readonly certFile?: string | undefined;
  /** Client key (PEM) for mTLS. */
  readonly keyFile?: string | undefined;
  /** Do not verify the endpoint's host name. */
  readonly insecure: boolean;
  /**
   * The name sent in SNI and checked against the endpoint's certificate,
   * instead of the endpoint's host (not with a client certificate).
   */
  readonly serverName?: string;
}

/**
 * What the process writes to its console.
 *
 * @example Usage
 * ```ts
 * import { DEFAULT_LOG } from "./defaults.ts";
 * const log = { ...DEFAULT_LOG, json: true };
 * ```
 */
export interface LogSpec {
  /** Health transitions (`LOG` lines). */
  readonly health: boolean;
  /** Which requests are traced: none, every one, only proxied ones, or only health-path ones. */
  readonly trace: "off" | "all" | "application" | "minio";
  /** Only trace responses with status 400..599. */
  readonly errorsOnly: boolean;
  /** Only trace these statuses (empty = all). */
  readonly statusCodes: readonly number[];
  /** Nothing but fatal errors. */
  readonly quiet: boolean;
  /** JSON lines instead of text. */
  readonly json: boolean;
  /** Multi-line traces with headers. */
  readonly debug: boolean;
}

/**
 * A listener that relays TCP connections byte for byte to one cluster.
 *
 * @example Usage
 * ```ts
 * import { tcpListener } from "./builders.ts";
 * const l = tcpListener("127.0.0.1:26257", [["127.0.0.1:26258", "127.0.0.1:26259"]]);
 * ```
 */
export interface TcpListenerSpec {
  /** Discriminant. */
  readonly kind: "tcp";
  /** A label for logs. */
  readonly name: string;
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Where connections go (tiers are its sites). */
  readonly cluster: ClusterSpec;
  /** Dialing an endpoint, in ms. */
  readonly connectMs: number;
  /** A connection with no bytes either way for this long is closed; 0 = never. */
  readonly idleMs: number;
  /** Most endpoints one connection is tried on. */
  readonly maxAttempts: number;
  /** Most client connections at once; 0 = unlimited. */
  readonly maxConnections: number;
  /** Send a PROXY protocol header to the endpoint first. */
  readonly proxyProtocol: "off" | "v1" | "v2";
  /**
   * Terminate TLS: clients speak TLS to this listener (the certificate
   * follows its files), and the bytes inside go on as they are. A client's
   * handshake must end within `connectMs`. @default plain TCP
   */
  readonly tls?: ServerTlsSpec;
  /**
   * Originate TLS: every endpoint is dialled with TLS (CA, client
   * certificate, server name); health probes of kind `tcp` complete the
   * handshake too. @default plain TCP
   */
  readonly upstreamTls?: UpstreamTlsSpec;
  /**
   * Connections to a removed or drained endpoint are kept at least this long,
   * then closed at a random moment within twice that again (iaido's
   * `maintenanceTime` T: two maintenance ticks of T/2 + random[0, T)).
   * 0 or absent: they are closed over the proxy's drain smear (a few seconds).
   */
  readonly drainDelayMs?: number;
  /** Per-client connection and rate limits (by client IP); off when absent. */
  readonly perClient?: PerClientLimits;
}

/**
 * A listener that relays UDP datagrams, sticking each client to one endpoint.
 *
 * @example Usage
 * ```ts
 * import { udpListener } from "./builders.ts";
 * const l = udpListener("127.0.0.1:5353", [["127.0.0.1:5354"]]);
 * ```
 */
export interface UdpListenerSpec {
  /** Discriminant. */
  readonly kind: "udp";
  /** A label for logs. */
  readonly name: string;
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Where datagrams go. */
  readonly cluster: ClusterSpec;
  /** A flow with no datagram either way for this long is forgotten, in ms. */
  readonly flowIdleMs: number;
  /** Most flows (clients) at once; datagrams of further clients are dropped. */
  readonly maxFlows: number;
  /** Per-client connection and rate limits (by client IP); off when absent. */
  readonly perClient?: PerClientLimits;
}

/** Any listener. */
export type ListenerSpec = HttpListenerSpec | TcpListenerSpec | UdpListenerSpec;

/**
 * The whole configuration of a sidecar process.
 *
 * @example Usage
 * ```ts
 * import { type SidecarConfig } from "./schema.ts";
 * import { httpListener } from "./builders.ts";
 * const config: SidecarConfig = {
 *   listeners: [httpListener("127.0.0.1:0", [["http://127.0.0.1:9000"]])],
 * };
 * ```
 */
export interface SidecarConfig {
  /** Every listener; at least one. */
  readonly listeners: readonly ListenerSpec[];
  /** Console output. @default DEFAULT_LOG */
  readonly log?: LogSpec;
  /** How long in-flight work may finish after SIGTERM, in ms. @default 5000 */
  readonly gracePeriodMs?: number;
  /** Serve SideLB's UDS health check (`HEALTHY`/`UNHEALTHY`) on this socket path. @default none */
  readonly healthSocket?: string | undefined;
  /**
   * The admin listener (status page, JSON, metrics); off when absent. The
   * command line starts it; an embedding program calls `serveAdmin`.
   */
  readonly admin?: AdminSpec;
}

/**
 * Where the admin listener serves `/`, `/status`, `/metrics`, `/healthz`,
 * `/configz` (and iaido's `/statusz`). Never a traffic port.
 *
 * @example Usage
 * ```ts
 * import type { AdminSpec } from "./schema.ts";
 * const admin: AdminSpec = { hostname: "127.0.0.1", port: 9090 };
 * ```
 */
export interface AdminSpec {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
}

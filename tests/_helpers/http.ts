/**
 * Helpers for integration tests on real loopback sockets: a sidecar in front
 * of given backends, a raw HTTP/1.1 peer (client or backend side) that sends
 * exact bytes and reads whole messages, raw and `Deno.serve` backends that
 * count their connections, and bounded waiting.
 *
 * Every helper owns what it opens and closes it in `close()`, so tests pass
 * with `--sanitize-ops --sanitize-resources`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  DEFAULT_HEALTH,
  DEFAULT_HTTP_LIMITS,
  DEFAULT_HTTP_TIMEOUTS,
  type HealthSpec,
  type HttpLimits,
  httpListener,
  type HttpTimeouts,
  parseEndpoint,
  type PolicyName,
} from "../../src/config/schema.ts";
import { createSidecar, type Sidecar, type SidecarStats } from "../../src/sidecar.ts";
import type { HealthEvent } from "../../src/health/checker.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Loopback address every test uses. */
export const HOST = "127.0.0.1";

// ---------------------------------------------------------------------------
// time

/**
 * Sleeps for `ms`.
 *
 * @param ms Milliseconds.
 * @returns Resolves after the delay.
 */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Awaits `promise`, failing with a message naming `what` after `ms`.
 *
 * @param promise What to wait for.
 * @param ms The deadline.
 * @param what Used in the error message.
 * @returns The promise's value.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `check` every 10 ms until it returns true; fails after `ms`.
 *
 * @param check The condition.
 * @param ms The deadline.
 * @param what Used in the error message.
 */
export async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what}: still false after ${ms} ms`);
    await delay(10);
  }
}

// ---------------------------------------------------------------------------
// bytes

/**
 * Encodes text as UTF-8.
 *
 * @param s The text.
 * @returns Its bytes.
 */
export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s);
}

/**
 * Decodes UTF-8.
 *
 * @param b The bytes.
 * @returns The text.
 */
export function text(b: Uint8Array): string {
  return decoder.decode(b);
}

/**
 * Hex SHA-256 of some bytes.
 *
 * @param data The bytes (or several parts, hashed in order).
 * @returns The digest in hex.
 */
export function sha256(...data: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const d of data) h.update(d);
  return h.digest("hex");
}

/**
 * Pseudo-random bytes from a seed (xorshift), so failures reproduce.
 *
 * @param n How many.
 * @param seed The seed.
 * @returns The bytes.
 */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function concat(parts: Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// raw HTTP/1.1 peer

/** A parsed message head as a raw peer sees it. */
export interface RawHead {
  /** The start line, e.g. `HTTP/1.1 200 OK` or `GET / HTTP/1.1`. */
  readonly startLine: string;
  /** Header lines in order, names as sent. */
  readonly headers: readonly (readonly [string, string])[];
  /** The whole head as text, blank line included. */
  readonly raw: string;
  /** The first value of a header, matched ignoring case, or null. */
  get(name: string): string | null;
  /** How many header lines have this name (ignoring case). */
  count(name: string): number;
}

/** A request read by a raw backend. */
export interface RawRequest {
  /** The head. */
  readonly head: RawHead;
  /** The method. */
  readonly method: string;
  /** The request target. */
  readonly target: string;
  /** The body (de-chunked). */
  readonly body: Uint8Array<ArrayBuffer>;
}

/** A response read by a raw client. */
export interface RawResponse {
  /** The head. */
  readonly head: RawHead;
  /** The status code. */
  readonly status: number;
  /** The body (de-chunked when chunked). */
  readonly body: Uint8Array;
  /** The body bytes exactly as they came on the wire (chunk framing included). */
  readonly wireBody: Uint8Array;
  /** How the body was delimited. */
  readonly framing: "none" | "length" | "chunked" | "close";
  /** 1xx responses that came before this one. */
  readonly informational: readonly RawHead[];
  /** The body as text. */
  text(): string;
  /** The first value of a header, or null. */
  header(name: string): string | null;
}

/** Thrown when the peer's connection ended before a message was complete. */
export class TruncatedError extends Error {
  /** The bytes of the body that did arrive. */
  readonly received: number;
  /**
   * @param message What was cut short.
   * @param received Body bytes received.
   */
  constructor(message: string, received = 0) {
    super(message);
    this.name = "TruncatedError";
    this.received = received;
  }
}

function makeHead(raw: string): RawHead {
  const lines = raw.split("\r\n");
  const startLine = lines[0];
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const c = line.indexOf(":");
    headers.push([line.slice(0, c), line.slice(c + 1).trim()]);
  }
  return {
    startLine,
    headers,
    raw,
    get(name) {
      const n = name.toLowerCase();
      return headers.find(([k]) => k.toLowerCase() === n)?.[1] ?? null;
    },
    count(name) {
      const n = name.toLowerCase();
      return headers.filter(([k]) => k.toLowerCase() === n).length;
    },
  };
}

/**
 * One end of an HTTP/1.1 connection driven byte by byte: it writes exactly
 * what it is given and parses what comes back. Every read has a deadline
 * (the connection is closed when it passes), so no test can hang on it.
 */
export class HttpPeer {
  /** The socket. */
  readonly conn: Deno.TcpConn;
  /** Deadline of each read operation (ms). */
  timeoutMs: number;
  #buf: Uint8Array<ArrayBuffer> = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;

  /**
   * @param conn The socket.
   * @param timeoutMs Deadline of each read operation.
   */
  constructor(conn: Deno.TcpConn, timeoutMs = 5000) {
    this.conn = conn;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Connects to a port on loopback.
   *
   * @param port The port.
   * @param timeoutMs Deadline of each read.
   * @param hostname The address.
   * @returns The peer.
   */
  static async connect(port: number, timeoutMs = 5000, hostname = HOST): Promise<HttpPeer> {
    return new HttpPeer(await Deno.connect({ hostname, port }), timeoutMs);
  }

  /** Whether the other side ended its stream. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Bytes buffered and not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Writes all of `data`.
   *
   * @param data Text (sent as UTF-8) or bytes.
   */
  async write(data: string | Uint8Array): Promise<void> {
    const b = typeof data === "string" ? utf8(data) : data;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Half-closes: our side sends FIN, reads go on. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }

  #arm(): void {
    this.#timedOut = false;
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.close();
    }, this.timeoutMs);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Runs one read operation under the deadline. */
  async #timed<T>(op: () => Promise<T>, what: string): Promise<T> {
    this.#arm();
    try {
      return await op();
    } catch (e) {
      if (this.#timedOut) throw new Error(`${what}: timed out after ${this.timeoutMs} ms`);
      throw e;
    } finally {
      this.#disarm();
    }
  }

  /** Reads more bytes; false at end of stream (or when the socket failed). */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#buf.length) {
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      } else {
        const next = new Uint8Array(this.#buf.length * 2);
        next.set(this.#buf);
        this.#buf = next;
      }
    }
    let n: number | null;
    try {
      n = await this.conn.read(this.#buf.subarray(this.#end));
    } catch (e) {
      if (this.#timedOut) throw e;
      n = null; // reset by the peer counts as the end
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  #take(n: number): Uint8Array<ArrayBuffer> {
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  #indexOf(seq: Uint8Array, from: number): number {
    const b = this.#buf;
    outer: for (let i = Math.max(from, this.#start); i + seq.length <= this.#end; i++) {
      for (let k = 0; k < seq.length; k++) if (b[i + k] !== seq[k]) continue outer;
      return i;
    }
    return -1;
  }

  async #readHeadRaw(): Promise<string | null> {
    const sep = utf8("\r\n\r\n");
    let scanned = 0; // relative to #start, which #fill may move
    for (;;) {
      const i = this.#indexOf(sep, this.#start + scanned);
      if (i >= 0) return text(this.#take(i + 4 - this.#start));
      scanned = Math.max(0, this.buffered - 3);
      if (!(await this.#fill())) {
        if (this.buffered === 0) return null;
        throw new TruncatedError(`connection ended inside a head: ${JSON.stringify(this.#peek())}`);
      }
    }
  }

  #peek(): string {
    return text(this.#buf.subarray(this.#start, Math.min(this.#end, this.#start + 200)));
  }

  async #readExactly(n: number): Promise<Uint8Array<ArrayBuffer>> {
    while (this.buffered < n) {
      const got = this.buffered;
      if (!(await this.#fill())) {
        throw new TruncatedError(`connection ended after ${got} of ${n} bytes`, got);
      }
    }
    return this.#take(n);
  }

  async #readLine(): Promise<string> {
    const crlf = utf8("\r\n");
    for (;;) {
      const i = this.#indexOf(crlf, this.#start);
      if (i >= 0) {
        const line = text(this.#buf.subarray(this.#start, i));
        this.#start = i + 2;
        return line;
      }
      if (!(await this.#fill())) throw new TruncatedError("connection ended inside a chunk line");
    }
  }

  /** Reads a chunked body; returns [decoded, wire]. */
  async #readChunked(): Promise<[Uint8Array<ArrayBuffer>, Uint8Array<ArrayBuffer>]> {
    const data: Uint8Array[] = [], wire: Uint8Array[] = [];
    let dataLen = 0, wireLen = 0;
    const push = (w: Uint8Array) => {
      wire.push(w);
      wireLen += w.length;
    };
    for (;;) {
      const line = await this.#readLine();
      push(utf8(line + "\r\n"));
      const size = parseInt(line.split(";")[0].trim(), 16);
      if (!Number.isFinite(size)) throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
      if (size === 0) {
        for (;;) {
          const t = await this.#readLine();
          push(utf8(t + "\r\n"));
          if (t === "") return [concat(data, dataLen), concat(wire, wireLen)];
        }
      }
      const chunk = await this.#readExactly(size);
      data.push(chunk);
      dataLen += size;
      push(chunk);
      const end = await this.#readExactly(2);
      if (end[0] !== 13 || end[1] !== 10) throw new Error("chunk data not followed by CRLF");
      push(end);
    }
  }

  async #readToEnd(): Promise<Uint8Array<ArrayBuffer>> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      if (this.buffered > 0) {
        const p = this.#take(this.buffered);
        parts.push(p);
        total += p.length;
      }
      if (!(await this.#fill())) return concat(parts, total);
    }
  }

  /**
   * Reads one response, including any 1xx before it.
   *
   * @param options `method` of the request (HEAD has no body).
   * @returns The final response.
   * @throws {TruncatedError} When the connection ends before the response is complete.
   */
  readResponse(options: { method?: string } = {}): Promise<RawResponse> {
    return this.#timed(async () => {
      const informational: RawHead[] = [];
      for (;;) {
        const raw = await this.#readHeadRaw();
        if (raw === null) throw new TruncatedError("connection closed before a response");
        const head = makeHead(raw);
        const status = Number(head.startLine.split(" ")[1]);
        if (status >= 100 && status < 200 && status !== 101) {
          informational.push(head);
          continue;
        }
        let framing: RawResponse["framing"], body: Uint8Array, wireBody: Uint8Array;
        const te = head.get("transfer-encoding"), cl = head.get("content-length");
        if (options.method === "HEAD" || status === 101 || status === 204 || status === 304) {
          framing = "none";
          body = wireBody = new Uint8Array(0);
        } else if (te !== null && /chunked\s*$/i.test(te)) {
          framing = "chunked";
          [body, wireBody] = await this.#readChunked();
        } else if (cl !== null) {
          framing = "length";
          body = wireBody = await this.#readExactly(Number(cl));
        } else {
          framing = "close";
          body = wireBody = await this.#readToEnd();
        }
        return {
          head,
          status,
          body,
          wireBody,
          framing,
          informational,
          text: () => text(body),
          header: (name) => head.get(name),
        };
      }
    }, "reading a response");
  }

  /**
   * Reads one request (backend side).
   *
   * @returns The request, or null when the connection ended cleanly between requests.
   */
  readRequest(): Promise<RawRequest | null> {
    return this.#timed(async () => {
      const raw = await this.#readHeadRaw();
      if (raw === null) return null;
      const head = makeHead(raw);
      const [method, target] = head.startLine.split(" ");
      let body: Uint8Array<ArrayBuffer> = new Uint8Array(0);
      const te = head.get("transfer-encoding"), cl = head.get("content-length");
      if (te !== null && /chunked\s*$/i.test(te)) [body] = await this.#readChunked();
      else if (cl !== null) body = await this.#readExactly(Number(cl));
      return { head, method, target, body };
    }, "reading a request");
  }

  /**
   * Reads a head only (no body), e.g. a request whose body is consumed some other way.
   *
   * @returns The head, or null at a clean end.
   */
  readHead(): Promise<RawHead | null> {
    return this.#timed(async () => {
      const raw = await this.#readHeadRaw();
      return raw === null ? null : makeHead(raw);
    }, "reading a head");
  }

  /**
   * Reads exactly `n` bytes.
   *
   * @param n How many.
   * @returns The bytes.
   */
  readBytes(n: number): Promise<Uint8Array> {
    return this.#timed(() => this.#readExactly(n), `reading ${n} bytes`);
  }

  /**
   * Reads until `marker` has been seen; returns everything up to and including it.
   *
   * @param marker The text to wait for.
   * @returns The bytes read, as text.
   */
  readUntil(marker: string): Promise<string> {
    return this.#timed(async () => {
      const seq = utf8(marker);
      for (;;) {
        const i = this.#indexOf(seq, this.#start);
        if (i >= 0) return text(this.#take(i + seq.length - this.#start));
        if (!(await this.#fill())) {
          throw new TruncatedError(`connection ended before ${JSON.stringify(marker)}`);
        }
      }
    }, `waiting for ${JSON.stringify(marker)}`);
  }

  /**
   * Returns buffered bytes, or reads once when none are buffered.
   *
   * @returns Some bytes, or null at the end of stream.
   */
  readSome(): Promise<Uint8Array | null> {
    return this.#timed(async () => {
      if (this.buffered === 0 && !(await this.#fill())) return null;
      return this.#take(this.buffered);
    }, "reading");
  }

  /**
   * Reads until the other side ends its stream.
   *
   * @returns All remaining bytes.
   */
  readToEnd(): Promise<Uint8Array> {
    return this.#timed(() => this.#readToEnd(), "reading to the end");
  }

  /**
   * Reads and discards until the end of stream, without a deadline of its
   * own: for racing against other work. Never rejects.
   *
   * @returns The number of bytes discarded.
   */
  async drainUntilClosed(): Promise<number> {
    let n = 0;
    for (;;) {
      n += this.buffered;
      this.#start = this.#end;
      if (!(await this.#fill().catch(() => false))) return n;
    }
  }
}

// ---------------------------------------------------------------------------
// backends

/** A backend under a test's control. */
export interface Backend extends AsyncDisposable {
  /** Its port on loopback. */
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Closes everything at once (a crash, as far as peers can tell). */
  kill(): void;
  /** Closes everything and waits for handlers to end. */
  close(): Promise<void>;
}

/** Where a raw backend listens. */
export interface ListenOptions {
  /** The address. @default "127.0.0.1" */
  readonly hostname?: string;
  /** The port. @default 0 (any free one) */
  readonly port?: number;
}

/** A raw backend: every accepted connection is handed to a function. */
export interface RawBackend extends Backend {
  /** Connections open now. */
  readonly open: number;
}

/**
 * Starts a backend on raw sockets. The handler gets each connection as an
 * {@linkcode HttpPeer}; the connection is closed when the handler returns or
 * throws.
 *
 * @param handler Serves one connection.
 * @param options Where to listen.
 * @returns The backend.
 */
export function startRawBackend(
  handler: (peer: HttpPeer) => Promise<void>,
  options: ListenOptions = {},
): RawBackend {
  const hostname = options.hostname ?? HOST;
  const listener = Deno.listen({ hostname, port: options.port ?? 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const peers = new Set<HttpPeer>();
  const running = new Set<Promise<void>>();
  let accepted = 0;
  let killed = false;
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      if (killed) {
        conn.close();
        continue;
      }
      accepted++;
      const peer = new HttpPeer(conn, 10_000);
      peers.add(peer);
      const run = (async () => {
        try {
          await handler(peer);
        } catch {
          // a peer going away ends the handler
        } finally {
          peer.close();
          peers.delete(peer);
        }
      })();
      running.add(run);
      run.finally(() => running.delete(run));
    }
  })();
  const kill = () => {
    if (killed) return;
    killed = true;
    try {
      listener.close();
    } catch {
      // closed already
    }
    for (const p of peers) p.close();
  };
  const close = async () => {
    kill();
    await loop;
    for (let i = 0; i < 100 && running.size > 0; i++) await Promise.all([...running]);
  };
  return {
    port,
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return peers.size;
    },
    kill,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A raw backend that answers every request on a keep-alive connection with
 * `200` and a body of `name:target`.
 *
 * @param name Put in each body, to tell backends apart.
 * @param options Where to listen.
 * @returns The backend.
 */
export function startNamedBackend(name: string, options: ListenOptions = {}): RawBackend {
  return startRawBackend(async (peer) => {
    for (;;) {
      const req = await peer.readRequest();
      if (req === null) return;
      const body = `${name}:${req.target}`;
      await peer.write(
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Backend: ${name}\r\n\r\n${body}`,
      );
    }
  }, options);
}

/** A `Deno.serve` backend. */
export interface ServeBackend extends Backend {
  /** Client ports seen (one per upstream connection). */
  readonly remotePorts: ReadonlySet<number>;
}

/**
 * Starts a `Deno.serve` backend. `close()` aborts its signal, which closes
 * every connection at once (streaming responses included).
 *
 * @param handler The request handler.
 * @returns The backend.
 */
export function startServeBackend(handler: Deno.ServeHandler<Deno.NetAddr>): ServeBackend {
  const ac = new AbortController();
  const remotePorts = new Set<number>();
  let accepted = 0;
  const server = Deno.serve(
    {
      hostname: HOST,
      port: 0,
      signal: ac.signal,
      onListen() {},
      onError: () => new Response(null, { status: 500 }),
    },
    (req, info) => {
      if (!remotePorts.has(info.remoteAddr.port)) {
        remotePorts.add(info.remoteAddr.port);
        accepted++;
      }
      return handler(req, info);
    },
  );
  const port = server.addr.port;
  const close = async () => {
    if (!ac.signal.aborted) ac.abort();
    await server.finished;
  };
  return {
    port,
    url: `http://${HOST}:${port}`,
    remotePorts,
    get accepted() {
      return accepted;
    },
    kill: () => {
      if (!ac.signal.aborted) ac.abort();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A loopback port with nothing listening (bound, then released).
 *
 * @returns The port.
 */
export function refusedPort(): number {
  const l = Deno.listen({ hostname: HOST, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

// ---------------------------------------------------------------------------
// the sidecar

/** Options of {@linkcode startProxy}. */
export interface ProxyOptions {
  /** Timeouts to change from the defaults. */
  readonly timeouts?: Partial<HttpTimeouts>;
  /** Limits to change from the defaults. */
  readonly limits?: Partial<HttpLimits>;
  /** Health settings to change; active probes are OFF unless set here. */
  readonly health?: Partial<HealthSpec>;
  /** Balancing policy. @default "least" */
  readonly policy?: PolicyName;
  /** Health transitions. */
  readonly onHealthEvent?: (event: HealthEvent) => void;
  /** Listen address. @default "127.0.0.1:0" */
  readonly listen?: string;
}

/** A started sidecar with one HTTP listener. */
export interface ProxyHandle extends AsyncDisposable {
  /** The sidecar. */
  readonly sidecar: Sidecar;
  /** The listener's port. */
  readonly port: number;
  /** Opens a raw client connection to the listener. */
  connect(timeoutMs?: number): Promise<HttpPeer>;
  /**
   * Sends `request` on a new connection, reads one response, closes.
   *
   * @param request The raw request bytes.
   * @param options The method (for HEAD).
   */
  exchange(request: string | Uint8Array, options?: { method?: string }): Promise<RawResponse>;
  /** Sends `GET path` on a new connection and reads the response. */
  get(path: string): Promise<RawResponse>;
  /** Stats of the one listener. */
  stats(): SidecarStats["listeners"][number];
  /** The stats entry of one backend. */
  endpoint(backend: { port: number }): SidecarStats["listeners"][number]["endpoints"][number];
  /**
   * Closes the sidecar.
   *
   * @param graceMs How long requests in flight may take. @default 0
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts a sidecar on `127.0.0.1:0` in front of `sites` (each a list of
 * endpoint URLs, first site preferred).
 *
 * @param sites Endpoint URLs per site.
 * @param options Timeouts, limits, health.
 * @returns The running sidecar.
 */
export async function startProxy(
  sites: readonly (readonly string[])[],
  options: ProxyOptions = {},
): Promise<ProxyHandle> {
  const health: HealthSpec = { ...DEFAULT_HEALTH, active: false, ...options.health };
  const spec = httpListener(options.listen ?? `${HOST}:0`, sites, {
    cluster: {
      policy: options.policy ?? "least",
      health,
      sites: sites.map((urls, i) => ({ name: `site${i + 1}`, endpoints: urls.map(parseEndpoint) })),
    },
    timeouts: { ...DEFAULT_HTTP_TIMEOUTS, ...options.timeouts },
    limits: { ...DEFAULT_HTTP_LIMITS, ...options.limits },
  });
  const sidecar = createSidecar({ listeners: [spec] }, {
    onHealthEvent: options.onHealthEvent,
    firstProbeWaitMs: 2000,
  });
  const [addr] = await sidecar.start();
  const port = addr.port;
  const close = (graceMs?: number) => sidecar.close(graceMs);
  const handle: ProxyHandle = {
    sidecar,
    port,
    connect: (timeoutMs = 5000) => HttpPeer.connect(port, timeoutMs, addr.hostname),
    async exchange(request, opts = {}) {
      const peer = await HttpPeer.connect(port, 5000, addr.hostname);
      try {
        await peer.write(request);
        return await peer.readResponse(opts);
      } finally {
        peer.close();
      }
    },
    get(path) {
      return handle.exchange(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
    },
    stats: () => sidecar.stats().listeners[0],
    endpoint(backend) {
      const e = sidecar.stats().listeners[0].endpoints.find((x) =>
        x.endpoint.endsWith(`:${backend.port}`)
      );
      if (e === undefined) throw new Error(`no endpoint on port ${backend.port}`);
      return e;
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  };
  return handle;
}

/**
 * A GET request as raw text.
 *
 * @param path The target.
 * @param headers Extra header lines (without CRLF).
 * @returns The request.
 */
export function getRequest(path: string, ...headers: string[]): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n${headers.map((h) => h + "\r\n").join("")}\r\n`;
}

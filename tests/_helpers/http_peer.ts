/**
 * A raw HTTP/1.1 peer (client or backend side) on a real socket: sends exact
 * bytes and reads whole messages (Content-Length, chunked with the exact wire
 * bytes, close-delimited, 1xx, HEAD, half-close), every read with a deadline.
 *
 * @module
 */

import { HOST, text, utf8 } from "./net.ts";

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

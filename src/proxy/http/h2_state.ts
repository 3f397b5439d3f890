/**
 * What one h2 stream has done so far while it is served: its request, its
 * attempts, the endpoint connection of the current one, the bytes each way
 * and the deadlines the listener's sweeper enforces. It is the lease outcome
 * of each attempt.
 *
 * @module
 */

import type { Endpoint, LeaseOutcome, TransportError } from "../../balance/endpoint.ts";
import { Attempt } from "../../balance/lease.ts";
import type { H2Stream } from "../../h2/session.ts";
import { ChunkedParser } from "./chunked.ts";
import { H2Request } from "./h2_request_head.ts";
import { MessageHead } from "./head.ts";
import { MAX_RESPONSE_HEADERS } from "./scratch.ts";
import { StallClock } from "./stall.ts";
import type { UpstreamConn } from "./upstream_pool.ts";
import { ByteWriter, type ForwardInfo } from "./writer.ts";

/** Waiting for the endpoint's response head. */
export const H2_WAITING = 1;
/** Relaying the response body. */
export const H2_STREAMING = 2;

/**
 * What one stream has done so far; reused by its connection for later
 * streams. It is the lease outcome of each attempt.
 *
 * @example Usage
 * ```ts
 * import { H2Exchange } from "./h2_state.ts";
 * const info = { clientIp: new TextEncoder().encode("127.0.0.1"), tls: false, basePath: new Uint8Array(0) };
 * const x = new H2Exchange(() => Date.now(), info);
 * x.rx; // 0
 * ```
 */
export class H2Exchange implements LeaseOutcome {
  /** The listener's clock. */
  readonly now: () => number;
  /** The stream served (null between streams). */
  stream: H2Stream | null = null;
  /** Its request. */
  readonly req: H2Request = new H2Request();
  /** Its attempts. */
  readonly attempt: Attempt = new Attempt();
  /** The request head toward the endpoint; then the body chunk framing. */
  readonly out: ByteWriter = new ByteWriter(2048);
  /** The endpoint's response head. */
  readonly res: MessageHead = new MessageHead(MAX_RESPONSE_HEADERS);
  /** The response's chunk parser. */
  readonly chunks: ChunkedParser = new ChunkedParser(502);
  /** The response trailer section, as it arrives. */
  readonly trailerBytes: ByteWriter = new ByteWriter(256);
  /** The sweeper's memory of this stream's progress. */
  readonly stall: StallClock = new StallClock();
  /** 0 (not waiting on an endpoint), {@linkcode H2_WAITING} or {@linkcode H2_STREAMING}. */
  phase = 0;
  /** When the response head must have come (0 = no deadline); the sweeper enforces it. */
  deadline = 0;
  /** The endpoint connection of the current attempt. */
  upstream: UpstreamConn | null = null;
  /** The client reset the stream (or the session died). */
  clientGone = false;
  /** The response-header deadline passed. */
  timedOut = false;
  /** Why the endpoint connection failed ("" for a plain close). */
  upstreamError = "";
  /** The request body went completely to the endpoint. */
  pumpDone = false;
  /** The body pump waits for the client. */
  pumpReading = false;
  /** A body pump left waiting for the client when its attempt failed (ended by the stream handler). */
  pump: Promise<void> | null = null;
  /** The body pump failed. */
  pumpError = false;
  /** A DATA write to the client is waiting (for flow-control windows). */
  writing = false;
  /** Bytes from the client (body). */
  rx = 0;
  /** Bytes to the client (body). */
  tx = 0;
  /** The status sent to the client (0 before any). */
  status = 0;
  /** The transport error of the current attempt, for its lease. */
  error: TransportError = "none";
  /** When the final response head came (`performance.now()`), or 0. */
  answeredAt = 0;
  /** When the stream started (`performance.now()`). */
  start = 0;
  /** When the stream started, on the listener's clock (the whole-request deadline). */
  startedAt = 0;
  /** Whether it may be sent again when nothing came back. */
  replaySafe = false;
  /** Whether this stream is traced (then the fields below are filled). */
  tracing = false;
  /** Wall clock at the start (ms since epoch; tracing only). */
  wallStart = 0;
  /** Method (tracing only). */
  method = "";
  /** Request target (tracing only). */
  target = "";
  /** The last endpoint picked (tracing only). */
  tried: Endpoint | null = null;
  /** When the response head went to the client (`performance.now()`, tracing only). */
  firstByteAt = 0;
  /** Request fields (debug tracing only). */
  requestHeaders: [string, string][] | undefined = undefined;
  /** Response fields (debug tracing only). */
  responseHeaders: [string, string][] | undefined = undefined;
  /** Response fields, reused. */
  readonly fields: string[] = [];

  /** The client's forwarding facts; `basePath` is set per attempt. */
  readonly info: ForwardInfo;

  /**
   * Makes an exchange for one connection's streams.
   *
   * @param now The listener's clock.
   * @param info The client's forwarding facts (this exchange's own object).
   */
  constructor(now: () => number, info: ForwardInfo) {
    this.now = now;
    this.info = info;
  }

  /**
   * Starts serving `stream`.
   *
   * @param stream The stream.
   */
  begin(stream: H2Stream): void {
    this.stream = stream;
    this.phase = 0;
    this.deadline = 0;
    this.upstream = null;
    this.clientGone = this.timedOut = false;
    this.rx =
      this.tx =
      this.status =
      this.answeredAt =
        0;
    this.error = "none";
    this.start = performance.now();
    this.startedAt = this.now();
    this.pumpReading =
      this.writing =
      this.pumpDone =
      this.pumpError =
        false;
    this.stall.seen = -1;
    this.pump = null;
    this.tracing = false;
    this.tried = null;
    this.firstByteAt = 0;
  }

  /** The client reset the stream: whatever the endpoint is doing for it is abandoned. */
  readonly onReset = (): void => {
    this.clientGone = true;
    this.upstream?.close();
  };
}

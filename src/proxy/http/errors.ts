/**
 * The codec's own error: what went wrong and which status answers it.
 *
 * @module
 */

/**
 * A protocol violation found while parsing a message. For requests, `status`
 * is what the client is answered with before the connection closes; for
 * responses it is always 502.
 *
 * @example Usage
 * ```ts
 * import { HttpParseError } from "./errors.ts";
 * const e = new HttpParseError(431, "request head is larger than 65536 bytes");
 * e.status; // 431
 * ```
 */
export class HttpParseError extends Error {
  /** The HTTP status that answers this error. */
  readonly status: number;

  /**
   * Creates a parse error.
   *
   * @param status The HTTP status to answer with.
   * @param message What was wrong.
   */
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpParseError";
    this.status = status;
  }
}

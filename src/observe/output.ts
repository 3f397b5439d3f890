/**
 * sidekick's own console lines (startup, summary, warnings, events,
 * errors), as text or, with `--json`, as one JSON object per line so that
 * nothing on either stream is plain text. Formatting is pure; a
 * {@linkcode Reporter} writes the lines and can divert events and warnings
 * to the live table while it is on screen.
 *
 * @module
 */

/** How much a line matters: `event` is a change of state (failover, reload, drain). */
export type Level = "info" | "warning" | "error" | "event";

/** Extra JSON fields of a line (ignored in text). */
export type Fields = Readonly<Record<string, unknown>>;

/**
 * Formats one line. Text: `sidekick: MESSAGE` (`sidekick: warning: MESSAGE`
 * for warnings). JSON: `{"level","time","message",...fields}`, `time` in
 * ISO 8601 UTC.
 *
 * @param level What kind of line.
 * @param message The text.
 * @param options `json`, the time (ms since epoch) and extra fields.
 * @returns One line, without a newline (text may hold newlines for multi-line errors).
 *
 * @example Usage
 * ```ts
 * import { formatLine } from "./output.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatLine("warning", "x", { json: false, now: 0 }), "sidekick: warning: x");
 * assert.equal(JSON.parse(formatLine("info", "x", { json: true, now: 0, fields: { port: 1 } })).port, 1);
 * ```
 */
export function formatLine(
  level: Level,
  message: string,
  options: { readonly json: boolean; readonly now: number; readonly fields?: Fields | undefined },
): string {
  if (options.json) {
    return JSON.stringify({
      level,
      time: new Date(options.now).toISOString(),
      message,
      ...options.fields,
    });
  }
  return level === "warning" ? `sidekick: warning: ${message}` : `sidekick: ${message}`;
}

/**
 * Options of {@linkcode Reporter}.
 *
 * @example Usage
 * ```ts
 * import type { ReporterOptions } from "./output.ts";
 * const options: ReporterOptions = { json: true, write: (line) => console.error(line) };
 * ```
 */
export interface ReporterOptions {
  /** JSON lines instead of text. @default false */
  readonly json?: boolean;
  /** Writes one line. @default console.error */
  readonly write?: (line: string) => void;
  /** The clock. @default Date.now */
  readonly now?: () => number;
  /** Only errors are written (`--quiet`). @default false */
  readonly quiet?: boolean;
}

/**
 * Writes sidekick's own lines in one format.
 *
 * @example Usage
 * ```ts
 * import { Reporter } from "./output.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const out = new Reporter({ json: true, write: (l) => lines.push(l), now: () => 0 });
 * out.warn("all endpoints are down", { listener: "http-0" });
 * assert.equal(JSON.parse(lines[0]).level, "warning");
 * ```
 */
export class Reporter {
  /** Lines are JSON. */
  readonly json: boolean;
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  readonly #quiet: boolean;
  #divert: ((text: string) => void) | null = null;

  /** @param options Format, sink and clock. */
  constructor(options: ReporterOptions = {}) {
    this.json = options.json ?? false;
    this.#write = options.write ?? ((line) => console.error(line));
    this.#now = options.now ?? Date.now;
    this.#quiet = options.quiet ?? false;
  }

  /**
   * Sends events and warnings to `sink` as text (the live table shows them)
   * instead of writing them; `null` writes them again. Errors are always written.
   *
   * @param sink Takes the plain message, or null.
   */
  divert(sink: ((text: string) => void) | null): void {
    this.#divert = sink;
  }

  /**
   * Writes one line.
   *
   * @param level What kind of line.
   * @param message The text.
   * @param fields Extra JSON fields.
   */
  line(level: Level, message: string, fields?: Fields): void {
    if (this.#quiet && level !== "error") return;
    const now = this.#now();
    if (this.#divert !== null && level !== "error") {
      const clock = new Date(now).toISOString().slice(11, 19);
      this.#divert(`${clock} ${level === "warning" ? "warning: " : ""}${message}`);
      return;
    }
    this.#write(formatLine(level, message, { json: this.json, now, fields }));
  }

  /**
   * An informational line.
   *
   * @param message The text.
   * @param fields Extra JSON fields.
   */
  info(message: string, fields?: Fields): void {
    this.line("info", message, fields);
  }

  /**
   * A warning.
   *
   * @param message The text.
   * @param fields Extra JSON fields.
   */
  warn(message: string, fields?: Fields): void {
    this.line("warning", message, fields);
  }

  /**
   * An error.
   *
   * @param message The text.
   * @param fields Extra JSON fields.
   */
  error(message: string, fields?: Fields): void {
    this.line("error", message, fields);
  }

  /**
   * A change of state: failover, fail-back, promotion, drain, reload.
   *
   * @param message The text.
   * @param fields Extra JSON fields (`event` names the kind).
   */
  event(message: string, fields?: Fields): void {
    this.line("event", message, fields);
  }
}

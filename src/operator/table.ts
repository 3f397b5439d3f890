/**
 * The live terminal table's I/O: switches to the alternate screen, redraws
 * {@linkcode renderTable}'s frame in place every 500 ms and when the
 * terminal is resized (SIGWINCH), and restores the screen (main buffer,
 * cursor shown) on {@linkcode LiveTable.close}. It owns its one interval
 * and its signal listener; reading the stats is its only contact with the
 * sidecar.
 *
 * @module
 */

import type { SidecarStats } from "../sidecar.ts";
import { renderTable } from "./table_render.ts";

/** Alternate screen on, cursor hidden. */
const ENTER = "\x1b[?1049h\x1b[?25l";
/** Cursor shown, main screen back. */
const LEAVE = "\x1b[?25h\x1b[?1049l";
/** The ways a process ends without `close()`: the screen is restored on each. */
const END_EVENTS = ["unload", "error", "unhandledrejection"] as const;
/** Most events kept for the bottom of the table. */
const MAX_EVENTS = 50;

/**
 * Options of {@linkcode LiveTable}.
 *
 * @example Usage
 * ```ts
 * import type { LiveTableOptions } from "./table.ts";
 * const options: LiveTableOptions = { stats: () => ({ state: "running", listeners: [] }), intervalMs: 500 };
 * ```
 */
export interface LiveTableOptions {
  /** Reads the sidecar's state (`Sidecar.stats`). */
  readonly stats: () => SidecarStats;
  /** Writes to the terminal. @default synchronous writes to stdout */
  readonly write?: (text: string) => void;
  /** The terminal's size. @default Deno.consoleSize, 80x24 when it fails */
  readonly size?: () => { columns: number; rows: number };
  /** Redraw period (ms). @default 500 */
  readonly intervalMs?: number;
  /** The clock, for the uptime. @default Date.now */
  readonly now?: () => number;
  /** Color the STATUS cells. @default true unless NO_COLOR is set (when it may be read) */
  readonly color?: boolean;
}

function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  while (done < bytes.length) done += Deno.stdout.writeSync(bytes.subarray(done));
}

function consoleSize(): { columns: number; rows: number } {
  try {
    return Deno.consoleSize();
  } catch {
    return { columns: 80, rows: 24 };
  }
}

function noColor(): boolean {
  try {
    return Deno.permissions.querySync({ name: "env", variable: "NO_COLOR" }).state === "granted" &&
      Deno.env.get("NO_COLOR") !== undefined;
  } catch {
    return false;
  }
}

/**
 * The live table on a terminal.
 *
 * @example Usage
 * ```ts ignore
 * import { LiveTable } from "./table.ts";
 * using table = new LiveTable({ stats: () => sidecar.stats() });
 * table.start();
 * table.event("site 1 is down, failing over to site 2");
 * ```
 */
export class LiveTable implements Disposable {
  readonly #options: LiveTableOptions;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #events: string[] = [];
  readonly #onResize = () => this.draw();
  /** Exit, an uncaught error or rejection: the screen comes back before Deno prints anything. */
  readonly #onEnd = () => this.close();
  #started = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #open = false;

  /** @param options Where the stats come from and where frames go. */
  constructor(options: LiveTableOptions) {
    this.#options = options;
    this.#write = options.write ?? writeStdout;
    this.#now = options.now ?? Date.now;
  }

  /** Whether the table is on screen. */
  get active(): boolean {
    return this.#open;
  }

  /** Switches to the alternate screen, draws, and starts redrawing. Idempotent. */
  start(): void {
    if (this.#open) return;
    this.#open = true;
    this.#started = this.#now();
    this.#write(ENTER);
    this.draw();
    this.#timer = setInterval(() => this.draw(), this.#options.intervalMs ?? 500);
    for (const type of END_EVENTS) globalThis.addEventListener(type, this.#onEnd);
    try {
      Deno.addSignalListener("SIGWINCH", this.#onResize);
    } catch {
      // no SIGWINCH here (Windows): the interval still picks up a new size
    }
  }

  /**
   * Shows an event line at the bottom of the table (the latest ones that fit).
   *
   * @param line One line of text.
   */
  event(line: string): void {
    this.#events.push(line);
    if (this.#events.length > MAX_EVENTS) this.#events.shift();
  }

  /** Draws one frame now, in place. */
  draw(): void {
    if (!this.#open) return;
    const { columns, rows } = (this.#options.size ?? consoleSize)();
    const frame = renderTable(
      { stats: this.#options.stats(), uptimeMs: this.#now() - this.#started, events: this.#events },
      { width: columns, height: rows, color: this.#options.color ?? !noColor() },
    );
    try {
      // Home, each line then erase to its end, then erase below: no flicker, no leftovers.
      this.#write(`\x1b[H${frame.replaceAll("\n", "\x1b[K\n")}\x1b[K\x1b[J`);
    } catch {
      // The terminal went away (EIO, EPIPE): stop drawing; the proxy keeps serving.
      this.#stop();
    }
  }

  /** Stops the interval and the listeners; true when it was running. */
  #stop(): boolean {
    if (!this.#open) return false;
    this.#open = false;
    clearInterval(this.#timer);
    for (const type of END_EVENTS) globalThis.removeEventListener(type, this.#onEnd);
    try {
      Deno.removeSignalListener("SIGWINCH", this.#onResize);
    } catch {
      // it was never added
    }
    return true;
  }

  /** Stops redrawing and restores the screen and the cursor. Idempotent. */
  close(): void {
    if (!this.#stop()) return;
    try {
      this.#write(LEAVE);
    } catch {
      // the terminal is gone: nothing to restore
    }
  }

  /** Same as {@linkcode LiveTable.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

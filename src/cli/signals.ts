/**
 * The process's signals for the command line: installed before any other
 * work, so that no signal is ever fatal.
 *
 * @module
 */

/**
 * SIGTERM/SIGINT (stop; a second one exits 1 at once) and SIGHUP (reload),
 * handled from the moment this is created: a reload asked for before the
 * server can take it is held until {@linkcode ProcessSignals.onReload} is set.
 *
 * @example Usage
 * ```ts ignore
 * using signals = new ProcessSignals(() => Deno.exit(1));
 * signals.onReload = () => console.error("reload");
 * await signals.stopped;
 * ```
 */
export class ProcessSignals implements Disposable {
  readonly #onSecond: () => void;
  readonly #stopped = Promise.withResolvers<void>();
  #count = 0;
  #pendingReload = false;
  #reload: (() => void) | null = null;
  readonly #onStop = () => {
    if (++this.#count > 1) {
      this.#onSecond();
      return;
    }
    this.#stopped.resolve();
  };
  readonly #onHup = () => {
    if (this.#reload === null) this.#pendingReload = true;
    else this.#reload();
  };

  /**
   * Installs the handlers.
   *
   * @param onSecond Called on a second SIGTERM or SIGINT (the CLI exits 1 there).
   */
  constructor(onSecond: () => void) {
    this.#onSecond = onSecond;
    Deno.addSignalListener("SIGINT", this.#onStop);
    Deno.addSignalListener("SIGTERM", this.#onStop);
    Deno.addSignalListener("SIGHUP", this.#onHup);
  }

  /** Resolves at the first SIGTERM or SIGINT. */
  get stopped(): Promise<void> {
    return this.#stopped.promise;
  }

  /** True once a stop signal came. */
  get stopping(): boolean {
    return this.#count > 0;
  }

  /** Where SIGHUP goes from now on (null: hold it); a held one is handed over at once. */
  set onReload(reload: (() => void) | null) {
    this.#reload = reload;
    if (reload !== null && this.#pendingReload) {
      this.#pendingReload = false;
      reload();
    }
  }

  [Symbol.dispose](): void {
    Deno.removeSignalListener("SIGINT", this.#onStop);
    Deno.removeSignalListener("SIGTERM", this.#onStop);
    Deno.removeSignalListener("SIGHUP", this.#onHup);
  }
}

/**
 * A fake {@linkcode Clock} for timing tests: time stands still until
 * `advance(ms)`, which first lets pending I/O be handled (one real event
 * loop turn), then fires every timer that falls due, in order of due time
 * (then of creation), letting the promise work each one starts run before
 * the next fires.
 *
 * @module
 */

import type { Clock, Timer } from "../../src/pool/clock.ts";

interface Entry {
  due: number;
  readonly seq: number;
  readonly fn: () => void;
  /** The period of an interval; 0 for a timeout. */
  readonly every: number;
}

/**
 * Lets pending promise callbacks and I/O callbacks run: one turn of the
 * event loop (a message to self; `setTimeout(0)` would cost a clamped ~2 ms).
 */
function settle(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise<void>((resolve) => {
    port1.onmessage = () => resolve();
    port2.postMessage(0);
  }).finally(() => {
    port1.close();
    port2.close();
  });
}

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Entry>();

  /** @param start The time it shows first (ms). @default 1_000_000 */
  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.#add(fn, ms, 0);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.#add(fn, ms, Math.max(1, ms));
  }

  #add(fn: () => void, ms: number, every: number): Timer {
    const seq = this.#seq++;
    this.#timers.set(seq, { due: this.#now + Math.max(0, ms), seq, fn, every });
    return { cancel: () => this.#timers.delete(seq) };
  }

  /** Timers not fired or cancelled yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing each timer that falls due on the
   * way at its due time, and settling after each.
   *
   * @param ms How far (ms).
   */
  async advance(ms: number): Promise<void> {
    // I/O that arrived before the call is handled at the current time.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const target = this.#now + ms;
    for (let fired = 0; fired < 100_000; fired++) {
      let next: Entry | undefined;
      for (const e of this.#timers.values()) {
        if (e.due <= target && (next === undefined || e.due < next.due)) next = e;
      }
      if (next === undefined) break;
      this.#now = next.due;
      if (next.every > 0) next.due += next.every;
      else this.#timers.delete(next.seq);
      next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /**
   * Advances in steps of `stepMs` until `check` holds, at most `maxMs` of fake time.
   *
   * @param check The condition.
   * @param maxMs The fake-time bound.
   * @param what Named in the error.
   * @param stepMs The step. @default 10
   * @throws {Error} When `check` still fails after `maxMs`.
   */
  async advanceUntil(
    check: () => boolean,
    maxMs: number,
    what: string,
    stepMs = 10,
  ): Promise<void> {
    for (let spent = 0; !check(); spent += stepMs) {
      if (spent >= maxMs) throw new Error(`${what}: still false after ${maxMs} ms of fake time`);
      await this.advance(stepMs);
    }
  }
}

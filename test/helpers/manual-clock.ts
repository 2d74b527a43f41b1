// A clock that moves only when the test says so: timing logic (timeouts, quiet periods, backoff,
// retries) is tested exactly, with no sleep and no margin for a loaded machine to eat.
import type { Clock, TimerHandle } from '../../src/clock.js';

interface Pending {
  due: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
  delay: number;
}

export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  #timers = new Set<Pending>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Pending = { due: this.#now + Math.max(0, ms), order: this.#order++, callback, cancelled: false, delay: Math.max(0, ms) };
    this.#timers.add(timer);
    const timers = this.#timers;
    const clock = this;
    return {
      refresh() {
        timer.due = clock.#now + timer.delay;
        timer.order = clock.#order++;
        timers.add(timer);
        return this;
      },
      // Identity of the pending entry, for clearTimeout.
      [PENDING]: timer,
    } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const timer = (handle as { [PENDING]?: Pending } | undefined)?.[PENDING];
    if (timer === undefined) return;
    timer.cancelled = true;
    this.#timers.delete(timer);
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Delay until the next timer fires, or undefined when none waits. */
  get nextIn(): number | undefined {
    let next: number | undefined;
    for (const timer of this.#timers) if (next === undefined || timer.due < next) next = timer.due;
    return next === undefined ? undefined : next - this.#now;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order of due
   * time (callbacks that set new timers within the window see them fire too). Awaits a few
   * macrotask turns after each callback, so that promise chains it started can settle.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const timer of this.#timers) {
        if (timer.due > target) continue;
        if (next === undefined || timer.due < next.due || (timer.due === next.due && timer.order < next.order)) next = timer;
      }
      if (next === undefined) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.due);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

const PENDING = Symbol('pending timer');

/** Lets promise callbacks and I/O callbacks queued so far run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

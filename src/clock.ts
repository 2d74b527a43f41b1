// Time as a dependency. Every part that waits or reads the time (session, backoff, snapshot
// tracking, spool, sinks, watchdog) takes a Clock, so tests drive timing logic with a manual
// clock (test/helpers/manual-clock.ts) instead of sleeping. The real clock is the default.

/** A pending callback; `refresh` restarts its countdown (as Node's Timeout does). */
export interface TimerHandle {
  refresh(): unknown;
}

export interface Clock {
  /** Wall-clock milliseconds (Date.now), used for timestamps and deadlines. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const realClock: Clock = Object.freeze({
  now: Date.now,
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle | undefined) => clearTimeout(handle as NodeJS.Timeout | undefined),
});

/** Resolves after `ms` on `clock`, or at once when `signal` aborts (never rejects). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

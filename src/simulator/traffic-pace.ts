// The pace of generated traffic: actions played as a Poisson process whose budget is a number of
// server messages per second, as seen by a client subscribed to everything. Each action returns
// what it roughly costs on the wire, and the pause before the next one is as long as that cost
// is worth at the rate. Shared by the per-bridge traffic and the distributed-meeting traffic.
import { realClock, type Clock, type TimerHandle } from '../clock.js';

/** Most actions played in one tick, and how far behind the schedule may fall before it is reset,
 * so that a stalled event loop does not unleash a flood. */
const MAX_STEPS_PER_TICK = 200;
const MAX_CATCH_UP_MS = 1000;

/** The rate option checked: a number >= 0 (0 plays nothing). */
export function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`traffic rate must be a number >= 0, not ${rate}`);
  return rate;
}

/**
 * Plays `step` (which returns the messages its action costs, at least 1) at `rate` messages per
 * second on `clock` (default the real one, read through performance.now for sub-millisecond
 * pauses) until stopped.
 */
export function pace(step: () => number, rate: number, clock?: Clock): { stop(): void } {
  if (checkRate(rate) === 0) return { stop: () => undefined };
  // People act independently, so actions come as a Poisson process: each one after an
  // exponentially distributed pause, as long on average as its messages are worth at this rate.
  // (An interval timer per server gave every server a fixed rhythm, and intervals that fire in
  // the same turn are re-armed from the same clock reading, so servers shared ticks: with 100
  // servers at 5,000 messages/s the busiest millisecond held 20–32 sends, against 17–20 now.)
  // The pauses draw on Math.random, not the players' `random`, so a seeded run still plays the
  // same actions.
  const meanGapMs = 1000 / rate;
  const timers = clock ?? realClock;
  const now = clock ? () => clock.now() : () => performance.now();
  let nextAt = now() + exponential() * meanGapMs;
  let stopped = false;
  let timer: TimerHandle | undefined;
  const schedule = (delay: number): void => {
    timer = timers.setTimeout(tick, Math.max(0, delay));
    (timer as { unref?: () => void }).unref?.();
  };
  const tick = (): void => {
    const at = now();
    if (at - nextAt > MAX_CATCH_UP_MS) nextAt = at;
    for (let steps = 0; nextAt <= at && steps < MAX_STEPS_PER_TICK; steps += 1) nextAt += exponential() * step() * meanGapMs;
    if (!stopped) schedule(nextAt - at);
  };
  schedule(nextAt - now());
  return {
    stop: () => {
      stopped = true;
      timers.clearTimeout(timer);
    },
  };
}

/** A draw from the exponential distribution with mean 1. */
function exponential(): number {
  return -Math.log(1 - Math.random());
}

// Exponential backoff with jitter, one implementation for every retry loop (the session's
// reconnects, the spooled sinks' deliveries).
//   full jitter:  delay = random() * ceiling
//   equal jitter: delay = ceiling / 2 + random() * ceiling / 2
// with ceiling = min(max, initial * 2^attempt). Full jitter spreads the reconnects of many
// clients of one restarted server over the whole window instead of bunching them at its edge;
// equal jitter keeps a floor, for a downstream that should not be hammered right after a failure.

export type Jitter = 'full' | 'equal';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Default 'full'. */
  jitter?: Jitter;
  /** [0,1) random source; injected for tests. */
  random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #equal: boolean;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#initialMs = options.initialMs;
    this.#maxMs = options.maxMs;
    this.#equal = options.jitter === 'equal';
    this.#random = options.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt (ms, integer); counts one more failed attempt. */
  next(): number {
    // 2 ** attempt becomes Infinity after ~1024 failures; Math.min still gives the cap.
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt++);
    if (this.#equal) return Math.floor(ceiling / 2 + (this.#random() * ceiling) / 2);
    return Math.floor(this.#random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

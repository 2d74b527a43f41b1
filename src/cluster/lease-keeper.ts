// Keeps one held lease (lease.ts) for as long as its server is followed here: a renewal every
// third of the lease, and a timer at the local deadline. `onLost` is called when a renewal says
// another instance has the key, or when the deadline passes without a renewal that moved it
// (the guard, lease.valid(), refuses every ack and hand-out by then already).
import type { Clock, TimerHandle } from '../clock.js';
import type { Lease, RenewOutcome } from './lease.js';

export interface LeaseKeeperOptions {
  lease: Lease;
  leaseMs: number;
  clock: Clock;
  /** Monotonic milliseconds (for the renewal's duration). */
  now: () => number;
  onLost: () => void;
  /** Each renewal's outcome and duration (a metric). */
  observe?: (outcome: RenewOutcome, seconds: number) => void;
}

export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;
  #renewTimer: TimerHandle | undefined;
  #deadlineTimer: TimerHandle | undefined;
  #renewing = true;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
    this.#armDeadline();
    this.#renewLater();
  }

  /** No more renewals (a graceful handover); the deadline still stands until disarm(). */
  stopRenewing(): void {
    this.#renewing = false;
    this.#options.clock.clearTimeout(this.#renewTimer);
  }

  /** Neither renewals nor the deadline: the server is no longer followed here. */
  disarm(): void {
    this.stopRenewing();
    this.#options.clock.clearTimeout(this.#deadlineTimer);
  }

  #armDeadline(): void {
    const { clock, lease } = this.#options;
    clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = clock.setTimeout(() => {
      if (!lease.valid()) this.#options.onLost();
      else this.#armDeadline();
    }, Math.max(1, lease.remaining()));
  }

  #renewLater(): void {
    const { clock, lease, now } = this.#options;
    this.#renewTimer = clock.setTimeout(async () => {
      if (!this.#renewing) return;
      const sentAt = now();
      const outcome = await lease.renew();
      this.#options.observe?.(outcome, (now() - sentAt) / 1_000);
      // Handed over or dropped while the renewal was under way: its answer means nothing now.
      if (!this.#renewing) return;
      if (outcome === 'lost') {
        this.#options.onLost();
        return;
      }
      if (outcome === 'renewed') this.#armDeadline();
      this.#renewLater();
    }, this.#options.leaseMs / 3);
  }
}

// One server's lease in the leases bucket (a JetStream KV whose TTL is the lease length). Taken
// with create (only if absent), renewed with update on the revision last written (compare-and-
// set): an instance that lost the key cannot renew it. The revision taken at acquisition is the
// epoch, the fencing token.
//
// The holder stops acting at its own deadline, measured on its monotonic clock from the moment
// it *sent* its last successful renewal, minus a margin, whether or not NATS answers: a paused
// or cut-off instance cannot know that the key expired, so it must assume it. valid() is the
// guard every externally visible act checks (acks, sinks, published models).
import type { KV } from '@nats-io/kv';
import { isWrongLastSequence } from './nats-errors.js';

export type RenewOutcome = 'renewed' | 'lost' | 'failed';

export interface LeaseClock {
  /** Monotonic milliseconds (performance.now); never the wall clock. */
  now(): number;
}

/** The part of a lease's length kept in hand for renewal latency and clock-rate drift. */
export function leaseMargin(leaseMs: number): number {
  return Math.max(0.15 * leaseMs, Math.min(1_000, 0.3 * leaseMs));
}

/**
 * The longest a renewal waits for NATS's answer (nats.js's default JetStream timeout). Never
 * longer than the time left before the deadline either: a later answer could only say 'lost'.
 */
export const RENEW_TIMEOUT_MS = 5_000;
/** A floor, so that a renewal sent just before the deadline still has a chance to be answered. */
const MIN_RENEW_TIMEOUT_MS = 100;

export class Lease {
  readonly server: string;
  readonly key: string;
  /** The revision the lease was taken with: higher for every later holder. */
  readonly epoch: number;
  readonly #kv: KV;
  readonly #value: string;
  readonly #leaseMs: number;
  readonly #clock: LeaseClock;
  #revision: number;
  #deadline: number;
  #lost = false;

  private constructor(kv: KV, server: string, key: string, value: string, revision: number, sentAt: number, leaseMs: number, clock: LeaseClock) {
    this.#kv = kv;
    this.server = server;
    this.key = key;
    this.#value = value;
    this.#leaseMs = leaseMs;
    this.#clock = clock;
    this.epoch = revision;
    this.#revision = revision;
    this.#deadline = sentAt + leaseMs - leaseMargin(leaseMs);
  }

  /** Takes the lease if nobody holds it; undefined when someone does. Throws when NATS cannot answer. */
  static async acquire(kv: KV, server: string, key: string, owner: string, leaseMs: number, clock: LeaseClock): Promise<Lease | undefined> {
    const value = JSON.stringify({ owner, server });
    const sentAt = clock.now();
    try {
      const revision = await kv.create(key, value);
      return new Lease(kv, server, key, value, revision, sentAt, leaseMs, clock);
    } catch (error) {
      if (isWrongLastSequence(error)) return undefined;
      throw error;
    }
  }

  /** True until the local deadline: the holder may act for the server. */
  valid(): boolean {
    return !this.#lost && this.#clock.now() < this.#deadline;
  }

  /** Milliseconds left before the deadline (negative once passed). */
  remaining(): number {
    return this.#deadline - this.#clock.now();
  }

  /**
   * One renewal. 'lost': someone else holds the key (never renew again). 'failed': no answer or
   * an error; the deadline stands, and the caller tries again until it passes.
   */
  async renew(): Promise<RenewOutcome> {
    if (this.#lost) return 'lost';
    const sentAt = this.#clock.now();
    const timeoutMs = Math.min(RENEW_TIMEOUT_MS, Math.max(MIN_RENEW_TIMEOUT_MS, this.#deadline - sentAt));
    try {
      this.#revision = await this.#kv.update(this.key, this.#value, this.#revision, timeoutMs);
      // A renewal that answers after the deadline does not bring the lease back: acts already stopped.
      if (this.#clock.now() >= this.#deadline) {
        this.#lost = true;
        return 'lost';
      }
      this.#deadline = sentAt + this.#leaseMs - leaseMargin(this.#leaseMs);
      return 'renewed';
    } catch (error) {
      if (isWrongLastSequence(error)) {
        this.#lost = true;
        return 'lost';
      }
      return 'failed';
    }
  }

  /** Gives the lease up at once (a delete marker the next create accepts), so the next owner need not wait for it to expire. */
  async release(): Promise<void> {
    this.#lost = true;
    await this.#kv.delete(this.key, { previousSeq: this.#revision });
  }

  /** Stops acting without telling NATS (the deadline passed, or the instance is going down hard). */
  abandon(): void {
    this.#lost = true;
  }
}

// Which instances are live (README.md, "Running several instances"). Each instance keeps a record
// under its id in the members bucket, a KV whose TTL is the lease length, and rewrites it every
// third of a lease; everyone watches the bucket. An instance counts as live while its last write
// was *received here* less than a lease (plus a grace for delivery) ago, on this instance's
// monotonic clock: no wall clocks are compared across machines. The TTL only keeps the bucket
// clean; on nats-server 2.9 a key expiring by TTL tells watchers nothing, so expiry is judged
// here, by time.
//
// A graceful stop deletes the record, and the others drop the instance at once.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { realClock, type Clock, type TimerHandle } from '../clock.js';
import { KvFollow } from './kv-follow.js';

/** How much longer than a lease a member's last write counts, for its delivery and our timers. */
export const MEMBER_GRACE_MS = 500;

/** What each instance writes under its id. */
export interface MemberRecord {
  instance: string;
  host: string;
  pid: number;
  /** Wall-clock ISO time this instance started its membership (for people reading the bucket). */
  startedAt: string;
}

export interface MembershipOptions {
  nc: NatsConnection;
  /** The members bucket, opened by the caller with `ttl: leaseMs`. */
  kv: KV;
  /** This instance's id: its key in the bucket. */
  instance: string;
  leaseMs: number;
  logger: Logger;
  /** Timers (refresh, watch retry); wall-clock `now` only for the record's startedAt. */
  clock?: Clock;
  /** Monotonic milliseconds for liveness (performance.now). */
  now?: () => number;
}

interface Sighting {
  /** The revision last received: a watch re-opened replays it, which is no new sign of life. */
  revision: number;
  lastSeen: number;
  since: number;
}

export class Membership {
  readonly instance: string;
  readonly #kv: KV;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #follow: KvFollow;
  readonly #seen = new Map<string, Sighting>();
  #startedAt: number | undefined;
  #record = '';
  #timer: TimerHandle | undefined;
  #refreshing: Promise<void> | undefined;
  #failing = false;

  constructor(options: MembershipOptions) {
    this.instance = options.instance;
    this.#kv = options.kv;
    this.#leaseMs = options.leaseMs;
    this.#logger = options.logger;
    this.#clock = options.clock ?? realClock;
    this.#now = options.now ?? (() => performance.now());
    this.#follow = new KvFollow({
      nc: options.nc,
      kv: options.kv,
      clock: this.#clock,
      logger: options.logger,
      what: 'members',
      onEntry: (entry) => this.#onEntry(entry),
    });
  }

  /** Writes this instance's record, starts refreshing it and watching the others. NATS being down is logged and retried, not thrown. */
  async start(): Promise<void> {
    if (this.#startedAt !== undefined) return;
    this.#startedAt = this.#now();
    const record: MemberRecord = {
      instance: this.instance,
      host: os.hostname(),
      pid: process.pid,
      startedAt: new Date(this.#clock.now()).toISOString(),
    };
    this.#record = JSON.stringify(record);
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#leaseMs / 3);
    await Promise.all([this.#refresh(), this.#follow.start()]);
  }

  /** Live instances (this one included once started) and since when each has been continuously live. */
  members(): Map<string, { since: number }> {
    const now = this.#now();
    const live = new Map<string, { since: number }>();
    for (const [instance, sighting] of this.#seen) {
      // Stale sightings are kept, not pruned: their revision tells a re-opened watch's replay of
      // a dead instance's last write (no sign of life) from a new write.
      if (now - sighting.lastSeen <= this.#leaseMs + MEMBER_GRACE_MS) live.set(instance, { since: sighting.since });
    }
    if (this.#startedAt !== undefined && !live.has(this.instance)) live.set(this.instance, { since: this.#startedAt });
    return live;
  }

  /** Leaves gracefully: stops refreshing and watching, and deletes the record so the others drop this instance at once. */
  async stop(): Promise<void> {
    if (this.#startedAt === undefined) return;
    this.#startedAt = undefined;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#follow.stop();
    this.#seen.clear();
    // A refresh landing after the delete would bring the record back until its TTL.
    await this.#refreshing;
    try {
      await this.#kv.delete(this.instance);
    } catch (error) {
      this.#logger.warn({ err: error, instance: this.instance }, 'could not delete the member record; it expires after a lease');
    }
  }

  #tick(): void {
    if (this.#startedAt === undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#leaseMs / 3);
    // One write at a time: a slow one (NATS down until its timeout) is not stacked upon.
    if (this.#refreshing === undefined) void this.#refresh();
  }

  #refresh(): Promise<void> {
    const refreshing = (async () => {
      try {
        // Bounded by the refresh interval: a write lost to a dying connection must not hold
        // back the next one for nats.js's default 5 s.
        await this.#kv.put(this.instance, this.#record, { timeout: this.#leaseMs / 3 });
        if (this.#failing) this.#logger.info({ instance: this.instance }, 'member record refreshed again');
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) this.#logger.warn({ err: error, instance: this.instance }, 'cannot refresh the member record; retrying every third of a lease');
        this.#failing = true;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    this.#refreshing = refreshing;
    return refreshing;
  }

  #onEntry(entry: KvWatchEntry): void {
    if (entry.operation !== 'PUT') {
      this.#seen.delete(entry.key);
      return;
    }
    const known = this.#seen.get(entry.key);
    if (known?.revision === entry.revision) return;
    const now = this.#now();
    const stillLive = known !== undefined && now - known.lastSeen <= this.#leaseMs + MEMBER_GRACE_MS;
    this.#seen.set(entry.key, { revision: entry.revision, lastSeen: now, since: stillLive ? known.since : now });
  }
}

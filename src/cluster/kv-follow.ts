// Follows every key of a KV bucket (a watch on '>') for as long as it is asked to, whatever NATS
// does meanwhile. Membership and LeaseWatch build their views on it.
//
// nats.js's watch is an ordered push consumer: it survives a nats-server restart on its store
// (the consumer is restored and the client re-subscribes), and re-creates itself when heartbeats
// stop, but only after two missed 5 s heartbeats, and not at all once its iterator has ended
// (connection closed, consumer creation failing 30 times). So the watch is re-opened here when
// the connection reconnects (which covers a reconnect to another server of a NATS cluster, where
// the old consumer is gone) and whenever it ends while still wanted. A fresh watch first replays
// the last value of every key: the caller sees an entry it already had again (same revision),
// and must not take that for news.
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';

/** How long to wait before trying again when the watch cannot be opened (NATS down, JetStream not ready). */
export const REOPEN_DELAY_MS = 1_000;

export interface KvFollowOptions {
  nc: NatsConnection;
  kv: KV;
  clock: Clock;
  logger: Logger;
  /** Names the bucket in log lines. */
  what: string;
  onEntry(entry: KvWatchEntry): void;
}

type Iter<T> = AsyncIterable<T> & { stop?(): void };

export class KvFollow {
  readonly #options: KvFollowOptions;
  #running = false;
  /** Entries of a watch that was replaced are dropped: only the current generation reports. */
  #generation = 0;
  #watch: Iter<KvWatchEntry> | undefined;
  #statuses: Iter<Status> | undefined;
  #retry: TimerHandle | undefined;
  #failing = false;

  constructor(options: KvFollowOptions) {
    this.#options = options;
  }

  /** Opens the watch (a failure is logged and retried in the background, so this does not throw). */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#followStatus();
    await this.#open();
  }

  stop(): void {
    this.#running = false;
    this.#generation++;
    this.#options.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#watch?.stop?.();
    this.#watch = undefined;
    this.#statuses?.stop?.();
    this.#statuses = undefined;
  }

  #followStatus(): void {
    const statuses: Iter<Status> = this.#options.nc.status();
    this.#statuses = statuses;
    void (async () => {
      for await (const status of statuses) {
        if (this.#statuses !== statuses) break;
        if (status.type === 'reconnect') void this.#open();
      }
    })();
  }

  async #open(): Promise<void> {
    if (!this.#running) return;
    const generation = ++this.#generation;
    this.#options.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#watch?.stop?.();
    this.#watch = undefined;
    let watch: Iter<KvWatchEntry>;
    try {
      watch = await this.#options.kv.watch({ key: '>' });
    } catch (error) {
      if (generation !== this.#generation) return; // superseded (or stopped) meanwhile
      if (!this.#failing) this.#options.logger.warn({ err: error, bucket: this.#options.what }, 'cannot watch the cluster bucket; retrying');
      this.#failing = true;
      this.#scheduleReopen();
      return;
    }
    if (generation !== this.#generation) {
      watch.stop?.();
      return;
    }
    if (this.#failing) this.#options.logger.info({ bucket: this.#options.what }, 'watching the cluster bucket again');
    this.#failing = false;
    this.#watch = watch;
    void (async () => {
      try {
        for await (const entry of watch) {
          if (generation !== this.#generation) break;
          this.#options.onEntry(entry);
        }
      } catch (error) {
        if (generation === this.#generation) this.#options.logger.warn({ err: error, bucket: this.#options.what }, 'the cluster bucket watch failed');
      }
      // Ended while still the current watch: open another, unless the connection is gone for good.
      if (generation === this.#generation && this.#running && !this.#options.nc.isClosed()) this.#scheduleReopen();
    })();
  }

  #scheduleReopen(): void {
    if (!this.#running || this.#options.nc.isClosed()) return;
    this.#options.clock.clearTimeout(this.#retry);
    this.#retry = this.#options.clock.setTimeout(() => void this.#open(), REOPEN_DELAY_MS);
  }
}

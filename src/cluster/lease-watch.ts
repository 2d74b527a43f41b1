// What this instance knows of every server's lease, from a watch on the leases bucket: who holds
// it and when its last renewal was received here (monotonic clock), or since when it has been
// free. placeServers (placement.ts) decides from this view; the lease's compare-and-set in NATS
// still decides who owns, so a view a moment out of date costs a failed create, never two owners.
//
// On nats-server 2.9 a lease expiring by TTL tells watchers nothing: the view keeps it as held,
// and its age (seenAt) is what says it expired.
import { performance } from 'node:perf_hooks';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../clock.js';
import { KvFollow } from './kv-follow.js';
import { serverFromKey } from './keys.js';
import type { LeaseView } from './placement.js';

/** How much longer than a lease a renewal counts, for its delivery and the holder's timers. */
export const LEASE_SEEN_GRACE_MS = 500;

export interface LeaseWatchOptions {
  nc: NatsConnection;
  /** The leases bucket (keys from serverKey, values `{ owner, server }` as Lease writes them). */
  kv: KV;
  leaseMs: number;
  logger: Logger;
  /** Timers (watch retry). */
  clock?: Clock;
  /** Monotonic milliseconds (performance.now). */
  now?: () => number;
}

export class LeaseWatch {
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #follow: KvFollow;
  readonly #views = new Map<string, LeaseView>();
  /** Per server, the revision last received: a re-opened watch replays it, which is no renewal. */
  readonly #revisions = new Map<string, number>();

  constructor(options: LeaseWatchOptions) {
    this.#leaseMs = options.leaseMs;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#follow = new KvFollow({
      nc: options.nc,
      kv: options.kv,
      clock: options.clock ?? realClock,
      logger: options.logger,
      what: 'leases',
      onEntry: (entry) => this.#onEntry(entry),
    });
  }

  /** Starts watching (NATS being down is logged and retried, not thrown). */
  start(): Promise<void> {
    return this.#follow.start();
  }

  stop(): void {
    this.#follow.stop();
  }

  /** Every server whose lease was seen, by name. */
  view(): ReadonlyMap<string, LeaseView> {
    return this.#views;
  }

  /** Who holds `server`'s lease, if its last renewal was seen recently enough to believe it. */
  owner(server: string): string | undefined {
    const view = this.#views.get(server);
    if (view === undefined || !view.held) return undefined;
    return this.#now() - view.seenAt <= this.#leaseMs + LEASE_SEEN_GRACE_MS ? view.owner : undefined;
  }

  #onEntry(entry: KvWatchEntry): void {
    const server = serverFromKey(entry.key);
    if (server === undefined) {
      this.#logger.warn({ key: entry.key }, 'ignoring a key in the leases bucket that names no server');
      return;
    }
    if (this.#revisions.get(server) === entry.revision) return;
    this.#revisions.set(server, entry.revision);
    if (entry.operation !== 'PUT') {
      this.#views.set(server, { held: false, since: this.#now() });
      return;
    }
    const owner = ownerOf(entry);
    if (owner === undefined) {
      this.#logger.warn({ server, revision: entry.revision }, 'ignoring a lease value without an owner');
      return;
    }
    this.#views.set(server, { held: true, owner, seenAt: this.#now() });
  }
}

function ownerOf(entry: KvWatchEntry): string | undefined {
  try {
    const owner = entry.json<{ owner?: unknown }>().owner;
    return typeof owner === 'string' && owner.length > 0 ? owner : undefined;
  } catch {
    return undefined;
  }
}

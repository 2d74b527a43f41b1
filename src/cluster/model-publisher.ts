// Publishes each owned server's model to the models bucket after the events it reflects were
// handed to the sinks (the cluster-mode counterpart of hub/model-writer.ts): at most once per
// interval while it changes, never while idle, and only while the lease is valid. Writes are
// compare-and-set on the key's revision: a write that finds a newer owner's model there means
// this instance was deposed, and it stops acting for the server.
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { realClock, type Clock, type TimerHandle } from '../clock.js';
import { HUB } from '../defaults.js';
import type { FollowedServer } from '../hub/ownership.js';
import type { NatsJournal } from './journal.js';
import type { Lease } from './lease.js';
import { isWrongLastSequence } from './nats-errors.js';
import { decodePublished, encodePublished } from './published-model.js';

interface Tracked {
  key: string;
  followed: FollowedServer;
  journal: NatsJournal;
  lease: Lease;
  /** The models bucket's revision of the key as last seen (0: none). */
  revision: number;
  /** The model revision last published (-1: not yet: the first round claims the key). */
  written: number;
}

export class ModelPublisher {
  readonly #models: KV;
  readonly #owner: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #deposed: (server: string) => void;
  readonly #servers = new Map<string, Tracked>();
  #timer: TimerHandle | undefined;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;
  writes = 0;

  constructor(models: KV, owner: string, log: Logger, deposed: (server: string) => void, clock: Clock = realClock) {
    this.#models = models;
    this.#owner = owner;
    this.#log = log;
    this.#deposed = deposed;
    this.#clock = clock;
    this.#schedule();
  }

  track(server: string, key: string, followed: FollowedServer, journal: NatsJournal, lease: Lease, revision: number): void {
    this.#servers.set(server, { key, followed, journal, lease, revision, written: -1 });
    journal.markSettled(() => this.#servers.get(server)?.journal === journal && followed.settled() && lease.valid());
  }

  untrack(server: string): void {
    this.#servers.delete(server);
  }

  /** Publishes `server`'s model now if it changed (a graceful handover), after any round in progress. */
  publishNow(server: string): Promise<void> {
    this.#round = this.#round.then(() => this.#publishIfChanged(server));
    return this.#round;
  }

  /** The server left the configuration: its model goes too. */
  async remove(key: string): Promise<void> {
    await this.#models.delete(key).catch((error: unknown) => this.#log.warn({ key, error: (error as Error).message }, 'deleting a published model failed'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    await this.#round;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#round = this.#round
        .then(async () => {
          for (const server of [...this.#servers.keys()]) await this.#publishIfChanged(server);
        })
        .finally(() => this.#schedule());
    }, HUB.stateWriteIntervalMs);
  }

  async #publishIfChanged(server: string): Promise<void> {
    const tracked = this.#servers.get(server);
    if (tracked === undefined) return;
    const { state } = tracked.followed;
    // Taken in one turn while settled: everything in it reached the sinks.
    if (state.revision === tracked.written || !tracked.followed.settled() || !tracked.lease.valid()) return;
    const revision = state.revision;
    const covered = tracked.journal.rotate();
    const value = encodePublished(
      server,
      { calls: state.stored(), extras: state.extras(), epoch: tracked.lease.epoch, owner: this.#owner, generation: covered.generation, fromSeq: covered.fromSeq },
      new Date().toISOString(),
    );
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!tracked.lease.valid() || this.#servers.get(server) !== tracked) return;
      try {
        tracked.revision = tracked.revision === 0 ? await this.#models.create(tracked.key, value) : await this.#models.update(tracked.key, value, tracked.revision);
        tracked.written = revision;
        this.writes++;
        return;
      } catch (error) {
        if (!isWrongLastSequence(error)) {
          this.#log.error({ server, error: (error as Error).message }, 'publishing the model failed; retrying');
          return;
        }
        // Someone else wrote it: a newer owner (we are deposed), or an older one's late write.
        const entry = await this.#models.get(tracked.key).catch(() => null);
        const decoded = entry?.operation === 'PUT' ? decodePublished(entry.string(), server) : undefined;
        if (decoded?.ok && decoded.model.epoch > tracked.lease.epoch) {
          this.#log.warn({ server, epoch: tracked.lease.epoch, newer: decoded.model.epoch }, 'a newer owner published this server\'s model: this instance stops acting for it');
          this.#deposed(server);
          return;
        }
        tracked.revision = entry?.revision ?? 0;
      }
    }
  }
}

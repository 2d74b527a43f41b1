// Writes each server's model to the ModelStore after the events it reflects were handed to the
// sinks, so that the stored model never claims more than was delivered. Coalesced: a server
// whose model changed is written at most once per interval, an idle one never; a server whose
// pipeline still waits on a full sink or handler queue (events applied, not yet handed out) is
// left for the next round. flush() writes every changed model now (graceful stop).
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import { HUB } from '../defaults.js';
import type { ModelExtras, ServerState, StoredCall } from '../state/index.js';
import type { ModelJournal } from './model-journal.js';
import type { ModelStore } from './model-store.js';

export interface ModelSource {
  readonly state: ServerState;
  /** False while events applied to the model may not have reached the sinks yet. */
  settled(): boolean;
}

interface Tracked {
  source: ModelSource;
  journal: ModelJournal | undefined;
  /** Revision of the model as last written, or as it was when tracking began. */
  written: number;
}

interface Due {
  server: string;
  tracked: Tracked;
  revision: number;
  calls: StoredCall[];
  extras: ModelExtras;
  /** The journal generation the model includes; -1: no journal. */
  journal: number;
}

export class ModelWriter {
  readonly #store: ModelStore;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #servers = new Map<string, Tracked>();
  #timer: TimerHandle | undefined;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Models written since start, for the metrics. */
  writes = 0;

  constructor(store: ModelStore, clock: Clock, intervalMs: number, log: Logger) {
    this.#store = store;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  start(): void {
    this.#schedule();
  }

  /**
   * Writes `server`'s model from its next change on: as it is now, it is either empty or the one
   * the store gave. A session that replaces another with the same model keeps its mark.
   */
  track(server: string, source: ModelSource, journal?: ModelJournal, unwritten = false): void {
    const previous = this.#servers.get(server);
    const kept = previous?.source.state === source.state ? previous.written : source.state.revision;
    this.#servers.set(server, { source, journal, written: unwritten ? -1 : kept });
  }

  /** Stops writing `server`; its files stay unless the store is told to remove them. */
  untrack(server: string): void {
    this.#servers.get(server)?.journal?.close();
    this.#servers.delete(server);
  }

  /** Writes every changed model now, after any round in progress; resolves when all are written. */
  flush(): Promise<void> {
    this.#round = this.#round.then(() => this.#writeChanged());
    return this.#round;
  }

  /** Resolves once the round in progress (if any) is done. */
  flushed(): Promise<void> {
    return this.#round;
  }

  /** No more rounds; waits for the one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    await this.#round;
    for (const { journal } of this.#servers.values()) journal?.close();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#round = this.#round.then(() => this.#writeChanged()).finally(() => this.#schedule());
    }, this.#intervalMs);
  }

  async #writeChanged(): Promise<void> {
    // The models are taken now, in one turn, while each is known to be settled: a model taken
    // later in the round could hold events that arrived meanwhile and are not delivered yet.
    const due: Due[] = [];
    for (const [server, tracked] of this.#servers) {
      const { state } = tracked.source;
      // Even on stop: events stuck behind a sink that never took them were not delivered.
      if (state.revision !== tracked.written && tracked.source.settled()) {
        // What is journaled from now on is not in this model: it goes to the next generation.
        const journal = tracked.journal?.rotate() ?? -1;
        due.push({ server, tracked, revision: state.revision, calls: state.stored(), extras: state.extras(), journal });
      }
    }
    if (due.length === 0) return;
    const savedAt = new Date(this.#clock.now()).toISOString();
    // A fleet that changed at once (a start, a reconnect) is written a few files at a time: each
    // file's fsync waits for the disk, and the waits overlap. One folder fsync ends the round.
    for (let at = 0; at < due.length; at += HUB.stateWriteConcurrency) {
      await Promise.all(due.slice(at, at + HUB.stateWriteConcurrency).map((entry) => this.#write(entry, savedAt)));
    }
    await this.#store.syncFolder().catch((error: unknown) => this.#log.error({ dir: this.#store.dir, err: error }, 'syncing the state folder failed'));
    // The journals a written model includes are no longer needed.
    for (const { tracked, revision, journal } of due) {
      if (tracked.written === revision && journal >= 0) await tracked.journal?.dropUpTo(journal).catch(() => undefined);
    }
  }

  async #write({ server, tracked, revision, calls, extras, journal }: Due, savedAt: string): Promise<void> {
    try {
      await this.#store.save(server, calls, savedAt, { syncFolder: false, journal, extras });
      tracked.written = revision;
      this.writes++;
    } catch (error) {
      // The model stays marked as changed and is tried again next round.
      this.#log.error({ server, file: this.#store.fileOf(server), err: error }, 'writing the stored model failed; retrying');
    }
  }
}

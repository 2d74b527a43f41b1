// Writes each server's model to the ModelStore after the events it reflects were handed to the
// sinks, so that the stored model never claims more than was delivered. Coalesced: a server
// whose model changed is written at most once per interval, an idle one never; a server whose
// pipeline still waits on a full sink or handler queue (events applied, not yet handed out) is
// left for the next round. flush() writes every changed model now (graceful stop).
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { ServerState } from '../state/index.js';
import type { ModelStore } from './model-store.js';

export interface ModelSource {
  readonly state: ServerState;
  /** False while events applied to the model may not have reached the sinks yet. */
  settled(): boolean;
}

interface Tracked {
  source: ModelSource;
  /** Revision of the model as last written, or as it was when tracking began. */
  written: number;
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
  track(server: string, source: ModelSource): void {
    const previous = this.#servers.get(server);
    const written = previous?.source.state === source.state ? previous.written : source.state.revision;
    this.#servers.set(server, { source, written });
  }

  /** Stops writing `server`; its file stays unless the store is told to remove it. */
  untrack(server: string): void {
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
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#round = this.#round.then(() => this.#writeChanged()).finally(() => this.#schedule());
    }, this.#intervalMs);
  }

  async #writeChanged(): Promise<void> {
    for (const [server, tracked] of this.#servers) {
      const { state } = tracked.source;
      if (state.revision === tracked.written) continue;
      // Even on stop: events stuck behind a sink that never took them were not delivered.
      if (!tracked.source.settled()) continue;
      const revision = state.revision;
      try {
        await this.#store.save(server, state.stored(), new Date(this.#clock.now()).toISOString());
        tracked.written = revision;
        this.writes++;
      } catch (error) {
        // The model stays marked as changed and is tried again next round.
        this.#log.error({ server, file: this.#store.fileOf(server), err: error }, 'writing the stored model failed; retrying');
      }
    }
  }
}

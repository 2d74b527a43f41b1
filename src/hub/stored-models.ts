// Each server's model kept across the daemon's restarts, as the hub uses it: loaded before the
// server connects (so the first snapshot is reconciled against it, as after an outage), written
// by a ModelWriter while the server runs and once more on stop, deleted when the server leaves
// the configuration. Changing a server's host or credentials keeps its model (the hub hands the
// running model on); a new name is a new server and starts fresh.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../clock.js';
import { HUB } from '../defaults.js';
import { ServerState, replayEvents, type CmsEvent } from '../state/index.js';
import type { Config } from './config-schema.js';
import { ModelJournal } from './model-journal.js';
import { ModelStore } from './model-store.js';
import { ModelWriter, type ModelSource } from './model-writer.js';

/**
 * The state folder a config asks for: `stateDir` relative to the config file's folder; absent,
 * `state` beside the config file (memory only in library use without one); null, memory only.
 */
export function resolveStateDir(config: Pick<Config, 'stateDir'>, baseDir: string, fromFile: boolean): string | null {
  const dir = config.stateDir === undefined ? (fromFile ? 'state' : null) : config.stateDir;
  return dir === null ? null : resolve(baseDir, dir);
}

export interface Restored {
  state: ServerState | undefined;
  replay: CmsEvent[];
  journal: ModelJournal;
}

export class StoredModels {
  readonly #store: ModelStore;
  readonly #writer: ModelWriter;
  readonly #log: Logger;

  private constructor(store: ModelStore, writer: ModelWriter, log: Logger) {
    this.#store = store;
    this.#writer = writer;
    this.#log = log;
  }

  /** Opens (and locks) `dir`; throws FolderLockedError when another daemon holds it. */
  static async open(dir: string, log: Logger, clock: Clock = realClock): Promise<StoredModels> {
    const store = await ModelStore.open(dir, log);
    const writer = new ModelWriter(store, clock, HUB.stateWriteIntervalMs, log);
    writer.start();
    log.info({ stateDir: dir }, 'stored models are kept in the state folder');
    return new StoredModels(store, writer, log);
  }

  /** Models written since start. */
  get writes(): number {
    return this.#writer.writes;
  }

  /**
   * What `server` had announced when the daemon last ran: its stored model with the journal
   * after it applied (`state`, undefined when there is neither), the journal's events to hand
   * to the sinks again (`replay`: after kill -9 they may or may not have reached them), and the
   * journal this run appends to.
   */
  async restore(server: string): Promise<Restored> {
    const { calls, journal: covered, extras } = await this.#store.load(server);
    const { lines, next } = await ModelJournal.read(this.#store.folder, server, covered);
    const journal = new ModelJournal(this.#store.folder, server, next, this.#log.child({ server }));
    if (calls === undefined && lines.length === 0) return { state: undefined, replay: [], journal };
    const replayed = replayEvents(calls ?? [], lines);
    const state = new ServerState({ server });
    state.restore(replayed.calls);
    state.restoreExtras(extras ?? {}, replayed.extraEvents);
    const participants = replayed.calls.reduce((sum, call) => sum + call.roster.length, 0);
    this.#log.info(
      { server, calls: replayed.calls.length, participants, replayed: replayed.events.length },
      replayed.events.length > 0
        ? 'stored model and journal loaded; the journal\'s events go to the sinks again (they may repeat), then the first snapshot is reconciled'
        : 'stored model loaded; the first snapshot will be reconciled against it',
    );
    return { state, replay: replayed.events, journal };
  }

  /** Writes `server`'s model from its next change on, and closes its journal's generations as it goes. */
  follow(server: string, source: ModelSource, journal: ModelJournal, unwritten = false): void {
    this.#writer.track(server, source, journal, unwritten);
  }

  /** The server left the configuration: its model goes too. */
  async forget(server: string): Promise<void> {
    this.#writer.untrack(server);
    await this.#store.remove(server);
  }

  /**
   * The models of servers no longer configured (removed while the daemon was down): each is
   * loaded and handed to `end` (which announces its calls' ends), then deleted.
   */
  async retire(servers: ReadonlySet<string>, end: (server: string, restored: Restored) => Promise<void>): Promise<void> {
    for (const server of await this.#store.servers()) {
      if (servers.has(server)) continue;
      const restored = await this.restore(server);
      await end(server, restored);
      await this.#store.remove(server);
      this.#log.info({ server, calls: restored.state?.callIds().length ?? 0 }, 'a server no longer configured: its calls ended and its stored model deleted');
    }
  }

  /** The last write of every changed model, then the folder is released. */
  async close(): Promise<void> {
    await this.#writer.flush();
    await this.#writer.stop();
    await this.#store.close();
  }
}

// Each server's model kept across the daemon's restarts, as the hub uses it: loaded before the
// server connects (so the first snapshot is reconciled against it, as after an outage), written
// by a ModelWriter while the server runs and once more on stop, deleted when the server leaves
// the configuration. Changing a server's host or credentials keeps its model (the hub hands the
// running model on); a new name is a new server and starts fresh.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../clock.js';
import { HUB } from '../defaults.js';
import { ServerState } from '../state/index.js';
import type { Config } from './config-schema.js';
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

  get dir(): string {
    return this.#store.dir;
  }

  /** Models written since start. */
  get writes(): number {
    return this.#writer.writes;
  }

  /** The model `server` had when the daemon last wrote it, ready to reconcile; undefined when none. */
  async restore(server: string): Promise<ServerState | undefined> {
    const calls = await this.#store.load(server);
    if (calls === undefined) return undefined;
    const state = new ServerState({ server });
    state.restore(calls);
    const participants = calls.reduce((sum, call) => sum + call.roster.length, 0);
    this.#log.info({ server, calls: calls.length, participants }, 'stored model loaded; the first snapshot will be reconciled against it');
    return state;
  }

  /** Writes `server`'s model from its next change on. */
  follow(server: string, source: ModelSource): void {
    this.#writer.track(server, source);
  }

  /** The server left the configuration: its model goes too. */
  async forget(server: string): Promise<void> {
    this.#writer.untrack(server);
    await this.#store.remove(server);
  }

  /** Deletes the models of servers no longer configured (removed while the daemon was down). */
  async keepOnly(servers: ReadonlySet<string>): Promise<void> {
    for (const server of await this.#store.servers()) {
      if (servers.has(server)) continue;
      await this.#store.remove(server);
      this.#log.info({ server }, 'stored model of a server no longer configured deleted');
    }
  }

  /** The last write of every changed model, then the folder is released. */
  async close(): Promise<void> {
    await this.#writer.flush();
    await this.#writer.stop();
    await this.#store.close();
  }
}

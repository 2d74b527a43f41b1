// The folder where each server's model is kept across the daemon's restarts (`stateDir`):
//   lock                      one daemon per folder (folder-lock.ts)
//   servers/<name>.json       one file per server, replaced atomically: written to a temporary
//                             file, fsync'd, renamed over the old one, and the folder fsync'd,
//                             so a crash at any point leaves the old model or the new one
// A file that cannot be read or trusted is logged with its path and renamed aside
// (`<name>.json.corrupt-<time>`); that server starts fresh, and the daemon goes on.
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { syncFolder } from '../folder-sync.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { lockFolder, type FolderLock } from '../folder-lock.js';
import { decodeModel, encodeModel, type ModelExtras, type StoredCall } from '../state/index.js';
import { ModelJournal } from './model-journal.js';

const SUFFIX = '.json';

export class ModelStore {
  readonly dir: string;
  readonly #servers: string;
  readonly #lock: FolderLock;
  readonly #log: Logger;

  private constructor(dir: string, lock: FolderLock, log: Logger) {
    this.dir = dir;
    this.#servers = path.join(dir, 'servers');
    this.#lock = lock;
    this.#log = log;
  }

  /** Creates the folder when missing and locks it; throws FolderLockedError when another daemon holds it. */
  static async open(dir: string, log: Logger): Promise<ModelStore> {
    await mkdir(path.join(dir, 'servers'), { recursive: true });
    const lock = await lockFolder(dir, { name: 'state folder', setting: 'stateDir' });
    return new ModelStore(dir, lock, log);
  }

  fileOf(server: string): string {
    return path.join(this.#servers, `${encodeURIComponent(server)}${SUFFIX}`);
  }

  /** The folder of the model files and journals. */
  get folder(): string {
    return this.#servers;
  }

  /**
   * The stored model of `server` and the journal generation it covers; no calls when there is
   * no model (or it was set aside), and then the journals all count.
   */
  async load(server: string): Promise<{ calls: StoredCall[] | undefined; journal: number; extras?: ModelExtras }> {
    const file = this.fileOf(server);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { calls: undefined, journal: -1 };
      return { calls: await this.#setAside(server, file, `it cannot be read (${(error as Error).message})`), journal: -1 };
    }
    const decoded = decodeModel(text, server);
    if (!decoded.ok) return { calls: await this.#setAside(server, file, decoded.problem), journal: -1 };
    return { calls: decoded.calls, journal: decoded.journal, extras: decoded.extras };
  }

  /**
   * Replaces `server`'s file. The rename is durable only once the folder is synced: a writer of
   * many models calls syncFolder() once after all of them (`syncFolder: false` here).
   */
  async save(server: string, calls: StoredCall[], savedAt: string, options: { syncFolder?: boolean; journal?: number; extras?: ModelExtras } = {}): Promise<void> {
    const file = this.fileOf(server);
    const temporary = `${file}.tmp-${process.pid}`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(encodeModel(server, calls, savedAt, options.journal, options.extras));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
    if (options.syncFolder !== false) await this.syncFolder();
  }

  /** Deletes the model of `server` and its journals. */
  async remove(server: string): Promise<void> {
    await unlink(this.fileOf(server)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await new ModelJournal(this.#servers, server, 0).dropAll();
  }

  /** The servers that have a stored model. */
  async servers(): Promise<string[]> {
    const names = await readdir(this.#servers);
    return names.filter((name) => name.endsWith(SUFFIX)).map((name) => decodeURIComponent(name.slice(0, -SUFFIX.length)));
  }

  close(): Promise<void> {
    return this.#lock.release();
  }

  async #setAside(server: string, file: string, problem: string): Promise<undefined> {
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/:/g, '-')}`;
    await rename(file, aside).catch(() => undefined);
    // Its journal holds what happened after it: without the model it means nothing.
    await new ModelJournal(this.#servers, server, 0).dropAll();
    this.#log.error({ server, file, setAside: aside, problem }, `the stored model of ${server} is not usable (${problem}); it was set aside and the server starts fresh`);
    return undefined;
  }

  /** Makes the renames done so far durable (the folder's entries are written). */
  syncFolder(): Promise<void> {
    return syncFolder(this.#servers);
  }
}

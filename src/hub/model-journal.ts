// The write-ahead journal of one server's events, the other half of its stored model. The model
// file is written at most once a second, after the events it reflects were handed to the sinks;
// what happened since is in the journal, appended (write(2), no fsync: a killed process loses
// nothing the kernel has) before the events are handed to the sinks. After kill -9 the next run
// reads the model and the journal after it: the journal's events are applied to the model and
// handed to the sinks again, first thing, so that none is lost (they may repeat: same ids).
//
// Files, beside the model `<name>.json`: `<name>.journal-<generation>`. Writing a model closes
// the current generation (rotate()); once that model is on disk, the journals it covers go.
import { closeSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export class ModelJournal {
  readonly #folder: string;
  readonly #prefix: string;
  #generation: number;
  #fd: number | undefined;

  readonly #log: Logger | undefined;
  /** Set while appends fail: said once, and once more when they work again. */
  #failing = false;
  /**
   * Generations that may be on disk and are not dropped yet: those this journal opened, and,
   * once the folder was listed (at the first drop), those of earlier runs. Later drops need no
   * listing: one per server per model written made every write round read the whole folder once
   * per busy server.
   */
  readonly #onDisk = new Set<number>();
  #listed = false;

  /** `generation`: the first one this run appends to (after every one found on disk). */
  constructor(folder: string, server: string, generation: number, log?: Logger) {
    this.#folder = folder;
    this.#prefix = `${encodeURIComponent(server)}.journal-`;
    this.#generation = generation;
    this.#log = log;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Appends events' lines; synchronous, so that no sink has them before the journal does. Never
   * throws: a disk that refuses the write must not keep the events from the sinks (only a kill
   * while it refuses could then lose the last second); it is logged, and tried again next time.
   */
  append(lines: readonly string[]): void {
    try {
      if (this.#fd === undefined) {
        this.#fd = openSync(this.#file(this.#generation), 'a');
        this.#onDisk.add(this.#generation);
      }
      writeSync(this.#fd, `${lines.join('\n')}\n`);
      if (this.#failing) this.#log?.info({ file: this.#file(this.#generation) }, 'the journal can be written again');
      this.#failing = false;
    } catch (error) {
      this.close();
      if (!this.#failing) this.#log?.error({ file: this.#file(this.#generation), err: error }, 'cannot write the journal; events still go to the sinks, but a kill now could lose the last second');
      this.#failing = true;
    }
  }

  /** Starts a new generation; returns the one closed, which the model about to be written covers. */
  rotate(): number {
    this.close();
    return this.#generation++;
  }

  /** Deletes the journals up to `generation` (a model that covers them is on disk). */
  async dropUpTo(generation: number): Promise<void> {
    if (!this.#listed) {
      this.#listed = true;
      for (const [found] of await this.#files()) this.#onDisk.add(found);
    }
    for (const found of [...this.#onDisk].sort((a, b) => a - b)) {
      if (found > generation) break;
      this.#onDisk.delete(found);
      await unlink(this.#file(found)).catch(() => undefined);
    }
  }

  /** Deletes every journal of the server (it left the configuration). */
  async dropAll(): Promise<void> {
    this.close();
    await this.dropUpTo(Number.MAX_SAFE_INTEGER);
  }

  close(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already gone: nothing to release.
      }
    }
  }

  /** The lines of the journals after `covered`, oldest first, and the next free generation. */
  static async read(folder: string, server: string, covered: number): Promise<{ lines: string[]; next: number }> {
    const journal = new ModelJournal(folder, server, 0);
    const files = await journal.#files();
    const lines: string[] = [];
    for (const [generation, file] of files) {
      if (generation <= covered) continue;
      // A line cut short by the kill is not an event: only whole lines count.
      const text = await readFile(file, 'utf8');
      for (const line of text.split('\n').slice(0, -1)) if (line !== '') lines.push(line);
    }
    const last = files.length > 0 ? files[files.length - 1]![0] : covered;
    return { lines, next: Math.max(last, covered) + 1 };
  }

  #file(generation: number): string {
    return path.join(this.#folder, `${this.#prefix}${generation}`);
  }

  /** [generation, path] of this server's journals on disk, oldest first. */
  async #files(): Promise<[number, string][]> {
    const found: [number, string][] = [];
    for (const name of await readdir(this.#folder)) {
      if (!name.startsWith(this.#prefix)) continue;
      const generation = Number(name.slice(this.#prefix.length));
      if (Number.isSafeInteger(generation)) found.push([generation, path.join(this.#folder, name)]);
    }
    return found.sort((a, b) => a[0] - b[0]);
  }
}

// Segment files made ahead of time, full of zeros, for the in-place writer (segment-file.ts):
// writing into space that exists already changes no file size and no extent, so an O_DSYNC write
// there costs one data write, not a journal commit (a database's preallocated write-ahead log
// does the same). While one segment fills, the next is prepared through libuv's pool, written
// under a temporary name, synced, then renamed: a file with the final name is always complete.
//
// Recovery (recovery.ts) reads such a segment up to its first zero byte: records are JSON lines,
// which never contain one.
import { open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

const READY = 'next-segment.zero';
const PARTIAL = `${READY}.partial`;
const CHUNK = 1024 * 1024;

export class SegmentPreparer {
  readonly #dir: string;
  readonly #bytes: number;
  readonly #logger: Logger;
  #preparing: Promise<boolean> | undefined;
  #warned = false;

  constructor(dir: string, bytes: number, logger: Logger) {
    this.#dir = dir;
    this.#bytes = bytes;
    this.#logger = logger;
  }

  /** Starts making the next segment's file (if it is not made or being made). */
  prepare(): void {
    this.#preparing ??= this.#make();
  }

  /**
   * Makes `file` the prepared file (renamed into place; the caller syncs the folder before it
   * relies on the name), and starts preparing the one after. False when none could be made: the
   * caller then creates `file` empty and lets it grow.
   */
  async take(file: string): Promise<boolean> {
    this.prepare();
    const ready = await this.#preparing!;
    this.#preparing = undefined;
    if (!ready) return false;
    try {
      await rename(path.join(this.#dir, READY), file);
    } catch (error) {
      this.#warn(error);
      return false;
    }
    this.prepare();
    return true;
  }

  async #make(): Promise<boolean> {
    const ready = path.join(this.#dir, READY);
    // One left by the previous run is complete (it was renamed only once synced).
    if ((await stat(ready).catch(() => undefined))?.size === this.#bytes) return true;
    const partial = path.join(this.#dir, PARTIAL);
    try {
      const handle = await open(partial, 'w');
      try {
        const zeros = Buffer.alloc(Math.min(CHUNK, this.#bytes));
        for (let at = 0; at < this.#bytes; at += zeros.length) await handle.write(zeros, 0, Math.min(zeros.length, this.#bytes - at), at);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(partial, ready);
      return true;
    } catch (error) {
      await unlink(partial).catch(() => undefined);
      this.#warn(error);
      return false;
    }
  }

  #warn(error: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#logger.warn({ spool: this.#dir, error: (error as Error).message }, 'spool: cannot prepare the next segment file ahead of time; segments grow as they are written (slower syncs)');
  }
}

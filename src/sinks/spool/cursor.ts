// cursor.json: {"segment":N,"offset":M}, everything before that byte was delivered. It is
// rewritten (write to a temporary file, then rename, so a crash leaves the old or the new one,
// never half of one) at most every SPOOL.cursorIntervalMs and on close. It lags delivery on
// purpose: after a crash, what was delivered in that window is sent again (at least once).
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../clock.js';
import { SPOOL } from '../../defaults.js';

/** A byte in a segment file. */
export interface SegmentPosition {
  seg: number;
  off: number;
}

/** The saved cursor, or the start of the spool when there is none (or it is unreadable). */
export async function readCursor(dir: string, logger: Logger): Promise<SegmentPosition> {
  try {
    const saved = JSON.parse(await readFile(path.join(dir, 'cursor.json'), 'utf8')) as { segment?: unknown; offset?: unknown };
    if (Number.isSafeInteger(saved.segment) && Number.isSafeInteger(saved.offset)) {
      return { seg: saved.segment as number, off: saved.offset as number };
    }
    throw new Error('malformed');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn({ spool: dir }, 'spool: unreadable cursor.json; delivering the whole spool again');
    }
    return { seg: 0, off: 0 };
  }
}

export class CursorFile {
  readonly #dir: string;
  readonly #file: string;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #position: SegmentPosition;
  #dirty = false;
  #timer: TimerHandle | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(dir: string, position: SegmentPosition, logger: Logger, clock: Clock) {
    this.#dir = dir;
    this.#file = path.join(dir, 'cursor.json');
    this.#position = position;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** The delivered position (saved or not yet). */
  get position(): SegmentPosition {
    return this.#position;
  }

  /** Everything before `position` is delivered; saved within SPOOL.cursorIntervalMs. */
  set(position: SegmentPosition): void {
    this.#position = position;
    this.#dirty = true;
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, SPOOL.cursorIntervalMs);
  }

  /** Saves the last position now and stops the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#dirty) await this.#write();
  }

  async #write(): Promise<void> {
    this.#dirty = false;
    const body = JSON.stringify({ segment: this.#position.seg, offset: this.#position.off });
    try {
      await writeFile(`${this.#file}.tmp`, body);
      await rename(`${this.#file}.tmp`, this.#file);
    } catch (error) {
      // Only costs redelivery after a restart; tried again with the next ack.
      this.#dirty = true;
      this.#logger.warn({ spool: this.#dir, error: String(error) }, 'spool: cannot save the delivery cursor');
    }
  }
}

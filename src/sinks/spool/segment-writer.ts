// Puts queued records into segment files. `append` only queues: everything queued within one
// turn of the event loop (up to SPOOL.writeChunkBytes per write) goes to the segment in one
// write(2), and only then counts as written (the spool hands nothing to a sink before that).
// A segment is fdatasync'd within SPOOL.syncIntervalMs of its first unsynced write, when sealed
// and on close; no fsync per record (the spool's header says why). A caller that must know its
// records are on the disk itself (the CDR intake answers a CMS only then) asks durable(): every
// caller waiting when one fdatasync starts shares it (group commit). A failed write (ENOSPC,
// EIO) is undone and tried again, on a fresh handle, after SPOOL.writeRetryMs.
import { open } from 'node:fs/promises';
import { syncFolder } from '../../folder-sync.js';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../clock.js';
import { SPOOL } from '../../defaults.js';
import { segmentName, type SpoolRecord } from './record.js';
import { openInPlace, type SegmentFile } from './segment-file.js';
import { SegmentPreparer } from './segment-prealloc.js';

/** Records of one segment, waiting for their write. */
interface PendingGroup {
  seg: number;
  parts: string[];
}

export interface SegmentWriterOptions {
  dir: string;
  logger: Logger;
  clock: Clock;
  /** Size of every segment on disk, shared with the spool; the writer adds what it writes. */
  segments: Map<number, number>;
  /** The segment new records go to. */
  firstSegment: number;
  /** A segment is sealed once the next record would take it past this size. */
  segmentBytes: number;
  /** Write in place (openInPlace), into segments made ahead of time: only for a thread that does nothing else. */
  inPlace?: boolean;
  /** `bytes` more of the queued records are on disk, in queue order. */
  onWritten: (bytes: number) => void;
  /** Every byte written before this many (counted from 0 at open) is on the disk itself (an fdatasync returned). */
  onSynced?: (bytes: number) => void;
  /** Writing failed (`error`) or works again (null). */
  onHealthChange: (error: string | null) => void;
}

export class SegmentWriter {
  readonly #options: SegmentWriterOptions;
  readonly #segments: Map<number, number>;
  // Where the next queued record goes; ahead of #openSeg while records wait.
  #tailSeg: number;
  #tailOff = 0;
  #openSeg: number;
  #fh: SegmentFile | null = null;
  #pending: PendingGroup[] = [];
  #queuedBytes = 0;
  #queuedRecords = 0;
  #flushing: Promise<void> | null = null;
  #flushScheduled = false;
  #dirty = false;
  #syncDue = false;
  #syncTimer: TimerHandle | undefined;
  #retryTimer: TimerHandle | undefined;
  #error: string | null = null;
  #closed = false;
  /** Callers of durable() waiting for the next fdatasync; it covers everything written before it starts. */
  #durableWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  /** A segment file was created since the last durable sync: the folder entry must be synced too. */
  #newFile = false;
  /** Bytes written since open (what a sync that starts now covers). */
  #writtenTotal = 0;
  /** In place: the next segment's file, made ahead of time. */
  readonly #preparer: SegmentPreparer | undefined;

  constructor(options: SegmentWriterOptions) {
    this.#options = options;
    this.#segments = options.segments;
    this.#tailSeg = options.firstSegment;
    this.#openSeg = options.firstSegment;
    if (options.inPlace) {
      this.#preparer = new SegmentPreparer(options.dir, options.segmentBytes, options.logger);
      this.#preparer.prepare();
    }
  }

  /** The segment being written: those before it are sealed. */
  get openSegment(): number {
    return this.#openSeg;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** The last write error, until a write works again. */
  get error(): string | null {
    return this.#error;
  }

  /** Queues `text` (the encoded `record`) and sets where the record will end on disk. */
  append(record: SpoolRecord, text: string): void {
    if (this.#tailOff > 0 && this.#tailOff + record.bytes > this.#options.segmentBytes) {
      this.#tailSeg += 1;
      this.#tailOff = 0;
    }
    this.#tailOff += record.bytes;
    record.seg = this.#tailSeg;
    record.end = this.#tailOff;
    const last = this.#pending[this.#pending.length - 1];
    if (last && last.seg === this.#tailSeg) last.parts.push(text);
    else this.#pending.push({ seg: this.#tailSeg, parts: [text] });
    this.#queuedBytes += record.bytes;
    this.#queuedRecords += 1;
    this.#scheduleFlush();
  }

  /** Resolves when every queued record is written, or at once while writing fails. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      if (this.#flushing) await this.#flushing;
      else await this.#runFlush();
      if (this.#error) return;
    }
  }

  /**
   * Resolves once every record appended before the call is written and fdatasync'd (with the
   * folder, when a segment was created); rejects while writing fails. Concurrent callers share
   * one fdatasync.
   */
  durable(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('spool is closed'));
    if (this.#error) return Promise.reject(new Error(this.#error));
    return new Promise<void>((resolve, reject) => {
      this.#durableWaiters.push({ resolve, reject });
      this.#syncDue = true;
      this.#scheduleFlush();
    });
  }

  /** Writes what it can, syncs and closes the segment. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    this.#options.clock.clearTimeout(this.#syncTimer);
    this.#options.clock.clearTimeout(this.#retryTimer);
    const { dir, logger } = this.#options;
    if (this.#error && this.#queuedRecords > 0) {
      logger.error({ spool: dir, events: this.#queuedRecords, error: this.#error }, 'spool closed with events it could not write to disk');
    }
    try {
      if (this.#fh) {
        await this.#fh.datasync();
        await this.#fh.close();
      }
    } catch (error) {
      logger.error({ spool: dir, error: String(error) }, 'spool: closing the segment failed');
    }
    this.#fh = null;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing || this.#retryTimer !== undefined || this.#closed) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (!this.#flushing) void this.#runFlush();
    });
  }

  #runFlush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    this.#flushing = this.#flushLoop().finally(() => {
      this.#flushing = null;
      if ((this.#pending.length > 0 || this.#syncDue) && !this.#error) this.#scheduleFlush();
    });
    return this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.length > 0 || this.#syncDue) {
      const group = this.#pending[0];
      try {
        if (group) {
          await this.#writeGroup(group);
          this.#pending.shift();
        } else {
          // Everything queued so far is written: this sync covers every waiter taken here.
          const waiters = this.#durableWaiters;
          this.#durableWaiters = [];
          const covered = this.#writtenTotal;
          this.#syncDue = false;
          this.#dirty = false;
          try {
            await this.#fh?.datasync();
            if (this.#newFile && waiters.length > 0) {
              this.#newFile = false;
              await syncFolder(this.#options.dir);
            }
          } catch (error) {
            this.#durableWaiters.unshift(...waiters);
            throw error;
          }
          this.#options.onSynced?.(covered);
          for (const waiter of waiters) waiter.resolve();
        }
        if (this.#error) {
          this.#options.logger.info({ spool: this.#options.dir }, 'spool: writing to disk works again');
          this.#error = null;
          this.#options.onHealthChange(null);
        }
      } catch (error) {
        await this.#failed(error);
        return;
      }
    }
  }

  async #failed(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    if (!this.#error) {
      this.#options.logger.error(
        { spool: this.#options.dir, error: message },
        'spool: cannot write to disk; holding events in memory and the hub back until it works again',
      );
    }
    this.#error = message;
    this.#options.onHealthChange(message);
    const waiters = this.#durableWaiters;
    this.#durableWaiters = [];
    for (const waiter of waiters) waiter.reject(new Error(message));
    // The retry opens the segment again: a handle that failed may stay bad for good (a file
    // replaced or deleted under it, a stale network mount).
    const failed = this.#fh;
    this.#fh = null;
    await failed?.close().catch(() => {});
    this.#retryTimer = this.#options.clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#scheduleFlush();
    }, SPOOL.writeRetryMs);
  }

  /** Writes one group (records of one segment), opening the segment if needed. */
  async #writeGroup(group: PendingGroup): Promise<void> {
    if (!this.#fh || group.seg !== this.#openSeg) {
      if (this.#fh) {
        // Sealed: its records are complete, make them durable before the next file takes over.
        await this.#fh.datasync();
        await this.#fh.close();
        this.#fh = null;
      }
      this.#openSeg = group.seg;
      const file = path.join(this.#options.dir, segmentName(group.seg));
      const size = this.#segments.get(group.seg);
      this.#fh = this.#preparer ? await this.#openInPlace(file, size) : await open(file, 'a');
      if (size === undefined) {
        this.#segments.set(group.seg, 0);
        this.#newFile = true;
      }
    }
    // Up to SPOOL.writeChunkBytes of the group per write(2), so that memory stays bounded.
    while (group.parts.length > 0) {
      let chars = 0;
      let take = 0;
      while (take < group.parts.length && (take === 0 || chars < SPOOL.writeChunkBytes)) {
        chars += group.parts[take]!.length;
        take += 1;
      }
      const buffer = Buffer.from(group.parts.slice(0, take).join(''));
      const before = this.#segments.get(group.seg)!;
      try {
        let written = 0;
        while (written < buffer.length) {
          const { bytesWritten } = await this.#fh.write(buffer, written, buffer.length - written);
          written += bytesWritten;
        }
      } catch (error) {
        // Drop a partly written record, or the retry would leave half a line before it.
        await this.#fh.truncate(before).catch(() => {});
        throw error;
      }
      group.parts.splice(0, take);
      this.#segments.set(group.seg, before + buffer.length);
      this.#queuedBytes -= buffer.length;
      this.#queuedRecords -= take;
      this.#writtenTotal += buffer.length;
      this.#markDirty();
      this.#options.onWritten(buffer.length);
    }
  }

  /** A segment written before (`size` known) goes on where it ends; a new one is the file prepared for it. */
  async #openInPlace(file: string, size: number | undefined): Promise<SegmentFile> {
    if (size === undefined) await this.#preparer!.take(file);
    return openInPlace(file, size ?? 0);
  }

  #markDirty(): void {
    this.#dirty = true;
    if (this.#syncTimer !== undefined || this.#closed) return;
    this.#syncTimer = this.#options.clock.setTimeout(() => {
      this.#syncTimer = undefined;
      if (!this.#dirty) return;
      this.#syncDue = true;
      this.#scheduleFlush();
    }, SPOOL.syncIntervalMs);
  }
}

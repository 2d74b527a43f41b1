// A bounded, append-only, on-disk queue in front of one sink.
//
// Layout of `dir`:
//   seg-000000000001.log …  segment files, one record per line (record.ts)
//   cursor.json             {"segment":N,"offset":M}: everything before that byte was delivered
//   lock                    the process that owns the folder (lock.ts)
//
// Writes are batched: `append` only queues the record; all records queued within one turn of the
// event loop go to the segment in one write(2) (segment-writer.ts). A record is handed to the sink
// only once that write has completed ("written before the sink is tried").
//
// Durability: no fsync per event. Segments are fdatasync'd within SPOOL.syncIntervalMs while
// dirty, when sealed and on close; the cursor is rewritten at most every SPOOL.cursorIntervalMs
// and on close. A crash or kill of the daemon loses nothing already written (completed writes
// sit in the page cache), only records appended in the event-loop turn it died in; a power loss
// or kernel crash may lose up to ~1 s of events. The cursor lags delivery, so after a crash up to
// ~200 ms of delivered events are sent again: delivery is at least once and consumers
// de-duplicate on the event id. One fsync per event would cap throughput at the disk's sync rate
// (a few hundred to a few thousand per second) for a failure mode the CMS feed cannot protect
// against either (it never replays).
//
// Reading: the newest records (up to SPOOL.memoryBytes) are also kept in memory, so a sink that
// keeps up never reads the disk; a sink catching up after an outage or a restart reads segments
// in order (segment-reader.ts) until it reaches that in-memory tail. Segments are deleted once
// fully delivered.
//
// Bookkeeping is in byte positions of the spool's stream since open (0 is the delivered cursor
// at open): appended, written, read (handed out) and acknowledged. The one record count is the
// backlog; an ack finds how many records it covers among the batches handed out.
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../../clock.js';
import { SPOOL } from '../../defaults.js';
import { Room } from '../room.js';
import { CursorFile, type SegmentPosition } from './cursor.js';
import { HandOuts } from './hand-outs.js';
import { lockFolder, type FolderLock } from '../../folder-lock.js';
import { MemoryTail } from './memory-tail.js';
import { encodeRecord, segmentName, type SpoolRecord } from './record.js';
import { recover, type RecoveredSpool } from './recovery.js';
import { SegmentReader } from './segment-reader.js';
import { SegmentWriter } from './segment-writer.js';

export interface SpoolOptions {
  dir: string;
  /** Undelivered bytes above which the spool counts as full. */
  maxBytes: number;
  logger: Logger;
  /** Defaults to maxBytes / 16 within [SPOOL.segmentMinBytes, SPOOL.segmentMaxBytes]. */
  segmentBytes?: number;
  /** Newest records also kept in memory; defaults to SPOOL.memoryBytes. */
  memoryBytes?: number;
  /** Called when the spool becomes full or has room again. */
  onFullChange?: (full: boolean) => void;
  /** Write in place, each write synchronous to the disk (O_DSYNC): only for a thread that does nothing else (the CDR receiver's). */
  inPlace?: boolean;
  /** Drives the sync, cursor and write-retry timers; the real clock by default. */
  clock?: Clock;
}

export class Spool {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #logger: Logger;
  readonly #onFullChange: (full: boolean) => void;
  readonly #lock: FolderLock;
  readonly #segments: Map<number, number>;
  readonly #writer: SegmentWriter;
  readonly #reader: SegmentReader;
  readonly #cursor: CursorFile;
  readonly #tail: MemoryTail;

  #appended: number;
  #written: number;
  /** Everything before this position is on the disk itself (what recovery found counts as such). */
  #synced: number;
  #readPos = 0;
  #acked = 0;
  #backlog: number;
  readonly #handOuts = new HandOuts();
  /** Where the disk reader goes on. */
  #readAt: SegmentPosition;

  #dataWaiters: (() => void)[] = [];
  readonly #room = new Room();
  #isFull = false;
  #closed = false;

  private constructor(opts: SpoolOptions, lock: FolderLock, state: RecoveredSpool) {
    const clock = opts.clock ?? realClock;
    this.#dir = opts.dir;
    this.#maxBytes = opts.maxBytes;
    this.#logger = opts.logger;
    this.#onFullChange = opts.onFullChange ?? (() => {});
    this.#lock = lock;
    this.#segments = state.segments;
    this.#tail = new MemoryTail(opts.memoryBytes ?? SPOOL.memoryBytes);
    this.#appended = this.#written = this.#synced = state.bytes;
    this.#backlog = state.count;
    this.#readAt = state.cursor;
    this.#cursor = new CursorFile(opts.dir, state.cursor, opts.logger, clock);
    this.#reader = new SegmentReader(opts.dir, state.segments);
    this.#writer = new SegmentWriter({
      dir: opts.dir,
      logger: opts.logger,
      clock,
      segments: state.segments,
      firstSegment: state.nextSeg,
      ...(opts.inPlace && { inPlace: true }),
      segmentBytes:
        opts.segmentBytes ?? Math.min(SPOOL.segmentMaxBytes, Math.max(SPOOL.segmentMinBytes, Math.floor(opts.maxBytes / 16))),
      onWritten: (bytes) => {
        this.#written += bytes;
        this.#wakeReaders();
      },
      onSynced: (bytes) => {
        this.#synced = Math.max(this.#synced, state.bytes + bytes);
      },
      onHealthChange: () => this.#updateFull(),
    });
    this.#isFull = this.backlogBytes >= this.#maxBytes;
  }

  /** Opens (creating if needed) the spool in `dir`, locks it and recovers what a previous run left. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const dir = path.resolve(opts.dir);
    await mkdir(dir, { recursive: true });
    const lock = await lockFolder(dir, { name: 'spool folder', setting: 'spoolDir' });
    try {
      return new Spool({ ...opts, dir }, lock, await recover(dir, opts.logger));
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Events accepted and not yet delivered. */
  get backlog(): number {
    return this.#backlog;
  }

  /** Bytes of undelivered records (what `maxBytes` bounds). */
  get backlogBytes(): number {
    return this.#appended - this.#acked;
  }

  /** Bytes on disk, plus records queued for the next write. */
  get diskBytes(): number {
    let total = this.#writer.queuedBytes;
    for (const size of this.#segments.values()) total += size;
    return total;
  }

  get full(): boolean {
    return this.#isFull;
  }

  /**
   * Queues one record. Returns nothing: the record is accepted even when the spool is full
   * (nothing is ever dropped); callers check `full` and wait for `waitForRoom()`.
   */
  append(id: string, server: string, type: string, ts: string, line: string, epoch?: number): void {
    if (this.#closed) throw new Error('spool is closed');
    const text = encodeRecord(id, server, type, ts, line, epoch);
    const bytes = Buffer.byteLength(text);
    const record: SpoolRecord = { id, server, type, ts, line, bytes, seg: 0, end: 0, pos: this.#appended };
    if (epoch !== undefined) record.epoch = epoch;
    this.#writer.append(record, text);
    this.#appended += bytes;
    this.#backlog += 1;
    this.#tail.push(record);
    this.#updateFull();
  }

  /** Resolves once the spool has room again (at once when it is not full). */
  waitForRoom(): Promise<void> {
    return this.#isFull ? this.#room.wait() : Promise.resolve();
  }

  /**
   * The next records after those already handed out, oldest first, at most `maxRecords` and
   * about `maxBytes` (at least one). Waits until there is at least one written record; resolves
   * with [] once the spool is closed or `signal` aborts.
   */
  async next(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<readonly SpoolRecord[]> {
    for (;;) {
      if (this.#closed || signal?.aborted) return [];
      if (this.#readPos < this.#written) {
        const records = await this.#readNext(maxRecords, maxBytes);
        if (records.length > 0) return this.#handOut(records);
        this.#resynchronise();
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.#dataWaiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Marks `record` (handed out by `next`) and everything before it delivered. */
  ack(record: SpoolRecord): void {
    const end = record.pos + record.bytes;
    if (end <= this.#acked) return;
    this.#backlog -= this.#handOuts.ackThrough(end);
    this.#acked = end;
    this.#cursor.set({ seg: record.seg, off: record.end });
    this.#deleteDeliveredSegments();
    this.#updateFull();
  }

  /**
   * Resolves once every record appended so far is on the disk itself (fdatasync; concurrent
   * callers share one), rejects while the disk refuses writes. The CDR intake answers a CMS only
   * then; sinks never wait for it (the header says why).
   */
  durable(): Promise<void> {
    return this.#writer.durable();
  }

  /** Resolves once `record` (handed out by `next`) is on the disk itself; at once when it is already. */
  whenDurable(record: SpoolRecord): Promise<void> {
    return record.pos + record.bytes <= this.#synced ? Promise.resolve() : this.#writer.durable();
  }

  /** Resolves when every queued record has been written to its segment. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /** Writes what is queued, syncs, persists the cursor and releases every file and the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#writer.flush();
    this.#closed = true;
    this.#wakeReaders();
    this.#room.open();
    await this.#writer.close();
    await this.#reader.close();
    await this.#cursor.close();
    await this.#lock.release();
  }

  /** From the memory tail when it holds the next record, else from disk up to where the tail starts. */
  #readNext(maxRecords: number, maxBytes: number): SpoolRecord[] | Promise<SpoolRecord[]> {
    const head = this.#tail.head;
    if (head?.pos === this.#readPos) return this.#tail.take(maxRecords, maxBytes, this.#written);
    const tailStart = head ? { seg: head.seg, off: head.end - head.bytes } : null;
    return this.#reader.read(this.#readAt, tailStart, this.#writer.openSegment, this.#readPos, maxRecords, maxBytes);
  }

  #handOut(records: readonly SpoolRecord[]): readonly SpoolRecord[] {
    const last = records[records.length - 1]!;
    this.#readPos = last.pos + last.bytes;
    this.#readAt = { seg: last.seg, off: last.end };
    this.#handOuts.add(records);
    return records;
  }

  /**
   * Nothing left on disk before the in-memory tail although the positions say otherwise: the
   * files were changed behind our back. Continue from the tail rather than spin.
   */
  #resynchronise(): void {
    const head = this.#tail.head;
    this.#logger.error({ spool: this.#dir, expected: this.#readPos, next: head?.pos ?? null }, 'spool: segment files do not match the bookkeeping; continuing with the newest records');
    this.#readPos = head ? head.pos : this.#written;
    // The records skipped will never be acknowledged: count what is really left.
    this.#backlog = this.#handOuts.outstanding + this.#tail.length;
  }

  #wakeReaders(): void {
    const waiters = this.#dataWaiters;
    this.#dataWaiters = [];
    for (const wake of waiters) wake();
  }

  #deleteDeliveredSegments(): void {
    const cursor = this.#cursor.position;
    const openSeg = this.#writer.openSegment;
    for (const [seg, size] of this.#segments) {
      if (seg >= openSeg || seg > cursor.seg || (seg === cursor.seg && cursor.off < size)) continue;
      this.#segments.delete(seg);
      this.#reader.forget(seg);
      unlink(path.join(this.#dir, segmentName(seg))).catch((error: unknown) => {
        this.#logger.warn({ spool: this.#dir, segment: seg, error: String(error) }, 'spool: cannot delete a delivered segment');
      });
    }
  }

  #updateFull(): void {
    const bytes = this.backlogBytes;
    const full =
      this.#writer.error !== null || (this.#isFull ? bytes > this.#maxBytes * SPOOL.roomRatio : bytes >= this.#maxBytes);
    if (full === this.#isFull) return;
    this.#isFull = full;
    if (!full) this.#room.open();
    this.#onFullChange(full);
  }
}

// A bounded, append-only, on-disk queue in front of one sink.
//
// Layout of `dir`:
//   seg-000000000001.log …  segment files; one record per line: `["id","server","type","ts"]\t<event JSON>\n`
//                           (JSON.stringify never emits a raw tab or newline, so both split safely)
//   cursor.json             {"segment":N,"offset":M}: everything before that byte was delivered
//
// Writes are batched: `append` only queues the record; all records queued within one turn of the
// event loop (or up to WRITE_CHUNK_BYTES) go to the segment in one write(2). A record is handed to
// the sink only once that write has completed ("written before the sink is tried").
//
// Durability: no fsync per event. Segments are fdatasync'd every SYNC_INTERVAL_MS while dirty,
// when sealed and on close; the cursor is rewritten (write + rename) at most every
// CURSOR_INTERVAL_MS and on close. A crash or kill of the daemon loses nothing already written
// (completed writes sit in the page cache), only records appended in the event-loop turn it died
// in; a power loss or kernel crash may lose up to ~1 s of events. The cursor
// lags delivery, so after a crash up to ~200 ms of delivered events are sent again: delivery is
// at least once and consumers de-duplicate on the event id. One fsync per event would cap
// throughput at the disk's sync rate (a few hundred to a few thousand per second) for a failure
// mode the CMS feed cannot protect against either (it never replays).
//
// Reading: the newest records (up to MEMORY_BYTES) are also kept in memory, so a sink that keeps
// up never reads the disk; a sink catching up after an outage or a restart reads segments in
// order until it reaches that in-memory tail. Segments are deleted once fully delivered.
import { open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { recover, segmentName, type RecoveredSpool } from './spool-recovery.js';

const WRITE_CHUNK_BYTES = 1024 * 1024;
const SYNC_INTERVAL_MS = 1000;
const CURSOR_INTERVAL_MS = 200;
const WRITE_RETRY_MS = 1000;
const MEMORY_BYTES = 16 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
/** `write` may go on again once the undelivered bytes fell below this share of the limit. */
const ROOM_RATIO = 0.9;

export interface SpoolRecord {
  /** Event id: the de-duplication key downstream. */
  id: string;
  server: string;
  type: string;
  ts: string;
  /** The event JSON, without newline. */
  line: string;
  /** Set when the record could not be read back; it cannot be delivered. */
  corrupt?: string;
  /** Bytes the record takes in its segment. */
  bytes: number;
  /** Where it ends: segment and byte offset after its newline. */
  seg: number;
  end: number;
  /** Ordinal and byte position since this spool was opened (position 0 is the cursor at open). */
  n: number;
  pos: number;
}

export interface SpoolOptions {
  dir: string;
  /** Undelivered bytes above which the spool counts as full. */
  maxBytes: number;
  logger: Logger;
  /** Defaults to maxBytes / 16 within [4 KiB, 64 MiB]. */
  segmentBytes?: number;
  /** Newest records also kept in memory; defaults to 16 MiB. */
  memoryBytes?: number;
  /** Called when the spool becomes full or has room again. */
  onFullChange?: (full: boolean) => void;
}

interface PendingGroup {
  seg: number;
  parts: string[];
  count: number;
}

/** Spool folders open in this process: two sinks on one folder would corrupt each other. */
const openDirs = new Set<string>();

export class Spool {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly memoryBytes: number;
  private readonly logger: Logger;
  private readonly onFullChange: (full: boolean) => void;

  /** Size of every segment file on disk (flushed bytes for the one being written). */
  private readonly segments = new Map<number, number>();

  // Writer. `writeSeg`/`writeOff` include queued records; `openSeg` is the file being written.
  private writeSeg: number;
  private writeOff = 0;
  private openSeg: number;
  private writeFh: FileHandle | null = null;
  private pending: PendingGroup[] = [];
  private flushing: Promise<void> | null = null;
  private flushScheduled = false;
  private dirty = false;
  private syncDue = false;
  private writeError: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly syncTimer: NodeJS.Timeout;

  // Counters since open: ordinals and byte positions of appended, written, read and delivered records.
  private appendedN: number;
  private appendedPos: number;
  private flushedN: number;
  private readN = 0;
  private readPos = 0;
  private ackedN = 0;
  private ackedPos = 0;

  /** Newest undelivered records not yet handed out, oldest first (a suffix of the spool). */
  private mem: SpoolRecord[] = [];
  private memHead = 0;
  private memBytes = 0;

  // Reader position on disk, and the delivered position (persisted as cursor.json).
  private readAt: { seg: number; off: number };
  private cursor: { seg: number; off: number };
  private readFh: { seg: number; fh: FileHandle } | null = null;
  private cursorTimer: NodeJS.Timeout | null = null;
  private cursorWrite: Promise<void> = Promise.resolve();
  private cursorDirty = false;

  private dataWaiters: (() => void)[] = [];
  private room: { promise: Promise<void>; resolve: () => void } | null = null;
  private isFull = false;
  private closed = false;

  private constructor(
    opts: SpoolOptions,
    state: RecoveredSpool,
  ) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes;
    this.segmentBytes = opts.segmentBytes ?? Math.min(64 * 1024 * 1024, Math.max(4096, Math.floor(opts.maxBytes / 16)));
    this.memoryBytes = opts.memoryBytes ?? MEMORY_BYTES;
    this.logger = opts.logger;
    this.onFullChange = opts.onFullChange ?? (() => {});
    this.segments = state.segments;
    this.cursor = { ...state.cursor };
    this.readAt = { ...state.cursor };
    this.writeSeg = state.nextSeg;
    this.openSeg = state.nextSeg;
    this.appendedN = this.flushedN = state.count;
    this.appendedPos = state.bytes;
    this.syncTimer = setInterval(() => {
      if (this.dirty) {
        this.syncDue = true;
        this.scheduleFlush();
      }
    }, SYNC_INTERVAL_MS);
    this.syncTimer.unref();
    this.isFull = this.backlogBytes >= this.maxBytes;
  }

  /** Opens (creating if needed) the spool in `dir` and recovers what a previous run left. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const dir = path.resolve(opts.dir);
    if (openDirs.has(dir)) throw new Error(`spool folder ${dir} is already used by another sink`);
    openDirs.add(dir);
    try {
      const state = await recover(dir, opts.logger);
      return new Spool({ ...opts, dir }, state);
    } catch (error) {
      openDirs.delete(dir);
      throw error;
    }
  }

  /** Events accepted and not yet delivered. */
  get backlog(): number {
    return this.appendedN - this.ackedN;
  }

  /** Bytes of undelivered records (what `maxBytes` bounds). */
  get backlogBytes(): number {
    return this.appendedPos - this.ackedPos;
  }

  /** Bytes on disk, plus records queued for the next write. */
  get diskBytes(): number {
    let total = 0;
    for (const size of this.segments.values()) total += size;
    for (const g of this.pending) for (const p of g.parts) total += Buffer.byteLength(p);
    return total;
  }

  get full(): boolean {
    return this.isFull;
  }

  /**
   * Queues one record. Returns nothing: the record is accepted even when the spool is full
   * (nothing is ever dropped); callers check `full` and wait for `waitForRoom()`.
   */
  append(id: string, server: string, type: string, ts: string, line: string): void {
    if (this.closed) throw new Error('spool is closed');
    const text = `${JSON.stringify([id, server, type, ts])}\t${line}\n`;
    const bytes = Buffer.byteLength(text);
    if (this.writeOff > 0 && this.writeOff + bytes > this.segmentBytes) {
      this.writeSeg += 1;
      this.writeOff = 0;
    }
    this.writeOff += bytes;
    const record: SpoolRecord = {
      id,
      server,
      type,
      ts,
      line,
      bytes,
      seg: this.writeSeg,
      end: this.writeOff,
      n: this.appendedN,
      pos: this.appendedPos,
    };
    this.appendedN += 1;
    this.appendedPos += bytes;

    const last = this.pending[this.pending.length - 1];
    if (last && last.seg === this.writeSeg) {
      last.parts.push(text);
      last.count += 1;
    } else {
      this.pending.push({ seg: this.writeSeg, parts: [text], count: 1 });
    }

    this.mem.push(record);
    this.memBytes += bytes;
    while (this.memBytes > this.memoryBytes && this.memHead < this.mem.length - 1) {
      this.memBytes -= this.mem[this.memHead]!.bytes;
      this.memHead += 1;
    }
    this.compactMem();
    this.scheduleFlush();
    this.updateFull();
  }

  /** Resolves once the spool has room again (at once when it is not full). */
  waitForRoom(): Promise<void> {
    if (!this.isFull) return Promise.resolve();
    if (!this.room) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  /**
   * The next records after those already handed out, oldest first, at most `maxRecords` and
   * about `maxBytes` (at least one). Waits until there is at least one written record; resolves
   * with [] once the spool is closed or `signal` aborts.
   */
  async next(maxRecords: number, maxBytes: number, signal?: AbortSignal): Promise<SpoolRecord[]> {
    for (;;) {
      if (this.closed || signal?.aborted) return [];
      if (this.readN < this.flushedN) {
        const head = this.mem[this.memHead];
        if (head && head.n === this.readN) return this.takeFromMemory(maxRecords, maxBytes);
        const records = await this.readFromDisk(maxRecords, maxBytes);
        if (records.length > 0) return records;
        this.resynchronise();
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.dataWaiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Marks `record` and everything before it delivered. */
  ack(record: SpoolRecord): void {
    if (record.n < this.ackedN) return;
    this.ackedN = record.n + 1;
    this.ackedPos = record.pos + record.bytes;
    this.cursor = { seg: record.seg, off: record.end };
    this.deleteDeliveredSegments();
    this.scheduleCursorWrite();
    this.updateFull();
  }

  /** Resolves when every queued record has been written to its segment. */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) {
      if (this.flushing) await this.flushing;
      else await this.runFlush();
      if (this.writeError) return;
    }
  }

  /** Writes what is queued, syncs, persists the cursor and releases every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    clearInterval(this.syncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    this.wakeReaders();
    this.room?.resolve();
    this.room = null;
    if (this.writeError && this.pending.length > 0) {
      const lost = this.pending.reduce((n, g) => n + g.count, 0);
      this.logger.error({ spool: this.dir, events: lost, error: this.writeError }, 'spool closed with events it could not write to disk');
    }
    try {
      if (this.writeFh) {
        await this.writeFh.datasync();
        await this.writeFh.close();
      }
    } catch (error) {
      this.logger.error({ spool: this.dir, error: String(error) }, 'spool: closing the segment failed');
    }
    this.writeFh = null;
    await this.readFh?.fh.close().catch(() => {});
    this.readFh = null;
    await this.cursorWrite;
    if (this.cursorDirty) await this.writeCursor();
    openDirs.delete(this.dir);
  }

  // ---- writing -------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing || this.retryTimer || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.flushing) void this.runFlush();
    });
  }

  private runFlush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      if (this.pending.length > 0 && !this.writeError) this.scheduleFlush();
    });
    return this.flushing;
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0 || this.syncDue) {
      const group = this.pending[0];
      try {
        if (group) {
          await this.writeGroup(group);
          this.pending.shift();
        } else {
          this.syncDue = false;
          this.dirty = false;
          await this.writeFh?.datasync();
        }
        if (this.writeError) {
          this.logger.info({ spool: this.dir }, 'spool: writing to disk works again');
          this.writeError = null;
          this.updateFull();
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!this.writeError) {
          this.logger.error(
            { spool: this.dir, error: message },
            'spool: cannot write to disk; holding events in memory and the hub back until it works again',
          );
        }
        this.writeError = message;
        this.updateFull();
        // The retry opens the segment again: a handle that failed may stay bad for good (a file
        // replaced or deleted under it, a stale network mount).
        const failed = this.writeFh;
        this.writeFh = null;
        await failed?.close().catch(() => {});
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.scheduleFlush();
        }, WRITE_RETRY_MS);
        this.retryTimer.unref();
        return;
      }
    }
  }

  /** Writes one group (records of one segment) at once, opening the segment if needed. */
  private async writeGroup(group: PendingGroup): Promise<void> {
    if (!this.writeFh || group.seg !== this.openSeg) {
      if (this.writeFh) {
        // Sealed: its records are complete, make them durable before the next file takes over.
        await this.writeFh.datasync();
        await this.writeFh.close();
        this.writeFh = null;
      }
      this.openSeg = group.seg;
      this.writeFh = await open(path.join(this.dir, segmentName(group.seg)), 'a');
      if (!this.segments.has(group.seg)) this.segments.set(group.seg, 0);
    }
    // Take up to WRITE_CHUNK_BYTES of this group per write(2), so that memory stays bounded.
    while (group.parts.length > 0) {
      let bytes = 0;
      let take = 0;
      while (take < group.parts.length && (take === 0 || bytes < WRITE_CHUNK_BYTES)) {
        bytes += group.parts[take]!.length;
        take += 1;
      }
      const buffer = Buffer.from(group.parts.slice(0, take).join(''));
      const before = this.segments.get(group.seg)!;
      try {
        let written = 0;
        while (written < buffer.length) {
          const { bytesWritten } = await this.writeFh.write(buffer, written, buffer.length - written);
          written += bytesWritten;
        }
      } catch (error) {
        // Drop a partly written record, or the retry would leave half a line before it.
        await this.writeFh.truncate(before).catch(() => {});
        throw error;
      }
      group.parts.splice(0, take);
      group.count -= take;
      this.segments.set(group.seg, before + buffer.length);
      this.flushedN += take;
      this.dirty = true;
      this.wakeReaders();
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  private takeFromMemory(maxRecords: number, maxBytes: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    let bytes = 0;
    while (this.memHead < this.mem.length && out.length < maxRecords) {
      const record = this.mem[this.memHead]!;
      if (record.n >= this.flushedN || (out.length > 0 && bytes + record.bytes > maxBytes)) break;
      out.push(record);
      bytes += record.bytes;
      this.memHead += 1;
      this.memBytes -= record.bytes;
    }
    this.compactMem();
    const last = out[out.length - 1]!;
    this.readN = last.n + 1;
    this.readPos = last.pos + last.bytes;
    this.readAt = { seg: last.seg, off: last.end };
    return out;
  }

  private async readFromDisk(maxRecords: number, maxBytes: number): Promise<SpoolRecord[]> {
    // Step over segments read to their end.
    for (;;) {
      const size = this.segments.get(this.readAt.seg);
      const sealed = this.readAt.seg < this.openSeg;
      if ((size === undefined || this.readAt.off >= size) && sealed) {
        this.readAt = { seg: this.readAt.seg + 1, off: 0 };
        continue;
      }
      break;
    }
    const seg = this.readAt.seg;
    const size = this.segments.get(seg) ?? 0;
    const head = this.mem[this.memHead];
    // Stop where the in-memory tail starts, so that no record is handed out twice.
    const limit = head && head.seg === seg ? Math.min(size, head.end - head.bytes) : size;
    if (this.readAt.off >= limit) return [];

    if (!this.readFh || this.readFh.seg !== seg) {
      await this.readFh?.fh.close().catch(() => {});
      this.readFh = null;
      this.readFh = { seg, fh: await open(path.join(this.dir, segmentName(seg)), 'r') };
    }
    const fh = this.readFh.fh;
    let want = Math.min(limit - this.readAt.off, Math.max(maxBytes, READ_CHUNK_BYTES));
    let buffer: Buffer;
    let complete: number;
    for (;;) {
      buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buffer, 0, want, this.readAt.off);
      buffer = buffer.subarray(0, bytesRead);
      complete = buffer.lastIndexOf(10) + 1;
      if (complete > 0 || this.readAt.off + bytesRead >= limit || bytesRead < want) break;
      want = Math.min(limit - this.readAt.off, want * 2); // one record larger than the chunk
    }
    if (complete === 0) {
      // A segment that does not end in a newline: recovery trims torn tails, so this is damage.
      complete = buffer.length;
      buffer = Buffer.concat([buffer, Buffer.from('\n')]).subarray(0, complete + 1);
    }

    const out: SpoolRecord[] = [];
    let start = 0;
    let bytes = 0;
    while (start < complete && out.length < maxRecords && (out.length === 0 || bytes < maxBytes)) {
      const nl = buffer.indexOf(10, start);
      const lineEnd = nl === -1 ? buffer.length : nl;
      const recordBytes = Math.min(lineEnd + 1, complete) - start;
      const record = parseRecord(buffer, start, lineEnd);
      record.bytes = recordBytes;
      record.seg = seg;
      record.end = this.readAt.off + start + recordBytes;
      record.n = this.readN;
      record.pos = this.readPos;
      this.readN += 1;
      this.readPos += recordBytes;
      out.push(record);
      bytes += recordBytes;
      start += recordBytes;
    }
    const last = out[out.length - 1];
    if (last) this.readAt = { seg: last.seg, off: last.end };
    return out;
  }

  /**
   * Nothing left on disk before the in-memory tail although the counts say otherwise: the files
   * were changed behind our back. Continue from the tail rather than spin.
   */
  private resynchronise(): void {
    const head = this.mem[this.memHead];
    this.logger.error({ spool: this.dir, expected: this.readN, next: head?.n ?? null }, 'spool: segment files do not match the bookkeeping; continuing with the newest records');
    if (head) {
      this.readN = head.n;
      this.readPos = head.pos;
    } else {
      this.readN = this.flushedN;
    }
  }

  private compactMem(): void {
    if (this.memHead > 4096 && this.memHead * 2 > this.mem.length) {
      this.mem = this.mem.slice(this.memHead);
      this.memHead = 0;
    }
  }

  private wakeReaders(): void {
    const waiters = this.dataWaiters;
    this.dataWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- delivered data ------------------------------------------------------------------------

  private deleteDeliveredSegments(): void {
    for (const [seg, size] of this.segments) {
      const done = seg < this.cursor.seg || (seg === this.cursor.seg && this.cursor.off >= size && seg < this.openSeg);
      if (!done || seg >= this.openSeg) continue;
      this.segments.delete(seg);
      if (this.readFh?.seg === seg) {
        void this.readFh.fh.close().catch(() => {});
        this.readFh = null;
      }
      unlink(path.join(this.dir, segmentName(seg))).catch((error: unknown) => {
        this.logger.warn({ spool: this.dir, segment: seg, error: String(error) }, 'spool: cannot delete a delivered segment');
      });
    }
  }

  private scheduleCursorWrite(): void {
    this.cursorDirty = true;
    if (this.cursorTimer || this.closed) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = null;
      this.cursorWrite = this.cursorWrite.then(() => this.writeCursor());
    }, CURSOR_INTERVAL_MS);
    this.cursorTimer.unref();
  }

  private async writeCursor(): Promise<void> {
    this.cursorDirty = false;
    const file = path.join(this.dir, 'cursor.json');
    const body = JSON.stringify({ segment: this.cursor.seg, offset: this.cursor.off });
    try {
      await writeFile(`${file}.tmp`, body);
      await rename(`${file}.tmp`, file);
    } catch (error) {
      // Only costs redelivery after a restart; retried with the next ack.
      this.cursorDirty = true;
      this.logger.warn({ spool: this.dir, error: String(error) }, 'spool: cannot save the delivery cursor');
    }
  }

  private updateFull(): void {
    const bytes = this.backlogBytes;
    const full = this.writeError !== null || (this.isFull ? bytes > this.maxBytes * ROOM_RATIO : bytes >= this.maxBytes);
    if (full === this.isFull) return;
    this.isFull = full;
    if (!full && this.room) {
      this.room.resolve();
      this.room = null;
    }
    this.onFullChange(full);
  }
}

function parseRecord(buffer: Buffer, start: number, end: number): SpoolRecord {
  const tab = buffer.indexOf(9, start);
  const base = { bytes: 0, seg: 0, end: 0, n: 0, pos: 0 };
  if (tab !== -1 && tab < end) {
    try {
      const header: unknown = JSON.parse(buffer.toString('utf8', start, tab));
      if (Array.isArray(header) && header.length === 4 && header.every((h) => typeof h === 'string')) {
        const [id, server, type, ts] = header as [string, string, string, string];
        return { id, server, type, ts, line: buffer.toString('utf8', tab + 1, end), ...base };
      }
    } catch {
      // fall through: reported as corrupt
    }
  }
  const snippet = buffer.toString('utf8', start, Math.min(end, start + 120));
  return { id: '', server: '', type: '', ts: '', line: '', corrupt: snippet, ...base };
}

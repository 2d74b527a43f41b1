// Reads records back from the segment files, for a sink catching up after an outage or a
// restart (a sink that keeps up is served from the spool's memory tail instead). One read
// handle is kept open on the segment being read.
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { SPOOL } from '../../defaults.js';
import type { SegmentPosition } from './cursor.js';
import { parseRecord, segmentName, type SpoolRecord } from './record.js';

export class SegmentReader {
  readonly #dir: string;
  readonly #segments: Map<number, number>;
  #handle: { seg: number; fh: FileHandle } | null = null;

  /** `segments`: the size of every segment on disk, kept up to date by the writer. */
  constructor(dir: string, segments: Map<number, number>) {
    this.#dir = dir;
    this.#segments = segments;
  }

  /**
   * Whole records from `at` on, at most `maxRecords` and about `maxBytes` (at least one), not
   * past `stop` (where the memory tail starts, so that nothing is handed out twice), numbered
   * from `firstPos` on. Steps over segments read to their end when they are sealed (before
   * `openSeg`). [] when there is nothing to read before `stop`.
   */
  async read(
    at: SegmentPosition,
    stop: SegmentPosition | null,
    openSeg: number,
    firstPos: number,
    maxRecords: number,
    maxBytes: number,
  ): Promise<SpoolRecord[]> {
    let seg = at.seg;
    let off = at.off;
    while (seg < openSeg && off >= (this.#segments.get(seg) ?? 0)) {
      seg += 1;
      off = 0;
    }
    const size = this.#segments.get(seg) ?? 0;
    const limit = stop && stop.seg === seg ? Math.min(size, stop.off) : size;
    if (off >= limit) return [];

    const fh = await this.#open(seg);
    let want = Math.min(limit - off, Math.max(maxBytes, SPOOL.readChunkBytes));
    let buffer: Buffer;
    let complete: number;
    for (;;) {
      buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buffer, 0, want, off);
      buffer = buffer.subarray(0, bytesRead);
      complete = buffer.lastIndexOf(10) + 1;
      if (complete > 0 || off + bytesRead >= limit || bytesRead < want) break;
      want = Math.min(limit - off, want * 2); // one record larger than the chunk
    }
    if (complete === 0) {
      // A segment that does not end in a newline: recovery trims torn tails, so this is damage.
      complete = buffer.length;
      buffer = Buffer.concat([buffer, Buffer.from('\n')]).subarray(0, complete + 1);
    }

    const out: SpoolRecord[] = [];
    let start = 0;
    let pos = firstPos;
    while (start < complete && out.length < maxRecords && (out.length === 0 || start < maxBytes)) {
      const nl = buffer.indexOf(10, start);
      const lineEnd = nl === -1 ? buffer.length : nl;
      const bytes = Math.min(lineEnd + 1, complete) - start;
      const record = parseRecord(buffer, start, lineEnd);
      record.bytes = bytes;
      record.seg = seg;
      record.end = off + start + bytes;
      record.pos = pos;
      pos += bytes;
      out.push(record);
      start += bytes;
    }
    return out;
  }

  /** Segment `seg` was deleted: let go of its handle. */
  forget(seg: number): void {
    if (this.#handle?.seg !== seg) return;
    void this.#handle.fh.close().catch(() => {});
    this.#handle = null;
  }

  async close(): Promise<void> {
    await this.#handle?.fh.close().catch(() => {});
    this.#handle = null;
  }

  async #open(seg: number): Promise<FileHandle> {
    if (this.#handle?.seg === seg) return this.#handle.fh;
    await this.close();
    const fh = await open(path.join(this.#dir, segmentName(seg)), 'r');
    this.#handle = { seg, fh };
    return fh;
  }
}

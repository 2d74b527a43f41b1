// What a spool folder holds when it is opened: which segments exist, where the delivered
// cursor points, how many undelivered records follow it. A record cut short by a crash
// mid-write is trimmed here, so that the reader only ever sees whole lines.
import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { SPOOL } from '../../defaults.js';
import { readCursor, type SegmentPosition } from './cursor.js';
import { SEGMENT_FILE, segmentName } from './record.js';

export interface RecoveredSpool {
  /** Size of every segment kept. */
  segments: Map<number, number>;
  /** First undelivered byte. */
  cursor: SegmentPosition;
  /** Undelivered records and bytes after the cursor. */
  count: number;
  bytes: number;
  /** Number of the segment new records go to. */
  nextSeg: number;
}

/** Reads what a previous run left in `dir` (which exists): segments, cursor, backlog; trims a torn last record. */
export async function recover(dir: string, logger: Logger): Promise<RecoveredSpool> {
  const seqs = (await readdir(dir))
    .map((f) => SEGMENT_FILE.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);

  let cursor = await readCursor(dir, logger);
  const segments = new Map<number, number>();
  /** Each kept segment's file size (larger than its data when it was made ahead of time). */
  const fileSizes = new Map<number, number>();
  for (const seq of seqs) {
    if (seq < cursor.seg) {
      // Delivered; a crash came between saving the cursor and deleting the file.
      await unlink(path.join(dir, segmentName(seq))).catch(() => {});
      continue;
    }
    const file = path.join(dir, segmentName(seq));
    fileSizes.set(seq, (await stat(file)).size);
    segments.set(seq, await dataEnd(file, fileSizes.get(seq)!));
  }
  const kept = [...segments.keys()];
  const first = kept[0];
  if (first === undefined) {
    cursor = { seg: cursor.seg, off: 0 };
  } else if (first !== cursor.seg) {
    cursor = { seg: first, off: 0 };
  }

  const last = kept[kept.length - 1];
  if (last !== undefined) {
    const trimmed = await trimTornTail(path.join(dir, segmentName(last)), segments.get(last)!, fileSizes.get(last)!);
    if (trimmed !== segments.get(last)) {
      logger.warn(
        { spool: dir, segment: last, droppedBytes: segments.get(last)! - trimmed },
        'spool: dropped an incomplete record at the end of the last segment (the previous run stopped mid-write)',
      );
      segments.set(last, trimmed);
    }
  }
  if (segments.has(cursor.seg)) cursor.off = Math.min(cursor.off, segments.get(cursor.seg)!);

  let count = 0;
  let bytes = 0;
  for (const [seq, size] of segments) {
    const from = seq === cursor.seg ? cursor.off : 0;
    bytes += size - from;
    count += await countNewlines(path.join(dir, segmentName(seq)), from, size);
  }
  const nextSeg = Math.max(cursor.seg, last ?? 0) + 1;
  if (count > 0) logger.info({ spool: dir, events: count, bytes }, 'spool: undelivered events from a previous run will be delivered first');
  return { segments, cursor, count, bytes, nextSeg };
}

/**
 * Where a segment's records end: its size, or, for a segment made ahead of time full of zeros
 * (segment-prealloc.ts; its last byte is a zero), its first zero byte. Records are JSON lines,
 * which never hold one, and in-place writes are made one after the other, each waited for: what
 * follows the first zero was never acknowledged.
 */
async function dataEnd(file: string, size: number): Promise<number> {
  if (size === 0) return 0;
  const fh = await open(file, 'r');
  try {
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] !== 0) return size;
    const chunk = Buffer.allocUnsafe(SPOOL.readChunkBytes);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, size - at), at);
      if (bytesRead === 0) break;
      const zero = chunk.subarray(0, bytesRead).indexOf(0);
      if (zero !== -1) return at + zero;
      at += bytesRead;
    }
    return size;
  } finally {
    await fh.close();
  }
}

/**
 * Drops a record cut short at `size` (the end of the data); returns the new end. A file larger
 * than its data (made ahead of time) keeps its size: the torn bytes are zeroed instead.
 */
async function trimTornTail(file: string, size: number, fileSize: number): Promise<number> {
  if (size === 0) return 0;
  const fh = await open(file, 'r+');
  const cut = async (keep: number): Promise<number> => {
    if (keep === size) return keep;
    if (fileSize > size) {
      await fh.write(Buffer.alloc(size - keep), 0, size - keep, keep);
      await fh.datasync();
    } else await fh.truncate(keep);
    return keep;
  };
  try {
    let end = size;
    const chunk = Buffer.allocUnsafe(64 * 1024);
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await fh.read(chunk, 0, end - start, start);
      const nl = chunk.subarray(0, bytesRead).lastIndexOf(10);
      if (nl !== -1) return await cut(start + nl + 1);
      end = start;
    }
    return await cut(0);
  } finally {
    await fh.close();
  }
}

async function countNewlines(file: string, from: number, to: number): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(SPOOL.readChunkBytes);
    let count = 0;
    for (let at = from; at < to; ) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, to - at), at);
      if (bytesRead === 0) break;
      for (let i = chunk.indexOf(10, 0); i !== -1 && i < bytesRead; i = chunk.indexOf(10, i + 1)) count += 1;
      at += bytesRead;
    }
    return count;
  } finally {
    await fh.close();
  }
}

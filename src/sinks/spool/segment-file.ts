// How the segment writer reaches a segment file: a FileHandle (every spool in front of a sink),
// or, for a writer whose thread does nothing else, blocking O_DSYNC writes (openInPlace).
import { closeSync, constants, ftruncateSync, openSync, writeSync } from 'node:fs';

/** What the writer does with a segment file: a FileHandle, or the same calls made in place. */
export interface SegmentFile {
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The segment file written in place, for a writer whose thread does nothing else (the CDR
 * receiver's, whose every record must be on disk before its answer): each write is a blocking
 * O_DSYNC write that returns with the data on the disk, instead of a write and an fdatasync each
 * hopping through libuv's pool. Bodies that arrived while it blocked are written together next.
 *
 * Writes go to explicit positions from `position` on, not to the file's end: a segment made
 * beforehand full of zeros (segment-prealloc.ts) keeps its size, so a write changes no metadata
 * and the file system need not commit its journal for it, which would also flush every other
 * file's pending writes (BENCHMARKS.md, "CDR receiver"). A file without that room simply grows.
 */
export function openInPlace(file: string, position: number): SegmentFile {
  // O_DSYNC: a write returns once its data (and a size it adds) is on the disk, in the same
  // system call; the separate sync then has nothing left to do.
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC, 0o644);
  let at = position;
  return {
    write: async (buffer, offset, length) => {
      const bytesWritten = writeSync(fd, buffer, offset, length, at);
      at += bytesWritten;
      return { bytesWritten };
    },
    datasync: async () => {},
    truncate: async (length) => {
      ftruncateSync(fd, length);
      at = length;
    },
    close: async () => closeSync(fd),
  };
}

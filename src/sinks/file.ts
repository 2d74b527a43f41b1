// NDJSON file with size-based rotation: when the next line would take the file past
// `maxBytes`, events.ndjson becomes events.ndjson.1, .1 becomes .2, … and the oldest beyond
// `maxFiles` is dropped. A batch is one write(2) per file it lands in.
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { SpoolRecord } from './spool/index.js';
import type { DeliveryOutcome, DeliveryTransport } from './delivery.js';

export interface FileTransportOptions {
  path: string;
  maxBytes: number;
  maxFiles: number;
  logger: Logger;
}

export class FileTransport implements DeliveryTransport {
  readonly target: string;
  private fh: FileHandle | null = null;
  private size = 0;

  constructor(private readonly options: FileTransportOptions) {
    this.target = options.path;
  }

  async deliver(records: readonly SpoolRecord[]): Promise<DeliveryOutcome> {
    let done = 0;
    try {
      await this.file();
      let parts: string[] = [];
      let bytes = 0;
      for (const [i, record] of records.entries()) {
        const lineBytes = Buffer.byteLength(record.line) + 1;
        if (this.size + bytes + lineBytes > this.options.maxBytes && this.size + bytes > 0) {
          await this.append(parts, bytes);
          done = i;
          parts = [];
          bytes = 0;
          await this.rotate();
        }
        parts.push(record.line);
        bytes += lineBytes;
      }
      await this.append(parts, bytes);
      return { kind: 'delivered' };
    } catch (error) {
      return { kind: 'failed', delivered: done, error: `cannot write ${this.options.path}: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) {
      await fh.datasync().catch(() => {});
      await fh.close();
    }
  }

  private async file(): Promise<FileHandle> {
    if (!this.fh) {
      await mkdir(path.dirname(this.options.path), { recursive: true });
      this.fh = await open(this.options.path, 'a');
      this.size = (await this.fh.stat()).size;
    }
    return this.fh;
  }

  private async append(parts: string[], bytes: number): Promise<void> {
    if (parts.length === 0) return;
    const fh = await this.file();
    const buffer = Buffer.from(`${parts.join('\n')}\n`);
    const before = this.size;
    try {
      let written = 0;
      while (written < buffer.length) {
        const { bytesWritten } = await fh.write(buffer, written, buffer.length - written);
        written += bytesWritten;
      }
    } catch (error) {
      // No half line may stay behind: the retry writes the whole batch again.
      await fh.truncate(before).catch(() => {});
      throw error;
    }
    this.size += bytes;
  }

  private async rotate(): Promise<void> {
    await this.close();
    const base = this.options.path;
    for (let i = this.options.maxFiles - 1; i >= 1; i -= 1) {
      await rename(`${base}.${i}`, `${base}.${i + 1}`).catch(ignoreMissing);
    }
    await rename(base, `${base}.1`);
    // Left over from a larger maxFiles in an earlier run.
    await unlink(`${base}.${this.options.maxFiles + 1}`).catch(ignoreMissing);
    this.options.logger.info({ file: base }, 'rotated the events file');
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

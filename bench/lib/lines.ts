// Reads a daemon's stdout: counts NDJSON lines, parsing each one as any real consumer does
// (`parse`), or hands each line over with the wall time its chunk arrived (the reading side of
// the pipe).
import type { Readable } from 'node:stream';
import { wallNow } from './clock.js';

const NEWLINE = 0x0a;

export class LineReader {
  lines = 0;
  bytes = 0;
  /** Lines that were not valid JSON (parse mode). */
  invalid = 0;
  private partial = '';
  /** While only counting: whether the last chunk ended inside a line. */
  private midLine = false;
  /** The first line after listen() began before it: its head was never kept, so it is not handed over. */
  private skipFragment = false;

  /** `parse`: JSON.parse every line while nobody listens, so the reading side costs what a consumer's does. */
  constructor(
    stream: Readable,
    private onLine?: (line: string, arrivedAt: number) => void,
    private readonly parse = false,
  ) {
    stream.on('data', (chunk: Buffer) => this.take(chunk));
  }

  /** Starts (or stops, with undefined) handing lines over; counting never stops. */
  listen(onLine: ((line: string, arrivedAt: number) => void) | undefined): void {
    if (onLine && !this.onLine) this.skipFragment = !this.parse && this.midLine;
    if (!onLine && this.onLine) this.midLine = this.partial !== '';
    this.onLine = onLine;
    // Parse mode keeps its partial line across: it never stops reading whole lines.
    if (!this.parse) this.partial = '';
  }

  private take(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.onLine && this.parse) {
      const text = this.partial + chunk.toString('utf8');
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        this.lines++;
        if (this.skipFragment) this.skipFragment = false;
        else {
          try {
            JSON.parse(text.slice(start, end));
          } catch {
            this.invalid++;
          }
        }
        start = end + 1;
      }
      this.partial = text.slice(start);
      return;
    }
    if (!this.onLine) {
      for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) this.lines++;
      if (chunk.length > 0) this.midLine = chunk[chunk.length - 1] !== NEWLINE;
      return;
    }
    const arrivedAt = wallNow();
    const text = this.partial + chunk.toString('utf8');
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      this.lines++;
      if (this.skipFragment) this.skipFragment = false;
      else this.onLine(text.slice(start, end), arrivedAt);
      start = end + 1;
    }
    this.partial = text.slice(start);
  }
}

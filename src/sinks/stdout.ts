// NDJSON on stdout: one event per line and nothing else (logs go to stderr). Lines are
// gathered for up to STDOUT.flushDelayMs and written as one chunk, so a burst of events costs one
// write(2), not one per event. The delay (rather than one flush per event-loop turn) matters in
// lock-step: each CMS message arrives in a turn of its own, and a write(2) per message (plus the
// reader's wake-up) cost more than all of the daemon's own work on it. When the reader of
// stdout is slower than the feed, the stream's backpressure (`write` → false, then 'drain') is
// honoured: lines wait in memory and, past STDOUT.highWaterBytes, `write` returns a promise so that
// the hub holds its acks back.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { realClock, sleep, type Clock } from '../clock.js';
import { STDOUT } from '../defaults.js';
import type { CmsEvent } from '../state/events.js';
import { sinkMetrics, type SinkMetrics } from './metrics.js';
import { Room } from './room.js';
import type { Sink, SinkState, SinkStatus } from './types.js';

export interface StdoutSinkOptions {
  name: string;
  logger: Logger;
  registry: Registry;
  /** Defaults to process.stdout; tests pass their own stream. */
  stream?: NodeJS.WritableStream;
  /** Drives the flush timer and the close timeout; the real clock by default. */
  clock?: Clock;
}

export class StdoutSink implements Sink {
  readonly name: string;
  readonly type = 'stdout';
  private readonly stream: NodeJS.WritableStream;
  private readonly logger: Logger;
  private readonly metrics: SinkMetrics;
  private readonly clock: Clock;
  private lines: string[] = [];
  /** `ts` of the oldest line waiting, for the delivery latency metric. */
  private oldestTs: string | undefined;
  /**
   * When the oldest line waiting was handed over: performance.now(), not the clock, because the
   * age check needs sub-millisecond resolution against a 1 ms delay (see `write`).
   */
  private oldestAt = 0;
  private bufferedBytes = 0;
  private scheduled = false;
  private waitingDrain = false;
  private readonly room = new Room();
  private delivered = 0;
  private rejected = 0;
  private state: SinkState = 'ok';
  private lastError: string | null = null;
  private broken = false;
  private closed = false;
  private readonly onError = (error: Error) => this.fail(error);

  constructor(options: StdoutSinkOptions) {
    this.name = options.name;
    this.stream = options.stream ?? process.stdout;
    this.clock = options.clock ?? realClock;
    this.logger = options.logger.child({ sink: options.name });
    this.metrics = sinkMetrics(options.registry, options.name, {
      backlog: () => this.lines.length,
      spoolBytes: () => 0,
      spoolFull: () => this.room.held,
    });
    this.stream.on('error', this.onError);
  }

  write(event: CmsEvent, line: string): void | Promise<void> {
    if (this.closed) return;
    if (this.broken) {
      this.rejected += 1;
      this.metrics.rejected(1);
      return;
    }
    const now = performance.now();
    if (this.lines.length === 0) {
      this.oldestTs = event.ts;
      this.oldestAt = now;
    }
    this.lines.push(line);
    this.bufferedBytes += line.length + 1;
    // The timer cannot fire while the event loop works through a burst (many servers' frames
    // ready in one poll), so the age of the oldest line is also checked here: no line waits
    // much more than STDOUT.flushDelayMs for its write, however long the burst.
    if (this.bufferedBytes >= STDOUT.chunkBytes || now - this.oldestAt >= STDOUT.flushDelayMs) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.clock.setTimeout(() => {
        this.scheduled = false;
        this.flush();
      }, STDOUT.flushDelayMs);
    }
    if (this.bufferedBytes >= STDOUT.highWaterBytes) {
      if (!this.room.held) this.logger.warn({ bufferedBytes: this.bufferedBytes }, 'stdout is not keeping up: holding the hub back');
      return this.room.wait();
    }
  }

  status(): SinkStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      backlog: this.lines.length,
      delivered: this.delivered,
      lastError: this.lastError,
      full: this.room.held,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = this.clock.now() + STDOUT.closeTimeoutMs;
    while (this.lines.length > 0 && !this.broken && this.clock.now() < deadline) {
      if (this.waitingDrain) await this.drainOrTimeout(deadline - this.clock.now());
      else this.flush();
    }
    if (!this.broken && this.waitingDrain) await this.drainOrTimeout(deadline - this.clock.now());
    if (this.lines.length > 0) {
      this.logger.error({ events: this.lines.length }, 'stdout did not take the last events before the close timeout');
    }
    this.room.open();
    this.stream.off('error', this.onError);
    this.metrics.release();
    this.state = 'closed';
  }

  private flush(): void {
    if (this.waitingDrain || this.broken || this.lines.length === 0) return;
    const chunk = `${this.lines.join('\n')}\n`;
    const count = this.lines.length;
    const oldestTs = this.oldestTs;
    this.lines = [];
    this.oldestTs = undefined;
    this.bufferedBytes = 0;
    let ok: boolean;
    try {
      ok = this.stream.write(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.delivered += count;
    this.metrics.delivered(count);
    // One observation per chunk, for its oldest line: parsing every event's ts back and
    // observing each cost more than the write itself when pipelined.
    const oldest = Date.parse(oldestTs!);
    if (!Number.isNaN(oldest)) this.metrics.latency(Math.max(0, this.clock.now() - oldest) / 1000);
    if (!ok) {
      this.waitingDrain = true;
      this.stream.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
        if (this.bufferedBytes < STDOUT.lowWaterBytes) this.room.open();
      });
    }
  }

  private async drainOrTimeout(ms: number): Promise<void> {
    const drained = new AbortController();
    const done = () => drained.abort();
    this.stream.once('drain', done);
    await sleep(this.clock, Math.max(0, ms), drained.signal);
    this.stream.off('drain', done);
  }

  /** stdout is gone (EPIPE: the reader exited): nothing can be delivered any more. */
  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    this.state = 'failing';
    this.lastError = error.message;
    const lost = this.lines.length;
    this.rejected += lost;
    this.metrics.rejected(lost);
    this.lines = [];
    this.oldestTs = undefined;
    this.bufferedBytes = 0;
    this.room.open();
    this.logger.error({ error: error.message, dropped: lost }, 'stdout is closed; events can no longer be written there and are counted as rejected');
  }
}

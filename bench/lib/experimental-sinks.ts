// Sinks that exist only to measure what the real stdout sink costs (--profile breakdowns).
// Neither is a proposal as written: they show how much a change of policy would buy.
import type { CmsEvent } from '../../src/state/events.js';
import type { Sink, SinkStatus } from '../../src/sinks/types.js';

/** Takes every line and drops it: the hub still serialises each event, nothing is written. */
export class NullSink implements Sink {
  readonly name = 'null';
  readonly type = 'stdout';
  private delivered = 0;

  write(_event: CmsEvent, _line: string): void {
    this.delivered++;
  }

  status(): SinkStatus {
    return { name: this.name, type: this.type, state: 'ok', backlog: 0, delivered: this.delivered, lastError: null, full: false };
  }

  async close(): Promise<void> {}
}

/**
 * stdout with another flush policy: lines wait up to `intervalMs` (or 256 KiB) and leave in one
 * write, instead of one write per turn of the event loop. In lock-step a turn holds a single
 * message, so the real sink makes one write(2) per message.
 */
export class CoalescingStdoutSink implements Sink {
  readonly name = 'stdout';
  readonly type = 'stdout';
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private delivered = 0;

  constructor(private readonly intervalMs: number) {}

  write(_event: CmsEvent, line: string): void {
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= 256 * 1024) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  status(): SinkStatus {
    return { name: this.name, type: this.type, state: 'ok', backlog: this.lines.length, delivered: this.delivered, lastError: null, full: false };
  }

  async close(): Promise<void> {
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    process.stdout.write(`${this.lines.join('\n')}\n`);
    this.delivered += this.lines.length;
    this.lines = [];
    this.bytes = 0;
  }
}

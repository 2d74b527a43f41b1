// Everything the hub keeps for one server: its session, its handler queue, and the figures the
// API and metrics read.
import type { Session, ServerTarget } from '../session/types.js';
import type { ServerDispatcher } from './dispatcher.js';

const EPS_WINDOW = 5;

export class ServerRuntime {
  session!: Session;
  dispatcher!: ServerDispatcher;
  readonly eventCounts = new Map<string, number>();
  totalEvents = 0;
  /** Sequence of the last CMS message whose events were received, and of the last acked one. */
  messageSeq = 0;
  /** Whether the last server.* event said connected. */
  connected = false;
  /** Set while stopping, to know whether the session announced the disconnection itself. */
  disconnectAnnounced = false;
  private samples: { at: number; total: number }[] = [];

  constructor(readonly target: ServerTarget) {}

  count(type: string): void {
    this.totalEvents++;
    this.eventCounts.set(type, (this.eventCounts.get(type) ?? 0) + 1);
  }

  /** Called once a second by the hub. */
  sample(now: number): void {
    this.samples.push({ at: now, total: this.totalEvents });
    if (this.samples.length > EPS_WINDOW + 1) this.samples.shift();
  }

  eventsPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at === first.at) return 0;
    return Math.round(((last.total - first.total) * 1000 * 10) / (last.at - first.at)) / 10;
  }
}

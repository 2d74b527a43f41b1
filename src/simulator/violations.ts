// Client protocol violations seen by one server. Bounded: a broken client in a long run must not
// grow memory without limit; the first violations are the telling ones, so those are kept.
import type { Violation } from './types.js';

const KEPT = 10_000;

export class ViolationLog {
  private readonly kept: Violation[] = [];
  private dropped = 0;

  record(connectionId: number, kind: string, detail: string): void {
    if (this.kept.length < KEPT) this.kept.push({ at: Date.now(), connectionId, kind, detail });
    else this.dropped += 1;
  }

  list(): Violation[] {
    return this.kept.map((v) => ({ ...v }));
  }

  /** Violations not kept because the log was full. */
  get overflow(): number {
    return this.dropped;
  }
}

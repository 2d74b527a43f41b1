// Client protocol violations seen by one server. Bounded: a broken client in a long run must not
// grow memory without limit; the first violations are the telling ones, so those are kept.
import type { Violation } from './types.js';

const KEPT = 10_000;

export class ViolationLog {
  private readonly kept: Violation[] = [];

  record(connectionId: number, kind: string, detail: string): void {
    if (this.kept.length < KEPT) this.kept.push({ at: Date.now(), connectionId, kind, detail });
  }

  list(): Violation[] {
    return this.kept.map((v) => ({ ...v }));
  }
}

// The batches `next` handed out and not yet fully acknowledged, oldest first. Records carry
// byte positions only; this is where an ack learns how many records it covers, for the one
// record count the spool keeps (its backlog). The work is per batch, not per record.
import type { SpoolRecord } from './record.js';

interface HandedOut {
  records: readonly SpoolRecord[];
  /** How many of them are acknowledged. */
  acked: number;
}

export class HandOuts {
  #batches: HandedOut[] = [];

  add(records: readonly SpoolRecord[]): void {
    this.#batches.push({ records, acked: 0 });
  }

  /** Acknowledges every record that ends at or before byte `end`; returns how many were not before. */
  ackThrough(end: number): number {
    let count = 0;
    while (this.#batches.length > 0) {
      const batch = this.#batches[0]!;
      const { records } = batch;
      const last = records[records.length - 1]!;
      if (last.pos + last.bytes <= end) {
        count += records.length - batch.acked;
        this.#batches.shift();
        continue;
      }
      let covered = batch.acked;
      while (records[covered]!.pos + records[covered]!.bytes <= end) covered += 1;
      count += covered - batch.acked;
      batch.acked = covered;
      break;
    }
    return count;
  }

  /** Records handed out and not acknowledged. */
  get outstanding(): number {
    let count = 0;
    for (const batch of this.#batches) count += batch.records.length - batch.acked;
    return count;
  }
}

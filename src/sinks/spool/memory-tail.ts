// The newest records not yet handed out, kept in memory up to a byte budget, so that a sink
// that keeps up is served without reading the disk. When the budget is exceeded the oldest are
// dropped from memory (they are on disk, or about to be) and the reader fetches them from there.
import type { SpoolRecord } from './record.js';

export class MemoryTail {
  readonly #budget: number;
  #records: SpoolRecord[] = [];
  #head = 0;
  #bytes = 0;

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes;
  }

  /** The oldest record kept; the next one to hand out if it is also the next in the spool. */
  get head(): SpoolRecord | undefined {
    return this.#records[this.#head];
  }

  get length(): number {
    return this.#records.length - this.#head;
  }

  push(record: SpoolRecord): void {
    this.#records.push(record);
    this.#bytes += record.bytes;
    // The newest record is always kept, whatever its size.
    while (this.#bytes > this.#budget && this.#head < this.#records.length - 1) {
      this.#bytes -= this.#records[this.#head]!.bytes;
      this.#head += 1;
    }
    this.#compact();
  }

  /** Takes records from the head, at most `maxRecords` and about `maxBytes`, none at or past byte `written`. */
  take(maxRecords: number, maxBytes: number, written: number): SpoolRecord[] {
    const out: SpoolRecord[] = [];
    let bytes = 0;
    while (this.#head < this.#records.length && out.length < maxRecords) {
      const record = this.#records[this.#head]!;
      if (record.pos >= written || (out.length > 0 && bytes + record.bytes > maxBytes)) break;
      out.push(record);
      bytes += record.bytes;
      this.#head += 1;
      this.#bytes -= record.bytes;
    }
    this.#compact();
    return out;
  }

  /** Drops the array's consumed prefix once it is most of it (amortised: not at every record). */
  #compact(): void {
    if (this.#head > 4096 && this.#head * 2 > this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
  }
}

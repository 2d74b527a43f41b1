// What the spool tests (sink-spool, spool-in-place) share: reading records back from a spool.
import assert from 'node:assert/strict';
import type { Spool, SpoolRecord } from '../../src/sinks/spool/index.js';

/** The next `count` records, `batch` at a time; with `ack`, each batch is acknowledged as it comes. */
export async function drain(spool: Spool, count: number, batch = 50, ack = true): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  while (out.length < count) {
    const records = await spool.next(Math.min(batch, count - out.length), 1 << 20);
    assert.ok(records.length > 0);
    out.push(...records);
    if (ack) spool.ack(records[records.length - 1]!);
  }
  return out;
}

// A spooled sink's retry loop on a manual clock: the waits between attempts follow the shared
// backoff with equal jitter (between half and all of a window that doubles up to the maximum),
// the state goes retrying → failing after five attempts, and one delivery resets both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { DeliveryOutcome, DeliveryTransport } from '../src/sinks/delivery.js';
import { SpooledSink } from '../src/sinks/spooled-sink.js';
import type { SpoolRecord } from '../src/sinks/spool/index.js';
import { makeEvents, recordLogs, tempDir, waitFor } from './helpers/sinks.js';
import { ManualClock } from './helpers/manual-clock.js';

/** A downstream that refuses service for its first `failures` attempts, and notes when each came. */
class FlakyDownstream implements DeliveryTransport {
  readonly target = 'flaky';
  readonly attempts: number[] = [];
  readonly received: string[] = [];
  constructor(
    private readonly clock: ManualClock,
    public failures: number,
  ) {}

  async deliver(records: readonly SpoolRecord[]): Promise<DeliveryOutcome> {
    this.attempts.push(this.clock.now());
    if (this.attempts.length <= this.failures) return { kind: 'failed', delivered: 0, error: 'HTTP 503' };
    this.received.push(...records.map((r) => r.id));
    return { kind: 'delivered' };
  }

  async close(): Promise<void> {}
}

test('retries wait between half and all of a doubling window (equal jitter), capped; failing after 5 attempts; reset by a delivery', async () => {
  const { dir, remove } = await tempDir('spool-retry');
  const clock = new ManualClock();
  const downstream = new FlakyDownstream(clock, 7);
  const logs = recordLogs('info');
  const sink = await SpooledSink.create(
    { name: 'flaky', type: 'webhook', spoolDir: dir, spoolMaxBytes: 1 << 20, batch: 10, backoffInitialMs: 100, backoffMaxMs: 800, logger: logs.logger, registry: new Registry(), clock },
    downstream,
  );
  try {
    /** Moves the clock timer by timer until the downstream sees one more attempt. */
    const nextAttempt = async (): Promise<void> => {
      const before = downstream.attempts.length;
      await waitFor(() => clock.pending > 0, 'a retry waiting on the clock');
      while (downstream.attempts.length === before) {
        await clock.advance(clock.nextIn ?? 0);
        await waitFor(() => downstream.attempts.length > before || clock.pending > 0, 'an attempt or a timer');
      }
    };
    const events = makeEvents(['cms-a'], 5);
    for (const e of events) sink.write(e, JSON.stringify(e));
    await waitFor(() => downstream.attempts.length === 1, 'the first attempt');
    const states: string[] = [];
    for (let i = 0; i < downstream.failures; i += 1) {
      await waitFor(() => sink.status().state !== 'ok', 'the failure to be counted');
      states.push(sink.status().state);
      await nextAttempt();
    }
    await waitFor(() => downstream.received.length === events.length, 'delivered once the downstream is back');
    assert.deepEqual(downstream.received, events.map((e) => e.id));
    const gaps = downstream.attempts.slice(1).map((at, i) => at - downstream.attempts[i]!);
    const windows = [100, 200, 400, 800, 800, 800, 800];
    gaps.forEach((gap, i) => assert.ok(gap >= windows[i]! / 2 && gap <= windows[i]!, `wait ${i + 1}: ${gap} ms within [${windows[i]! / 2}, ${windows[i]}]`));
    assert.deepEqual(states, ['retrying', 'retrying', 'retrying', 'retrying', 'failing', 'failing', 'failing']);
    await waitFor(() => sink.status().state === 'ok', 'ok again');
    assert.equal(logs.count('delivery works again'), 1);

    // A new failure starts again from the first window.
    downstream.failures = downstream.attempts.length + 1;
    const more = makeEvents(['cms-a'], 1);
    sink.write(more[0]!, JSON.stringify(more[0]));
    await waitFor(() => sink.status().state === 'retrying', 'the new failure');
    const failedAt = downstream.attempts[downstream.attempts.length - 1]!;
    await nextAttempt();
    const gap = downstream.attempts[downstream.attempts.length - 1]! - failedAt;
    assert.ok(gap >= 50 && gap <= 100, `first window again: ${gap} ms`);
    await waitFor(() => sink.status().backlog === 0, 'delivered');
  } finally {
    await sink.close();
    await remove();
  }
});

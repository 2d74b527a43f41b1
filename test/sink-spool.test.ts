// The on-disk spool on its own: order, segment rolling and deletion, the cursor across
// reopen, the in-memory tail versus disk reads, torn tails, and the full/room signal.
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { SPOOL } from '../src/defaults.js';
import { Spool } from '../src/sinks/spool/index.js';
import { segmentName } from '../src/sinks/spool/record.js';
import { ManualClock, settle } from './helpers/manual-clock.js';
import { recordLogs, tempDir, waitFor } from './helpers/sinks.js';
import { drain } from './helpers/spool.js';

const silent = recordLogs('silent').logger;

function add(spool: Spool, from: number, to: number, pad = 0): void {
  for (let i = from; i < to; i += 1) {
    const server = `s${i % 3}`;
    spool.append(`e${i}`, server, 'call.updated', new Date().toISOString(), JSON.stringify({ id: `e${i}`, server, pad: 'x'.repeat(pad) }));
  }
}


const segmentsIn = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('seg-')).sort();

test('records come back in order across segments; delivered segments are deleted; the cursor survives reopen', async () => {
  const { dir, remove } = await tempDir('spool-order');
  try {
    const spool = await Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 4096, logger: silent });
    add(spool, 0, 2000, 20);
    const got = await drain(spool, 2000);
    assert.deepEqual(got.map((r) => r.id), Array.from({ length: 2000 }, (_, i) => `e${i}`));
    assert.equal(got[5]!.server, 's2');
    assert.equal(JSON.parse(got[5]!.line).id, 'e5');
    assert.equal(spool.backlog, 0);
    assert.equal(spool.backlogBytes, 0);
    await spool.flush();
    // Only the segment still being written remains (delivered ones are unlinked in the background).
    await waitFor(async () => (await segmentsIn(dir)).length === 1, 'delivered segments deleted', 10_000);
    await spool.close();
    const cursor = JSON.parse(await readFile(path.join(dir, 'cursor.json'), 'utf8'));
    assert.equal(typeof cursor.segment, 'number');

    const again = await Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 4096, logger: silent });
    assert.equal(again.backlog, 0);
    add(again, 2000, 2010);
    const more = await drain(again, 10);
    assert.deepEqual(more.map((r) => r.id), Array.from({ length: 10 }, (_, i) => `e${2000 + i}`));
    await again.close();
  } finally {
    await remove();
  }
});

test('reopen delivers the undelivered rest first, reading disk, then continues with new records', async () => {
  const { dir, remove } = await tempDir('spool-reopen');
  try {
    const first = await Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 8192, logger: silent });
    add(first, 0, 1000, 50);
    const delivered = await drain(first, 300, 100);
    assert.equal(delivered.length, 300);
    // Handed out but not acknowledged: must come again after reopen (at least once).
    const unacked = await first.next(40, 1 << 20);
    assert.equal(unacked[0]!.id, 'e300');
    await first.close();

    const logs = recordLogs('info');
    const second = await Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: 8192, logger: logs.logger, memoryBytes: 4096 });
    assert.equal(second.backlog, 700);
    assert.equal(logs.count('undelivered events from a previous run'), 1);
    // New records while the old ones are still waiting; the small memory tail forces disk reads.
    add(second, 1000, 1500, 50);
    const rest = await drain(second, 1200, 64);
    assert.deepEqual(rest.map((r) => r.id), Array.from({ length: 1200 }, (_, i) => `e${300 + i}`));
    assert.equal(second.backlog, 0);
    await second.close();
  } finally {
    await remove();
  }
});

test('a torn last record (the process died mid-write) is trimmed and everything before it kept', async () => {
  const { dir, remove } = await tempDir('spool-torn');
  try {
    const spool = await Spool.open({ dir, maxBytes: 10 << 20, logger: silent });
    add(spool, 0, 10);
    await spool.close();
    const [segment] = await segmentsIn(dir);
    await appendFile(path.join(dir, segment!), '["e10","s1","call.updated","2025-01-01T00:00:00Z"]\t{"id":"e1');

    const logs = recordLogs('info');
    const reopened = await Spool.open({ dir, maxBytes: 10 << 20, logger: logs.logger });
    assert.equal(reopened.backlog, 10);
    assert.equal(logs.count('dropped an incomplete record'), 1);
    const got = await drain(reopened, 10);
    assert.deepEqual(got.map((r) => r.id), Array.from({ length: 10 }, (_, i) => `e${i}`));
    assert.ok(got.every((r) => r.corrupt === undefined));
    await reopened.close();
  } finally {
    await remove();
  }
});

test('a damaged record is handed out marked corrupt instead of stopping the spool', async () => {
  const { dir, remove } = await tempDir('spool-corrupt');
  try {
    const spool = await Spool.open({ dir, maxBytes: 10 << 20, logger: silent });
    add(spool, 0, 3);
    await spool.close();
    const [segment] = await segmentsIn(dir);
    await appendFile(path.join(dir, segment!), 'garbage without a header\n');
    const reopened = await Spool.open({ dir, maxBytes: 10 << 20, logger: silent });
    add(reopened, 3, 5);
    const got = await drain(reopened, 6);
    assert.deepEqual(got.map((r) => r.corrupt === undefined ? r.id : 'corrupt'), ['e0', 'e1', 'e2', 'corrupt', 'e3', 'e4']);
    await reopened.close();
  } finally {
    await remove();
  }
});

test('full: signalled once per episode; room again below 90 % of the limit; nothing refused', async () => {
  const { dir, remove } = await tempDir('spool-full');
  try {
    const changes: boolean[] = [];
    const spool = await Spool.open({ dir, maxBytes: 64 * 1024, logger: silent, onFullChange: (f) => changes.push(f) });
    let i = 0;
    while (!spool.full) add(spool, i, ++i, 200);
    add(spool, i, i + 20, 200); // still accepted while full
    i += 20;
    assert.deepEqual(changes, [true]);
    let resolved = false;
    const room = spool.waitForRoom().then(() => (resolved = true));
    // Room is given (or not) synchronously by ack; one turn of the event loop lets a resolution show.
    await settle();
    assert.equal(resolved, false);
    // Deliver a little: still above 90 %.
    await drain(spool, 2);
    await settle();
    assert.equal(resolved, false);
    assert.equal(spool.full, true);
    await drain(spool, 60);
    await room;
    assert.deepEqual(changes, [true, false]);
    assert.equal(spool.backlog, i - 62);
    await spool.close();
  } finally {
    await remove();
  }
});

test('a full disk (ENOSPC): events wait in memory, the writer is held back, and all of them are written once there is room', async () => {
  const { dir, remove } = await tempDir('spool-enospc');
  const logs = recordLogs('info');
  try {
    const changes: boolean[] = [];
    const clock = new ManualClock();
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger: logs.logger, onFullChange: (f) => changes.push(f), clock });
    // The first segment of a new spool (created at its first write) is /dev/full: every write
    // to it fails with ENOSPC, as on a full disk.
    const firstSegment = path.join(dir, segmentName(1));
    await symlink('/dev/full', firstSegment);
    add(spool, 0, 50);
    await waitFor(() => changes.includes(true), 'the write error', 20_000);
    assert.equal(spool.full, true, 'the writer (and so the hub and its acks) is held back');
    const error = logs.lines.find((l) => l.msg.includes('cannot write to disk'));
    assert.match(String(error?.error), /ENOSPC|no space/i);
    let handedOut = false;
    const first = spool.next(10, 1 << 20).then((records) => ((handedOut = true), records));
    // The retry waits on the clock, and nothing else does yet.
    await waitFor(() => clock.pending === 1, 'the retry timer');
    assert.equal(clock.nextIn, SPOOL.writeRetryMs);
    for (let retry = 1; retry <= 2; retry += 1) {
      await clock.advance(SPOOL.writeRetryMs);
      // The retry failed again once its successor is waiting.
      await waitFor(() => clock.pending === 1, `retry ${retry} to fail`);
      assert.equal(clock.nextIn, SPOOL.writeRetryMs);
    }
    assert.equal(handedOut, false, 'nothing is handed to the sink before it is on disk');
    assert.equal(spool.full, true);
    assert.equal(logs.count('cannot write to disk'), 1, 'said once, not at every retry');

    await unlink(firstSegment); // room again: the retry opens a real file
    await clock.advance(SPOOL.writeRetryMs);
    await waitFor(() => !spool.full, 'writing works again', 5000);
    assert.deepEqual(changes, [true, false]);
    add(spool, 50, 60);
    const records = await first;
    spool.ack(records[records.length - 1]!);
    const rest = await drain(spool, 50);
    assert.deepEqual([...records, ...rest].map((r) => r.id), Array.from({ length: 60 }, (_, i) => `e${i}`));
    assert.equal(logs.count('writing to disk works again'), 1);
    await spool.flush();
    const onDisk = (await readFile(firstSegment, 'utf8')).split('\n').filter((line) => line !== '');
    assert.equal(onDisk.length, 60, 'every record reached the disk');
    await spool.close();
  } finally {
    await remove();
  }
});

test('reopening a spool folder that is still open in this process is refused', async () => {
  const { dir, remove } = await tempDir('spool-twice');
  try {
    const spool = await Spool.open({ dir, maxBytes: 1 << 20, logger: silent });
    await assert.rejects(Spool.open({ dir, maxBytes: 1 << 20, logger: silent }), /already used by another part of this process/);
    await spool.close();
    const again = await Spool.open({ dir, maxBytes: 1 << 20, logger: silent });
    await again.close();
  } finally {
    await remove();
  }
});

// The spool written in place (the CDR intake's): segments made ahead of time full of zeros and
// written at positions, read back up to their first zero byte after a reopen, a torn record
// zeroed rather than cut, and new records going on after the old ones.
import assert from 'node:assert/strict';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Spool } from '../src/sinks/spool/index.js';
import { segmentName } from '../src/sinks/spool/record.js';
import { recordLogs, tempDir } from './helpers/sinks.js';
import { drain } from './helpers/spool.js';

const silent = recordLogs('silent').logger;
const SEGMENT = 4096;

const openSpool = (dir: string) => Spool.open({ dir, maxBytes: 10 << 20, segmentBytes: SEGMENT, logger: silent, inPlace: true });

function add(spool: Spool, from: number, to: number): void {
  for (let i = from; i < to; i += 1) spool.append(`b${i}`, 'cms-1', 'body', new Date().toISOString(), JSON.stringify(`<records session="s"><record recordIndex="${i}"/></records>`));
}


const segmentFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('seg-')).sort();

test('in place: segments are made full size ahead of time, and a reopen finds every record and goes on after them', async () => {
  const { dir, remove } = await tempDir('spool-in-place');
  try {
    const spool = await openSpool(dir);
    add(spool, 0, 100);
    await spool.durable();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 2, `records over several segments (${files.join(', ')})`);
    for (const file of files) assert.equal((await stat(path.join(dir, file))).size, SEGMENT, `${file} has its full size from the start`);
    // The next one is ready before it is needed.
    assert.equal((await stat(path.join(dir, 'next-segment.zero'))).size, SEGMENT);
    const first = await drain(spool, 40, 40, false);
    spool.ack(first[first.length - 1]!);
    await spool.close();

    const again = await openSpool(dir);
    assert.equal(again.backlog, 60, 'the 60 records not acknowledged, none of the zeros');
    add(again, 100, 110);
    await again.durable();
    const rest = await drain(again, 70, 70, false);
    assert.deepEqual(rest.map((r) => r.id), Array.from({ length: 70 }, (_, i) => `b${40 + i}`));
    assert.equal(JSON.parse(rest[0]!.line), '<records session="s"><record recordIndex="40"/></records>');
    assert.ok(rest.every((r) => r.corrupt === undefined));
    await again.close();
  } finally {
    await remove();
  }
});

test('in place: a record cut short by a crash is zeroed (the segment keeps its size) and everything before it kept', async () => {
  const { dir, remove } = await tempDir('spool-in-place-torn');
  try {
    const spool = await openSpool(dir);
    add(spool, 0, 3);
    await spool.durable();
    await spool.close();
    // What a kill during a write may leave: the start of a record after the last whole one.
    const file = path.join(dir, segmentName(1));
    const handle = await open(file, 'r+');
    const content = Buffer.alloc(SEGMENT);
    await handle.read(content, 0, SEGMENT, 0);
    const end = content.indexOf(0);
    assert.ok(end > 0);
    await handle.write(Buffer.from('["b3","cms-1","bo'), 0, 17, end);
    await handle.close();

    const again = await openSpool(dir);
    assert.equal(again.backlog, 3);
    assert.equal((await stat(file)).size, SEGMENT, 'not cut: the room stays for the next writes');
    add(again, 3, 5);
    await again.durable();
    const records = await drain(again, 5, 5, false);
    assert.deepEqual(records.map((r) => r.id), ['b0', 'b1', 'b2', 'b3', 'b4']);
    assert.ok(records.every((r) => r.corrupt === undefined), 'the torn bytes were not read as a record');
    await again.close();
  } finally {
    await remove();
  }
});

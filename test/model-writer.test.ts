// Writing stored models (hub/model-writer.ts, hub/model-store.ts) on a manual clock: at most once
// per interval while a model changes, never while it is idle, never while its events may not
// have reached the sinks, and once more on flush; each file replaced whole.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import pino from 'pino';
import { ModelStore } from '../src/hub/model-store.js';
import { ModelWriter } from '../src/hub/model-writer.js';
import { ServerState, decodeModel } from '../src/state/index.js';
import { tempDir } from './helpers/daemon.js';
import { ManualClock } from './helpers/manual-clock.js';

const silent = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp() {
  const dir = tempDir('cms-events-models-');
  const store = await ModelStore.open(dir, silent);
  const clock = new ManualClock();
  const writer = new ModelWriter(store, clock, 1000, silent);
  cleanups.push(async () => {
    await writer.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const state = new ServerState({ server: 'cms-a' });
  let settled = true;
  writer.track('cms-a', { state, settled: () => settled });
  writer.start();
  const file = store.fileOf('cms-a');
  const stored = () => {
    const decoded = decodeModel(readFileSync(file, 'utf8'), 'cms-a');
    assert.ok(decoded.ok);
    return decoded.calls;
  };
  /** One interval passes and the round it starts is finished. */
  const tick = async () => {
    await clock.advance(1000);
    await writer.flushed();
  };
  return { dir, store, clock, writer, state, file, stored, tick, setSettled: (value: boolean) => (settled = value) };
}

test('a changing model is written once per interval; an idle one never', async () => {
  const { writer, state, stored, tick } = await setUp();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'One' }]);
  state.applyRoster('c1', [{ participant: 'ann', updateType: 'add', name: 'Ann' }]);
  assert.equal(writer.writes, 0, 'nothing before the interval');
  await tick();
  assert.equal(writer.writes, 1, 'two changes, one write');
  assert.deepEqual(stored(), [{ call: { id: 'c1', name: 'One' }, roster: [{ id: 'ann', name: 'Ann' }] }]);
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(writer.writes, 1, 'idle: never rewritten');
  state.applyRoster('c1', [{ participant: 'ann', updateType: 'update', audioMuted: true }]);
  await tick();
  assert.equal(writer.writes, 2);
  assert.equal(stored()[0]?.roster[0]?.audioMuted, true);
});

test('a model whose events may not have reached the sinks waits; flush writes what is settled', async () => {
  const { writer, state, stored, tick, setSettled } = await setUp();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'One' }]);
  setSettled(false);
  await tick();
  await tick();
  assert.equal(writer.writes, 0, 'not while a sink or handler queue holds its events');
  await writer.flush();
  assert.equal(writer.writes, 0, 'not on flush either: the stored model never claims more than was delivered');
  setSettled(true);
  await writer.flush();
  assert.equal(writer.writes, 1);
  assert.equal(stored()[0]?.call.id, 'c1');
});

test('a model restored from the store is not written again until it changes', async () => {
  const { dir, clock, writer } = await setUp();
  const restored = new ServerState({ server: 'cms-b' });
  restored.restore([{ call: { id: 'c9', name: 'Nine' }, roster: [] }]);
  writer.track('cms-b', { state: restored, settled: () => true });
  await clock.advance(3000);
  await writer.flushed();
  assert.equal(writer.writes, 0);
  assert.deepEqual(readdirSync(join(dir, 'servers')), [], 'no file written for an unchanged (or empty) model');
});

test('a stored model that cannot be used is set aside with its path logged, and the server starts fresh', async () => {
  const dir = tempDir('cms-events-models-');
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const store = await ModelStore.open(dir, log);
  cleanups.push(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  writeFileSync(store.fileOf('cms-a'), '{"version":1,"server":"cms-a","calls":[{"call":{"id":"c1"'); // cut short
  writeFileSync(store.fileOf('cms-b'), JSON.stringify({ version: 99, server: 'cms-b', calls: [] }));
  assert.equal((await store.load('cms-a')).calls, undefined);
  assert.equal((await store.load('cms-b')).calls, undefined);
  assert.equal((await store.load('cms-c')).calls, undefined, 'no file: nothing to restore, nothing logged');
  const left = readdirSync(join(dir, 'servers')).sort();
  assert.equal(left.length, 2);
  assert.match(left[0]!, /^cms-a\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d/);
  assert.match(left[1]!, /^cms-b\.json\.corrupt-/);
  assert.equal(lines.length, 2);
  assert.ok(lines[0]!.includes(store.fileOf('cms-a')) && /cut short/.test(lines[0]!), lines[0]);
  assert.ok(lines[1]!.includes(store.fileOf('cms-b')) && /unknown version 99/.test(lines[1]!), lines[1]);
  assert.deepEqual(await store.servers(), [], 'set-aside files are not models');
});

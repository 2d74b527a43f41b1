// The write-ahead journal of a server's events (hub/model-journal.ts) and replaying it onto a
// stored model (state/stored-model.ts replayEvents): generations close as models are written,
// a line cut short by a kill is not an event, and replay sets the states the events carry.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ModelJournal } from '../src/hub/model-journal.js';
import { ServerState, eventLine, replayEvents, type CmsEvent } from '../src/state/index.js';
import { tempDir } from './helpers/daemon.js';

let seq = 0;
function lines(): { events: CmsEvent[]; lines: string[] } {
  const state = new ServerState({ server: 'cms-a', newEventId: () => `e${++seq}` });
  const events = [
    ...state.applyCallList([{ call: 'c1', updateType: 'add', name: 'One' }]),
    ...state.applyRoster('c1', [
      { participant: 'ann', updateType: 'add', name: 'Ann', audioMuted: false },
      { participant: 'bob', updateType: 'add', name: 'Bob' },
    ]),
    ...state.applyRoster('c1', [{ participant: 'ann', updateType: 'update', audioMuted: true }]),
    ...state.applyRoster('c1', [{ participant: 'bob', updateType: 'remove' }]),
    ...state.applyCallList([{ call: 'c2', updateType: 'add', name: 'Two' }]),
    ...state.applyCallList([{ call: 'c2', updateType: 'remove' }]),
  ];
  return { events, lines: events.map(eventLine) };
}

test('generations: what a written model covers is dropped, the rest is read back in order', async () => {
  const folder = tempDir('cms-events-journal-');
  const { lines: all } = lines();
  const journal = new ModelJournal(folder, 'cms-a', 0);
  journal.append(all.slice(0, 2));
  const covered = journal.rotate(); // a model is being written: it includes generation 0
  journal.append(all.slice(2, 4));
  journal.append(all.slice(4));
  journal.close();
  assert.equal(covered, 0);
  assert.deepEqual((await ModelJournal.read(folder, 'cms-a', -1)).lines, all, 'no model: every generation counts');
  const after = await ModelJournal.read(folder, 'cms-a', covered);
  assert.deepEqual(after.lines, all.slice(2));
  assert.equal(after.next, 2);
  await journal.dropUpTo(covered);
  assert.deepEqual(readdirSync(folder), ['cms-a.journal-1']);
  await journal.dropAll();
  assert.deepEqual(readdirSync(folder), []);
});

test('drops: the first also takes the generations of an earlier run; later ones take what this run wrote', async () => {
  const folder = tempDir('cms-events-journal-');
  const { lines: all } = lines();
  const earlier = new ModelJournal(folder, 'cms-a', 0);
  earlier.append(all.slice(0, 1));
  earlier.rotate();
  earlier.append(all.slice(1, 2));
  earlier.close();
  const { next } = await ModelJournal.read(folder, 'cms-a', -1);
  assert.equal(next, 2);
  const journal = new ModelJournal(folder, 'cms-a', next);
  journal.append(all.slice(2, 3));
  const first = journal.rotate();
  journal.append(all.slice(3, 4));
  await journal.dropUpTo(first);
  assert.deepEqual(readdirSync(folder), ['cms-a.journal-3'], 'the earlier run\'s generations and the one covered are gone');
  const second = journal.rotate();
  journal.append(all.slice(4));
  await journal.dropUpTo(second);
  assert.deepEqual(readdirSync(folder), ['cms-a.journal-4']);
  journal.close();
});

test('a line cut short by the kill is not an event; another server\'s journal is not read', async () => {
  const folder = tempDir('cms-events-journal-');
  mkdirSync(folder, { recursive: true });
  const { lines: all } = lines();
  appendFileSync(join(folder, 'cms-a.journal-3'), `${all[0]}\n${all[1]!.slice(0, 20)}`);
  appendFileSync(join(folder, 'cms-a-2.journal-9'), `${all[2]}\n`);
  const read = await ModelJournal.read(folder, 'cms-a', 2);
  assert.deepEqual(read.lines, [all[0]]);
  assert.equal(read.next, 4);
});

test('replaying events onto a stored model sets the states they carry', () => {
  const { events, lines: all } = lines();
  const replayed = replayEvents([{ call: { id: 'c0', name: 'Zero' }, roster: [{ id: 'zed', name: 'Zed' }] }], ['not json', '{"type":"server.connected","server":"cms-a"}', ...all]);
  assert.deepEqual(replayed.events.map((e) => e.id), events.map((e) => e.id), 'only call and participant events');
  assert.deepEqual(replayed.calls, [
    { call: { id: 'c0', name: 'Zero' }, roster: [{ id: 'zed', name: 'Zed' }] },
    { call: { id: 'c1', name: 'One' }, roster: [{ id: 'ann', name: 'Ann', audioMuted: true }] },
  ]);
});

test('a journal that cannot be written is logged once and never throws', async () => {
  const folder = join(tempDir('cms-events-journal-'), 'gone'); // never created: every open fails
  const said: string[] = [];
  const log = { error: (_fields: unknown, message: string) => said.push(message), info: (_fields: unknown, message: string) => said.push(message) };
  const journal = new ModelJournal(folder, 'cms-a', 0, log as never);
  journal.append(['{"a":1}']);
  journal.append(['{"a":2}']);
  assert.equal(said.length, 1);
  assert.match(said[0]!, /cannot write the journal; events still go to the sinks/);
  mkdirSync(folder, { recursive: true });
  journal.append(['{"a":3}']);
  journal.close();
  assert.match(said[1]!, /can be written again/);
  assert.deepEqual((await ModelJournal.read(folder, 'cms-a', -1)).lines, ['{"a":3}']);
});

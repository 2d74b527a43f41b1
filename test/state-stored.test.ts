// The model kept across the daemon's restarts (state/stored-model.ts, ServerState.stored and
// restore): what is written reads back the same, a restored model reconciles against the first
// snapshot exactly as after an outage, and a file that cannot be trusted is refused with a reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerState, decodeModel, encodeModel, isCallEvent, type CmsEvent } from '../src/state/index.js';

let seq = 0;
const fresh = () => new ServerState({ server: 'cms-a', now: () => Date.parse('2026-12-03T10:00:00Z'), newEventId: () => `e${++seq}` });
const subject = (e: CmsEvent): string => (!isCallEvent(e) ? e.server : 'participantId' in e ? e.participantId : e.callId);
const kinds = (events: CmsEvent[]) => events.map((e) => `${e.type}:${subject(e)}${e.synthetic ? '*' : ''}`);

/** A model that announced call c1 (Ann, Bob, Cy) and call c2 (Dee). */
function announced(): ServerState {
  const state = fresh();
  state.applyCallList([
    { call: 'c1', updateType: 'add', name: 'One', participants: 3 },
    { call: 'c2', updateType: 'add', name: 'Two', participants: 1 },
  ]);
  state.applyRoster('c1', [
    { participant: 'ann', updateType: 'add', name: 'Ann', audioMuted: false },
    { participant: 'bob', updateType: 'add', name: 'Bob', audioMuted: false },
    { participant: 'cy', updateType: 'add', name: 'Cy', audioMuted: false },
  ]);
  state.applyRoster('c2', [{ participant: 'dee', updateType: 'add', name: 'Dee' }]);
  return state;
}

function restarted(before: ServerState): ServerState {
  const decoded = decodeModel(encodeModel('cms-a', before.stored(), '2026-12-03T10:00:00.000Z'), 'cms-a');
  assert.ok(decoded.ok);
  const after = fresh();
  after.restore(decoded.calls);
  return after;
}

test('a stored model reads back the same', () => {
  const before = announced();
  const after = restarted(before);
  assert.deepEqual(after.calls(), before.calls());
  assert.equal(after.restored, true);
});

test('the first snapshot after a restart announces exactly what changed while the daemon was down', () => {
  const state = restarted(announced());
  state.beginResync();
  // c1 is still there (renamed); c2 ended; c3 is new.
  const calls = state.applyCallList([
    { call: 'c1', updateType: 'add', name: 'One, renamed', participants: 3 },
    { call: 'c3', updateType: 'add', name: 'Three', participants: 1 },
  ]);
  // Ann unchanged, Bob muted, Cy left, Eve new.
  const roster = state.applyRoster('c1', [
    { participant: 'ann', updateType: 'add', name: 'Ann', audioMuted: false },
    { participant: 'bob', updateType: 'add', name: 'Bob', audioMuted: true },
    { participant: 'eve', updateType: 'add', name: 'Eve', audioMuted: false },
  ]);
  const callsDone = state.completeCallsSnapshot();
  const rosterDone = state.completeRosterSnapshot('c1');
  assert.deepEqual(kinds([...calls, ...roster, ...callsDone, ...rosterDone]), [
    'call.updated:c1*',
    'call.started:c3',
    'participant.updated:bob*',
    'participant.joined:eve',
    'participant.left:dee*',
    'call.ended:c2*',
    'participant.left:cy*',
  ]);
  const bob = roster.find((e) => e.type === 'participant.updated');
  assert.deepEqual(bob?.type === 'participant.updated' && bob.changes, { audioMuted: true });
  assert.equal(state.restored, false, 'confirmed once the calls snapshot is complete');
});

test('nothing already announced is announced again', () => {
  const state = restarted(announced());
  state.beginResync();
  const events = [
    ...state.applyCallList([
      { call: 'c1', updateType: 'add', name: 'One', participants: 3 },
      { call: 'c2', updateType: 'add', name: 'Two', participants: 1 },
    ]),
    ...state.applyRoster('c1', [
      { participant: 'ann', updateType: 'add', name: 'Ann', audioMuted: false },
      { participant: 'bob', updateType: 'add', name: 'Bob', audioMuted: false },
      { participant: 'cy', updateType: 'add', name: 'Cy', audioMuted: false },
    ]),
    ...state.applyRoster('c2', [{ participant: 'dee', updateType: 'add', name: 'Dee' }]),
    ...state.completeCallsSnapshot(),
    ...state.completeRosterSnapshot('c1'),
    ...state.completeRosterSnapshot('c2'),
  ];
  assert.deepEqual(kinds(events), []);
});

test('the revision moves with every change and only then', () => {
  const state = announced();
  const before = state.revision;
  state.applyRoster('c1', [{ participant: 'ann', updateType: 'update', audioMuted: false }]); // no change
  assert.equal(state.revision, before);
  state.applyRoster('c1', [{ participant: 'ann', updateType: 'update', audioMuted: true }]);
  assert.equal(state.revision, before + 1);
  state.applyRoster('nope', [{ participant: 'x', updateType: 'update', audioMuted: true }]); // late: nothing
  assert.equal(state.revision, before + 1);
});

test('a stored model that cannot be trusted is refused with a reason', () => {
  const good = encodeModel('cms-a', announced().stored(), '2026-12-03T10:00:00.000Z');
  const refused = (text: string, server = 'cms-a') => {
    const decoded = decodeModel(text, server);
    assert.equal(decoded.ok, false, text.slice(0, 60));
    return decoded.ok ? '' : decoded.problem;
  };
  assert.match(refused(good.slice(0, good.length / 2)), /not JSON, or cut short/);
  assert.match(refused(good.replace('"version":1', '"version":7')), /unknown version 7 \(this daemon reads version 1\)/);
  assert.match(refused(good, 'cms-b'), /model of server "cms-a", not "cms-b"/);
  assert.match(refused('{"version":1,"server":"cms-a","calls":{}}'), /`calls` is not a list/);
  assert.match(refused('{"version":1,"server":"cms-a","calls":[{"call":{"name":"no id"},"roster":[]}]}'), /calls\[0\]\.call is not a call/);
  assert.match(refused('{"version":1,"server":"cms-a","calls":[{"call":{"id":"c","name":{"x":1}},"roster":[]}]}'), /calls\[0\]\.call is not a call/);
  assert.match(refused('{"version":1,"server":"cms-a","calls":[{"call":{"id":"c"},"roster":[{"name":"no id"}]}]}'), /calls\[0\]\.roster\[0\] is not a participant/);
  // Unknown elements are dropped, not trusted.
  const decoded = decodeModel('{"version":1,"server":"cms-a","calls":[{"call":{"id":"c","name":"C","colour":"red"},"roster":[]}]}', 'cms-a');
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.calls[0]?.call, { id: 'c', name: 'C' });
});

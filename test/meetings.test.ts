// The meetings reducer (src/state/meetings.ts), fed by real per-server models: one meeting per
// callCorrelator over any number of bridges, participants once by id, started/ended exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Meetings, ServerState, type CmsEvent } from '../src/state/index.js';

const MEETING = 'corr-weekly';

/** Two bridges' models and the meetings above them; `events` is everything delivered, in order. */
function makeCluster(options: { onShared?: (id: string, servers: readonly string[]) => void } = {}) {
  let seq = 0;
  const meetings = new Meetings({ now: () => 0, newEventId: () => `m${++seq}`, onSharedParticipant: options.onShared });
  const states = new Map(['a', 'b', 'c'].map((name) => [name, new ServerState({ server: name, newEventId: () => `${name}${++seq}` })]));
  const events: CmsEvent[] = [];
  const deliver = (server: string, produced: CmsEvent[]) => {
    const out = meetings.apply(server, produced);
    events.push(...out);
    return out;
  };
  const state = (server: string) => states.get(server)!;
  return {
    meetings,
    events,
    state,
    startCall: (server: string, callId: string, fields: Record<string, unknown> = { name: 'Weekly', callCorrelator: MEETING }) =>
      deliver(server, state(server).applyCallList([{ call: callId, updateType: 'add', ...fields }])),
    updateCall: (server: string, callId: string, fields: Record<string, unknown>) =>
      deliver(server, state(server).applyCallList([{ call: callId, updateType: 'update', ...fields }])),
    endCall: (server: string, callId: string) => deliver(server, state(server).applyCallList([{ call: callId, updateType: 'remove' }])),
    join: (server: string, callId: string, participant: string, fields: Record<string, unknown> = {}) =>
      deliver(server, state(server).applyRoster(callId, [{ participant, updateType: 'add', state: 'connected', ...fields }])),
    update: (server: string, callId: string, participant: string, fields: Record<string, unknown>) =>
      deliver(server, state(server).applyRoster(callId, [{ participant, updateType: 'update', ...fields }])),
    leave: (server: string, callId: string, participant: string) =>
      deliver(server, state(server).applyRoster(callId, [{ participant, updateType: 'remove' }])),
    /** A reconnect of `server` whose snapshot shows nothing: its calls ended while it was away. */
    emptySnapshot: (server: string) => {
      state(server).beginResync();
      return deliver(server, state(server).completeCallsSnapshot());
    },
    deliver,
  };
}

const types = (events: CmsEvent[]) => events.map((e) => e.type);
const meetingEvents = (events: CmsEvent[]) => events.filter((e) => e.type.startsWith('meeting.'));

test('a meeting spread over two bridges starts with its first instance and ends with its last, once each', () => {
  const c = makeCluster();
  assert.deepEqual(types(c.startCall('a', 'a1')), ['meeting.started', 'call.started']);
  const [started] = c.events;
  assert.ok(started?.type === 'meeting.started');
  assert.equal(started.server, 'a');
  assert.equal(started.meetingId, MEETING);
  assert.deepEqual(started.meeting, { id: MEETING, name: 'Weekly', servers: ['a'], participants: 0 });
  assert.equal(started.synthetic, undefined);

  assert.deepEqual(types(c.startCall('b', 'b1')), ['call.started'], 'the second instance is not a new meeting');
  assert.deepEqual(c.meetings.get(MEETING)?.servers, ['a', 'b']);
  assert.deepEqual(c.meetings.get(MEETING)?.calls, [{ server: 'a', callId: 'a1' }, { server: 'b', callId: 'b1' }]);

  c.join('a', 'a1', 'p1');
  assert.deepEqual(types(c.endCall('a', 'a1')), ['participant.left', 'call.ended'], 'one bridge ending its part is not the end');
  assert.deepEqual(c.meetings.get(MEETING)?.servers, ['b']);
  assert.equal(c.meetings.counts().meetings, 1);

  assert.deepEqual(types(c.endCall('b', 'b1')), ['call.ended', 'meeting.ended']);
  const ended = c.events.at(-1)!;
  assert.ok(ended.type === 'meeting.ended');
  assert.equal(ended.server, 'b');
  assert.deepEqual(ended.meeting, { id: MEETING, name: 'Weekly', servers: ['b'], participants: 0 });
  assert.equal(c.meetings.list().length, 0);
  assert.deepEqual(types(meetingEvents(c.events)), ['meeting.started', 'meeting.ended']);
});

test('a call without a correlator is a meeting of its own, named <server>:<callId>', () => {
  const c = makeCluster();
  c.startCall('a', 'solo', { name: 'Huddle' });
  c.startCall('b', 'solo', { name: 'Huddle', callCorrelator: '' });
  assert.deepEqual(
    c.meetings.list().map((m) => [m.id, m.servers]),
    [
      ['a:solo', ['a']],
      ['b:solo', ['b']],
    ],
  );
  assert.equal(meetingEvents(c.events).length, 2);
});

test('a participant listed by two bridges counts once; the first to list it hosts it until the REST API says otherwise', () => {
  const shared: [string, readonly string[]][] = [];
  const c = makeCluster({ onShared: (id, servers) => shared.push([id, servers]) });
  c.startCall('a', 'a1');
  c.startCall('b', 'b1');
  c.join('a', 'a1', 'kim', { name: 'Kim', audioMuted: false });
  c.join('b', 'b1', 'kim', { name: 'Kim (remote)', audioMuted: true });
  c.join('b', 'b1', 'ana', { name: 'Ana' });
  let view = c.meetings.get(MEETING)!;
  assert.deepEqual(
    view.participants.map((p) => [p.id, p.server, p.name]),
    [
      ['kim', 'a', 'Kim'],
      ['ana', 'b', 'Ana'],
    ],
  );
  assert.equal(c.meetings.counts().participants, 2);
  assert.deepEqual(shared, [['kim', ['a', 'b']]], 'the host is asked for only when two bridges list one participant');

  c.meetings.setHost('kim', 'b');
  view = c.meetings.get(MEETING)!;
  assert.deepEqual(view.participants[0], { id: 'kim', server: 'b', name: 'Kim (remote)', state: 'connected', audioMuted: true });

  // An update from either bridge keeps one entry; the host's elements are the ones shown.
  c.update('b', 'b1', 'kim', { audioMuted: false });
  assert.equal(c.meetings.get(MEETING)!.participants.filter((p) => p.id === 'kim').length, 1);
  assert.equal(c.meetings.get(MEETING)!.participants[0]!.audioMuted, false);

  // The host's listing goes: the other bridge's listing remains, the participant is still there.
  c.leave('b', 'b1', 'kim');
  view = c.meetings.get(MEETING)!;
  assert.deepEqual(view.participants.map((p) => [p.id, p.server]), [['kim', 'a'], ['ana', 'b']]);
  c.leave('a', 'a1', 'kim');
  assert.deepEqual(c.meetings.get(MEETING)!.participants.map((p) => p.id), ['ana']);
  assert.equal(c.events.filter((e) => e.type === 'meeting.started').at(-1)?.meeting.participants, 0);
});

test('a participant moving between bridges stays one participant; a host learnt before the move is dropped', () => {
  const shared: string[] = [];
  const c = makeCluster({ onShared: (id) => shared.push(id) });
  c.startCall('a', 'a1');
  c.startCall('b', 'b1');
  c.join('a', 'a1', 'kim');
  c.join('b', 'b1', 'kim');
  c.meetings.setHost('kim', 'a');
  // Moves to b: a stops listing it as its own and lists it again as remote.
  c.leave('a', 'a1', 'kim');
  assert.deepEqual(c.meetings.get(MEETING)!.participants.map((p) => [p.id, p.server]), [['kim', 'b']]);
  c.join('a', 'a1', 'kim');
  assert.deepEqual(c.meetings.get(MEETING)!.participants.map((p) => [p.id, p.server]), [['kim', 'b']], 'the first to list it now is b');
  assert.deepEqual(shared, ['kim', 'kim'], 'asked again after the move');
});

test('an outage of one bridge in the middle of a spread meeting: its part ends on return, the meeting goes on', () => {
  const c = makeCluster();
  c.startCall('a', 'a1');
  c.startCall('b', 'b1');
  c.join('a', 'a1', 'kim');
  c.join('b', 'b1', 'ana');
  // a comes back with its part gone: synthetic leave and end, the meeting continues on b.
  assert.deepEqual(types(c.emptySnapshot('a')), ['participant.left', 'call.ended']);
  assert.deepEqual(c.meetings.get(MEETING)?.servers, ['b']);
  // b comes back with its part gone: the meeting ends, synthetic like the call.ended it follows.
  const out = c.emptySnapshot('b');
  assert.deepEqual(types(out), ['participant.left', 'call.ended', 'meeting.ended']);
  assert.equal(out[2]!.synthetic, true);
  assert.deepEqual(types(meetingEvents(c.events)), ['meeting.started', 'meeting.ended']);
});

test('restored models rebuild the meetings without events; the reconciliation after the restart ends them once', () => {
  const before = makeCluster();
  before.startCall('a', 'a1');
  before.startCall('b', 'b1');
  before.join('a', 'a1', 'kim');
  before.join('b', 'b1', 'kim');

  const after = makeCluster();
  for (const server of ['a', 'b']) {
    after.state(server).restore(before.state(server).stored());
    after.meetings.restore(server, before.state(server).stored());
  }
  assert.deepEqual(after.meetings.list(), before.meetings.list());
  assert.equal(after.events.length, 0);
  // b's part still runs, a's ended while the daemon was down.
  after.state('b').beginResync();
  after.deliver('b', after.state('b').applyCallList([{ call: 'b1', updateType: 'add', name: 'Weekly', callCorrelator: MEETING }]));
  after.deliver('b', after.state('b').completeCallsSnapshot());
  assert.deepEqual(types(after.emptySnapshot('a')), ['participant.left', 'call.ended']);
  assert.deepEqual(after.meetings.get(MEETING)?.participants.map((p) => [p.id, p.server]), [['kim', 'b']]);
  assert.equal(meetingEvents(after.events).length, 0, 'nothing announced twice');
  assert.deepEqual(types(after.endCall('b', 'b1')), ['participant.left', 'call.ended', 'meeting.ended']);
});

test('a call whose correlator arrives or changes later moves to that meeting, ending and starting as needed', () => {
  const c = makeCluster();
  c.startCall('a', 'a1', { name: 'Adhoc' });
  c.startCall('b', 'b1');
  c.join('a', 'a1', 'kim');
  const out = c.updateCall('a', 'a1', { callCorrelator: MEETING });
  assert.deepEqual(types(out), ['call.updated', 'meeting.ended']);
  assert.equal((out[1] as { meetingId: string }).meetingId, 'a:a1');
  assert.deepEqual(c.meetings.get(MEETING)?.servers, ['b', 'a']);
  assert.deepEqual(c.meetings.get(MEETING)?.participants.map((p) => p.id), ['kim']);
  const started = new Set(c.events.filter((e) => e.type === 'meeting.started').map((e) => (e as { meetingId: string }).meetingId));
  const ended = c.events.filter((e) => e.type === 'meeting.ended').map((e) => (e as { meetingId: string }).meetingId);
  assert.deepEqual([...started], ['a:a1', MEETING]);
  assert.deepEqual(ended, ['a:a1']);
  // A renamed first instance renames the meeting.
  c.updateCall('b', 'b1', { name: 'Weekly (renamed)' });
  assert.equal(c.meetings.get(MEETING)?.name, 'Weekly (renamed)');
});

test('duplicates and strays change nothing: a call started twice, a roster entry for an unknown call', () => {
  const c = makeCluster();
  c.startCall('a', 'a1');
  const again = c.meetings.apply('a', [{ id: 'x', ts: '', type: 'call.started', server: 'a', callId: 'a1', call: { id: 'a1', callCorrelator: MEETING } }]);
  assert.deepEqual(types(again), ['call.started']);
  c.meetings.apply('a', [
    { id: 'y', ts: '', type: 'participant.joined', server: 'a', callId: 'zz', call: { id: 'zz' }, participantId: 'p', participant: { id: 'p' } },
    { id: 'z', ts: '', type: 'call.ended', server: 'a', callId: 'zz', call: { id: 'zz' } },
  ]);
  assert.equal(c.meetings.counts().meetings, 1);
  assert.equal(c.meetings.counts().participants, 0);
});

test('a bridge whose own-participant count changes in a meeting with shared people puts their hosts in doubt', () => {
  const doubts: string[] = [];
  let seq = 0;
  const meetings = new Meetings({ newEventId: () => `m${++seq}`, onSharedParticipant: () => undefined, onHostsInDoubt: (id) => doubts.push(id) });
  const states = { a: new ServerState({ server: 'a' }), b: new ServerState({ server: 'b' }) };
  const feed = (server: 'a' | 'b', events: CmsEvent[]) => meetings.apply(server, events);
  feed('a', states.a.applyCallList([{ call: 'a1', updateType: 'add', callCorrelator: MEETING, participants: 0 }]));
  feed('b', states.b.applyCallList([{ call: 'b1', updateType: 'add', callCorrelator: MEETING, participants: 0 }]));
  feed('a', states.a.applyRoster('a1', [{ participant: 'ana', updateType: 'add', state: 'connected' }]));
  feed('a', states.a.applyCallList([{ call: 'a1', updateType: 'update', participants: 1 }]));
  assert.deepEqual(doubts, [], 'nobody is listed twice: a count change says nothing about hosts');
  feed('a', states.a.applyRoster('a1', [{ participant: 'kim', updateType: 'add', state: 'connected' }]));
  feed('b', states.b.applyRoster('b1', [{ participant: 'kim', updateType: 'add', state: 'connected' }]));
  meetings.setHost('kim', 'b');
  assert.deepEqual(meetings.sharedParticipants(MEETING), [['kim', ['b', 'a']]], 'the known host first');
  // Kim moves from b to a; both still list her: only the counts change.
  feed('a', states.a.applyCallList([{ call: 'a1', updateType: 'update', participants: 2 }]));
  assert.deepEqual(doubts, [MEETING]);
  feed('a', states.a.applyCallList([{ call: 'a1', updateType: 'update', name: 'Renamed' }]));
  assert.deepEqual(doubts, [MEETING], 'other changes do not');
  assert.deepEqual(meetings.sharedParticipants('no-such-meeting'), []);
});

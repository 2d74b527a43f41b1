// The per-server reducer: the recorded meeting replayed, races, event snapshots and ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseServerFrame, type ServerMessage } from '../src/protocol/index.js';
import { ServerState, newEventId, type CmsEvent } from '../src/state/index.js';

const FIXTURE = new URL('./fixtures/meeting.ndjson', import.meta.url);
const CALL = '3f0c1d52-7a1e-4c2b-9a41-0c5d2e8b7a10';
const ROOM = 'a1e5f7c2-0b3d-4e8f-9c1a-2d4e6f8a0b1c';
const KIM = 'c9d8e7f6-5a4b-4c3d-8e2f-1a0b9c8d7e6f';
const RECORDER = '0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b';
const T0 = Date.parse('2025-03-04T10:00:00.000Z');

function fixtureMessages(): ServerMessage[] {
  const messages: ServerMessage[] = [];
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const parsed = parseServerFrame(line);
    assert.ok(parsed.ok, `fixture line does not parse: ${line}`);
    if (parsed.kind === 'message') messages.push(parsed.message);
  }
  return messages;
}

/** A reducer with a clock that advances one second per call and ids e1, e2, … */
function makeState() {
  let clock = T0;
  let seq = 0;
  const state = new ServerState({ server: 'cms-a', now: () => (clock += 1000), newEventId: () => `e${++seq}` });
  return state;
}

/** What the session does with the fixture's subscriptions: 1 calls, 2 callInfo and 3 callRoster of CALL. */
function replay(state: ServerState, messages: ServerMessage[]): CmsEvent[][] {
  const perMessage: CmsEvent[][] = [];
  for (const message of messages) {
    switch (message.type) {
      case 'callListUpdate':
        assert.equal(message.subscriptionIndex, 1);
        perMessage.push(state.applyCallList(message.updates));
        break;
      case 'callInfoUpdate':
        assert.equal(message.subscriptionIndex, 2);
        perMessage.push(state.applyCallInfo(CALL, message.callInfo));
        break;
      case 'rosterUpdate':
        assert.equal(message.subscriptionIndex, 3);
        perMessage.push(state.applyRoster(CALL, message.updates));
        break;
      case 'subscriptionUpdate':
        break;
      default: {
        const unhandled: never = message;
        throw new Error(`unexpected ${String(unhandled)}`);
      }
    }
  }
  return perMessage;
}

/** The essentials of an event, to compare whole sequences at a glance. */
function summary(event: CmsEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { type: event.type };
  if ('participantId' in event) out.participantId = event.participantId;
  if ('changes' in event) out.changes = event.changes;
  if ('reason' in event) out.reason = event.reason;
  if (event.synthetic) out.synthetic = true;
  return out;
}

const CALL_AT_START = {
  id: CALL,
  name: 'Weekly Sync',
  participants: 1,
  distributedInstances: 0,
  recording: 'inactive',
  endpointRecording: 'inactive',
  streaming: 'inactive',
  lockState: 'unlocked',
  callType: 'coSpace',
  callCorrelator: 'b2d7e0a4-11c9-4f5e-8e3a-6f1d2c9b0e77',
};

const ROOM_AT_START = {
  id: ROOM,
  name: 'Room 4.12',
  uri: 'room412@example.com',
  state: 'connected',
  direction: 'incoming',
  audioMuted: false,
  videoMuted: false,
  importance: null,
  layout: 'allEqual',
  activeSpeaker: false,
  presenter: false,
  endpointRecording: 'inactive',
  canMove: true,
  movedParticipant: null,
  movedParticipantCallBridge: null,
};

test('the recorded meeting yields exactly the expected events', () => {
  const state = makeState();
  const perMessage = replay(state, fixtureMessages());
  const events = perMessage.flat();

  assert.deepEqual(events.map(summary), [
    { type: 'call.started' },
    // The full first callInfoUpdate repeats the callList values; only the element the calls
    // subscription cannot carry is new.
    { type: 'call.updated', changes: { joinAudioMuteOverride: false } },
    { type: 'participant.joined', participantId: ROOM },
    { type: 'participant.joined', participantId: KIM },
    { type: 'participant.updated', participantId: KIM, changes: { state: 'ringing' } },
    {
      type: 'participant.updated',
      participantId: KIM,
      changes: { name: 'Kim Lee', uri: '5551234@example.com;x-cisco-number=5551234', state: 'connected' },
    },
    // callInfo reports the new count; the callList update with the same count says nothing new.
    { type: 'call.updated', changes: { participants: 2 } },
    { type: 'participant.updated', participantId: ROOM, changes: { activeSpeaker: true } },
    { type: 'participant.updated', participantId: ROOM, changes: { activeSpeaker: false } },
    { type: 'participant.updated', participantId: KIM, changes: { activeSpeaker: true } },
    { type: 'participant.updated', participantId: ROOM, changes: { layout: 'telepresence' } },
    { type: 'participant.updated', participantId: KIM, changes: { layout: 'telepresence' } },
    { type: 'call.updated', changes: { recording: 'active' } },
    { type: 'participant.joined', participantId: RECORDER },
    { type: 'participant.left', participantId: RECORDER, reason: 'unknownDestination' },
    { type: 'call.updated', changes: { recording: 'inactive' } },
    { type: 'participant.updated', participantId: KIM, changes: { state: 'onHold' } },
    { type: 'participant.left', participantId: KIM, reason: 'participantInitiated' },
    { type: 'call.updated', changes: { participants: 1 } },
    { type: 'participant.left', participantId: ROOM },
    { type: 'call.ended', reason: 'allLeft' },
  ]);

  // Nothing after the call ended: the late roster update is counted, not announced.
  const endedAt = perMessage.findIndex((batch) => batch.some((e) => e.type === 'call.ended'));
  assert.deepEqual(perMessage.slice(endedAt + 1).flat(), []);
  assert.deepEqual(state.counters, { lateUpdates: 1, unknownIds: 0 });
  assert.equal(state.callIds().includes(CALL), false);
  assert.deepEqual(state.calls(), []);

  // Base fields on every event.
  const ids = events.map((e) => e.id);
  assert.equal(new Set(ids).size, events.length);
  for (const event of events) {
    assert.equal(event.server, 'cms-a');
    assert.match(event.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(!('synthetic' in event), `${event.type} must not be synthetic`);
    if ('callId' in event) assert.equal(event.callId, CALL);
  }
  // One timestamp per message; the clock advances between messages.
  const layoutBatch = perMessage.find((batch) => batch.length === 2 && batch[0]!.type === 'participant.updated')!;
  assert.equal(layoutBatch[0]!.ts, layoutBatch[1]!.ts);
  assert.notEqual(events[0]!.ts, events[1]!.ts);
});

test('events carry the merged state of the call and participant at that moment', () => {
  const events = replay(makeState(), fixtureMessages()).flat();

  assert.deepEqual(events[0], {
    id: 'e1',
    ts: events[0]!.ts,
    type: 'call.started',
    server: 'cms-a',
    callId: CALL,
    call: CALL_AT_START,
  });
  // callList and callInfo elements merged into one call state.
  assert.deepEqual(events[1]!.type === 'call.updated' && events[1]!.call, { ...CALL_AT_START, joinAudioMuteOverride: false });
  assert.deepEqual(events[2], {
    id: 'e3',
    ts: events[2]!.ts,
    type: 'participant.joined',
    server: 'cms-a',
    callId: CALL,
    participantId: ROOM,
    call: { ...CALL_AT_START, joinAudioMuteOverride: false },
    participant: ROOM_AT_START,
  });

  const kimConnected = events[5]!;
  assert.equal(kimConnected.type, 'participant.updated');
  assert.ok(kimConnected.type === 'participant.updated');
  assert.equal(kimConnected.participant.name, 'Kim Lee');
  assert.equal(kimConnected.participant.state, 'connected');
  assert.equal(kimConnected.participant.direction, 'outgoing');
  assert.equal(kimConnected.call.participants, 1, 'the count changes only with the next callInfoUpdate');

  const recorderLeft = events[14]!;
  assert.ok(recorderLeft.type === 'participant.left');
  assert.equal(recorderLeft.reason, 'unknownDestination');
  assert.equal(recorderLeft.participant.uri, 'recorder@example.com');
  assert.equal(recorderLeft.call.recording, 'active');

  const ended = events[20]!;
  assert.ok(ended.type === 'call.ended');
  assert.deepEqual(ended.call, { ...CALL_AT_START, participants: 1, joinAudioMuteOverride: false });
});

test('calls() shows the live model as copies', () => {
  const state = makeState();
  const messages = fixtureMessages();
  // Up to and including the layout change: Room and Kim on the roster, Kim connected.
  const upToLayout = messages.findIndex((m) => m.messageId === 15);
  replay(state, messages.slice(0, upToLayout + 1));

  const views = state.calls();
  assert.equal(views.length, 1);
  const [view] = views;
  assert.equal(view!.id, CALL);
  assert.equal(view!.participants, 2);
  assert.equal(view!.joinAudioMuteOverride, false);
  assert.deepEqual(
    view!.roster.map((p) => [p.id, p.name, p.state, p.layout, p.activeSpeaker]),
    [
      [ROOM, 'Room 4.12', 'connected', 'telepresence', false],
      [KIM, 'Kim Lee', 'connected', 'telepresence', true],
    ],
  );
  assert.deepEqual(state.callIds(), [CALL]);
  assert.equal(state.callIds().includes(CALL), true);

  view!.name = 'changed by a reader';
  view!.roster[0]!.name = 'changed by a reader';
  assert.equal(state.calls()[0]!.name, 'Weekly Sync');
  assert.equal(state.calls()[0]!.roster[0]!.name, 'Room 4.12');
});

test('every join gets its leave when a call ends with participants', () => {
  const state = makeState();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room', participants: 3 }]);
  state.applyRoster('c1', [
    { participant: 'p1', updateType: 'add', name: 'A', state: 'connected' },
    { participant: 'p2', updateType: 'add', name: 'B', state: 'ringing' },
    { participant: 'p3', updateType: 'add', name: 'C', state: 'connected' },
  ]);
  state.applyRoster('c1', [{ participant: 'p2', updateType: 'remove' }]);

  const events = state.applyCallList([{ call: 'c1', updateType: 'remove', reason: 'participantInitiated' }]);
  assert.deepEqual(events.map(summary), [
    // Inferred from the call's end, not read from a roster message: synthetic.
    { type: 'participant.left', participantId: 'p1', reason: 'callEnded', synthetic: true },
    { type: 'participant.left', participantId: 'p3', reason: 'callEnded', synthetic: true },
    { type: 'call.ended', reason: 'participantInitiated' },
  ]);
  const [left] = events;
  assert.ok(left!.type === 'participant.left');
  assert.deepEqual(left.participant, { id: 'p1', name: 'A', state: 'connected' });
  assert.deepEqual(left.call, { id: 'c1', name: 'Room', participants: 3 });

  // The roster is gone with the call: its late tail is counted, never announced.
  assert.deepEqual(state.applyRoster('c1', [{ participant: 'p1', updateType: 'remove' }]), []);
  assert.deepEqual(state.applyCallInfo('c1', { participants: 0 }), []);
  assert.deepEqual(state.counters, { lateUpdates: 2, unknownIds: 0 });
  assert.deepEqual(state.calls(), []);
});

test('a call remove without a reason ends the call without one', () => {
  const state = makeState();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room' }]);
  const [ended] = state.applyCallList([{ call: 'c1', updateType: 'remove' }]);
  assert.ok(ended!.type === 'call.ended');
  assert.ok(!('reason' in ended));
});

test('unknown ids and late updates are counted, produce nothing, never throw', () => {
  const state = makeState();
  // For a call never added: callList update/remove are unknown ids; roster and callInfo are late.
  assert.deepEqual(state.applyCallList([{ call: 'ghost', updateType: 'update', participants: 2 }]), []);
  assert.deepEqual(state.applyCallList([{ call: 'ghost', updateType: 'remove', reason: 'allLeft' }]), []);
  assert.deepEqual(
    state.applyRoster('ghost', [
      { participant: 'p1', updateType: 'add', name: 'A' },
      { participant: 'p1', updateType: 'update', state: 'connected' },
    ]),
    [],
  );
  assert.deepEqual(state.applyCallInfo('ghost', { recording: 'active' }), []);
  assert.deepEqual(state.counters, { lateUpdates: 3, unknownIds: 2 });

  // For a known call, participants never added.
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room' }]);
  assert.deepEqual(state.applyRoster('c1', [{ participant: 'nobody', updateType: 'update', state: 'connected' }]), []);
  assert.deepEqual(state.applyRoster('c1', [{ participant: 'nobody', updateType: 'remove', reason: 'x' }]), []);
  assert.deepEqual(state.counters, { lateUpdates: 3, unknownIds: 4 });
  assert.deepEqual(state.calls(), [{ id: 'c1', name: 'Room', roster: [] }]);
  assert.deepEqual(state.callIds(), ['c1']);
});

test('a repeated add is not announced again: only changed fields, or nothing', () => {
  const state = makeState();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room', participants: 1, recording: 'inactive' }]);
  state.applyRoster('c1', [{ participant: 'p1', updateType: 'add', name: '', state: 'initial', audioMuted: false }]);

  assert.deepEqual(state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room', participants: 1, recording: 'inactive' }]), []);
  assert.deepEqual(state.applyRoster('c1', [{ participant: 'p1', updateType: 'add', name: '', state: 'initial', audioMuted: false }]), []);

  const [callUpdated] = state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room', participants: 2, recording: 'inactive' }]);
  assert.deepEqual(summary(callUpdated!), { type: 'call.updated', changes: { participants: 2 } });
  const [participantUpdated] = state.applyRoster('c1', [{ participant: 'p1', updateType: 'add', name: 'Ann', state: 'initial', audioMuted: true }]);
  assert.deepEqual(summary(participantUpdated!), {
    type: 'participant.updated',
    participantId: 'p1',
    changes: { name: 'Ann', audioMuted: true },
  });
});

test('updates that change nothing produce no event; wire keys never leak into state', () => {
  const state = makeState();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room', recording: 'inactive' }]);
  state.applyRoster('c1', [{ participant: 'p1', updateType: 'add', state: 'connected' }]);
  assert.deepEqual(state.applyCallList([{ call: 'c1', updateType: 'update', recording: 'inactive' }]), []);
  assert.deepEqual(state.applyCallInfo('c1', { name: 'Room' }), []);
  assert.deepEqual(state.applyCallInfo('c1', {}), []);
  assert.deepEqual(state.applyRoster('c1', [{ participant: 'p1', updateType: 'update', state: 'connected' }]), []);

  // Unknown elements (a malformed or future frame) are not taken into the model.
  const odd = JSON.parse('{"participant":"p1","updateType":"update","bogus":1,"id":"other","__proto__":{"state":"x"}}');
  assert.deepEqual(state.applyRoster('c1', [odd]), []);
  assert.deepEqual(state.calls(), [{ id: 'c1', name: 'Room', recording: 'inactive', roster: [{ id: 'p1', state: 'connected' }] }]);
});

test('events already returned are snapshots: later changes do not alter them', () => {
  const state = makeState();
  const [started] = state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room', participants: 0 }]);
  const [joined] = state.applyRoster('c1', [{ participant: 'p1', updateType: 'add', name: '', state: 'initial' }]);
  const [updated] = state.applyRoster('c1', [{ participant: 'p1', updateType: 'update', name: 'Ann', state: 'connected' }]);
  state.applyCallInfo('c1', { participants: 1, recording: 'active' });
  state.applyRoster('c1', [{ participant: 'p1', updateType: 'update', state: 'onHold' }]);

  assert.ok(started!.type === 'call.started');
  assert.deepEqual(started.call, { id: 'c1', name: 'Room', participants: 0 });
  assert.ok(joined!.type === 'participant.joined');
  assert.deepEqual(joined.participant, { id: 'p1', name: '', state: 'initial' });
  assert.deepEqual(joined.call, { id: 'c1', name: 'Room', participants: 0 });
  assert.ok(updated!.type === 'participant.updated');
  assert.deepEqual(updated.participant, { id: 'p1', name: 'Ann', state: 'connected' });
  assert.deepEqual(updated.changes, { name: 'Ann', state: 'connected' });

  // Nor do consumers that mutate an event reach into the state. `call` is shared by the events
  // of one call state, so it is frozen: changing it is an error, not a change to other events.
  joined.participant.name = 'tampered';
  assert.throws(() => {
    joined.call.name = 'tampered';
  }, TypeError);
  assert.equal(started.call, joined.call, 'one call state, one shared object');
  assert.notEqual(updated.call, state.calls()[0], 'never the live state');
  assert.deepEqual(state.calls(), [
    { id: 'c1', name: 'Room', participants: 1, recording: 'active', roster: [{ id: 'p1', name: 'Ann', state: 'onHold' }] },
  ]);
});

test('endAll() ends every call, its roster leaving first, all synthetic', () => {
  const state = makeState();
  state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room' }]);
  state.applyRoster('c1', [{ participant: 'p1', updateType: 'add', name: 'A' }]);
  const events = state.endAll('serverRemoved');
  assert.deepEqual(
    events.map((e) => [e.type, 'reason' in e ? e.reason : undefined, e.synthetic]),
    [
      ['participant.left', 'callEnded', true],
      ['call.ended', 'serverRemoved', true],
    ],
  );
  assert.deepEqual(state.calls(), []);
  assert.equal(state.callIds().includes('c1'), false);
  assert.deepEqual(state.completeCallsSnapshot(), []);
});

test('default event ids are unique across servers and carry a per-process random prefix', () => {
  const a = new ServerState({ server: 'cms-a' });
  const b = new ServerState({ server: 'cms-b' });
  const ids = new Set<string>();
  let count = 0;
  for (let i = 0; i < 200; i++) {
    for (const state of [a, b]) {
      const call = `call-${i}`;
      for (const event of [
        ...state.applyCallList([{ call, updateType: 'add', name: 'x' }]),
        ...state.applyRoster(call, [{ participant: 'p', updateType: 'add', name: 'y' }]),
        ...state.applyCallList([{ call, updateType: 'remove' }]),
      ]) {
        ids.add(event.id);
        count++;
      }
    }
  }
  assert.equal(count, 200 * 2 * 4);
  assert.equal(ids.size, count);
  const id = newEventId();
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-z]+$/);
  assert.equal(newEventId().slice(0, 36), id.slice(0, 36));
});

test('the default clock stamps events with the current time', () => {
  const state = new ServerState({ server: 'cms-a' });
  const before = Date.now();
  const [started] = state.applyCallList([{ call: 'c1', updateType: 'add' }]);
  const at = Date.parse(started!.ts);
  assert.ok(at >= before && at <= Date.now());
});

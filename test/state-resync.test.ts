// Reconciliation after a reconnect: the fresh snapshot diffed against the last known state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerState, type CmsEvent } from '../src/state/index.js';
import type { CallListEntry, RosterEntry } from '../src/protocol/index.js';

function makeState() {
  let seq = 0;
  return new ServerState({ server: 'cms-a', now: () => Date.parse('2025-03-04T10:00:00Z'), newEventId: () => `e${++seq}` });
}

function summary(event: CmsEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { type: event.type };
  if ('callId' in event) out.callId = event.callId;
  if ('participantId' in event) out.participantId = event.participantId;
  if ('changes' in event) out.changes = event.changes;
  if ('reason' in event) out.reason = event.reason;
  if (event.synthetic) out.synthetic = true;
  return out;
}

const callAdd = (call: string, fields: Partial<CallListEntry> = {}): CallListEntry => ({
  call,
  updateType: 'add',
  name: `Room ${call}`,
  participants: 2,
  recording: 'inactive',
  ...fields,
});
const participantAdd = (participant: string, fields: Partial<RosterEntry> = {}): RosterEntry => ({
  participant,
  updateType: 'add',
  name: `Person ${participant}`,
  state: 'connected',
  audioMuted: false,
  ...fields,
});
const INFO = { name: 'Room c1', participants: 2, recording: 'inactive', joinAudioMuteOverride: false } as const;

/** Before the outage: c1 with p1, p2 (and its callInfo); c2 with p3, p4, p5. */
function knownState(): ServerState {
  const state = makeState();
  state.beginResync();
  state.applyCallList([callAdd('c1'), callAdd('c2', { participants: 3 })]);
  state.completeCallsSnapshot();
  state.applyCallInfo('c1', INFO);
  state.applyRoster('c1', [participantAdd('p1'), participantAdd('p2')]);
  state.completeRosterSnapshot('c1');
  state.applyRoster('c2', [participantAdd('p3'), participantAdd('p4'), participantAdd('p5')]);
  state.completeRosterSnapshot('c2');
  return state;
}

/** A full reconnect: snapshot messages in the order the server sends them, as the session feeds them. */
function reconnect(
  state: ServerState,
  snapshot: { calls: CallListEntry[]; info?: Record<string, typeof INFO | Record<string, unknown>>; rosters: Record<string, RosterEntry[]> },
): CmsEvent[] {
  state.beginResync();
  const events = [...state.applyCallList(snapshot.calls), ...state.completeCallsSnapshot()];
  for (const [callId, info] of Object.entries(snapshot.info ?? {})) events.push(...state.applyCallInfo(callId, info));
  for (const callId of state.callIds()) {
    const roster = snapshot.rosters[callId] ?? [];
    // An empty roster sends nothing at all.
    if (roster.length > 0) events.push(...state.applyRoster(callId, roster));
    events.push(...state.completeRosterSnapshot(callId));
  }
  return events;
}

test('(a) an unchanged snapshot yields no event at all', () => {
  const state = knownState();
  const before = state.calls();
  const events = reconnect(state, {
    calls: [callAdd('c1'), callAdd('c2', { participants: 3 })],
    info: { c1: INFO },
    rosters: { c1: [participantAdd('p1'), participantAdd('p2')], c2: [participantAdd('p3'), participantAdd('p4'), participantAdd('p5')] },
  });
  assert.deepEqual(events, []);
  assert.deepEqual(state.calls(), before);
  assert.deepEqual(state.counters, { lateUpdates: 0, unknownIds: 0 });
});

test('(b) a call that vanished during the outage: each participant leaves, then the call ends, all synthetic', () => {
  const state = knownState();
  const events = reconnect(state, {
    calls: [callAdd('c1')],
    rosters: { c1: [participantAdd('p1'), participantAdd('p2')] },
  });
  assert.deepEqual(events.map(summary), [
    { type: 'participant.left', callId: 'c2', participantId: 'p3', reason: 'callEnded', synthetic: true },
    { type: 'participant.left', callId: 'c2', participantId: 'p4', reason: 'callEnded', synthetic: true },
    { type: 'participant.left', callId: 'c2', participantId: 'p5', reason: 'callEnded', synthetic: true },
    { type: 'call.ended', callId: 'c2', synthetic: true },
  ]);
  const ended = events[3]!;
  assert.ok(ended.type === 'call.ended');
  assert.deepEqual(ended.call, { id: 'c2', name: 'Room c2', participants: 3, recording: 'inactive' });
  assert.deepEqual(state.callIds(), ['c1']);
  // Its late roster tail is not announced.
  assert.deepEqual(state.applyRoster('c2', [{ participant: 'p3', updateType: 'remove' }]), []);
  assert.equal(state.counters.lateUpdates, 1);
});

test('(c) a participant who left during the outage gets a synthetic leave', () => {
  const state = knownState();
  const events = reconnect(state, {
    calls: [callAdd('c1'), callAdd('c2', { participants: 3 })],
    rosters: { c1: [participantAdd('p2')], c2: [participantAdd('p3'), participantAdd('p4'), participantAdd('p5')] },
  });
  assert.deepEqual(events.map(summary), [{ type: 'participant.left', callId: 'c1', participantId: 'p1', synthetic: true }]);
  const left = events[0]!;
  assert.ok(left.type === 'participant.left');
  assert.deepEqual(left.participant, { id: 'p1', name: 'Person p1', state: 'connected', audioMuted: false });
  assert.deepEqual(
    state.calls().find((c) => c.id === 'c1')!.roster.map((p) => p.id),
    ['p2'],
  );
});

test('(c) an empty roster snapshot means everyone left', () => {
  const state = knownState();
  const events = reconnect(state, {
    calls: [callAdd('c1'), callAdd('c2', { participants: 3 })],
    rosters: { c1: [participantAdd('p1'), participantAdd('p2')] },
  });
  assert.deepEqual(
    events.map(summary),
    ['p3', 'p4', 'p5'].map((p) => ({ type: 'participant.left', callId: 'c2', participantId: p, synthetic: true })),
  );
});

test('(d) a field changed during the outage: synthetic updated with only that field', () => {
  const state = knownState();
  const events = reconnect(state, {
    calls: [callAdd('c1', { recording: 'active' }), callAdd('c2', { participants: 3 })],
    info: { c1: { ...INFO, recording: 'active', joinAudioMuteOverride: true } },
    rosters: {
      c1: [participantAdd('p1', { audioMuted: true }), participantAdd('p2')],
      c2: [participantAdd('p3'), participantAdd('p4'), participantAdd('p5')],
    },
  });
  assert.deepEqual(events.map(summary), [
    { type: 'call.updated', callId: 'c1', changes: { recording: 'active' }, synthetic: true },
    // The recording change was already announced from the callList snapshot; the full callInfo
    // adds only what callList cannot carry.
    { type: 'call.updated', callId: 'c1', changes: { joinAudioMuteOverride: true }, synthetic: true },
    { type: 'participant.updated', callId: 'c1', participantId: 'p1', changes: { audioMuted: true }, synthetic: true },
  ]);
  const updated = events[2]!;
  assert.ok(updated.type === 'participant.updated');
  assert.equal(updated.call.recording, 'active');
  assert.equal(updated.participant.audioMuted, true);

  // After the snapshot, the same kinds of change are live again: not synthetic.
  const live = [
    ...state.applyCallList([{ call: 'c1', updateType: 'update', recording: 'inactive' }]),
    ...state.applyCallInfo('c1', { joinAudioMuteOverride: false }),
    ...state.applyRoster('c1', [{ participant: 'p1', updateType: 'update', audioMuted: false }]),
  ];
  assert.deepEqual(live.map(summary), [
    { type: 'call.updated', callId: 'c1', changes: { recording: 'inactive' } },
    { type: 'call.updated', callId: 'c1', changes: { joinAudioMuteOverride: false } },
    { type: 'participant.updated', callId: 'c1', participantId: 'p1', changes: { audioMuted: false } },
  ]);
});

test('(e) calls and participants new since the outage are announced normally', () => {
  const state = knownState();
  const events = reconnect(state, {
    calls: [callAdd('c1'), callAdd('c2', { participants: 3 }), callAdd('c3', { participants: 1 })],
    info: { c3: { participants: 1, joinAudioMuteOverride: false } },
    rosters: {
      c1: [participantAdd('p1'), participantAdd('p2'), participantAdd('p6')],
      c2: [participantAdd('p3'), participantAdd('p4'), participantAdd('p5')],
      c3: [participantAdd('p7')],
    },
  });
  assert.deepEqual(events.map(summary), [
    { type: 'call.started', callId: 'c3' },
    // A call first seen on this connection: its first callInfo is news, not reconciliation.
    { type: 'call.updated', callId: 'c3', changes: { joinAudioMuteOverride: false } },
    { type: 'participant.joined', callId: 'c1', participantId: 'p6' },
    { type: 'participant.joined', callId: 'c3', participantId: 'p7' },
  ]);
});

test('everything at once: nothing known is announced twice, counts return to zero', () => {
  const state = knownState();
  const events = reconnect(state, {
    calls: [callAdd('c1', { participants: 1 }), callAdd('c3')],
    rosters: { c1: [participantAdd('p2', { state: 'onHold' })], c3: [participantAdd('p8')] },
  });
  assert.deepEqual(events.map(summary), [
    { type: 'call.updated', callId: 'c1', changes: { participants: 1 }, synthetic: true },
    { type: 'call.started', callId: 'c3' },
    { type: 'participant.left', callId: 'c2', participantId: 'p3', reason: 'callEnded', synthetic: true },
    { type: 'participant.left', callId: 'c2', participantId: 'p4', reason: 'callEnded', synthetic: true },
    { type: 'participant.left', callId: 'c2', participantId: 'p5', reason: 'callEnded', synthetic: true },
    { type: 'call.ended', callId: 'c2', synthetic: true },
    { type: 'participant.updated', callId: 'c1', participantId: 'p2', changes: { state: 'onHold' }, synthetic: true },
    { type: 'participant.left', callId: 'c1', participantId: 'p1', synthetic: true },
    { type: 'participant.joined', callId: 'c3', participantId: 'p8' },
  ]);

  // Joins minus leaves over the whole life equals the current roster size.
  assert.deepEqual(
    state.calls().map((c) => [c.id, c.roster.map((p) => p.id)]),
    [
      ['c1', ['p2']],
      ['c3', ['p8']],
    ],
  );
});

test('a reconnect that fails before its snapshot completes changes nothing; the next one reconciles', () => {
  const state = knownState();
  state.beginResync();
  state.applyCallList([callAdd('c1')]);
  // Connection lost here: no completion. A new connection starts.
  const events = reconnect(state, {
    calls: [callAdd('c1')],
    rosters: { c1: [participantAdd('p1'), participantAdd('p2')] },
  });
  assert.deepEqual(events.map(summary), [
    ...['p3', 'p4', 'p5'].map((p) => ({ type: 'participant.left', callId: 'c2', participantId: p, reason: 'callEnded', synthetic: true })),
    { type: 'call.ended', callId: 'c2', synthetic: true },
  ]);
});

test('live messages during a resync are not synthetic and confirm what they name', () => {
  const state = knownState();
  state.beginResync();
  // A real remove and a real update for known entities before their snapshot arrived.
  const live = [
    ...state.applyRoster('c1', [{ participant: 'p1', updateType: 'remove', reason: 'participantInitiated' }]),
    ...state.applyCallList([{ call: 'c2', updateType: 'update', participants: 4 }]),
    ...state.applyCallList([{ call: 'c1', updateType: 'remove', reason: 'allLeft' }]),
  ];
  assert.deepEqual(live.map(summary), [
    { type: 'participant.left', callId: 'c1', participantId: 'p1', reason: 'participantInitiated' },
    { type: 'call.updated', callId: 'c2', changes: { participants: 4 } },
    { type: 'participant.left', callId: 'c1', participantId: 'p2', reason: 'callEnded', synthetic: true },
    { type: 'call.ended', callId: 'c1', reason: 'allLeft' },
  ]);
  // c2 was confirmed by its update: the calls snapshot does not end it.
  assert.deepEqual(state.completeCallsSnapshot(), []);
  assert.deepEqual(state.callIds(), ['c2']);
});

test('snapshot completion for unknown calls, or twice, is harmless', () => {
  const state = knownState();
  assert.deepEqual(state.completeRosterSnapshot('nope'), []);
  assert.deepEqual(state.completeCallsSnapshot(), []);
  state.beginResync();
  state.applyCallList([callAdd('c1'), callAdd('c2', { participants: 3 })]);
  assert.deepEqual(state.completeCallsSnapshot(), []);
  assert.deepEqual(state.completeCallsSnapshot(), []);
  state.applyRoster('c1', [participantAdd('p1'), participantAdd('p2')]);
  assert.deepEqual(state.completeRosterSnapshot('c1'), []);
  assert.equal(state.completeRosterSnapshot('c2').length, 3);
  assert.deepEqual(state.completeRosterSnapshot('c2'), []);
});

test('synthetic events are snapshots too', () => {
  const state = knownState();
  state.beginResync();
  const [updated] = state.applyRoster('c1', [participantAdd('p1', { audioMuted: true })]);
  state.applyRoster('c1', [{ participant: 'p1', updateType: 'update', audioMuted: false, state: 'onHold' }]);
  assert.ok(updated!.type === 'participant.updated' && updated.synthetic === true);
  assert.deepEqual(updated.participant, { id: 'p1', name: 'Person p1', state: 'connected', audioMuted: true });
  assert.deepEqual(updated.changes, { audioMuted: true });
});

test('a callInfoUpdate confirms its call for the calls snapshot', () => {
  const state = knownState();
  state.beginResync();
  assert.deepEqual(state.applyCallInfo('c1', INFO), []);
  const events = state.completeCallsSnapshot();
  assert.deepEqual(events.map(summary).filter((e) => e.callId === 'c1'), []);
  assert.deepEqual(state.callIds(), ['c1']);
});

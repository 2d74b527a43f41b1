// The dashboard's grouping of calls into meetings spread over several bridges (pure, in Node):
// calls joined by callCorrelator, participants once each with their hosting bridge (the daemon's
// hint while that bridge still lists them, else the first call's), what the model asks to refetch,
// and the coalescing of GET /api/meetings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallState, CallView, CmsEvent, ParticipantState } from '../src/state/events.js';
import type { MeetingHintView, ServerView } from '../src/http/dashboard/api.js';
import { coalescedRefresh } from '../src/http/dashboard/coalesced-refresh.js';
import { visibleMembers } from '../src/http/dashboard/filter.js';
import { DashboardModel, type CallEntry } from '../src/http/dashboard/model.js';
import { groupSpreadMeetings, meetingHintsFrom, NO_HINTS, type SpreadMeeting } from '../src/http/dashboard/model/meetings.js';

const T0 = '2026-01-01T10:00:00.000Z';
let seq = 0;

const call = (id: string, callCorrelator: string | null, name = 'All hands'): CallState => ({ id, name, callCorrelator, participants: 0 });
const person = (id: string, name: string): ParticipantState => ({ id, name, uri: `${name.toLowerCase()}@example.com`, state: 'connected' });
const entry = (server: string, c: CallState, roster: ParticipantState[] = []): CallEntry => ({
  server,
  call: c,
  roster: new Map(roster.map((p) => [p.id, p])),
});
const hosts = (meeting: SpreadMeeting | undefined) =>
  Object.fromEntries((meeting?.members ?? []).map((m) => [m.participant.id, `${m.server} ${m.callId}`]));

function server(name: string): ServerView {
  return { name, host: '127.0.0.1', port: 443, state: 'live', since: T0, connectedSince: T0, lastError: null, nextAttemptAt: null, counters: {}, calls: 0, eventsPerSecond: 0 };
}

function joined(srv: string, c: CallState, p: ParticipantState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'participant.joined', server: srv, callId: c.id, call: c, participantId: p.id, participant: p };
}
function started(srv: string, c: CallState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'call.started', server: srv, callId: c.id, call: c };
}
function ended(srv: string, c: CallState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'call.ended', server: srv, callId: c.id, call: c, reason: 'allLeft' };
}

test('calls with one correlator on two bridges are one meeting; on one bridge, or without a correlator, they are not', () => {
  const kim = person('p-kim', 'Kim');
  const ana = person('p-ana', 'Ana');
  const meetings = groupSpreadMeetings(
    [
      entry('cms-b', call('b1', 'm1'), [kim, ana]),
      entry('cms-a', call('a1', 'm1'), [kim]),
      entry('cms-a', call('a2', 'm2', 'Huddle')),
      entry('cms-a', call('a3', 'm2', 'Huddle')),
      entry('cms-b', call('b2', null)),
    ],
    NO_HINTS,
  );
  assert.deepEqual(meetings.map((m) => [m.id, m.name, m.servers]), [['m1', 'All hands', ['cms-a', 'cms-b']]]);
  // Without hints the calls go by bridge, and a shared participant is hosted by the first call listing them.
  assert.deepEqual(meetings[0]!.calls.map((e) => e.call.id), ['a1', 'b1']);
  assert.deepEqual(hosts(meetings[0]), { 'p-kim': 'cms-a a1', 'p-ana': 'cms-b b1' });
});

test("the daemon's hints order the calls and name the host while that bridge still lists the participant", () => {
  const kim = person('p-kim', 'Kim');
  const kimOnB = { ...kim, audioMuted: true };
  const calls = [entry('cms-a', call('a1', 'm1'), [kim]), entry('cms-b', call('b1', 'm1'), [kimOnB])];
  const views: MeetingHintView[] = [
    { id: 'm1', calls: [{ server: 'cms-b', callId: 'b1' }, { server: 'cms-a', callId: 'a1' }], participants: [{ id: 'p-kim', server: 'cms-b' }] },
    { id: 'solo', calls: [{ server: 'cms-a', callId: 'x' }], participants: [{ id: 'p-x', server: 'cms-a' }] },
  ];
  const hints = meetingHintsFrom(views);
  assert.deepEqual([...hints.order.keys()], ['m1'], 'a meeting of one call needs no hints');
  const [meeting] = groupSpreadMeetings(calls, hints);
  assert.deepEqual(meeting!.calls.map((e) => e.server), ['cms-b', 'cms-a']);
  assert.equal(meeting!.name, 'All hands');
  assert.deepEqual(hosts(meeting), { 'p-kim': 'cms-b b1' });
  assert.equal(meeting!.members[0]!.participant.audioMuted, true, "the host's own listing is shown");

  // The hint predates a move: b no longer lists Kim, so the first call listing her hosts her.
  const moved = groupSpreadMeetings([calls[0]!, entry('cms-b', call('b1', 'm1'), [person('p-ana', 'Ana')])], hints);
  assert.deepEqual(hosts(moved[0]), { 'p-kim': 'cms-a a1', 'p-ana': 'cms-b b1' });

  // Whatever the daemon answers, nothing breaks.
  assert.deepEqual(meetingHintsFrom({} as unknown as MeetingHintView[]), NO_HINTS);
  assert.deepEqual(meetingHintsFrom([null, { id: 'm', calls: 'no' }] as unknown as MeetingHintView[]).order.size, 0);
});

test("the search and the server filter show a meeting's matching participants, or hide it", () => {
  const [meeting] = groupSpreadMeetings(
    [entry('cms-a', call('a1', 'm1'), [person('p-kim', 'Kim'), person('p-bo', 'Bo')]), entry('cms-b', call('b1', 'm1'), [person('p-kim', 'Kim')])],
    NO_HINTS,
  );
  assert.deepEqual(visibleMembers(meeting!, { server: null, query: '' })?.map((m) => m.participant.name), ['Bo', 'Kim']);
  assert.deepEqual(visibleMembers(meeting!, { server: 'cms-b', query: 'KIM' })?.map((m) => m.participant.name), ['Kim']);
  assert.equal(visibleMembers(meeting!, { server: null, query: 'nobody' }), null);
  assert.equal(visibleMembers(meeting!, { server: 'cms-c', query: '' }), null);
});

test('the model groups its calls as events arrive, and says when the hosts may have changed', () => {
  const model = new DashboardModel();
  model.setServers([server('cms-a'), server('cms-b')]);
  const views: CallView[] = [{ ...call('a1', 'm1'), roster: [person('p-kim', 'Kim')] }, { ...call('a2', 'solo', 'Standup'), roster: [] }];
  model.setCalls('cms-a', views, model.beginCalls('cms-a'));
  model.setCalls('cms-b', [], model.beginCalls('cms-b'));
  assert.equal(model.hasSpreadMeetings(), false);

  // b's part starts: a's call is now part of a spread meeting.
  const b1 = call('b1', 'm1');
  assert.equal(model.receive(started('cms-b', b1)).refetchMeetingHints, true);
  assert.equal(model.spreadMeetingOf('cms-a', 'a1'), 'm1');
  assert.equal(model.spreadMeetingOf('cms-a', 'a2'), undefined);
  assert.equal(model.receive(joined('cms-b', b1, person('p-kim', 'Kim'))).refetchMeetingHints, true);
  assert.equal(model.receive(joined('cms-a', call('a2', 'solo', 'Standup'), person('p-bo', 'Bo'))).refetchMeetingHints, false, 'a call on one bridge asks nothing');
  assert.equal(model.callCount('cms-a'), 2, "a server's count includes its parts of spread meetings");
  assert.equal(model.participantTotal(), 2, 'Kim once, though both bridges list her, and Bo');

  model.takeChanges();
  model.setMeetingHints([{ id: 'm1', calls: [{ server: 'cms-b', callId: 'b1' }, { server: 'cms-a', callId: 'a1' }], participants: [{ id: 'p-kim', server: 'cms-b' }] }]);
  assert.equal(model.takeChanges().meetingHints, true);
  assert.deepEqual(hosts(model.spreadMeetings()[0]), { 'p-kim': 'cms-b b1' });
  model.setMeetingHints([{ id: 'm1', calls: [{ server: 'cms-b', callId: 'b1' }, { server: 'cms-a', callId: 'a1' }], participants: [{ id: 'p-kim', server: 'cms-b' }] }]);
  assert.equal(model.takeChanges().meetingHints, false, 'the same hints redraw nothing');

  // b's part ends: what is left on a is a plain call again.
  assert.equal(model.receive(ended('cms-b', b1)).refetchMeetingHints, true);
  assert.equal(model.spreadMeetingOf('cms-a', 'a1'), undefined);
  assert.deepEqual(model.spreadMeetings(), []);
  const meetingEnded: CmsEvent = { id: `e${++seq}`, ts: T0, type: 'meeting.ended', server: 'cms-a', meetingId: 'm1', meeting: { id: 'm1', name: 'All hands', servers: ['cms-a'], participants: 1 } };
  assert.equal(model.receive(meetingEnded).refetchMeetingHints, true);

  // A server leaving the configuration takes its parts with it.
  model.receive(started('cms-b', call('b3', 'm1')));
  assert.equal(model.spreadMeetingOf('cms-a', 'a1'), 'm1');
  model.setServers([server('cms-a')]);
  assert.equal(model.spreadMeetingOf('cms-a', 'a1'), undefined);
});

test('a correlator that changes moves the call out of its spread meeting', () => {
  const model = new DashboardModel();
  model.setServers([server('cms-a'), server('cms-b')]);
  model.setCalls('cms-a', [{ ...call('a1', 'm1'), roster: [] }], model.beginCalls('cms-a'));
  model.setCalls('cms-b', [{ ...call('b1', 'm1'), roster: [] }], model.beginCalls('cms-b'));
  assert.equal(model.spreadMeetingOf('cms-b', 'b1'), 'm1');
  const update: CmsEvent = { id: `e${++seq}`, ts: T0, type: 'call.updated', server: 'cms-b', callId: 'b1', call: call('b1', 'm2'), changes: { callCorrelator: 'm2' } };
  assert.equal(model.receive(update).refetchMeetingHints, true);
  assert.equal(model.spreadMeetingOf('cms-a', 'a1'), undefined);
  assert.equal(model.spreadMeetingOf('cms-b', 'b1'), undefined);
});

test('GET /api/meetings: asks within the delay share one fetch, never two in flight, and an ask during one gets one more', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let runs = 0;
  let finish: () => void = () => {};
  const ask = coalescedRefresh(() => {
    runs += 1;
    return new Promise<void>((resolve) => (finish = resolve));
  }, 300);
  ask();
  ask();
  t.mock.timers.tick(299);
  assert.equal(runs, 0);
  t.mock.timers.tick(1);
  assert.equal(runs, 1);
  ask();
  ask();
  t.mock.timers.tick(1000);
  assert.equal(runs, 1, 'not while one is in flight');
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  t.mock.timers.tick(300);
  assert.equal(runs, 2, 'the asks during it are served by one more');
  finish();
  await new Promise((resolve) => setImmediate(resolve));
  t.mock.timers.tick(1000);
  assert.equal(runs, 2);
});

// The dashboard's pure parts: snapshot + events into the model, filters, words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallState, CallView, CmsEvent, ParticipantState } from '../src/state/events.js';
import type { ServerView } from '../src/http/dashboard/api.js';
import { DashboardModel, HISTORY_LENGTH } from '../src/http/dashboard/model.js';
import { visibleRoster } from '../src/http/dashboard/filter.js';
import { eventDetail, relativeTime, serverTrouble, stateInWords } from '../src/http/dashboard/format.js';

const T0 = '2026-01-01T10:00:00.000Z';
let seq = 0;

function server(name: string, state: ServerView['state'] = 'live'): ServerView {
  return {
    name,
    host: '127.0.0.1',
    port: 443,
    state,
    since: T0,
    connectedSince: state === 'live' ? T0 : null,
    lastError: null,
    nextAttemptAt: null,
    counters: {},
    calls: 0,
    eventsPerSecond: 0,
  };
}

const call = (id: string, name = id, participants = 0): CallState => ({ id, name, participants });
const person = (id: string, name: string, uri = `${name.toLowerCase()}@example.com`): ParticipantState => ({
  id,
  name,
  uri,
  state: 'connected',
});

function joined(srv: string, c: CallState, p: ParticipantState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'participant.joined', server: srv, callId: c.id, call: c, participantId: p.id, participant: p };
}
function left(srv: string, c: CallState, p: ParticipantState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'participant.left', server: srv, callId: c.id, call: c, participantId: p.id, participant: p, reason: 'hungUp' };
}
function started(srv: string, c: CallState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'call.started', server: srv, callId: c.id, call: c };
}
function ended(srv: string, c: CallState): CmsEvent {
  return { id: `e${++seq}`, ts: T0, type: 'call.ended', server: srv, callId: c.id, call: c, reason: 'allLeft' };
}

function loaded(views: CallView[] = []): DashboardModel {
  const model = new DashboardModel();
  model.setServers([server('cms-a')]);
  model.setCalls('cms-a', views, model.beginCalls('cms-a'));
  model.takeChanges();
  return model;
}

const names = (model: DashboardModel, srv: string, callId: string) =>
  [...(model.call(srv, callId)?.roster.values() ?? [])].map((p) => p.name).sort();

test('a snapshot, then events move calls and rosters forward and mark what to redraw', () => {
  const alice = person('p1', 'Alice');
  const model = loaded([{ ...call('c1', 'Weekly', 1), roster: [alice] }]);
  const bob = person('p2', 'Bob');
  model.receive(joined('cms-a', call('c1', 'Weekly', 2), bob));
  assert.deepEqual(names(model, 'cms-a', 'c1'), ['Alice', 'Bob']);
  assert.equal(model.call('cms-a', 'c1')?.call.participants, 2);
  const changes = model.takeChanges();
  assert.deepEqual([...(changes.calls.get('cms-a') ?? [])], ['c1']);

  model.receive(left('cms-a', call('c1', 'Weekly', 1), alice));
  assert.deepEqual(names(model, 'cms-a', 'c1'), ['Bob']);
  model.receive(started('cms-a', call('c2', 'Standup')));
  assert.deepEqual(model.callsOf('cms-a').map((e) => e.call.name), ['Standup', 'Weekly']);
  model.receive(ended('cms-a', call('c2', 'Standup')));
  assert.equal(model.call('cms-a', 'c2'), undefined);
  assert.equal(model.history('cms-a', 'c2').length, 2, 'history outlives the call');
});

test('events that arrive while the snapshot loads are replayed on top of it, in order', () => {
  const model = new DashboardModel();
  model.beginReload();
  const alice = person('p1', 'Alice');
  const bob = person('p2', 'Bob');
  model.receive(joined('cms-a', call('c1'), alice));
  model.setServers([server('cms-a')]);
  const token = model.beginCalls('cms-a');
  model.endReload();
  model.receive(joined('cms-a', call('c1'), bob));
  model.receive(left('cms-a', call('c1'), alice));
  assert.equal(model.call('cms-a', 'c1'), undefined, 'nothing is applied before the snapshot');
  model.setCalls('cms-a', [{ ...call('c1'), roster: [alice] }], token);
  assert.deepEqual(names(model, 'cms-a', 'c1'), ['Bob']);
  assert.ok(model.isLoaded('cms-a'));
});

test('a superseded calls load is ignored; a failed one applies what waited and is retried', () => {
  const model = loaded();
  const old = model.beginCalls('cms-a');
  const current = model.beginCalls('cms-a');
  model.setCalls('cms-a', [{ ...call('stale'), roster: [] }], old);
  assert.equal(model.call('cms-a', 'stale'), undefined);
  model.receive(started('cms-a', call('c1')));
  model.failCalls('cms-a', current);
  assert.ok(model.call('cms-a', 'c1'));

  model.beginReload();
  assert.deepEqual(model.serversNeedingCalls(), ['cms-a']);
});

test('duplicates and unknown event types are skipped; unknown servers ask for a refetch', () => {
  const model = loaded();
  const event = started('cms-a', call('c1'));
  model.receive(event);
  model.receive(event);
  assert.equal(model.history('cms-a', 'c1').length, 1);
  const future = { ...started('cms-a', call('c9')), type: 'call.transferred' } as unknown as CmsEvent;
  assert.deepEqual(model.receive(future), { refetchServers: false, refetchCalls: false, refetchMeetingHints: false });
  assert.equal(model.call('cms-a', 'c9'), undefined);

  assert.deepEqual(model.receive(started('cms-new', call('x'))), { refetchServers: true, refetchCalls: false, refetchMeetingHints: false });
  const connected: CmsEvent = { id: `e${++seq}`, ts: T0, type: 'server.connected', server: 'cms-a' };
  assert.deepEqual(model.receive(connected), { refetchServers: true, refetchCalls: true, refetchMeetingHints: false });
});

test('server.disconnected shows the server as not live until the next poll', () => {
  const model = loaded();
  model.receive({ id: `e${++seq}`, ts: T0, type: 'server.disconnected', server: 'cms-a', reason: 'socket closed' });
  assert.equal(model.servers.get('cms-a')?.state, 'connecting');
  assert.equal(model.servers.get('cms-a')?.connectedSince, null);
  assert.ok(model.takeChanges().servers.has('cms-a'));
  model.setServers([{ ...server('cms-a', 'backoff') }]);
  assert.equal(model.servers.get('cms-a')?.state, 'backoff');
});

test('servers that disappear take their calls with them', () => {
  const model = loaded([{ ...call('c1'), roster: [] }]);
  model.setServers([server('cms-b')]);
  assert.deepEqual(model.serverNames(), ['cms-b']);
  assert.deepEqual(model.callsOf('cms-a'), []);
  assert.ok(model.takeChanges().serverList);
});

test('a call keeps only its latest events', () => {
  const model = loaded();
  const alice = person('p1', 'Alice');
  for (let i = 0; i < HISTORY_LENGTH + 20; i += 1) {
    model.receive(i % 2 ? left('cms-a', call('c1'), alice) : joined('cms-a', call('c1'), alice));
  }
  const history = model.history('cms-a', 'c1');
  assert.equal(history.length, HISTORY_LENGTH);
  assert.equal(history[history.length - 1]?.type, 'participant.left');
});

test('the search matches participant names and URIs, case-insensitively', () => {
  const model = loaded([
    { ...call('c1'), roster: [person('p1', 'Alice'), person('p2', 'Bob', 'sip:robert@corp.example')] },
  ]);
  const entry = model.call('cms-a', 'c1')!;
  assert.deepEqual(visibleRoster(entry, { server: null, query: '' })?.map((p) => p.name), ['Alice', 'Bob']);
  assert.deepEqual(visibleRoster(entry, { server: null, query: 'ROBERT' })?.map((p) => p.name), ['Bob']);
  assert.deepEqual(visibleRoster(entry, { server: null, query: ' alice ' })?.map((p) => p.name), ['Alice']);
  assert.equal(visibleRoster(entry, { server: null, query: 'nobody' }), null);
});

test('states, errors and events in words', () => {
  assert.equal(stateInWords('backoff'), 'Waiting to retry');
  assert.equal(stateInWords('someNewState'), 'Some new state');
  const down = { ...server('cms-a', 'backoff'), lastError: { kind: 'auth' as const, message: 'The server refused the username or password.', at: T0 } };
  assert.equal(serverTrouble(down), 'Bad credentials: The server refused the username or password.');
  assert.equal(relativeTime(T0, Date.parse(T0) + 90_000), '1\u00a0min ago');
  assert.equal(relativeTime(T0, Date.parse(T0) - 12_000), 'in 12\u00a0s');
  assert.equal(relativeTime(T0, Date.parse(T0) + 1_000), 'just now');
  const update: CmsEvent = {
    id: 'x', ts: T0, type: 'participant.updated', server: 'cms-a', callId: 'c1', call: call('c1'),
    participantId: 'p1', participant: person('p1', 'Alice'), changes: { audioMuted: true },
  };
  assert.equal(eventDetail(update), 'Alice (alice@example.com) · audio muted → yes');
});

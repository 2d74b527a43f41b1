// eventLine must give exactly JSON.stringify(event): it is the NDJSON line every sink, the
// stdout contract and SSE carry. Checked over every event the recorded meeting and a resync
// produce, and over shapes it does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseServerFrame } from '../src/protocol/index.js';
import { ServerState, eventLine, type CmsEvent } from '../src/state/index.js';

const FIXTURE = new URL('./fixtures/meeting.ndjson', import.meta.url);

function meetingEvents(): CmsEvent[] {
  const state = new ServerState({ server: 'cms "quoted" \\ name' });
  const events: CmsEvent[] = [];
  let callId = '';
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const parsed = parseServerFrame(line);
    assert.ok(parsed.ok);
    if (parsed.kind !== 'message') continue;
    const message = parsed.message;
    if (message.type === 'callListUpdate') {
      callId ||= message.updates[0]?.call ?? '';
      events.push(...state.applyCallList(message.updates));
    } else if (message.type === 'callInfoUpdate') events.push(...state.applyCallInfo(callId, message.callInfo));
    else if (message.type === 'rosterUpdate') events.push(...state.applyRoster(callId, message.updates));
  }
  return events;
}

test('every event of the recorded meeting serialises exactly as JSON.stringify does', () => {
  const events = meetingEvents();
  const types = new Set(events.map((e) => e.type));
  for (const type of ['call.started', 'call.updated', 'participant.joined', 'participant.updated', 'participant.left']) {
    assert.ok(types.has(type as CmsEvent['type']), `the fixture yields ${type}`);
  }
  for (const event of events) {
    assert.equal(eventLine(event), JSON.stringify(event));
    assert.equal(eventLine(event), JSON.stringify(event), 'and again, from the cached call JSON');
  }
});

test('synthetic events, reasons and ended calls serialise exactly', () => {
  const state = new ServerState({ server: 'cms-a' });
  const events: CmsEvent[] = [
    ...state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room \u2028 "x"', participants: 2 }]),
    ...state.applyRoster('c1', [
      { participant: 'p1', updateType: 'add', name: 'Ann', state: 'connected' },
      { participant: 'p2', updateType: 'add', name: 'Bob', state: 'ringing' },
    ]),
  ];
  state.beginResync();
  events.push(...state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Renamed', participants: 2 }]));
  events.push(...state.completeRosterSnapshot('c1'));
  events.push(...state.applyCallList([{ call: 'c1', updateType: 'remove', reason: 'callEnded' }]));
  assert.ok(events.some((e) => e.synthetic));
  assert.ok(events.some((e) => 'reason' in e));
  for (const event of events) assert.equal(eventLine(event), JSON.stringify(event));
});

test('shapes it does not know fall back to JSON.stringify', () => {
  const state = new ServerState({ server: 'cms-a' });
  const [started] = state.applyCallList([{ call: 'c1', updateType: 'add', name: 'Room' }]);
  const extra = { ...started!, extra: 1 } as unknown as CmsEvent;
  const withUndefined = { ...started!, reason: undefined } as unknown as CmsEvent;
  const notFrozenCall = { ...started!, call: { id: 'c1', name: 'Room' } } as CmsEvent;
  const { id, ...rest } = started!;
  const reordered = { ...rest, id } as CmsEvent;
  const server: CmsEvent = { id: 'x', ts: '2025-01-01T00:00:00.000Z', type: 'server.connected', server: 'cms-a' };
  for (const event of [extra, withUndefined, notFrozenCall, reordered, server]) assert.equal(eventLine(event), JSON.stringify(event));
  // A call object that is not frozen may still change: its JSON is never cached.
  (notFrozenCall as { call: { name: string } }).call.name = 'Changed';
  assert.equal(eventLine(notFrozenCall), JSON.stringify(notFrozenCall));
});

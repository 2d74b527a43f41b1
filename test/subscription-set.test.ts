import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CALL_ELEMENTS, CALL_ROSTER_ELEMENTS, type Subscription } from '../src/protocol/index.js';
import { MAX_RETIRED, SubscriptionSet } from '../src/session/index.js';

const summary = (list: Subscription[]) => list.map((s) => `${s.index}:${s.type}${'call' in s ? `:${s.call}` : ''}`);

test('starts with calls only, all elements', () => {
  const set = new SubscriptionSet();
  assert.equal(set.changed, true);
  const request = set.buildRequest();
  assert.deepEqual(request, [{ index: 1, type: 'calls', elements: CALL_ELEMENTS }]);
  assert.equal(set.changed, false);
  assert.equal(set.get(1)?.type, 'calls');
});

test('a call adds callInfo and callRoster; indexes stay stable across requests', () => {
  const set = new SubscriptionSet();
  set.buildRequest();
  assert.equal(set.addCall('a'), true);
  assert.equal(set.addCall('a'), false, 'adding a known call is no change');
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '2:callInfo:a', '3:callRoster:a']);
  set.addCall('b');
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '2:callInfo:a', '3:callRoster:a', '4:callInfo:b', '5:callRoster:b']);
  assert.equal(set.get(5)?.call, 'b');
  assert.equal(set.size, 5);
});

test('indexes are never reused within a connection, and start over after reset', () => {
  const set = new SubscriptionSet();
  set.addCall('a');
  set.buildRequest();
  set.removeCall('a');
  set.addCall('a');
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '4:callInfo:a', '5:callRoster:a']);
  set.reset();
  assert.equal(set.changed, true);
  assert.equal(set.get(4), undefined);
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '2:callInfo:a', '3:callRoster:a']);
});

test('a removed call keeps its index mapping until the server reports the subscription ended', () => {
  const set = new SubscriptionSet();
  set.addCall('a');
  set.buildRequest();
  const removed = set.removeCall('a');
  assert.deepEqual(removed.map((e) => [e.index, e.retired]), [[2, true], [3, true]]);
  assert.equal(set.changed, true);
  assert.deepEqual(summary(set.buildRequest()), ['1:calls']);
  assert.equal(set.get(3)?.call, 'a', 'late roster updates still find their call');
  set.drop(set.get(2)!);
  assert.equal(set.get(2), undefined, 'reported ended: forgotten');
  assert.equal(set.get(3)?.call, 'a');
});

test('dropped subscriptions the server never reports ended are capped', () => {
  const set = new SubscriptionSet();
  for (let i = 0; i < MAX_RETIRED; i++) set.addCall(`c${i}`);
  set.buildRequest();
  for (let i = 0; i < MAX_RETIRED; i++) set.removeCall(`c${i}`);
  assert.equal(set.get(2)?.call, undefined, 'the oldest went first');
  assert.equal(set.get(MAX_RETIRED * 2 + 1)?.call, `c${MAX_RETIRED - 1}`);
  let mapped = 0;
  for (let index = 1; index <= MAX_RETIRED * 2 + 1; index++) if (set.get(index)) mapped++;
  assert.equal(mapped, MAX_RETIRED + 1);
});

test('drop() removes a subscription the server ended without asking for a new request', () => {
  const set = new SubscriptionSet();
  set.addCall('gone');
  set.buildRequest();
  set.drop(set.get(3)!);
  assert.equal(set.changed, false);
  assert.equal(set.get(3), undefined);
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '2:callInfo:gone']);
  set.drop(set.get(1)!);
  assert.equal(set.get(1)?.type, 'calls', 'the calls subscription is never dropped');
});

test('exclude() stops following a call until it ends; a snapshot re-add does not resubscribe', () => {
  const set = new SubscriptionSet();
  set.addCall('a');
  set.buildRequest();
  assert.equal(set.exclude('a').length, 2);
  assert.equal(set.addCall('a'), false);
  assert.deepEqual(summary(set.buildRequest()), ['1:calls']);
  assert.equal(set.include('a', ['callRoster']), true);
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '4:callRoster:a']);
  set.removeCall('a');
  assert.equal(set.hasCall('a'), false);
  assert.equal(set.addCall('a'), true);
});

test('include() works for a call never seen, and adds only missing types', () => {
  const set = new SubscriptionSet({ callInfo: [] });
  assert.equal(set.include('x', ['callRoster']), true);
  assert.equal(set.include('x', ['callRoster']), false);
  assert.deepEqual(summary(set.buildRequest()), ['1:calls', '2:callRoster:x']);
});

test('elements per type; an empty per-call list means not followed by default', () => {
  const set = new SubscriptionSet({ calls: ['name'], callInfo: [], callRoster: ['name', 'state'] });
  set.addCall('a');
  const request = set.buildRequest();
  assert.deepEqual(request, [
    { index: 1, type: 'calls', elements: ['name'] },
    { index: 2, type: 'callRoster', call: 'a', elements: ['name', 'state'] },
  ]);
  set.include('a', ['callInfo']);
  const info = set.buildRequest().find((s) => s.type === 'callInfo');
  assert.equal(info?.index, 3);
  assert.equal(info?.elements.length, 10, 'asked for explicitly: all elements');
  const plain = new SubscriptionSet();
  plain.addCall('a');
  assert.deepEqual(plain.buildRequest()[2].elements, CALL_ROSTER_ELEMENTS);
});

test('reset() forgets server states and snapshot progress', () => {
  const set = new SubscriptionSet();
  set.addCall('a');
  set.buildRequest();
  const entry = set.get(3)!;
  entry.state = 'active';
  entry.snapshot = 'complete';
  set.reset();
  assert.equal(entry.index, 0);
  assert.equal(entry.state, undefined);
  assert.equal(entry.snapshot, 'idle');
  assert.deepEqual([...set.entries()].map((e) => e.type), ['calls', 'callInfo', 'callRoster']);
});

// The cap on concurrent connection attempts: slots pass on in order, and an attempt given up
// while queued leaves the queue without taking a slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectSlots } from '../src/transport/connect-slots.js';

test('at most `limit` attempts hold a slot; the rest wait in order', async () => {
  const slots = new ConnectSlots(2);
  const order: string[] = [];
  const a = await slots.acquire(new AbortController().signal);
  const b = await slots.acquire(new AbortController().signal);
  const c = slots.acquire(new AbortController().signal).then((release) => (order.push('c'), release));
  const d = slots.acquire(new AbortController().signal).then((release) => (order.push('d'), release));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'no third slot while two are held');
  a();
  a(); // releasing twice frees one slot only
  const releaseC = await c;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['c']);
  b();
  const releaseD = await d;
  assert.deepEqual(order, ['c', 'd']);
  releaseC();
  releaseD();
  // All free again: two immediate grants.
  const e = await slots.acquire(new AbortController().signal);
  const f = await slots.acquire(new AbortController().signal);
  e();
  f();
});

test('an attempt aborted while queued rejects and takes no slot', async () => {
  const slots = new ConnectSlots(1);
  const held = await slots.acquire(new AbortController().signal);
  const controller = new AbortController();
  const queued = slots.acquire(controller.signal);
  controller.abort(new Error('given up'));
  await assert.rejects(queued, /given up/);
  const later = slots.acquire(new AbortController().signal);
  held();
  const release = await later;
  release();
  await assert.rejects(slots.acquire(AbortSignal.abort(new Error('already'))), /already/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../src/backoff.js';

test('full jitter: delay = random() * min(max, initial * 2^attempt)', () => {
  const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.999999 });
  const delays = Array.from({ length: 9 }, () => backoff.next());
  assert.deepEqual(delays, [999, 1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999]);
  assert.equal(backoff.attempt, 9);
});

test('the random draw scales the whole window, down to zero', () => {
  const draws = [0, 0.5, 0.25];
  const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => draws.shift() ?? 0 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [0, 1000, 1000]);
});

test('reset starts the window over', () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.5 });
  for (let i = 0; i < 5; i++) backoff.next();
  assert.equal(backoff.next(), 500);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), 50);
});

test('stays at the cap after very many failures', () => {
  const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, random: () => 0.5 });
  for (let i = 0; i < 5000; i++) backoff.next();
  assert.equal(backoff.next(), 30_000);
});

test('defaults to Math.random within the window', () => {
  const backoff = new Backoff({ initialMs: 10, maxMs: 40 });
  for (let i = 0; i < 50; i++) {
    const delay = backoff.next();
    assert.ok(delay >= 0 && delay < 40 && Number.isInteger(delay), `delay ${delay}`);
  }
});

test('equal jitter keeps half the window as a floor', () => {
  const low = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 'equal', random: () => 0 });
  assert.deepEqual([low.next(), low.next(), low.next(), low.next(), low.next()], [500, 1000, 2000, 4000, 4000]);
  const high = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 'equal', random: () => 0.999999 });
  assert.deepEqual([high.next(), high.next(), high.next(), high.next(), high.next()], [999, 1999, 3999, 7999, 7999]);
});

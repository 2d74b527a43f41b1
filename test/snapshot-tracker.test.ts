// The snapshot rule on its own (snapshot-tracker.ts): a non-add message completes a snapshot at
// once; add-only traffic keeps the one quiet period of the connection going; completing the
// open snapshots ends vanished calls first and releases their rosters. The session tests check
// the same rule end to end against the simulator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnapshotTracker } from '../src/session/snapshot-tracker.js';
import { SubscriptionSet, type SubscriptionEntry } from '../src/session/subscription-set.js';
import { ServerState, isCallEvent, type CmsEvent } from '../src/state/index.js';
import { ManualClock } from './helpers/manual-clock.js';

const QUIET_MS = 60;

/** A server that knew call c1 with Ann and Bob and call c2, then reconnected. */
function afterReconnect() {
  const state = new ServerState({ server: 'cms-a' });
  state.applyCallList([
    { call: 'c1', updateType: 'add', name: 'One' },
    { call: 'c2', updateType: 'add', name: 'Two' },
  ]);
  state.applyRoster('c1', [
    { participant: 'ann', updateType: 'add', name: 'Ann' },
    { participant: 'bob', updateType: 'add', name: 'Bob' },
  ]);
  state.beginResync();
  const subs = new SubscriptionSet();
  subs.addCall('c1');
  subs.addCall('c2');
  subs.reset();
  subs.buildRequest();
  const byKey = new Map<string, SubscriptionEntry>();
  for (const entry of subs.entries()) byKey.set(`${entry.type}:${entry.call ?? ''}`, entry);
  const quiet: number[] = [];
  const gone: string[] = [];
  const clock = new ManualClock();
  const tracker = new SnapshotTracker({
    subs,
    state,
    quietMs: QUIET_MS,
    clock,
    onQuiet: () => quiet.push(clock.now()),
    onCallGone: (callId) => gone.push(callId),
  });
  return { state, subs, clock, tracker, quiet, gone, entry: (key: string) => byKey.get(key)! };
}

const subject = (e: CmsEvent): string => (!isCallEvent(e) ? e.server : 'participantId' in e ? e.participantId : e.callId);
const kinds = (events: CmsEvent[]) => events.map((e) => `${e.type}:${subject(e)}${e.synthetic ? '*' : ''}`);

test('a message with a non-add update completes its snapshot at once', () => {
  const { state, tracker, entry } = afterReconnect();
  const roster = entry('callRoster:c1');
  tracker.opened(roster);
  assert.equal(roster.snapshot, 'waiting');
  // Ann is re-announced and then updated in the same message: live traffic has begun, Bob is gone.
  const events = state.applyRoster('c1', [
    { participant: 'ann', updateType: 'add', name: 'Ann' },
    { participant: 'ann', updateType: 'update', audioMuted: true },
  ]);
  const all = tracker.progress(roster, true, events);
  assert.equal(roster.snapshot, 'complete');
  assert.deepEqual(kinds(all), ['participant.updated:ann', 'participant.left:bob*']);
  tracker.dispose();
});

test('add-only messages keep one quiet period per connection going; it ends quietMs after the last', async () => {
  const { clock, tracker, quiet, entry } = afterReconnect();
  const started = clock.now();
  tracker.opened(entry('calls:'));
  await clock.advance(QUIET_MS * 0.6);
  tracker.opened(entry('callRoster:c1')); // a later subscription restarts the clock
  await clock.advance(QUIET_MS * 0.6);
  assert.deepEqual(quiet, [], 'not quiet yet: the second active restarted the period');
  tracker.progress(entry('callRoster:c1'), false, []); // an add-only message
  const lastActivity = clock.now();
  await clock.advance(QUIET_MS - 1);
  assert.deepEqual(quiet, [], 'not quiet one millisecond before the period ends');
  assert.equal(tracker.quietPending, true);
  await clock.advance(QUIET_MS * 2);
  assert.equal(quiet.length, 1, 'one quiet period for the connection');
  assert.equal(quiet[0]! - lastActivity, QUIET_MS, 'quiet exactly quietMs after the last add');
  assert.equal(quiet[0]! - started, QUIET_MS * 0.6 * 2 + QUIET_MS);
  assert.equal(tracker.quietPending, false);
});

test('dispose cancels the quiet period', async () => {
  const { clock, tracker, quiet, entry } = afterReconnect();
  tracker.opened(entry('calls:'));
  tracker.dispose();
  await clock.advance(QUIET_MS * 10);
  assert.deepEqual(quiet, []);
  assert.equal(clock.pending, 0);
});

test('completing the open snapshots ends vanished calls first and releases their rosters', () => {
  const { state, tracker, gone, entry } = afterReconnect();
  const calls = entry('calls:');
  const roster1 = entry('callRoster:c1');
  const roster2 = entry('callRoster:c2');
  tracker.opened(calls);
  tracker.opened(roster1);
  tracker.opened(roster2);
  tracker.opened(entry('callInfo:c1')); // callInfo has no snapshot to complete
  assert.equal(entry('callInfo:c1').snapshot, 'idle');
  // Only c1 and Ann come back; c2 is gone, and so is Bob.
  tracker.progress(calls, false, state.applyCallList([{ call: 'c1', updateType: 'add', name: 'One' }]));
  tracker.progress(roster1, false, state.applyRoster('c1', [{ participant: 'ann', updateType: 'add', name: 'Ann' }]));
  const events = tracker.completeOpen([]);
  assert.deepEqual(kinds(events), ['call.ended:c2*', 'participant.left:bob*']);
  assert.deepEqual(gone, ['c2']);
  for (const e of [calls, roster1, roster2]) assert.equal(e.snapshot, 'complete');
  assert.deepEqual(tracker.completeOpen([]), [], 'nothing is completed twice');
  tracker.dispose();
});

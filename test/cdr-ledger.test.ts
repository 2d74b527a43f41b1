// The CDR ledger (src/state/cdr-ledger.ts) as a pure reducer: each (session, recordIndex) is
// announced once, however records come back (re-sent, out of order, after a new session); the
// ids a leg showed are given to its later records; and all of it survives the stored model's
// encoding and a journal replay (what a restart starts from).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCdrBody } from '../src/cdr/parse.js';
import { ServerState, decodeModel, encodeModel, replayEvents, type CdrDocument, type CdrRecordEvent, type CmsEvent } from '../src/state/index.js';
import { eventLine } from '../src/state/event-line.js';
import { MAX_KNOWN } from '../src/state/cdr-ledger.js';
import { callRecords, cdrBody, newCallScript, type NumberedRecord } from './helpers/cdr-bodies.js';

let seq = 0;
const fresh = () => new ServerState({ server: 'cms-a', now: () => Date.parse('2026-12-03T10:00:00Z'), newEventId: () => `e${++seq}` });
const doc = (session: string, records: readonly NumberedRecord[]): CdrDocument => {
  const parsed = parseCdrBody(cdrBody(session, records));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  return parsed;
};
const indexes = (events: CmsEvent[]) => events.map((e) => `${e.type.slice(4)}#${(e as CdrRecordEvent).recordIndex}`);

test('each record once: re-sent, out of order, and per session', () => {
  const state = fresh();
  const records = callRecords(newCallScript('s1', 1, 1));
  const [a, b, c, d, ...rest] = records;
  assert.deepEqual(indexes(state.applyCdr(doc('s1', [a!, b!]))), ['callLegStart#1', 'callLegUpdate#2']);
  assert.deepEqual(state.applyCdr(doc('s1', [a!, b!])), [], 're-sent: nothing');
  // Out of order: 4 before 3, then 3, then 4 again.
  assert.deepEqual(indexes(state.applyCdr(doc('s1', [d!]))), ['callLegUpdate#4']);
  assert.deepEqual(indexes(state.applyCdr(doc('s1', [c!, d!]))), ['callStart#3']);
  assert.deepEqual(indexes(state.applyCdr(doc('s1', rest))), rest.map((r) => `${r.type}#${r.recordIndex}`));
  // A restarted bridge: a new session numbers from 1 again, and is new.
  assert.deepEqual(indexes(state.applyCdr(doc('s2', [a!]))), ['callLegStart#1']);
  // The old session is still known.
  assert.deepEqual(state.applyCdr(doc('s1', records)), []);
});

test('ids learnt from a leg\'s earlier records, forgotten once it ended; recordings carry their call and leg', () => {
  const state = fresh();
  const script = newCallScript('s1', 1, 1);
  const leg = script.legs[0]!;
  const records = callRecords(script);
  const events = state.applyCdr(doc('s1', records)) as CdrRecordEvent[];
  const end = events.find((e) => e.type === 'cdr.callLegEnd')!;
  assert.deepEqual([end.callLegId, end.participantId, end.callId], [leg.legId, leg.groupId, script.callId]);
  assert.deepEqual(state.extras().cdr?.known, [], 'nothing kept of an ended call');

  const live = newCallScript('s1', 100, 1);
  const liveLeg = live.legs[0]!;
  const started = callRecords(live).slice(0, 4);
  state.applyCdr(doc('s1', started));
  const recording = parseCdrBody(
    cdrBody('s1', [
      { type: 'recordingStart', recordIndex: 104, xml: `<record type="recordingStart" time="2026-12-03T10:01:00Z" recordIndex="104"><recording id="rec-1"><path>spaces/x</path><recorderUrl>https://rec</recorderUrl><call>${live.callId}</call><callLeg>${liveLeg.legId}</callLeg></recording></record>` },
      { type: 'recordingEnd', recordIndex: 105, xml: `<record type="recordingEnd" time="2026-12-03T10:02:00Z" recordIndex="105"><recording id="rec-1"/></record>` },
    ]),
  );
  assert.ok(recording.ok);
  const [start, stop] = state.applyCdr(recording) as CdrRecordEvent[];
  assert.deepEqual([start!.recordingId, start!.callId, start!.callLegId, start!.participantId], ['rec-1', live.callId, liveLeg.legId, liveLeg.groupId]);
  assert.deepEqual([stop!.recordingId, stop!.callId, stop!.callLegId, stop!.participantId], ['rec-1', live.callId, liveLeg.legId, liveLeg.groupId]);
});

test('legs whose end never came (lost in a gap) are forgotten oldest first beyond the limit: the stored model stays small', () => {
  const state = fresh();
  const legs = MAX_KNOWN + 50;
  const start = (i: number) => ({ type: 'callLegStart', time: '2026-12-03T10:00:00Z', recordIndex: i + 1, correlatorIndex: i, missingBefore: 0, element: 'callLeg', elementId: `leg-${i}`, fields: { groupId: `p-${i}`, call: `c-${i}` } });
  state.applyCdr({ session: 's1', callBridge: null, records: Array.from({ length: legs }, (_, i) => start(i)) });
  const known = state.extras().cdr!.known;
  assert.equal(known.length, MAX_KNOWN);
  assert.equal(known[0]![0], 'leg-50', 'the oldest went first');
  const [end] = state.applyCdr({ session: 's1', callBridge: null, records: [{ ...start(legs - 1), type: 'callLegEnd', recordIndex: legs + 1, fields: {} }] }) as CdrRecordEvent[];
  assert.deepEqual([end!.participantId, end!.callId], [`p-${legs - 1}`, `c-${legs - 1}`], 'a recent leg is still known');
});

test('a gap comes just before its record; unknown record types are still announced', () => {
  const state = fresh();
  const parsed = parseCdrBody(
    `<records session="s1"><record type="callStart" time="2026-12-03T10:00:00Z" recordIndex="7" numPreceedingRecordsMissing="5"><call id="c1"><name>X</name></call></record>` +
      `<record type="futureThing" time="2026-12-03T10:00:01Z" recordIndex="8"><widget id="w1"><size>3</size></widget></record></records>`,
  );
  assert.ok(parsed.ok);
  const events = state.applyCdr(parsed);
  assert.deepEqual(events.map((e) => e.type), ['cdr.gap', 'cdr.callStart', 'cdr.futureThing']);
  assert.equal((events[0] as { missing?: number }).missing, 5);
  assert.deepEqual((events[2] as CdrRecordEvent).record, { size: '3' });
});

test('the marks and learnt ids survive the stored model, and a journal replay adds its records', () => {
  const state = fresh();
  const script = newCallScript('s1', 1, 2);
  const records = callRecords(script);
  state.applyCdr(doc('s1', records.slice(0, 5)));
  const decoded = decodeModel(encodeModel('cms-a', state.stored(), 'now', 3, state.extras()), 'cms-a');
  assert.ok(decoded.ok);
  // After the model was written, records 6–7 were journaled (and handed out) before a kill -9.
  const journaled = state.applyCdr(doc('s1', records.slice(5, 7)));
  const replayed = replayEvents(decoded.calls, journaled.map(eventLine));
  assert.deepEqual(replayed.events.map((e) => e.id), journaled.map((e) => e.id), 'the journal\'s CDR events are handed out again');
  const restarted = fresh();
  restarted.restoreExtras(decoded.extras, replayed.extraEvents);
  // The CMS re-sends everything: only what follows record 7 is new, with the ids learnt before the restart.
  const after = restarted.applyCdr(doc('s1', records)) as CdrRecordEvent[];
  assert.deepEqual(after.map((e) => e.recordIndex), records.slice(7).map((r) => r.recordIndex));
  const firstLegEnd = after.find((e) => e.type === 'cdr.callLegEnd')!;
  assert.deepEqual([firstLegEnd.participantId, firstLegEnd.callId], [script.legs[0]!.groupId, script.callId]);
  assert.equal(decodeModel(JSON.stringify({ ...JSON.parse(encodeModel('cms-a', [], 'now', -1, state.extras())), cdr: { sessions: 'x' } }), 'cms-a').ok, false, 'a damaged mark is refused');
});

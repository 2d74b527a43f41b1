// CDR bodies as a CMS POSTs them (the shapes of Cisco's CDR guide and real captures), parsed by
// src/cdr/parse.ts: every record type, typed fields, batches, gaps, unknown elements kept, and
// bodies that are not CDR documents refused with a reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCdrBody } from '../src/cdr/parse.js';

const SESSION = '8bf2f897-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const BRIDGE = '04aec22b-6d7e-4f80-9a1b-2c3d4e5f6a7b';
const CALL = '3f0c1d52-7a1e-4c2b-9a41-0c5d2e8b7a10';
const LEG = '1611cb0c-2a3b-4c5d-8e9f-0a1b2c3d4e5f';
const GROUP = '3420c93f-5b6c-4d7e-9f80-1a2b3c4d5e6f';

const body = (records: string, bridge = false) =>
  `<?xml version="1.0"?>\n<records session="${SESSION}"${bridge ? ` callBridge="${BRIDGE}"` : ''}>${records}</records>`;

const record = (type: string, index: number, inner: string, extra = '') =>
  `<record type="${type}" time="2026-12-03T10:00:${String(index % 60).padStart(2, '0')}Z" recordIndex="${index}" correlatorIndex="${index - 1}"${extra}>${inner}</record>`;

test('the nine record types, typed by field name', () => {
  const parsed = parseCdrBody(
    body(
      [
        record('callLegStart', 1, `<callLeg id="${LEG}"><displayName></displayName><localAddress>space@example.com</localAddress><remoteParty>5551234</remoteParty><remoteAddress>10.1.2.3</remoteAddress><type>sip</type><direction>incoming</direction><sipCallId>abc@10.1.2.3</sipCallId><groupId>${GROUP}</groupId><canMove>true</canMove></callLeg>`),
        record('callLegUpdate', 2, `<callLeg id="${LEG}"><state>connected</state><ivr/><groupId>${GROUP}</groupId></callLeg>`),
        record('callStart', 3, `<call id="${CALL}"><name>Weekly Sync</name><ownerName></ownerName><callType>coSpace</callType><coSpace>9a8b7c6d-0000-4000-8000-000000000001</coSpace><callCorrelator>b2d7e0a4-11c9-4f5e-8e3a-6f1d2c9b0e77</callCorrelator></call>`),
        record('callLegUpdate', 4, `<callLeg id="${LEG}"><state>connected</state><call>${CALL}</call><deactivated>false</deactivated></callLeg>`),
        record('recordingStart', 5, `<recording id="rec-1"><path>spaces/9a8b/20261203100005+0000</path><recorderUrl>https://recorder.example.com</recorderUrl><call>${CALL}</call><callLeg>${LEG}</callLeg></recording>`),
        record('recordingEnd', 6, `<recording id="rec-1"/>`),
        record('streamingStart', 7, `<streaming id="str-1"><streamUrl>rtmp://stream.example.com/live</streamUrl><call>${CALL}</call></streaming>`),
        record('streamingEnd', 8, `<streaming id="str-1"></streaming>`),
        record(
          'callLegEnd',
          9,
          `<callLeg id="${LEG}"><reason>remoteTeardown</reason><remoteTeardown>true</remoteTeardown><durationSeconds>1820</durationSeconds><activatedDuration>1815</activatedDuration>` +
            `<mediaUsagePercentages><mainVideoViewer>98.9</mainVideoViewer><mainVideoContributor>97.2</mainVideoContributor></mediaUsagePercentages>` +
            `<alarm type="packetLoss" durationPercentage="1.4"/><alarm type="excessiveJitter" durationPercentage="0.2"/>` +
            `<rxAudio><codec>opus</codec><packetStatistics><packetLossBursts><duration>1.5</duration><density>0.3</density></packetLossBursts></packetStatistics></rxAudio>` +
            `<rxVideo><codec>h264</codec><maxSizeWidth>1920</maxSizeWidth><maxSizeHeight>1080</maxSizeHeight></rxVideo><newThing>kept</newThing></callLeg>`,
        ),
        record('callEnd', 10, `<call id="${CALL}"><callLegsCompleted>3</callLegsCompleted><callLegsMaxActive>2</callLegsMaxActive><durationSeconds>1830</durationSeconds></call>`),
      ].join(''),
      true,
    ),
  );
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
  assert.equal(parsed.session, SESSION);
  assert.equal(parsed.callBridge, BRIDGE);
  assert.deepEqual(parsed.records.map((r) => r.type), ['callLegStart', 'callLegUpdate', 'callStart', 'callLegUpdate', 'recordingStart', 'recordingEnd', 'streamingStart', 'streamingEnd', 'callLegEnd', 'callEnd']);
  assert.deepEqual(parsed.records.map((r) => r.recordIndex), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const [legStart, legUpdate, callStart, , recordingStart, recordingEnd, , streamingEnd, legEnd, callEnd] = parsed.records;
  assert.deepEqual([legStart!.element, legStart!.elementId], ['callLeg', LEG]);
  assert.equal(legStart!.fields.remoteParty, '5551234', 'digits stay a string: typed by name, not by look');
  assert.equal(legStart!.fields.displayName, '');
  assert.equal(legStart!.fields.canMove, true);
  assert.equal(legStart!.fields.groupId, GROUP);
  assert.deepEqual(legUpdate!.fields, { state: 'connected', ivr: true, groupId: GROUP });
  assert.equal(callStart!.fields.callCorrelator, 'b2d7e0a4-11c9-4f5e-8e3a-6f1d2c9b0e77');
  assert.equal(callStart!.fields.ownerName, '');
  assert.equal(recordingStart!.fields.callLeg, LEG);
  assert.deepEqual([recordingEnd!.elementId, recordingEnd!.fields], ['rec-1', {}]);
  assert.deepEqual([streamingEnd!.elementId, streamingEnd!.fields], ['str-1', {}]);
  assert.equal(legEnd!.fields.durationSeconds, 1820);
  assert.equal(legEnd!.fields.remoteTeardown, true);
  assert.deepEqual(legEnd!.fields.mediaUsagePercentages, { mainVideoViewer: 98.9, mainVideoContributor: 97.2 });
  assert.deepEqual(legEnd!.fields.alarms, [
    { type: 'packetLoss', durationPercentage: 1.4 },
    { type: 'excessiveJitter', durationPercentage: 0.2 },
  ]);
  assert.deepEqual(legEnd!.fields.rxAudio, { codec: 'opus', packetStatistics: { packetLossBursts: { duration: 1.5, density: 0.3 } } });
  assert.deepEqual(legEnd!.fields.rxVideo, { codec: 'h264', maxSizeWidth: 1920, maxSizeHeight: 1080 });
  assert.equal(legEnd!.fields.newThing, 'kept', 'unknown elements are kept');
  assert.deepEqual(callEnd!.fields, { callLegsCompleted: 3, callLegsMaxActive: 2, durationSeconds: 1830 });
  assert.equal(callEnd!.correlatorIndex, 9);
});

test('one record, no callBridge (unclustered), a gap, and an unknown record type', () => {
  const parsed = parseCdrBody(body(record('somethingNew', 42, `<widget id="w-1"><colour>blue</colour></widget>`, ' numPreceedingRecordsMissing="7"')));
  assert.ok(parsed.ok);
  assert.equal(parsed.callBridge, null);
  assert.deepEqual(parsed.records, [
    { type: 'somethingNew', time: '2026-12-03T10:00:42Z', recordIndex: 42, correlatorIndex: 41, missingBefore: 7, element: 'widget', elementId: 'w-1', fields: { colour: 'blue' } },
  ]);
});

test('CRLF line ends, an encoding declaration, and whitespace or a byte order mark before it', () => {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\r\n<records session="${SESSION}">\r\n  <record type="callStart" time="2026-12-03T10:00:00Z" recordIndex="1" correlatorIndex="0">\r\n    <call id="c-1"><name>R&amp;D</name><ownerName></ownerName></call>\r\n  </record>\r\n</records>\r\n`;
  for (const variant of [text, `\uFEFF${text}`, `\r\n  ${text}`]) {
    const parsed = parseCdrBody(variant);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.problem);
    assert.deepEqual(parsed.records.map((r) => [r.type, r.elementId, r.fields]), [['callStart', 'c-1', { name: 'R&D', ownerName: '' }]]);
  }
});

test('bodies that are not CDR documents are refused with a reason, never thrown', () => {
  const problems = [
    ['not xml at all', 'not well-formed XML'],
    ['<records session="s"><record type="callEnd"', 'not well-formed XML'],
    ['<other/>', 'no <records> element'],
    [body('').replace(` session="${SESSION}"`, ''), 'no session'],
    [body('<record time="t" recordIndex="1"><call id="c"/></record>'), 'has no type'],
    [body('<record type="callEnd" time="t"><call id="c"/></record>'), 'has no recordIndex'],
    [body('<record type="callEnd" time="t" recordIndex="1"><call id="c"/><call id="d"/></record>'), 'exactly one element'],
  ] as const;
  for (const [text, problem] of problems) {
    const parsed = parseCdrBody(text);
    assert.equal(parsed.ok, false, text);
    assert.ok(!parsed.ok && parsed.problem.includes(problem), `${text}: ${parsed.ok ? '' : parsed.problem}`);
  }
  const empty = parseCdrBody(body(''));
  assert.ok(empty.ok && empty.records.length === 0, 'an empty batch is a batch of nothing');
});

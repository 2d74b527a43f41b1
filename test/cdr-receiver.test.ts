// The CDR receiver from outside: the real daemon, and POSTs as a CMS sends them (an independent
// fake CMS: plain HTTP requests with bodies in the CDR guide's shapes). Every record arrives once
// as a typed cdr.* event with the ids its leg had, across re-sends, a lost 200 and a kill -9 in
// the window between the fsync and the 200; a wrong token or an unknown server stores nothing; a
// body that is not a CDR document is answered 200 and kept aside; a gap becomes cdr.gap.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { selfSignedCertificate } from '../src/simulator/certificate.js';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CdrIntake } from '../src/cdr/intake.js';
import { createLogger } from '../src/hub/logger.js';
import { isCdrEvent, type CdrGapEvent, type CdrRecordEvent, type CmsEvent } from '../src/state/events.js';
import { callRecords, cdrBody, newCallScript, postCdr, record } from './helpers/cdr-bodies.js';
import { freePort, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const TOKEN = 'cdr-test-token-0123456789abcdef';

const running: Daemon[] = [];
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
});

const cdrEvents = (events: CmsEvent[]) => events.filter(isCdrEvent) as Array<CdrRecordEvent | CdrGapEvent>;
const recordEvents = (events: CmsEvent[]) => events.filter((e): e is CdrRecordEvent => isCdrEvent(e) && e.type !== 'cdr.gap');

/** A simulated server, and a daemon config following it with a receiver; `files` are written beside the config first. */
async function setUp(name: string, extra: { cdr?: Record<string, unknown>; files?: Record<string, string> } = {}) {
  const sim = await simulator({ name });
  const dir = tempDir(`cms-events-${name}-`);
  for (const [file, text] of Object.entries(extra.files ?? {})) writeFileSync(path.join(dir, file), text);
  const port = await freePort();
  const httpPort = await freePort();
  const stateDir = path.join(dir, 'state');
  const config = writeConfig(dir, {
    servers: [serverEntry('cms-a', sim)],
    http: { host: '127.0.0.1', port: httpPort },
    cdr: { listen: { host: '127.0.0.1', port }, token: TOKEN, ...extra.cdr },
    stateDir,
  });
  const url = (server = 'cms-a', token: string | null = TOKEN) => `http://127.0.0.1:${port}/cdr/${server}${token === null ? '' : `?token=${token}`}`;
  const start = (env: NodeJS.ProcessEnv = {}) => {
    const daemon = startDaemon(['run', '--config', config], env);
    running.push(daemon);
    return daemon;
  };
  // The receiver answers 503 until the server runs: wait for a POST of nothing new to pass.
  const ready = async () => waitFor(async () => (await postCdr(url(), cdrBody(randomUUID(), [])).catch(() => 0)) === 200, 'the CDR receiver', 15_000);
  return { sim, dir, stateDir, port, url, start, ready, metrics: async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text() };
}

describe('CDR receiver', () => {
  it('every record once as a typed event with its leg\'s ids; re-sends, wrong tokens, unknown servers, a gap and a malformed body', async () => {
    const rig = await setUp('cdr-basic');
    const daemon = rig.start();
    await rig.ready();
    const session = randomUUID();
    const script = newCallScript(session, 1, 2);
    const records = callRecords(script);
    // One record per POST, one POST at a time: as a CMS sends them.
    for (const r of records) assert.equal(await postCdr(rig.url(), cdrBody(session, [r])), 200);
    await daemon.waitForEvent((e) => e.type === 'cdr.callEnd', 'cdr.callEnd', 15_000);
    const events = recordEvents(daemon.events);
    assert.deepEqual(events.map((e) => [e.type, e.recordIndex]), records.map((r) => [`cdr.${r.type}`, r.recordIndex]));
    for (const event of events) {
      assert.equal(event.server, 'cms-a');
      assert.equal(event.session, session);
      assert.match(event.recordTime, /^2026-12-03T10:\d\d:\d\dZ$/);
    }
    // The leg's ends carry the ids learnt from its earlier records (a callLegEnd has neither groupId nor call).
    const legEnds = events.filter((e) => e.type === 'cdr.callLegEnd');
    assert.deepEqual(
      legEnds.map((e) => [e.callLegId, e.participantId, e.callId]),
      script.legs.map((leg) => [leg.legId, leg.groupId, script.callId]),
    );
    // The first leg start has no call yet; its update in the IVR neither.
    const firstStart = events.find((e) => e.type === 'cdr.callLegStart')!;
    assert.equal(firstStart.callId, undefined);
    assert.equal(firstStart.participantId, script.legs[0]!.groupId);
    const callStart = events.find((e) => e.type === 'cdr.callStart')!;
    assert.equal(callStart.callId, script.callId);
    assert.equal(callStart.record.name, 'Weekly Sync');
    assert.equal(callStart.correlatorIndex, callStart.recordIndex - 1);
    // Typed fields.
    const end = legEnds[0]!.record;
    assert.equal(end.durationSeconds, 1820);
    assert.equal(end.remoteTeardown, true);
    assert.deepEqual(end.alarms, [{ type: 'packetLoss', durationPercentage: 1.4 }]);
    assert.deepEqual(end.rxVideo, { codec: 'h264', maxSizeWidth: 1920, maxSizeHeight: 1080 });
    assert.equal((events.find((e) => e.type === 'cdr.callLegUpdate')!.record as { ivr?: unknown }).ivr, true);
    assert.equal(events.find((e) => e.type === 'cdr.callEnd')!.record.callLegsCompleted, 2);

    // A lost 200: the CMS sends the last two records again, in one POST; nothing is announced again.
    assert.equal(await postCdr(rig.url(), cdrBody(session, records.slice(-2))), 200);
    // Wrong, missing token; unknown server: refused, nothing stored.
    assert.equal(await postCdr(rig.url('cms-a', 'wrong-token-0123456789abcdef'), cdrBody(session, records)), 403);
    assert.equal(await postCdr(rig.url('cms-a', null), cdrBody(session, records)), 403);
    assert.equal(await postCdr(rig.url('cms-zz'), cdrBody(session, records)), 404);
    // Not a CDR document: 200 (a refusal is re-sent forever), kept aside, counted.
    assert.equal(await postCdr(rig.url(), '<records><record type="callStart"'), 200);
    assert.equal(await postCdr(rig.url(), '{"not":"xml"}'), 200);
    // Three records the CMS had to discard, then the next call.
    const next = newCallScript(session, records.length + 4, 1);
    const nextRecords = callRecords(next);
    const first = nextRecords[0]!;
    nextRecords[0] = record(first.type, first.recordIndex, first.xml.slice(first.xml.indexOf('>') + 1, -'</record>'.length), ' numPreceedingRecordsMissing="3"');
    assert.equal(await postCdr(rig.url(), cdrBody(session, nextRecords)), 200);
    await daemon.waitForEvent((e) => e.type === 'cdr.callEnd' && (e as CdrRecordEvent).callId === next.callId, 'the second call\'s end', 15_000);

    const all = cdrEvents(daemon.events);
    const gap = all.findIndex((e) => e.type === 'cdr.gap');
    assert.ok(gap >= 0, 'a cdr.gap event');
    const gapEvent = all[gap] as CdrGapEvent;
    assert.deepEqual([gapEvent.recordIndex, gapEvent.missing], [records.length + 4, 3]);
    assert.equal(all[gap + 1]!.type, 'cdr.callLegStart', 'the gap comes just before its record');
    const indexes = all.filter((e) => e.type !== 'cdr.gap').map((e) => e.recordIndex);
    assert.deepEqual(indexes, [...records, ...nextRecords].map((r) => r.recordIndex), 'every record once, in order');

    const setAside = readdirSync(path.join(rig.stateDir, 'cdr-set-aside'));
    assert.equal(setAside.length, 2, `two bodies kept aside: ${setAside.join(', ')}`);
    const metrics = await rig.metrics();
    assert.match(metrics, /cms_events_cdr_rejected_bodies_total\{server="cms-a",reason="notCdr"\} 2/);
    assert.match(metrics, /cms_events_cdr_duplicates_total\{server="cms-a"\} 2/);
    assert.match(metrics, /cms_events_cdr_missing_records_total\{server="cms-a"\} 3/);
    assert.match(metrics, /cms_events_cdr_posts_total\{server="",status="403"\} 2/);
    assert.match(metrics, /cms_events_cdr_records_total\{server="cms-a",type="callLegEnd"\} 3/);
    assert.ok(daemon.stderr().includes('kept aside'), 'the malformed bodies are logged');
    // The token never shows.
    assert.ok(!daemon.stderr().includes(TOKEN) && !daemon.stdout().includes(TOKEN), 'the token appears in no output');
    const stopped = await daemon.stop();
    assert.equal(stopped.code, 0);
  });

  it('kill -9 after the body is on disk and before the 200: the CMS re-sends, nothing is lost and nothing announced twice', async () => {
    const rig = await setUp('cdr-crash');
    // The 200 waits a minute after the fsync: the kill lands in that window for sure.
    const first = rig.start({ CMS_EVENTS_TEST_CDR_ANSWER_DELAY_MS: '60000' });
    await first.waitForEvent((e) => e.type === 'server.connected', 'the server live', 15_000);
    const session = randomUUID();
    const records = callRecords(newCallScript(session, 1, 2));
    const batch = records.slice(0, 4);
    const unanswered = postCdr(rig.url(), cdrBody(session, batch)).catch(() => 'no answer' as const);
    await first.waitForEvent((e) => e.type === 'cdr.callLegUpdate' && (e as CdrRecordEvent).recordIndex === 4, 'the stored body processed', 15_000);
    first.child.kill('SIGKILL');
    await first.exit;
    assert.equal(await unanswered, 'no answer', 'the CMS never got its 200');

    const second = rig.start();
    await rig.ready();
    // The CMS re-sends what it got no 200 for, then goes on.
    assert.equal(await postCdr(rig.url(), cdrBody(session, batch)), 200);
    assert.equal(await postCdr(rig.url(), cdrBody(session, records.slice(4))), 200);
    await second.waitForEvent((e) => e.type === 'cdr.callEnd', 'the call end after the restart', 15_000);
    // Over both runs: every record, each under one event id (a kill -9 may hand the journal's
    // last events out again, with their ids: consumers de-duplicate on the id).
    const idsByRecord = new Map<number, Set<string>>();
    for (const event of [...cdrEvents(first.events), ...cdrEvents(second.events)]) {
      if (!idsByRecord.has(event.recordIndex)) idsByRecord.set(event.recordIndex, new Set());
      idsByRecord.get(event.recordIndex)!.add(event.id);
    }
    assert.deepEqual([...idsByRecord.keys()].sort((a, b) => a - b), records.map((r) => r.recordIndex));
    for (const [index, ids] of idsByRecord) assert.equal(ids.size, 1, `record ${index} announced once (ids ${[...ids].join(', ')})`);
    assert.equal((await second.stop()).code, 0);
  });

  it('the receiver\'s thread fails: it is started again, the feed is untouched, and every record still arrives once', async () => {
    const rig = await setUp('cdr-thread-fails');
    // The thread fails after its 4th 200: the readiness POST and three records.
    const daemon = rig.start({ CMS_EVENTS_TEST_CDR_THREAD_FAIL_AFTER: '4' });
    await daemon.waitForEvent((e) => e.type === 'server.connected', 'the server live', 15_000);
    await rig.ready();
    const session = randomUUID();
    const records = callRecords(newCallScript(session, 1, 2));
    // As a CMS does: each record sent until it is answered 200 (no answer while the thread is down).
    let refused = 0;
    for (const r of records) {
      await waitFor(
        async () => {
          const status = await postCdr(rig.url(), cdrBody(session, [r])).catch(() => 0);
          if (status !== 200) refused++;
          return status === 200;
        },
        `record ${r.recordIndex} answered 200`,
        20_000,
        100,
      );
    }
    await daemon.waitForEvent((e) => e.type === 'cdr.callEnd', 'cdr.callEnd', 15_000);
    assert.ok(refused > 0, 'the thread was down for a while');
    assert.ok(daemon.stderr().includes('the CDR receiver\'s thread stopped') && daemon.stderr().includes('the CDR receiver\'s thread runs again'));
    const events = recordEvents(daemon.events);
    assert.deepEqual(events.map((e) => e.recordIndex), records.map((r) => r.recordIndex), 'every record once, in order');
    // The ids learnt before the failure are still given to the leg's later records.
    const legEnds = events.filter((e) => e.type === 'cdr.callLegEnd');
    assert.ok(legEnds.length > 0 && legEnds.every((e) => e.participantId !== undefined && e.callId !== undefined));
    // The events feed never noticed.
    assert.equal(daemon.events.filter((e) => e.type === 'server.disconnected').length, 0);
    assert.equal((await daemon.stop()).code, 0);
  });

  it('a CMS with several POSTs in flight and lost answers: records may arrive out of order and twice, each is announced once', async () => {
    const rig = await setUp('cdr-in-flight');
    Object.assign(rig.sim.switches, { cdrPostsInFlight: 4, cdrRetryMs: 50 });
    const daemon = rig.start();
    await daemon.waitForEvent((e) => e.type === 'server.connected', 'the server live', 15_000);
    await rig.ready();
    rig.sim.cdr.addReceiver(rig.url());
    rig.sim.cdr.loseAnswers(5);
    rig.sim.cdr.burst(6, 2);
    await rig.sim.cdr.drained(20_000);
    const { records, failures } = rig.sim.cdr.stats();
    assert.ok(failures >= 5, 'the lost answers were sent again');
    await waitFor(() => recordEvents(daemon.events).length >= records, `${records} records announced`, 15_000);
    const events = recordEvents(daemon.events);
    const indexes = events.map((e) => e.recordIndex);
    assert.deepEqual([...indexes].sort((a, b) => a - b), Array.from({ length: records }, (_, i) => i + 1), 'every record once');
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    assert.ok(events.every((e) => e.session === events[0]!.session && (e.type === 'cdr.callStart' || e.type === 'cdr.callEnd' || e.callLegId !== undefined)));
    assert.match(await rig.metrics(), /cms_events_cdr_duplicates_total\{server="cms-a"\} [1-9]/);
    assert.equal((await daemon.stop()).code, 0);
  });

  it('a body stored before a crash and never processed is processed first at the next start', async () => {
    const rig = await setUp('cdr-intake');
    const session = randomUUID();
    const records = callRecords(newCallScript(session, 1, 1));
    // As if the daemon died right after its fsync: the body is in the intake, nothing processed.
    const intake = await CdrIntake.open({ dir: path.join(rig.stateDir, 'cdr-intake'), logger: createLogger({ level: 'silent' }), process: async () => {} });
    await intake.store('cms-a', cdrBody(session, records), false);
    await intake.close();
    const daemon = rig.start();
    await daemon.waitForEvent((e) => e.type === 'cdr.callEnd', 'the stored body processed', 15_000);
    assert.deepEqual(cdrEvents(daemon.events).map((e) => e.recordIndex), records.map((r) => r.recordIndex));
    // Processed bodies leave the intake: a restart announces nothing again.
    assert.equal((await daemon.stop()).code, 0);
    const again = rig.start();
    await again.waitForEvent((e) => e.type === 'server.connected', 'the server live', 15_000);
    await rig.ready();
    assert.deepEqual(cdrEvents(again.events), []);
    assert.equal((await again.stop()).code, 0);
  });

  it('an HTTPS listener; a body over maxBodyBytes is answered 200, kept aside (its beginning) and counted', async () => {
    const certificate = await selfSignedCertificate('127.0.0.1');
    const rig = await setUp('cdr-tls', { cdr: { tls: { cert: 'cdr.pem', key: 'cdr.key' }, maxBodyBytes: 4096 }, files: { 'cdr.pem': certificate.cert, 'cdr.key': certificate.key } });
    const daemon = rig.start();
    await daemon.waitForEvent((e) => e.type === 'server.connected', 'the server live', 15_000);
    const dispatcher = new Agent({ connect: { ca: certificate.caPem } });
    const post = async (body: string) => {
      const response = await request(`https://127.0.0.1:${rig.port}/cdr/cms-a?token=${TOKEN}`, { method: 'POST', body, dispatcher });
      await response.body.dump();
      return response.statusCode;
    };
    const session = randomUUID();
    const records = callRecords(newCallScript(session, 1, 1));
    // Both on one keep-alive TLS connection.
    assert.equal(await post(cdrBody(session, records)), 200);
    await daemon.waitForEvent((e) => e.type === 'cdr.callEnd', 'the records over HTTPS', 15_000);
    const huge = cdrBody(session, callRecords(newCallScript(session, 100, 20)));
    assert.ok(huge.length > 4096);
    assert.equal(await post(huge), 200);
    await waitFor(() => daemon.stderr().includes('maxBodyBytes'), 'the big body logged', 10_000);
    const [kept] = readdirSync(path.join(rig.stateDir, 'cdr-set-aside'));
    assert.ok(kept, 'kept aside');
    assert.equal(recordEvents(daemon.events).length, records.length, 'nothing of the big body announced');
    assert.match(await rig.metrics(), /cms_events_cdr_rejected_bodies_total\{server="cms-a",reason="tooLarge"\} 1/);
    await dispatcher.close();
    assert.equal((await daemon.stop()).code, 0);
  });
});

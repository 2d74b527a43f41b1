// Issue 12, "kill -9": the real daemon follows a busy simulated meeting and is killed -9 at
// random moments, many times, each time started again on the same state folder. Everything it
// printed on stdout, over all runs and in order, is folded per participant and per call: every
// join is matched by exactly one leave (every start by one end), nothing is lost, and a join or
// leave is repeated only when the first of the two was printed by a run that was killed less
// than the last write interval later (the stored model lags the events by at most that).
// One hole is kept apart, as a todo: a join printed after the last write whose participant is
// gone by the next run's first snapshot never gets its leave (the stored model never knew it).
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { seededRandom, startTraffic } from '../src/simulator/index.js';
import { WorldError } from '../src/simulator/world.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { foldPresence, line, listServerFiles, stamp, type FoldReport, type Stamped } from './helpers/event-fold.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const KILLS = 9;
/** A killed run's events may be repeated by the next run only if printed this long before the kill. */
const REPEAT_WINDOW_MS = 1_500;
const SERVER = 'cms-busy';

interface Outcome {
  seed: number;
  runs: Daemon[];
  records: Stamped[];
  killedAt: Array<number | undefined>;
  participants: FoldReport;
  calls: FoldReport;
  meetings: FoldReport;
  durationMs: number;
  modelsLeft: string[];
  violations: unknown[];
}

async function killRepeatedly(): Promise<Outcome> {
  const seed = Number(process.env.CMS_EVENTS_CRASH_SEED ?? 20_261_203);
  const random = seededRandom(seed);
  const sim = await simulator({ name: 'busy' });
  const dir = tempDir('cms-events-crash-');
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const config = writeConfig(dir, { servers: [serverEntry(SERVER, sim)], http: { host: '127.0.0.1', port } });
  const stateDir = path.join(dir, 'state');
  const traffic = startTraffic(sim.world, { rate: 40, maxCalls: 4, random: seededRandom(seed + 1) });
  const records: Stamped[] = [];
  const killedAt: Array<number | undefined> = [];
  const runs: Daemon[] = [];
  const began = Date.now();
  const start = (): Daemon => {
    const daemon = startDaemon(['run', '--config', config]);
    stamp(daemon, runs.length, records);
    runs.push(daemon);
    return daemon;
  };
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const daemon = start();
      await daemon.waitForEvent((e) => e.type === 'server.connected', `run ${kill} live`, 20_000);
      // The kill point is the test's input, not a synchronisation: a random moment 0.3–2.5 s
      // after the run went live.
      const delay = 300 + Math.round(random() * 2_200);
      await new Promise((resolve) => setTimeout(resolve, delay));
      killedAt[kill] = Date.now();
      daemon.child.kill('SIGKILL');
      const { signal } = await daemon.exit;
      assert.equal(signal, 'SIGKILL', `run ${kill} was killed, not ended otherwise: ${daemon.stderr().slice(-2000)}`);
    }

    // The last run sees the meeting end: the traffic stops, every call ends, it reconciles, and
    // it is stopped gracefully.
    const last = start();
    await last.waitForEvent((e) => e.type === 'server.connected', 'the last run live', 20_000);
    traffic.stop();
    for (const call of sim.world.listCalls()) {
      try {
        sim.world.endCall(call.id, 'allLeft');
      } catch (error) {
        if (!(error instanceof WorldError)) throw error;
      }
    }
    await waitFor(async () => {
      try {
        const { body: servers } = await getJson<Array<{ name: string; state: string; restored: boolean }>>(`${api}/api/servers`);
        const view = servers.find((s) => s.name === SERVER);
        if (view?.state !== 'live' || view.restored) return false;
        const { body: calls } = await getJson<unknown[]>(`${api}/api/servers/${SERVER}/calls`);
        return calls.length === 0;
      } catch {
        return false;
      }
    }, 'the last run to see every call end', 30_000);
    await sim.idle();
    assert.equal((await last.stop()).code, 0);
    killedAt.push(undefined);
  } finally {
    traffic.stop();
    await Promise.all(runs.map((d) => d.stop()));
  }

  const participants = foldPresence(records, { kind: 'participant', killedAt, windowMs: REPEAT_WINDOW_MS });
  const calls = foldPresence(records, { kind: 'call', killedAt, windowMs: REPEAT_WINDOW_MS });
  const meetings = foldPresence(records, { kind: 'meeting', killedAt, windowMs: REPEAT_WINDOW_MS });
  return { seed, runs, records, killedAt, participants, calls, meetings, durationMs: Date.now() - began, modelsLeft: await listServerFiles(stateDir), violations: sim.violations() };
}

describe('kill -9 at random points of a busy meeting, many times', { timeout: 120_000 }, () => {
  let outcome: Outcome;
  before(async () => {
    outcome = await killRepeatedly();
  });

  it('every join gets exactly one leave (every start one end); a join or leave repeats only from the last write interval before a kill', (t) => {
    const { seed, runs, records, killedAt, participants, calls, meetings } = outcome;
    const perRun = runs.map((_, i) => `${i}:${records.filter((r) => r.run === i).length}`).join(' ');
    t.diagnostic(`seed ${seed}; ${KILLS} kills, ${runs.length} runs in ${outcome.durationMs} ms; ${records.length} events (per run ${perRun})`);
    t.diagnostic(`participants: ${participants.keys} seen, ${participants.opens} joins, ${participants.closes} leaves, repeated joins ${participants.repeatedOpens}, repeated leaves ${participants.repeatedCloses} (at most ${participants.longestRepeatBeforeKillMs} ms before the kill), joins never left after a kill ${participants.lostCloses.length}`);
    t.diagnostic(`calls: ${calls.keys} seen, ${calls.opens} starts, ${calls.closes} ends, repeated starts ${calls.repeatedOpens}, repeated ends ${calls.repeatedCloses} (at most ${calls.longestRepeatBeforeKillMs} ms before the kill), starts never ended after a kill ${calls.lostCloses.length}`);
    t.diagnostic(`meetings: ${meetings.keys} seen, ${meetings.opens} starts, ${meetings.closes} ends, repeated starts ${meetings.repeatedOpens}, repeated ends ${meetings.repeatedCloses}, starts never ended after a kill ${meetings.lostCloses.length}`);
    t.diagnostic(`synthetic events: ${records.filter((r) => r.event.synthetic).length}; models left: ${outcome.modelsLeft.join(', ')}`);
    for (const failure of [...participants.failures, ...calls.failures, ...meetings.failures].slice(0, 20)) t.diagnostic(`FAIL ${failure}`);
    // The story of each call a failure is about: every event of it, by run, with the time it was
    // read relative to that run's kill.
    for (const key of new Set([...participants.failedCalls, ...calls.failedCalls])) {
      t.diagnostic(`story of ${key}:`);
      for (const { event, run, at } of records.filter((r) => 'callId' in r.event && `${r.event.server} ${r.event.callId}` === key)) {
        const kill = killedAt[run];
        t.diagnostic(`  run ${run} ${kill === undefined ? '(not killed)' : `${at - kill} ms from its kill`}: ${line(event)}`);
      }
    }
    assert.deepEqual(runs.flatMap((d) => d.junk), [], 'stdout holds whole NDJSON lines only');
    assert.ok(participants.opens > KILLS && calls.opens > 1, 'the meeting was busy enough to mean something');
    assert.deepEqual(participants.failures, [], 'participants: every join gets exactly one leave, repeats only within the write interval');
    assert.deepEqual(calls.failures, [], 'calls: every start gets exactly one end, repeats only within the write interval');
    assert.equal(meetings.opens, calls.opens, 'one server: a meeting per call');
    assert.deepEqual(meetings.failures, [], 'meetings: every start gets exactly one end, repeats only within the write interval');
    // An id printed again is the journal of a killed run handed to the sinks again: only events
    // printed in that run's last write interval (or never printed before its kill) may be.
    const firstOf = new Map<string, Stamped>();
    const badRepeats: string[] = [];
    for (const record of records) {
      const first = firstOf.get(record.event.id);
      if (first === undefined) {
        firstOf.set(record.event.id, record);
        continue;
      }
      const kill = killedAt[first.run];
      if (kill === undefined || record.run <= first.run || kill - first.at > REPEAT_WINDOW_MS) badRepeats.push(`${line(record.event)} (run ${record.run}, first in run ${first.run})`);
    }
    t.diagnostic(`events printed again by the next run (same id, from its journal): ${records.length - firstOf.size}`);
    assert.deepEqual(badRepeats, [], 'an id repeats only from the last write interval of a killed run');
    assert.deepEqual(outcome.violations, []);
  });

  it(
    'none is lost: a join (start) printed in the last write interval before a kill still gets its leave (end) when it is gone by the restart',
    (t) => {
      const { participants, calls, meetings } = outcome;
      for (const lost of [...participants.lostCloses, ...calls.lostCloses, ...meetings.lostCloses]) t.diagnostic(lost);
      assert.deepEqual(participants.lostCloses, [], 'every join gets its leave');
      assert.deepEqual(calls.lostCloses, [], 'every start gets its end');
      assert.deepEqual(meetings.lostCloses, [], 'every meeting.started gets its meeting.ended');
    },
  );
});

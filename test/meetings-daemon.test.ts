// Meetings across bridges from outside: the real daemon (bin/cms-events run) follows two
// simulated bridges that each host a part of one meeting (their own call ids, one callCorrelator,
// the same participant id on both rosters) and a meeting of their own. GET /api/meetings must
// list each meeting once with the right servers, calls and deduplicated participants; one
// bridge's part ending, an outage, a removal and a restart must never end a meeting early or twice.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { SimulatedServer } from '../src/simulator/index.js';
import type { CmsEvent, MeetingView } from '../src/index.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const running: Daemon[] = [];
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
});

const person = (id: string, name: string) => ({ id, name, uri: `${name.toLowerCase()}@example.com`, state: 'connected', direction: 'incoming' });

interface Setup {
  dir: string;
  api: string;
  a: SimulatedServer;
  b: SimulatedServer;
  /** The spread meeting's correlator and its call on each bridge. */
  correlator: string;
  callA: string;
  callB: string;
  write(servers: Array<'a' | 'b'>): string;
  run(config: string): Daemon;
}

async function setup(name: string): Promise<Setup> {
  const a = await simulator({ name: `${name}-a` });
  const b = await simulator({ name: `${name}-b` });
  const dir = tempDir('cms-events-meetings-');
  const port = await freePort();
  const correlator = randomUUID();
  const callA = a.world.createCall({ name: 'Quarterly Review', callCorrelator: correlator, distributedInstances: 1 });
  const callB = b.world.createCall({ name: 'Quarterly Review', callCorrelator: correlator, distributedInstances: 1 });
  const sims = { a, b };
  return {
    dir,
    api: `http://127.0.0.1:${port}`,
    a,
    b,
    correlator,
    callA,
    callB,
    write: (servers) => writeConfig(dir, { servers: servers.map((key) => serverEntry(`cms-${key}`, sims[key])), http: { host: '127.0.0.1', port }, stateDir: 'state' }),
    run: (config) => {
      const daemon = startDaemon(['run', '--config', config]);
      running.push(daemon);
      return daemon;
    },
  };
}

async function meetings(api: string): Promise<MeetingView[]> {
  const { status, body } = await getJson<MeetingView[]>(`${api}/api/meetings`);
  assert.equal(status, 200);
  return body;
}

const meetingEvents = (daemon: Daemon, id: string) => daemon.events.filter((e) => 'meetingId' in e && e.meetingId === id);
const types = (events: CmsEvent[]) => events.map((e) => `${e.type} ${e.server}${e.synthetic ? ' synthetic' : ''}`);
const callEnded = (server: string, callId: string) => (e: CmsEvent) => e.type === 'call.ended' && e.server === server && e.callId === callId;

async function waitMeeting(api: string, id: string, predicate: (m: MeetingView | undefined) => boolean, what: string): Promise<MeetingView | undefined> {
  let last: MeetingView | undefined;
  await waitFor(async () => {
    try {
      last = (await meetings(api)).find((m) => m.id === id);
    } catch {
      return false; // not listening yet
    }
    return predicate(last);
  }, what, 20_000);
  return last;
}

describe('meetings across bridges, from outside', () => {
  it('lists a spread meeting once with both bridges and deduplicated participants; one part ending is not the end; the last part ends it once', async () => {
    const s = await setup('spread');
    // Kim is hosted on a and also listed by b (same cluster-wide id); Ana is on b only.
    s.a.world.addParticipant(s.callA, person('p-kim', 'Kim'));
    s.b.world.addParticipant(s.callB, { ...person('p-kim', 'Kim'), state: 'connected' });
    s.b.world.addParticipant(s.callB, person('p-ana', 'Ana'));
    const solo = s.a.world.createCall({ name: 'Huddle', callCorrelator: randomUUID() });
    s.a.world.addParticipant(solo, person('p-tom', 'Tom'));
    const daemon = s.run(s.write(['a', 'b']));

    const spread = await waitMeeting(s.api, s.correlator, (m) => m?.servers.length === 2 && m.participants.length === 2, 'the spread meeting on both bridges with its two participants');
    assert.deepEqual(spread!.servers.sort(), ['cms-a', 'cms-b']);
    assert.deepEqual(
      spread!.calls.map((c) => `${c.server} ${c.callId}`).sort(),
      [`cms-a ${s.callA}`, `cms-b ${s.callB}`],
    );
    assert.equal(spread!.name, 'Quarterly Review');
    assert.deepEqual(spread!.participants.map((p) => p.id).sort(), ['p-ana', 'p-kim'], 'Kim once, though both bridges list her');
    assert.equal(spread!.participants.find((p) => p.id === 'p-ana')!.server, 'cms-b');
    const all = await meetings(s.api);
    assert.equal(all.length, 2, 'the spread meeting and the huddle');
    const huddle = all.find((m) => m.id !== s.correlator)!;
    assert.deepEqual([huddle.servers, huddle.calls, huddle.participants.map((p) => [p.id, p.server])], [['cms-a'], [{ server: 'cms-a', callId: solo }], [['p-tom', 'cms-a']]]);
    const { status, body } = await getJson<MeetingView>(`${s.api}/api/meetings/${encodeURIComponent(s.correlator)}`);
    assert.equal(status, 200);
    assert.deepEqual(body.id, s.correlator);
    assert.equal((await getJson(`${s.api}/api/meetings/no-such-meeting`)).status, 404);
    assert.equal((await getJson(`${s.api}/api/meetings/%E0%A4%A`)).status, 400, 'bad percent-encoding is the request\'s fault');

    // One meeting.started, just before the call.started of the first instance, from its bridge.
    // (Its line may reach this process a moment after the API showed the meeting.)
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === s.callB, "b's call.started line");
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === s.callA, "a's call.started line");
    const started = meetingEvents(daemon, s.correlator);
    assert.equal(started.length, 1);
    const first = started[0]!;
    assert.equal(first.type, 'meeting.started');
    const next = daemon.events[daemon.events.indexOf(first) + 1]!;
    assert.equal(next.type, 'call.started');
    assert.equal(next.server, first.server);
    assert.ok(first.type === 'meeting.started' && first.meeting.id === s.correlator && first.meeting.name === 'Quarterly Review');

    // Metrics count meetings by span and participants once each.
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    assert.match(metrics, /cms_events_meetings\{span="several"\} 1/);
    assert.match(metrics, /cms_events_meetings\{span="one"\} 1/);
    assert.match(metrics, /cms_events_meeting_participants 3/);

    // a's part ends: the meeting goes on, on b only.
    s.a.world.endCall(s.callA);
    await daemon.waitForEvent(callEnded('cms-a', s.callA), "a's part to end");
    const onB = await waitMeeting(s.api, s.correlator, (m) => m?.servers.length === 1, 'the meeting on b only');
    assert.deepEqual(onB!.servers, ['cms-b']);
    assert.deepEqual(onB!.participants.map((p) => [p.id, p.server]).sort(), [['p-ana', 'cms-b'], ['p-kim', 'cms-b']]);
    assert.deepEqual(types(meetingEvents(daemon, s.correlator)).filter((t) => t.startsWith('meeting.ended')), []);

    // b's part ends: the meeting ends, exactly once, just after that call.ended.
    s.b.world.endCall(s.callB);
    const ended = await daemon.waitForEvent((e) => e.type === 'meeting.ended' && e.meetingId === s.correlator, 'the meeting to end');
    assert.equal(ended.server, 'cms-b');
    const before = daemon.events[daemon.events.indexOf(ended) - 1]!;
    assert.ok(before.type === 'call.ended' && before.callId === s.callB);
    assert.equal((await meetings(s.api)).some((m) => m.id === s.correlator), false);
    await s.a.idle();
    await s.b.idle();
    assert.deepEqual(types(meetingEvents(daemon, s.correlator)), [`meeting.started ${first.server}`, 'meeting.ended cms-b']);
    assert.equal((await daemon.stop()).code, 0);
  });

  it('an outage of one bridge mid-meeting: its part ends (synthetic) when it returns without it, the meeting goes on', async () => {
    const s = await setup('outage');
    s.a.world.addParticipant(s.callA, person('p-kim', 'Kim'));
    s.b.world.addParticipant(s.callB, person('p-ana', 'Ana'));
    const daemon = s.run(s.write(['a', 'b']));
    await waitMeeting(s.api, s.correlator, (m) => m?.servers.length === 2 && m.participants.length === 2, 'the spread meeting');

    s.b.faults.goDown();
    await daemon.waitForEvent((e) => e.type === 'server.disconnected' && e.server === 'cms-b', 'b to drop');
    // While b is away its part is still counted: nothing says it ended.
    assert.deepEqual((await meetings(s.api)).find((m) => m.id === s.correlator)!.servers.sort(), ['cms-a', 'cms-b']);
    s.b.world.endCall(s.callB);
    s.b.faults.comeUp();
    const gone = await daemon.waitForEvent(callEnded('cms-b', s.callB), "b's part to end when b returns");
    assert.equal(gone.synthetic, true);
    await waitMeeting(s.api, s.correlator, (m) => m?.servers.length === 1 && m.servers[0] === 'cms-a', 'the meeting on a only');
    assert.deepEqual(types(meetingEvents(daemon, s.correlator)).filter((t) => t.startsWith('meeting.ended')), [], 'not the end');

    s.a.world.endCall(s.callA);
    await daemon.waitForEvent((e) => e.type === 'meeting.ended' && e.meetingId === s.correlator, 'the meeting to end with its last part');
    assert.deepEqual(types(meetingEvents(daemon, s.correlator)).map((t) => t.split(' ')[0]), ['meeting.started', 'meeting.ended']);
    assert.equal((await daemon.stop()).code, 0);
  });

  it('across a restart on stored state: nothing announced again; a part that ended meanwhile ends, the meeting once at its real end', async () => {
    const s = await setup('restart');
    s.a.world.addParticipant(s.callA, person('p-kim', 'Kim'));
    s.b.world.addParticipant(s.callB, person('p-kim', 'Kim'));
    const config = s.write(['a', 'b']);
    const first = s.run(config);
    await waitMeeting(s.api, s.correlator, (m) => m?.servers.length === 2 && m.participants.length === 1, 'the spread meeting');
    // Both models on disk before the stop (the stop writes them anyway; this keeps the test honest about SIGTERM).
    assert.equal((await first.stop()).code, 0);

    // While the daemon is down, a's part ends.
    s.a.world.endCall(s.callA);
    const second = s.run(config);
    const aEnded = await second.waitForEvent(callEnded('cms-a', s.callA), "a's part, gone meanwhile, to end", 20_000);
    assert.equal(aEnded.synthetic, true);
    await waitMeeting(s.api, s.correlator, (m) => m?.servers.join() === 'cms-b' && m.participants.length === 1, 'the meeting on b with Kim');
    assert.deepEqual(meetingEvents(second, s.correlator), [], 'the meeting is neither started again nor ended');

    s.b.world.endCall(s.callB);
    const ended = await second.waitForEvent((e) => e.type === 'meeting.ended' && e.meetingId === s.correlator, 'the meeting to end');
    assert.equal(ended.synthetic, undefined);
    assert.deepEqual(
      [...first.events, ...second.events].filter((e) => 'meetingId' in e && e.meetingId === s.correlator).map((e) => e.type),
      ['meeting.started', 'meeting.ended'],
      'over both runs: one start, one end',
    );
    assert.equal((await second.stop()).code, 0);
  });

  it('a bridge removed from the configuration ends its part (synthetic); removing the last ends the meeting once', async () => {
    const s = await setup('removal');
    s.a.world.addParticipant(s.callA, person('p-kim', 'Kim'));
    s.b.world.addParticipant(s.callB, person('p-ana', 'Ana'));
    const daemon = s.run(s.write(['a', 'b']));
    await waitMeeting(s.api, s.correlator, (m) => m?.servers.length === 2 && m.participants.length === 2, 'the spread meeting');

    s.write(['a']);
    const bEnded = await daemon.waitForEvent(callEnded('cms-b', s.callB), "b's part to end with b's removal");
    assert.equal(bEnded.synthetic, true);
    assert.ok(bEnded.type === 'call.ended' && bEnded.reason === 'serverRemoved');
    assert.ok(daemon.events.some((e) => e.type === 'participant.left' && e.participantId === 'p-ana' && e.synthetic), 'Ana left with it');
    await waitMeeting(s.api, s.correlator, (m) => m?.servers.join() === 'cms-a' && m.participants.length === 1, 'the meeting on a only');
    assert.deepEqual(meetingEvents(daemon, s.correlator).map((e) => e.type), ['meeting.started']);

    s.write([]);
    const ended = await daemon.waitForEvent((e) => e.type === 'meeting.ended' && e.meetingId === s.correlator, 'the meeting to end with the last bridge');
    assert.equal(ended.synthetic, true);
    assert.equal(ended.server, 'cms-a');
    await waitFor(async () => (await meetings(s.api)).length === 0 || undefined, 'no meetings left');
    assert.deepEqual(meetingEvents(daemon, s.correlator).map((e) => e.type), ['meeting.started', 'meeting.ended']);
    assert.equal((await daemon.stop()).code, 0);
  });
});

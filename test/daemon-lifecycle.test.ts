// The daemon as users run it (bin/cms-events run --config FILE) against three simulated servers:
// one healthy, one with a wrong password, one that goes down and comes back with changes made
// while it was away. Everything is checked through stdout and the HTTP API only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type SimulatedServer } from '../src/simulator/index.js';
import type { CmsEvent } from '../src/state/events.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { waitFor } from './helpers/wait.js';
import { openEventStream } from './helpers/sse.js';

describe('daemon with three servers', () => {
  let good: SimulatedServer;
  let wrongPassword: SimulatedServer;
  let flaky: SimulatedServer;
  let daemon: Daemon;
  let api: string;
  const passwords = ['Pa55-good-9f2c', 'Pa55-flaky-77ab'];

  before(async () => {
    good = await startSimulator({ name: 'good', username: 'api', password: passwords[0] });
    wrongPassword = await startSimulator({ name: 'wrong', username: 'api', password: 'the-real-one-4411' });
    flaky = await startSimulator({ name: 'flaky', username: 'api', password: passwords[1] });
    // A meeting already running on the flaky server before the daemon starts.
    const standup = flaky.world.createCall({ name: 'Standup' });
    flaky.world.addParticipant(standup, { name: 'Ana', uri: 'ana@example.com', state: 'connected', direction: 'incoming' });
    const port = await freePort();
    const dir = tempDir();
    const config = writeConfig(dir, {
      servers: [
        serverEntry('cms-good', good),
        serverEntry('cms-wrong', wrongPassword, { password: 'Wr0ng-pass-5150' }),
        serverEntry('cms-flaky', flaky),
      ],
      http: { host: '127.0.0.1', port },
    });
    api = `http://127.0.0.1:${port}`;
    daemon = startDaemon(['run', '--config', config]);
    await waitFor(async () => {
      try {
        return (await fetch(`${api}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }, 'the HTTP API');
  });

  after(async () => {
    await daemon?.stop();
    await Promise.all([good?.close(), wrongPassword?.close(), flaky?.close()]);
  });

  const eventsOf = (server: string) => daemon.events.filter((e) => e.server === server);

  it('connects the healthy servers and reports the wrong password as an authentication failure', async () => {
    await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'cms-good', 'cms-good connected');
    await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'cms-flaky', 'cms-flaky connected');
    const servers = await waitFor(async () => {
      const { body } = await getJson<any[]>(`${api}/api/servers`);
      const wrong = body.find((s) => s.name === 'cms-wrong');
      return wrong?.lastError ? body : undefined;
    }, 'the wrong-password server to report its error');
    const byName = Object.fromEntries(servers.map((s) => [s.name, s]));
    assert.equal(byName['cms-good'].state, 'live');
    assert.equal(byName['cms-flaky'].state, 'live');
    assert.notEqual(byName['cms-wrong'].state, 'live');
    assert.equal(byName['cms-wrong'].lastErrorKind, 'auth');
    assert.equal(byName['cms-wrong'].lastErrorCode, 'AUTH_REJECTED');
    assert.match(byName['cms-wrong'].lastError, /401|auth|credential|password/i);
    assert.equal(eventsOf('cms-wrong').filter((e) => e.type === 'server.connected').length, 0);
    const ready = await fetch(`${api}/readyz`);
    assert.equal(ready.status, 503, 'not ready while one server is not live');
    // The meeting that was already running is announced once, with its participant.
    await daemon.waitForEvent((e) => e.type === 'participant.joined' && e.server === 'cms-flaky', 'the standup participant');
    assert.equal(eventsOf('cms-flaky').filter((e) => e.type === 'call.started').length, 1);
  });

  it('follows a call and its participants from start to end, in order', async () => {
    // Each step waits for its event, as a real meeting unfolds over seconds: a call that lives a
    // few microseconds is over before anyone could subscribe to its roster.
    const w = good.world;
    const seen = (predicate: (e: any) => boolean, what: string) => daemon.waitForEvent(predicate, what);
    const callId = w.createCall({ name: 'Board meeting', callType: 'coSpace' });
    await seen((e) => e.type === 'call.started' && e.callId === callId, 'call.started');
    const alice = w.addParticipant(callId, { name: 'Alice', uri: 'alice@example.com', state: 'connected', direction: 'incoming' });
    await seen((e) => e.type === 'participant.joined' && e.participantId === alice, 'Alice joined');
    const bob = w.addParticipant(callId, { name: '', uri: '5551234@example.com', state: 'initial', direction: 'outgoing' });
    await seen((e) => e.type === 'participant.joined' && e.participantId === bob, 'Bob joined');
    w.updateParticipant(callId, bob, { state: 'ringing' });
    await seen((e) => e.type === 'participant.updated' && e.participantId === bob && e.changes.state === 'ringing', 'Bob ringing');
    w.updateParticipant(callId, bob, { name: 'Bob', state: 'connected', uri: '5551234@example.com;x-cisco-number=5551234' });
    w.updateParticipant(callId, alice, { audioMuted: true });
    w.updateParticipant(callId, bob, { state: 'onHold' });
    w.removeParticipant(callId, bob, 'participantInitiated');
    await seen((e) => e.type === 'participant.left' && e.participantId === bob, 'Bob left');
    w.endCall(callId, 'allLeft');
    await seen((e) => e.type === 'call.ended' && e.callId === callId, 'the call to end');

    const mine = eventsOf('cms-good').filter((e) => 'callId' in e && e.callId === callId);
    const story = mine.map((e) => {
      if (e.type === 'participant.updated') return `${e.type}:${e.participant.name || e.participant.uri}:${JSON.stringify(Object.fromEntries(Object.entries(e.changes).sort()))}`;
      if ('participant' in e) return `${e.type}:${e.participant.name || e.participant.uri}`;
      return e.type;
    });
    const expected = [
      'call.started',
      'participant.joined:Alice',
      'participant.joined:5551234@example.com',
      'participant.updated:5551234@example.com:{"state":"ringing"}',
      `participant.updated:Bob:{"name":"Bob","state":"connected","uri":"5551234@example.com;x-cisco-number=5551234"}`,
      'participant.updated:Alice:{"audioMuted":true}',
      'participant.updated:Bob:{"state":"onHold"}',
      'participant.left:Bob',
      'participant.left:Alice',
      'call.ended',
    ];
    // call.updated events (participant counts) may interleave; the participant story must be exact.
    assert.deepEqual(story.filter((s) => !s.startsWith('call.updated')), expected);
    const leftBob = mine.find((e) => e.type === 'participant.left' && e.participantId === bob) as Extract<CmsEvent, { type: 'participant.left' }>;
    assert.equal(leftBob.reason, 'participantInitiated');
    const leftAlice = mine.find((e) => e.type === 'participant.left' && e.participantId === alice) as Extract<CmsEvent, { type: 'participant.left' }>;
    assert.equal(leftAlice.reason, 'callEnded', 'every join gets its leave when the call ends');
    const ended = mine.at(-1) as Extract<CmsEvent, { type: 'call.ended' }>;
    assert.equal(ended.reason, 'allLeft');
    for (const event of mine) {
      assert.equal(typeof event.id, 'string');
      assert.ok(!Number.isNaN(Date.parse(event.ts)), 'ts is ISO-8601');
      assert.equal((event as any).call.id, callId);
    }
    assert.equal(new Set(daemon.events.map((e) => e.id)).size, daemon.events.length, 'event ids are unique');
  });

  it('shows live calls and rosters in the API and streams events over SSE', async () => {
    const stream = await openEventStream(`${api}/api/events?server=cms-good`);
    assert.equal(stream.response.headers.get('content-type')?.startsWith('text/event-stream'), true);

    const callId = good.world.createCall({ name: 'Design review' });
    const pid = good.world.addParticipant(callId, { name: 'Chen', uri: 'chen@example.com', state: 'connected', direction: 'incoming' });
    flaky.world.createCall({ name: 'Not on this stream' });
    await waitFor(() => stream.text().includes(pid), 'the participant on the SSE stream');
    const frames = stream.text().split('\n\n').filter((f) => f.includes('data: '));
    const streamed = frames.map((f) => JSON.parse(f.split('\n').find((l) => l.startsWith('data: '))!.slice(6)));
    assert.ok(streamed.every((e) => e.server === 'cms-good'), 'the server filter applies');
    assert.ok(streamed.some((e) => e.type === 'call.started' && e.callId === callId));
    const meeting = streamed.find((e) => e.type === 'meeting.started');
    assert.ok(meeting, 'meeting events are on the stream too');
    assert.equal(streamed.indexOf(meeting) + 1, streamed.findIndex((e) => e.type === 'call.started' && e.callId === callId), 'just before its call');
    assert.ok(frames.every((f) => /^id: \S+/m.test(f)), 'each SSE message carries the event id');
    await stream.close();

    const { status, body } = await getJson<any[]>(`${api}/api/servers/cms-good/calls`);
    assert.equal(status, 200);
    const call = body.find((c) => c.id === callId);
    assert.equal(call.name, 'Design review');
    assert.deepEqual(call.roster.map((p: any) => [p.id, p.name, p.state]), [[pid, 'Chen', 'connected']]);
    assert.equal((await fetch(`${api}/api/servers/nope/calls`)).status, 404);
  });

  it('reconciles an outage: what changed while away is announced once, nothing is repeated', async () => {
    const world = flaky.world;
    const [standup] = world.listCalls().filter((c) => c.name === 'Standup');
    assert.ok(standup);
    const retro = world.createCall({ name: 'Retro' });
    const p1 = world.addParticipant(retro, { name: 'Pat', uri: 'pat@example.com', state: 'connected', direction: 'incoming' });
    const p2 = world.addParticipant(retro, { name: 'Sam', uri: 'sam@example.com', state: 'connected', direction: 'incoming' });
    const stays = world.addParticipant(standup.id, { name: 'Kim', uri: 'kim@example.com', state: 'connected', direction: 'incoming' });
    await daemon.waitForEvent((e) => e.type === 'participant.joined' && e.participantId === stays, 'Kim to join');
    await daemon.waitForEvent((e) => e.type === 'participant.joined' && e.participantId === p2, 'Sam to join');
    const before = daemon.events.length;

    flaky.faults.goDown();
    await daemon.waitForEvent((e, i = daemon.events.indexOf(e)) => i >= before && e.type === 'server.disconnected' && e.server === 'cms-flaky', 'cms-flaky disconnected');
    // While nobody watches: Retro ends with its people in it, Ana leaves the standup, the standup
    // gets locked, a new call starts.
    world.endCall(retro, 'allLeft');
    const ana = standup.roster.find((p) => p.name === 'Ana')!;
    world.removeParticipant(standup.id, ana.id);
    world.updateCall(standup.id, { lockState: 'locked' });
    const lunch = world.createCall({ name: 'Lunch' });
    flaky.faults.comeUp();

    await daemon.waitForEvent((e, i = daemon.events.indexOf(e)) => i >= before && e.type === 'server.connected' && e.server === 'cms-flaky', 'cms-flaky back', 90_000);
    await daemon.waitForEvent((e) => e.type === 'call.ended' && e.callId === retro, 'Retro to end', 15_000);
    await daemon.waitForEvent((e) => e.type === 'participant.left' && e.participantId === ana.id, 'Ana to leave', 15_000);
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === lunch, 'Lunch to start', 15_000);
    await daemon.waitForEvent((e) => e.type === 'call.updated' && e.callId === standup.id && (e.changes as any).lockState === 'locked', 'the lock', 15_000);

    const since = daemon.events.slice(before).filter((e) => e.server === 'cms-flaky');
    const retroEvents = since.filter((e) => 'callId' in e && e.callId === retro);
    assert.deepEqual(
      retroEvents.map((e) => [e.type, 'participantId' in e ? e.participantId : null, e.synthetic === true]).sort(),
      [['call.ended', null, true], ['participant.left', p1, true], ['participant.left', p2, true]].sort(),
    );
    assert.equal(retroEvents.at(-1)!.type, 'call.ended', 'the call ends after its participants left');
    const anaLeft = since.find((e) => e.type === 'participant.left' && e.participantId === ana.id)!;
    assert.equal(anaLeft.synthetic, true);
    // Nothing already known is announced again.
    assert.equal(since.filter((e) => e.type === 'call.started' && e.callId === standup.id).length, 0);
    assert.equal(since.filter((e) => e.type === 'participant.joined' && e.participantId === stays).length, 0);
    assert.equal(since.filter((e) => e.type === 'call.started' && e.callId === lunch).length, 1);
    // The API agrees with the world.
    const { body } = await getJson<any[]>(`${api}/api/servers/cms-flaky/calls`);
    assert.deepEqual(body.map((c) => c.name).sort(), world.listCalls().map((c) => c.name).sort());
  });

  it('survives malformed frames and keeps following the feed', async () => {
    good.faults.sendRaw('{this is not json');
    good.faults.sendRaw(JSON.stringify({ type: 'surprise', surprise: {} }));
    const callId = good.world.createCall({ name: 'After the noise' });
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === callId, 'a call after the bad frames');
    const metrics = await (await fetch(`${api}/metrics`)).text();
    const bad = /cms_events_bad_frames_total\{server="cms-good"\} (\d+)/.exec(metrics);
    assert.ok(bad && Number(bad[1]) >= 2, 'bad frames are counted');
  });

  it('exposes Prometheus metrics per server', async () => {
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /cms_events_server_state\{server="cms-good",state="live"\} 1/);
    assert.match(metrics, /cms_events_server_state\{server="cms-wrong",state="live"\} 0/);
    assert.match(metrics, /cms_events_messages_received_total\{server="cms-good"\} [1-9]/);
    assert.match(metrics, /cms_events_acks_sent_total\{server="cms-good"\} [1-9]/);
    assert.match(metrics, /cms_events_events_total\{server="cms-good",type="call.started"\} [1-9]/);
    assert.match(metrics, /cms_events_queue_depth/);
    assert.match(metrics, /cms_events_reconnects_total\{server="cms-flaky"\} [1-9]/);
  });

  it('keeps the protocol: no violation recorded by any simulator', () => {
    assert.deepEqual(good.violations(), []);
    assert.deepEqual(flaky.violations(), []);
    assert.deepEqual(wrongPassword.violations(), []);
  });

  it('stops cleanly on SIGTERM with exit code 0, and never prints a secret', async () => {
    const { code } = await daemon.stop();
    assert.equal(code, 0);
    assert.deepEqual(daemon.junk, [], 'stdout holds NDJSON events only');
    const output = daemon.stdout() + daemon.stderr();
    for (const secret of [...passwords, 'Wr0ng-pass-5150']) assert.ok(!output.includes(secret), `secret ${secret.slice(0, 4)}… leaked`);
    assert.doesNotMatch(output, /authToken=(?!\*\*\*)/);
    assert.match(daemon.stderr(), /cms-wrong/, 'log lines name their server');
  });
});

// `cdr.register: true` against the simulated CMS's /system/cdrReceivers, and the simulator's own
// CDR pusher posting to the real daemon: the CMS lists our receiver exactly once (also after a
// restart), other receivers are never touched, an entry of ours pointing elsewhere is changed in
// place, a CMS at its maximum is reported and left alone, and a server leaving the configuration
// has our entry deleted. The records of the simulated calls arrive as events with the live ids.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { SimulatedServer } from '../src/simulator/index.js';
import type { CdrRecordEvent, CmsEvent } from '../src/state/events.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { sleep, waitFor } from './helpers/wait.js';

const TOKEN = 'registration-token-0123456789';

const running: Daemon[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
  await Promise.all(closers.map((close) => close()));
});

/** Another product's receiver on the same CMS: it takes every POST and must never be touched. */
async function otherReceiver(): Promise<{ uri: string; posts: () => number }> {
  let posts = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.writeHead(200, { 'content-length': '0' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/meetings/cdr/1/?token=cafe`, posts: () => posts };
}

const entries = (sim: SimulatedServer) => sim.cdr.receivers().map((r) => r.uri).sort();

interface ServerEntry {
  name: string;
  cdrRegistration?: { state: string; error: string | null; receiverId: string | null } | null;
}

describe('CDR receiver registration', () => {
  it('exactly one entry per CMS, others untouched, ours moved in place, the maximum respected, deleted on removal; the simulated calls\' records arrive with their ids', async () => {
    const other = await otherReceiver();
    const a = await simulator({ name: 'reg-a' });
    const b = await simulator({ name: 'reg-b' });
    const full = await simulator({ name: 'reg-full' });
    a.cdr.addReceiver(other.uri);
    for (let k = 0; k < 4; k++) full.cdr.addReceiver(`http://127.0.0.1:9/other-${k}`);
    const dir = tempDir('cms-events-cdr-reg-');
    const port = await freePort();
    const httpPort = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const ours = (server: string) => `${publicUrl}/cdr/${server}?token=${TOKEN}`;
    // cms-b holds an entry of ours from an earlier address (an old publicUrl, a previous owner).
    const earlier = b.cdr.addReceiver(`http://localhost:1/cdr/cms-b?token=${TOKEN}`);
    const fullBefore = entries(full);
    const config = (servers: SimulatedServer[]) => ({
      servers: servers.map((sim) => serverEntry(sim === a ? 'cms-a' : sim === b ? 'cms-b' : 'cms-full', sim)),
      http: { host: '127.0.0.1', port: httpPort },
      cdr: { listen: { host: '127.0.0.1', port }, publicUrl, token: TOKEN, register: true },
      stateDir: path.join(dir, 'state'),
      health: { intervalSeconds: 1 },
    });
    const file = writeConfig(dir, config([a, b, full]));
    const servers = async () => (await getJson<ServerEntry[]>(`http://127.0.0.1:${httpPort}/api/servers`)).body;
    const start = () => {
      const daemon = startDaemon(['run', '--config', file]);
      running.push(daemon);
      return daemon;
    };

    const first = start();
    await waitFor(() => entries(a).includes(ours('cms-a')) && entries(b).includes(ours('cms-b')), 'our receivers registered', 15_000);
    assert.deepEqual(entries(a), [other.uri, ours('cms-a')].sort(), 'cms-a: ours added, the other kept');
    assert.deepEqual(b.cdr.receivers(), [{ id: earlier, uri: ours('cms-b') }], 'cms-b: our old entry changed in place (same id)');
    const refused = await waitFor(async () => (await servers()).find((s) => s.name === 'cms-full')?.cdrRegistration?.state === 'refused', 'cms-full refused', 15_000);
    assert.ok(refused);
    assert.deepEqual(entries(full), fullBefore, 'a CMS at its maximum is left as it was');
    const views = await servers();
    assert.equal(views.find((s) => s.name === 'cms-a')?.cdrRegistration?.state, 'registered');
    assert.match(views.find((s) => s.name === 'cms-full')?.cdrRegistration?.error ?? '', /maximum/);

    // A call on cms-a: its CDRs reach the daemon (and the other receiver) with the live ids.
    await first.waitForEvent((e) => e.type === 'server.connected' && e.server === 'cms-a', 'cms-a live', 15_000);
    const callId = a.world.createCall({ name: 'Registered' });
    const ann = a.world.addParticipant(callId, { name: 'Ann', state: 'connected' });
    const bob = a.world.addParticipant(callId, { name: 'Bob', state: 'connected' });
    // The feed shows them joined (the roster subscription takes a moment), then they go.
    await waitFor(() => first.events.filter((e) => e.type === 'participant.joined' && e.server === 'cms-a').length === 2, 'both joined', 10_000);
    a.world.removeParticipant(callId, ann);
    a.world.endCall(callId);
    await first.waitForEvent((e) => e.type === 'cdr.callEnd' && e.server === 'cms-a', 'the call\'s CDRs', 15_000);
    const cdrs = first.events.filter((e): e is CdrRecordEvent => e.type.startsWith('cdr.') && e.server === 'cms-a');
    const legEnds = cdrs.filter((e) => e.type === 'cdr.callLegEnd');
    assert.deepEqual(legEnds.map((e) => [e.participantId, e.callId]).sort(), [[ann, callId], [bob, callId]].sort());
    assert.ok(legEnds.every((e) => typeof e.callLegId === 'string'));
    assert.equal(cdrs.find((e) => e.type === 'cdr.callStart')?.callId, callId);
    // The events feed said the same call and people.
    const joined = first.events.filter((e: CmsEvent) => e.type === 'participant.joined' && e.server === 'cms-a').map((e) => (e as { participantId: string }).participantId);
    assert.deepEqual(joined.sort(), [ann, bob].sort());
    await waitFor(() => other.posts() > 0, 'the other receiver got its records too', 10_000);
    // cms-full's four receivers are unreachable: once it has records to send, the CMS raises cdrConnectionFailure, announced once.
    full.world.addParticipant(full.world.createCall({ name: 'Nobody hears' }), { name: 'Cy', state: 'connected' });
    await first.waitForEvent((e) => e.type === 'server.alarm.raised' && e.server === 'cms-full', 'cdrConnectionFailure raised', 15_000);
    const alarms = (daemon: Daemon) => daemon.events.filter((e) => e.type.startsWith('server.alarm.') && e.server === 'cms-full').map((e) => `${e.type} ${(e as { alarm: { type: string } }).alarm.type}`);
    assert.deepEqual(alarms(first), ['server.alarm.raised cdrConnectionFailure']);
    assert.equal((await first.stop()).code, 0);

    // A restart registers nothing twice.
    const second = start();
    await waitFor(async () => (await servers().catch(() => [])).find((s) => s.name === 'cms-a')?.cdrRegistration?.state === 'registered', 'registered again', 15_000);
    assert.deepEqual(entries(a), [other.uri, ours('cms-a')].sort());
    assert.deepEqual(b.cdr.receivers(), [{ id: earlier, uri: ours('cms-b') }]);
    // Still active after the restart: not raised again (a health read has happened by now).
    await waitFor(async () => ((await servers()).find((s) => s.name === 'cms-full') as { cms?: { checkedAt: string | null } } | undefined)?.cms?.checkedAt, 'cms-full\'s health read', 10_000);
    await sleep(1_500);
    assert.deepEqual(alarms(second), []);

    // cms-b leaves the configuration: our entry goes from it, nothing else changes.
    writeConfig(dir, config([a, full]));
    await waitFor(() => b.cdr.receivers().length === 0, 'our entry deleted from cms-b', 15_000);
    assert.deepEqual(entries(a), [other.uri, ours('cms-a')].sort());
    assert.ok(!second.stderr().includes(TOKEN), 'the token appears in no log line');
    assert.equal((await second.stop()).code, 0);
  });
});

// Cluster mode, every instance shows the whole fleet: two daemons share four simulated servers
// through a real nats-server. On either instance, GET /api/servers lists all four with their
// owner; a server the other instance follows has its calls in /api/servers/{name}/calls; a
// meeting spread over servers that different instances follow is one meeting in /api/meetings;
// the SSE stream carries the events of the other instance's servers as they happen; a control
// request for a server the other instance follows works; /readyz is 200 once everything is owned.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { MeetingView } from '../src/index.js';
import type { SimulatedServer } from '../src/simulator/index.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { requirePrograms } from './helpers/requirements.js';
import { simulator } from './helpers/simulators.js';
import { startNats, type ServerProcess } from './helpers/sinks.js';
import { waitFor } from './helpers/wait.js';
import { openEventStream } from './helpers/sse.js';

const needs = requirePrograms('nats-server');
const TOKEN = 'cluster-views-control-token-0123';
const running: Daemon[] = [];
let nats: ServerProcess | undefined;
after(async () => {
  await Promise.all(running.map((d) => d.stop()));
  await nats?.stop();
});

interface ServerEntry {
  name: string;
  state: string;
  owner: string | null;
  calls: number;
}

const person = (id: string, name: string) => ({ id, name, uri: `${name.toLowerCase()}@example.com`, state: 'connected', direction: 'incoming' });

async function json<T>(url: string): Promise<T | undefined> {
  try {
    const { status, body } = await getJson<T>(url);
    return status === 200 ? body : undefined;
  } catch {
    return undefined;
  }
}

describe('cluster mode: every instance shows the whole fleet', { skip: needs.skip, timeout: 120_000 }, () => {
  it('servers, calls, meetings, SSE and control on an instance that does not follow the server', async (t) => {
    const dir = tempDir('cms-events-cluster-views-');
    nats = await startNats(await freePort(), path.join(dir, 'nats'));
    const sims: SimulatedServer[] = [];
    for (let i = 1; i <= 4; i++) sims.push(await simulator({ name: `view-${i}` }));
    const servers = sims.map((sim, i) => serverEntry(`cms-${i + 1}`, sim));
    const apis: string[] = [];
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const config = writeConfig(dir, { servers, http: { host: '127.0.0.1', port, controlToken: TOKEN }, cluster: { nats: `nats://127.0.0.1:${nats.port}`, instance: name, leaseSeconds: 3 } }, `${name}.json`);
      running.push(startDaemon(['run', '--config', config]));
      apis.push(`http://127.0.0.1:${port}`);
    }
    const listing = (api: string) => json<ServerEntry[]>(`${api}/api/servers`);
    // Both instances must follow something: wait until the placement has spread (or move on with what it is).
    const placed = await waitFor(async () => {
      const seen = await listing(apis[0]!);
      return seen && seen.length === 4 && seen.every((s) => s.owner !== null) ? seen : undefined;
    }, 'every server owned', 60_000);
    t.diagnostic(`owners: ${placed.map((s) => `${s.name}→${s.owner}`).join(', ')}`);
    // Ready once every server is owned and the ones each instance follows are live.
    for (const api of apis) await waitFor(async () => (await getJson(`${api}/readyz`)).status === 200, `${api}/readyz 200`, 30_000);
    const metrics = await Promise.all(apis.map(async (api) => (await fetch(`${api}/metrics`)).text()));
    const ownedBy = (text: string) => Number(/^cms_events_cluster_servers_owned (\d+)$/m.exec(text)?.[1]);
    assert.equal(ownedBy(metrics[0]!) + ownedBy(metrics[1]!), 4, 'servers owned, summed over the instances, is every server');
    const takeovers = (text: string) => Number(/^cms_events_cluster_takeovers_total (\d+)$/m.exec(text)?.[1]);
    assert.equal(takeovers(metrics[0]!) + takeovers(metrics[1]!), 4, 'one takeover per server so far');

    // A server instance a does not follow (if a follows all, the view is tested the other way round).
    const ownerOf = new Map(placed.map((s) => [s.name, s.owner!]));
    const viewer = [...ownerOf.values()].includes('b') ? 0 : 1;
    const viewerName = viewer === 0 ? 'a' : 'b';
    const api = apis[viewer]!;
    const remote = placed.find((s) => s.owner !== viewerName);
    assert.ok(remote, 'one server is followed by the other instance');
    const remoteSim = sims[Number(remote.name.slice(4)) - 1]!;
    const seenHere = await listing(api);
    assert.equal(seenHere?.find((s) => s.name === remote.name)?.state, 'standby', 'a server the other instance follows is standby here');

    // SSE on the viewer, then a call on the remote server.
    const stream = await openEventStream(`${api}/api/events?server=${remote.name}`);
    const correlator = randomUUID();
    const callId = remoteSim.world.createCall({ name: 'Fleet Review', callCorrelator: correlator, distributedInstances: 1 });
    remoteSim.world.addParticipant(callId, person('p-ada', 'Ada'));
    await waitFor(() => stream.text().includes('p-ada'), 'the other instance\'s event on this instance\'s SSE stream', 15_000);
    await stream.close();

    // Its calls, from the published model and the journal.
    const calls = await waitFor(async () => {
      const body = await json<Array<{ id: string; roster: Array<{ id: string }> }>>(`${api}/api/servers/${remote.name}/calls`);
      return body?.find((c) => c.id === callId && c.roster.some((p) => p.id === 'p-ada')) ? body : undefined;
    }, 'the remote server\'s call in this instance\'s API', 15_000);
    assert.ok(calls.length >= 1);

    // A meeting spread over a server each instance follows (when the placement allows it).
    const local = placed.find((s) => s.owner === viewerName);
    if (local) {
      const localSim = sims[Number(local.name.slice(4)) - 1]!;
      const localCall = localSim.world.createCall({ name: 'Fleet Review', callCorrelator: correlator, distributedInstances: 1 });
      localSim.world.addParticipant(localCall, person('p-bo', 'Bo'));
      const meeting = await waitFor(async () => {
        const all = await json<MeetingView[]>(`${api}/api/meetings`);
        const m = all?.find((x) => x.id === correlator);
        return m && m.servers.length === 2 && m.participants.length === 2 ? m : undefined;
      }, 'one meeting over both instances\' servers', 15_000);
      assert.deepEqual([...meeting.servers].sort(), [local.name, remote.name].sort());
    } else t.diagnostic('the viewer follows no server: the spread meeting check is skipped');

    // Control from the viewer on the remote server: the mute reaches the simulator and comes back through the owner.
    const url = `${api}/api/servers/${remote.name}/calls/${callId}/participants/p-ada`;
    const answer = await fetch(url, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ audioMuted: true }) });
    assert.equal(answer.status, 204, await answer.text());
    await waitFor(async () => {
      const body = await json<Array<{ id: string; roster: Array<{ id: string; audioMuted?: boolean }> }>>(`${api}/api/servers/${remote.name}/calls`);
      return body?.find((c) => c.id === callId)?.roster.find((p) => p.id === 'p-ada')?.audioMuted === true;
    }, 'the mute in the viewer\'s view of the remote server', 15_000);
    await waitFor(async () => {
      const later = await Promise.all(apis.map(async (api) => (await fetch(`${api}/metrics`)).text()));
      return /cms_events_cluster_lease_renew_seconds_count\{outcome="renewed"\} [1-9]/.test(later.join('\n'));
    }, 'lease renewals timed in /metrics', 15_000);
  });
});

// Meetings over simulated bridges that form a CMS cluster (formBridgeCluster): the hub, as a
// library in this process, follows both bridges. A participant listed by two bridges is shown
// once, hosted by the bridge whose REST API calls them its own, also when another bridge listed
// them first and after they move; with remote listings off there is nothing to ask; a meeting's
// parts end one by one and the meeting once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHub, createLogger, startHttpServer, type CmsEvent, type Hub, type MeetingView } from '../src/index.js';
import { toServerTarget } from '../src/hub/index.js';
import { formBridgeCluster, type BridgeCluster, type SimulatedServer } from '../src/simulator/index.js';
import { serverEntry } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

async function twoBridges(listRemote: boolean): Promise<{ cluster: BridgeCluster; a: SimulatedServer; b: SimulatedServer }> {
  const a = await simulator({ name: 'bridge-a', switches: { listRemoteParticipants: listRemote } });
  const b = await simulator({ name: 'bridge-b', switches: { listRemoteParticipants: listRemote } });
  return { cluster: formBridgeCluster([a, b]), a, b };
}

const target = (name: string, sim: SimulatedServer) => toServerTarget(serverEntry(name, sim) as never, { baseDir: process.cwd(), origin: 'config', field: name });

function follow(servers: Array<[string, SimulatedServer]>): { hub: Hub; events: CmsEvent[] } {
  const hub = createHub({ servers: servers.map(([name, sim]) => serverEntry(name, sim)), sinks: [], stateDir: null }, { logger: createLogger({ level: 'silent' }) });
  const events: CmsEvent[] = [];
  hub.tap((event) => void events.push(event));
  return { hub, events };
}

const hostOf = (hub: Hub, meeting: string, participant: string) => hub.meeting(meeting)?.participants.find((p) => p.id === participant)?.server;
const participantLookups = (sim: SimulatedServer) => sim.restRequests().filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/participants/'));

describe('meetings over a simulated cluster', () => {
  it('shows a participant two bridges list once, hosted where the REST API says, also when another bridge listed them first and after a move', async () => {
    const { cluster, a, b } = await twoBridges(true);
    const meeting = cluster.startMeeting({ name: 'Cluster Sync', on: [0, 1] });
    // Kim is hosted on b; a lists her as remote. The hub follows a alone first, so a lists her first.
    const kim = cluster.join(meeting, 1, { name: 'Kim', uri: 'kim@example.com', state: 'connected' });
    const { hub, events } = follow([['cms-a', a]]);
    await hub.start();
    try {
      await waitFor(() => hostOf(hub, meeting, kim) === 'cms-a', 'Kim listed by a, the only bridge followed');
      await hub.applyServers([target('cms-a', a), target('cms-b', b)]);
      await waitFor(() => hub.meeting(meeting)?.servers.length === 2 && hostOf(hub, meeting, kim) === 'cms-b', 'Kim hosted by b, as its REST API says');
      const view = hub.meeting(meeting) as MeetingView;
      assert.deepEqual(view.participants.map((p) => p.id), [kim], 'once, though both bridges list her');
      assert.deepEqual(view.calls.map((c) => c.callId).sort(), [cluster.callId(meeting, 0), cluster.callId(meeting, 1)].sort());
      assert.ok(participantLookups(a).length + participantLookups(b).length >= 1, 'the REST API was asked');

      // Muting Kim through a's call: a cannot change her (she is b's), so the daemon acts on b.
      const token = 'cluster-control-token-0123456789';
      const http = await startHttpServer(hub, { port: 0, controlToken: token });
      try {
        const url = `${http.url}/api/servers/cms-a/calls/${cluster.callId(meeting, 0)}/participants/${kim}`;
        const response = await fetch(url, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ audioMuted: true }) });
        assert.equal(response.status, 204, await response.text());
        await waitFor(() => hub.meeting(meeting)?.participants.find((p) => p.id === kim)?.audioMuted === true, 'Kim muted, as the feed reports');
        assert.ok(b.restRequests().some((r) => r.method === 'PUT' && r.path.startsWith('/api/v1/callLegs/') && r.status === 200), 'the change was made on b');
        assert.equal(a.restRequests().filter((r) => r.method === 'PUT').length, 0, 'and not tried on a');
      } finally {
        await http.close();
      }

      // Kim moves to a: a hosts her now, b lists her as remote.
      cluster.move(kim, 0);
      await waitFor(() => hostOf(hub, meeting, kim) === 'cms-a', 'Kim hosted by a after the move');
      assert.equal(hub.meeting(meeting)!.participants.length, 1);

      // b's part ends: the meeting goes on with Kim on a; then a's, and the meeting ends once.
      cluster.endInstance(meeting, 1);
      await waitFor(() => hub.meeting(meeting)?.servers.join() === 'cms-a', 'the meeting on a alone');
      assert.equal(hostOf(hub, meeting, kim), 'cms-a');
      cluster.endInstance(meeting, 0);
      await waitFor(() => hub.meeting(meeting) === undefined, 'the meeting to end');
      const said = events.filter((e) => 'meetingId' in e && e.meetingId === meeting).map((e) => e.type);
      assert.deepEqual(said, ['meeting.started', 'meeting.ended']);
    } finally {
      await hub.stop();
      cluster.dissolve();
    }
  });

  it('with remote listings off, each bridge lists its own people: nothing to ask, each shown with its bridge', async () => {
    const { cluster, a, b } = await twoBridges(false);
    const meeting = cluster.startMeeting({ name: 'Own People', on: [0, 1] });
    const ana = cluster.join(meeting, 0, { name: 'Ana', state: 'connected' });
    const tom = cluster.join(meeting, 1, { name: 'Tom', state: 'connected' });
    const { hub } = follow([
      ['cms-a', a],
      ['cms-b', b],
    ]);
    await hub.start();
    try {
      await waitFor(() => hub.meeting(meeting)?.participants.length === 2, 'both participants');
      assert.deepEqual(
        hub.meeting(meeting)!.participants.map((p) => [p.id, p.server]).sort(),
        [
          [ana, 'cms-a'],
          [tom, 'cms-b'],
        ].sort(),
      );
      assert.deepEqual([...participantLookups(a), ...participantLookups(b)], [], 'no participant listed twice, no lookup');
      // A move with listings off: Tom leaves b and joins a, one participant throughout.
      cluster.move(tom, 0);
      await waitFor(() => hostOf(hub, meeting, tom) === 'cms-a', 'Tom on a');
      assert.equal(hub.meeting(meeting)!.participants.length, 2);
      const counts = await hub.metrics.registry.getSingleMetricAsString('cms_events_meeting_participants');
      assert.match(counts, /cms_events_meeting_participants 2/);
    } finally {
      await hub.stop();
      cluster.dissolve();
    }
  });
});

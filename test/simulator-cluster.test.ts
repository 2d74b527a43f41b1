// Simulated bridges forming a CMS cluster, over real sockets: a meeting spread over bridges (its
// own call id on each, the same correlator and name, the instance counts), the
// listRemoteParticipants switch, the REST answers and refusals for a participant hosted
// elsewhere, moves, instances ending, and the distributed-meeting traffic followed by clients.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fetch } from 'undici';
import { formBridgeCluster, seededRandom, startCluster, startMeetingTraffic, type BridgeCluster, type MeetingSnapshot, type SimulatedServer } from '../src/simulator/index.js';
import { simulateCommand } from '../src/cli/simulate-command.js';
import { Follower, type Values } from './helpers/follower.js';
import { ManualClock } from './helpers/manual-clock.js';
import { probe, simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

async function follow(server: SimulatedServer): Promise<Follower> {
  return new Follower(await probe(server));
}

/** Waits until the bridges have nothing in flight and every follower's last request was answered. */
async function settle(pairs: Array<[SimulatedServer, Follower]>): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    for (const [server, follower] of pairs) {
      await server.idle();
      await follower.probe.quiet(20);
    }
    if (pairs.every(([, follower]) => follower.settled)) return;
  }
  throw new Error('the followers never settled');
}

/** The world as a client sees it: a listing's callBridge is not on the wire. */
function worldAsSeen(server: SimulatedServer) {
  const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  return byId(server.world.listCalls().map((call) => ({ ...call, roster: byId(call.roster.map(({ callBridge: _bridge, ...p }) => p)) })));
}

function modelOf(follower: Follower) {
  const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
  return byId(follower.snapshot().map((call) => ({ ...call, roster: byId(call.roster) })));
}

async function bridges(count: number, lists: boolean[] = []): Promise<{ servers: SimulatedServer[]; followers: Follower[]; cluster: BridgeCluster }> {
  const servers: SimulatedServer[] = [];
  for (let i = 0; i < count; i += 1) servers.push(await simulator({ name: `bridge-${i}`, tls: false, switches: { listRemoteParticipants: lists[i] ?? false } }));
  const followers = await Promise.all(servers.map(follow));
  return { servers, followers, cluster: formBridgeCluster(servers) };
}

interface Answer {
  status: number;
  body: string;
}

async function rest(server: SimulatedServer, method: string, path: string, params?: Record<string, string>): Promise<Answer> {
  const headers: Record<string, string> = { Authorization: `Basic ${Buffer.from(`${server.username}:${server.password}`).toString('base64')}` };
  const body = params ? new URLSearchParams(params).toString() : undefined;
  if (body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(`${server.url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: response.status, body: await response.text() };
}

const refusal = (code: string) => new RegExp(`<failureDetails><${code} /></failureDetails>$`);

async function legOf(server: SimulatedServer, participantId: string): Promise<string> {
  const answer = await rest(server, 'GET', `/participants/${participantId}/callLegs`);
  const legs = [...answer.body.matchAll(/<callLeg id="([^"]+)"/g)].map((m) => m[1] as string);
  assert.equal(legs.length, 1, answer.body);
  return legs[0] as string;
}

describe('a meeting spread over bridges', () => {
  test('two calls with their own ids, the same correlator and name; instance and participant counts right on each', async () => {
    const { servers, followers, cluster } = await bridges(3);
    const [a, b, c] = followers as [Follower, Follower, Follower];
    const correlator = cluster.startMeeting({ name: 'Board Meeting', on: [0, 1] });
    const [id0, id1] = [cluster.callId(correlator, 0), cluster.callId(correlator, 1)];
    assert.ok(id0 && id1);
    assert.notEqual(id0, id1);
    assert.equal(cluster.callId(correlator, 2), undefined);
    assert.equal(cluster.meetingOf(id1), correlator);
    cluster.join(correlator, 0, { name: 'Kim Lee' });
    cluster.join(correlator, 0, { name: 'Ana Souza' });
    cluster.join(correlator, 1, { name: 'Mei Chen' });
    cluster.join(correlator, 1, { name: '', state: 'ringing', direction: 'outgoing' });

    const seen = (follower: Follower, id: string, fields: Values) =>
      waitFor(() => {
        const call = follower.calls.get(id)?.fields;
        return call && Object.entries(fields).every(([k, v]) => call[k] === v);
      }, `${JSON.stringify(fields)} on ${id}`);
    await seen(a, id0, { name: 'Board Meeting', callCorrelator: correlator, distributedInstances: 1, participants: 2 });
    await seen(b, id1, { name: 'Board Meeting', callCorrelator: correlator, distributedInstances: 1, participants: 1 });
    assert.equal(a.calls.size, 1);
    assert.equal(c.calls.size, 0, 'a bridge without an instance has no call');
    await waitFor(() => b.roster(id1).size === 2 && a.roster(id0).size === 2, 'each roster');

    const id2 = cluster.addInstance(correlator, 2);
    assert.equal(cluster.addInstance(correlator, 2), id2, 'an instance is opened once');
    await seen(c, id2, { name: 'Board Meeting', callCorrelator: correlator, distributedInstances: 2, participants: 0 });
    await seen(a, id0, { distributedInstances: 2 });
    await seen(b, id1, { distributedInstances: 2 });

    cluster.endInstance(correlator, 2);
    await waitFor(() => c.calls.size === 0, 'the instance on bridge 2 to end');
    await seen(a, id0, { distributedInstances: 1, participants: 2 });
    await seen(b, id1, { distributedInstances: 1, participants: 1 });

    // An instance ending with people in it: the other goes on, without them.
    cluster.endInstance(correlator, 1, 'participantInitiated');
    await waitFor(() => b.calls.size === 0, 'the instance on bridge 1 to end');
    await seen(a, id0, { distributedInstances: 0, participants: 2 });
    const [meeting] = cluster.meetings();
    assert.deepEqual(meeting?.instances, [{ bridge: 0, callId: id0, distributedInstances: 0, participants: 2 }]);
    assert.deepEqual(meeting?.participants.map((p) => [p.name, p.host]), [['Kim Lee', 0], ['Ana Souza', 0]]);

    cluster.endMeeting(correlator);
    await waitFor(() => a.calls.size === 0, 'the meeting to end');
    assert.deepEqual(cluster.meetings(), []);
    for (const server of servers) assert.deepEqual(server.violations(), []);
    for (const follower of followers) assert.deepEqual(follower.problems, []);
  });

  test('listRemoteParticipants: a bridge also lists who is hosted elsewhere, in step with the host, never counted', async () => {
    const { servers, followers, cluster } = await bridges(3, [false, true, false]);
    const [a, b, c] = followers as [Follower, Follower, Follower];
    const correlator = cluster.startMeeting({ name: 'Design Review', on: [0, 1, 2] });
    const [id0, id1, id2] = [0, 1, 2].map((i) => cluster.callId(correlator, i) as string) as [string, string, string];
    const kim = cluster.join(correlator, 0, { name: 'Kim Lee', uri: 'kim@example.com' });
    const ravi = cluster.join(correlator, 2, { name: 'Ravi Patel' });

    await waitFor(() => b.roster(id1).has(kim) && b.roster(id1).has(ravi), 'bridge 1 to list both');
    assert.equal(b.roster(id1).get(kim)?.uri, 'kim@example.com', 'the same id and values as on the host');
    await waitFor(() => a.roster(id0).size === 1 && c.roster(id2).size === 1, 'bridges 0 and 2 to list their own only');
    assert.ok(a.roster(id0).has(kim) && c.roster(id2).has(ravi));
    await settle([[servers[1] as SimulatedServer, b]]);
    assert.equal(b.calls.get(id1)?.fields.participants, 0, 'remote participants are not counted');
    assert.deepEqual(servers[1]?.world.listCalls()[0]?.roster.map((p) => [p.id, p.callBridge]).sort(), [[kim, cluster.bridgeId(0)], [ravi, cluster.bridgeId(2)]].sort());

    cluster.update(kim, { audioMuted: true, state: 'onHold' });
    await waitFor(() => b.roster(id1).get(kim)?.audioMuted === true && b.roster(id1).get(kim)?.state === 'onHold', 'the mute to reach the listing');
    cluster.leave(kim, 'participantInitiated');
    await waitFor(() => !b.roster(id1).has(kim), 'the listing to go with the host');
    assert.deepEqual(b.rosterLog.filter((e) => e.participant === kim).map((e) => [e.updateType, e.reason]), [['add', undefined], ['update', undefined], ['remove', 'participantInitiated']]);

    // The switch is read when someone joins: flipping it lists newcomers, not who was there.
    const omar = cluster.join(correlator, 1, { name: 'Omar Haddad' });
    await waitFor(() => b.roster(id1).has(omar), 'omar on his host');
    servers[2]!.switches.listRemoteParticipants = true;
    const mei = cluster.join(correlator, 0, { name: 'Mei Chen' });
    await waitFor(() => c.roster(id2).has(mei), 'bridge 2 to list the newcomer');
    await settle(servers.map((s, i) => [s, followers[i] as Follower]));
    assert.ok(!c.roster(id2).has(omar), 'who was there before the flip stays unlisted');
    assert.equal(c.calls.get(id2)?.fields.participants, 1);
    for (const server of servers) assert.deepEqual(server.violations(), []);
    for (const follower of followers) assert.deepEqual(follower.problems, []);
  });
});

describe('REST for a participant hosted on another bridge', () => {
  test('the non-host answers <callBridge> and refuses changes and drops; the host accepts them', async () => {
    const { servers, followers, cluster } = await bridges(2, [false, true]);
    const [host, other] = servers as [SimulatedServer, SimulatedServer];
    const correlator = cluster.startMeeting({ name: 'Incident Bridge', on: [0, 1] });
    const [id0, id1] = [cluster.callId(correlator, 0) as string, cluster.callId(correlator, 1) as string];
    const kim = cluster.join(correlator, 0, { name: 'Kim Lee' });
    const mei = cluster.join(correlator, 1, { name: 'Mei Chen' });
    const hostTag = `<callBridge>${cluster.bridgeId(0)}</callBridge>`;

    const remote = await rest(other, 'GET', `/participants/${kim}`);
    assert.equal(remote.status, 200);
    assert.match(remote.body, new RegExp(`^<\\?xml version="1\\.0"\\?><participant id="${kim}"><name>Kim Lee</name><call>${id1}</call>${hostTag}<configuration`));
    assert.ok(!(await rest(host, 'GET', `/participants/${kim}`)).body.includes('<callBridge>'), 'the host answers without one');
    assert.ok(!(await rest(other, 'GET', `/participants/${mei}`)).body.includes('<callBridge>'), 'a local participant has none');
    const inCall = await rest(other, 'GET', `/calls/${id1}/participants`);
    assert.match(inCall.body, /<participants total="2">/);
    assert.ok(inCall.body.includes(`<participant id="${kim}"><name>Kim Lee</name><call>${id1}</call>${hostTag}</participant>`), inCall.body);
    assert.ok(inCall.body.includes(`<participant id="${mei}"><name>Mei Chen</name><call>${id1}</call></participant>`), inCall.body);
    assert.ok((await rest(other, 'GET', '/participants')).body.includes(hostTag));
    assert.match((await rest(other, 'GET', `/calls/${id1}`)).body, /<numParticipantsLocal>1<\/numParticipantsLocal><numDistributedInstances>1<\/numDistributedInstances>/);

    const bridgesListed = await rest(other, 'GET', '/callBridges');
    assert.equal(bridgesListed.status, 200);
    assert.equal(
      bridgesListed.body,
      `<?xml version="1.0"?><callBridges total="2"><callBridge id="${cluster.bridgeId(0)}"><name>bridge-0</name></callBridge><callBridge id="${cluster.bridgeId(1)}"><name>bridge-1</name></callBridge></callBridges>`,
    );

    const leg = await legOf(other, kim);
    for (const [method, path, params, code] of [
      ['PUT', `/participants/${kim}`, { importance: '5' }, 'participantCannotBeModified'],
      ['PUT', `/callLegs/${leg}`, { rxAudioMute: 'true' }, 'participantCannotBeModified'],
      ['DELETE', `/participants/${kim}`, undefined, 'participantCannotBeDeleted'],
      ['DELETE', `/callLegs/${leg}`, undefined, 'participantCannotBeDeleted'],
    ] as const) {
      const answer = await rest(other, method, path, params);
      assert.equal(answer.status, 400, `${method} ${path}`);
      assert.match(answer.body, refusal(code));
    }
    // Changing everyone from the non-host changes its own participants only.
    assert.equal((await rest(other, 'PUT', `/calls/${id1}/participants/*`, { rxVideoMute: 'true' })).status, 200);
    assert.equal(cluster.meetings()[0]?.participants.find((p) => p.id === kim)?.videoMuted, false);
    assert.equal(cluster.meetings()[0]?.participants.find((p) => p.id === mei)?.videoMuted, true);

    // The host accepts, and the listing follows.
    assert.equal((await rest(host, 'PUT', `/callLegs/${await legOf(host, kim)}`, { rxAudioMute: 'true' })).status, 200);
    const listing = followers[1] as Follower;
    await waitFor(() => listing.roster(id1).get(kim)?.audioMuted === true, 'the mute to reach the listing');
    assert.equal((await rest(host, 'DELETE', `/participants/${kim}`)).status, 200);
    await waitFor(() => !listing.roster(id1).has(kim), 'the drop to reach the listing');
    assert.equal((await rest(other, 'GET', `/participants/${kim}`)).status, 400);
    assert.deepEqual(cluster.meetings()[0]?.participants.map((p) => p.id), [mei]);

    // A dial-out on an instance is hosted there, and listed elsewhere like any join.
    assert.equal((await rest(host, 'POST', `/calls/${id0}/participants`, { remoteParty: 'sam@example.com' })).status, 200);
    await waitFor(() => [...listing.roster(id1).values()].some((p) => p.uri === 'sam@example.com'), 'the dial-out to be listed on bridge 1');
    for (const server of servers) assert.deepEqual(server.violations(), []);
  });
});

describe('moves', () => {
  test('a move changes the host: same id, counts follow, listings follow the switch', async () => {
    const { servers, followers, cluster } = await bridges(2, [false, true]);
    const [a, b] = followers as [Follower, Follower];
    const correlator = cluster.startMeeting({ name: 'All Hands', on: [0, 1] });
    const [id0, id1] = [cluster.callId(correlator, 0) as string, cluster.callId(correlator, 1) as string];
    const kim = cluster.join(correlator, 0, { name: 'Kim Lee', audioMuted: true });
    await waitFor(() => b.roster(id1).has(kim) && a.calls.get(id0)?.fields.participants === 1, 'kim hosted on 0, listed on 1');
    await settle(servers.map((s, i) => [s, followers[i] as Follower]));
    const logged = b.rosterLog.length;

    cluster.move(kim, 1);
    assert.deepEqual(cluster.meetings()[0]?.participants.map((p) => [p.id, p.host, p.audioMuted]), [[kim, 1, true]]);
    await waitFor(() => b.calls.get(id1)?.fields.participants === 1 && a.calls.get(id0)?.fields.participants === 0, 'the counts to follow');
    await waitFor(() => !a.roster(id0).has(kim), 'the old host (not listing) to drop kim');
    assert.equal(a.rosterLog.at(-1)?.updateType, 'remove');
    assert.ok(b.roster(id1).has(kim));
    assert.deepEqual(b.rosterLog.slice(logged), [], 'the listing became local without a roster change');
    assert.ok(!(await rest(servers[1] as SimulatedServer, 'GET', `/participants/${kim}`)).body.includes('<callBridge>'));
    assert.equal((await rest(servers[0] as SimulatedServer, 'GET', `/participants/${kim}`)).status, 400);

    // Back to bridge 0: it joins there with the same id; bridge 1 lists it as remote.
    cluster.move(kim, 0);
    await waitFor(() => a.roster(id0).has(kim) && a.calls.get(id0)?.fields.participants === 1 && b.calls.get(id1)?.fields.participants === 0, 'kim back on 0');
    assert.equal(a.roster(id0).get(kim)?.audioMuted, true, 'the same person, the same values');
    assert.ok(b.roster(id1).has(kim));
    assert.match((await rest(servers[1] as SimulatedServer, 'GET', `/participants/${kim}`)).body, new RegExp(`<callBridge>${cluster.bridgeId(0)}</callBridge>`));

    // A move to a bridge without an instance opens one there.
    const solo = cluster.startMeeting({ name: '1:1', on: [0] });
    const ana = cluster.join(solo, 0, { name: 'Ana Souza' });
    cluster.move(ana, 1);
    const moved = cluster.meetings().find((m) => m.correlator === solo);
    assert.deepEqual(moved?.instances.map((i) => [i.bridge, i.distributedInstances, i.participants]), [[0, 1, 0], [1, 1, 1]]);
    for (const server of servers) assert.deepEqual(server.violations(), []);
  });
});

describe('meeting traffic', () => {
  test('keeps a meeting spread over two bridges that correct clients follow exactly, with no violation', async () => {
    const { servers, followers, cluster } = await bridges(2, [false, true]);
    const pairs = servers.map((s, i): [SimulatedServer, Follower] => [s, followers[i] as Follower]);
    const clock = new ManualClock();
    const traffic = startMeetingTraffic(cluster, { rate: 100, random: seededRandom(5), clock });
    let spread = 0;
    let moves = 0;
    let steps = 0;
    let hosts = new Map<string, number>();
    const checkCounts = (meeting: MeetingSnapshot) => {
      for (const instance of meeting.instances) {
        assert.equal(instance.distributedInstances, meeting.instances.length - 1, 'distributedInstances counts the other instances');
        const local = meeting.participants.filter((p) => p.host === instance.bridge && (p.state === 'connected' || p.state === 'onHold'));
        assert.equal(instance.participants, local.length, 'participants counts the local connected and on hold');
      }
    };
    for (let ms = 0; ms < 15_000; ms += 50) {
      await clock.advance(50);
      for (const server of servers) await server.idle();
      const meetings = cluster.meetings();
      assert.ok(meetings.length <= 1);
      steps += 1;
      for (const meeting of meetings) {
        if (meeting.instances.length === 2) spread += 1;
        checkCounts(meeting);
        const now = new Map(meeting.participants.map((p) => [p.id, p.host]));
        for (const [id, host] of now) if (hosts.has(id) && hosts.get(id) !== host) moves += 1;
        hosts = now;
      }
    }
    traffic.stop();
    await settle(pairs);

    assert.ok(spread > steps / 2, `spread over two bridges most of the time (${spread} of ${steps})`);
    assert.ok(moves > 0, 'someone moved');
    for (const [server, follower] of pairs) {
      assert.deepEqual(follower.problems, []);
      assert.deepEqual(server.violations(), []);
      assert.deepEqual(modelOf(follower), worldAsSeen(server), "the client's model is the bridge's world");
    }
    const entries = followers.flatMap((f) => f.rosterLog);
    assert.ok(entries.length > 100, `a busy stream (${entries.length} roster entries)`);
    // Bridge 1 lists everyone in its instance of the meeting; bridge 0 only its own.
    const [meeting] = cluster.meetings();
    if (meeting) {
      const listed = (bridge: number) => [...(followers[bridge] as Follower).roster(cluster.callId(meeting.correlator, bridge)).keys()].sort();
      const hostedOn = (bridge: number) => meeting.participants.filter((p) => p.host === bridge).map((p) => p.id).sort();
      if (cluster.callId(meeting.correlator, 0)) assert.deepEqual(listed(0), hostedOn(0));
      if (cluster.callId(meeting.correlator, 1)) assert.deepEqual(listed(1), meeting.participants.map((p) => p.id).sort());
    }
  });

  test('startCluster with meetings: the first two servers form a cluster with a meeting on both, left alone by their own traffic', async () => {
    const running = await startCluster({ servers: 3, tls: false, rate: 200, meetings: 1 });
    try {
      const bridgeCluster = running.bridgeCluster;
      assert.ok(bridgeCluster);
      assert.deepEqual(bridgeCluster.bridges, running.servers.slice(0, 2));
      assert.deepEqual(running.servers[2]?.callBridges, []);
      assert.equal(running.servers[0]?.callBridges.length, 2);
      const meeting = await waitFor(() => bridgeCluster.meetings().find((m) => m.instances.length === 2 && m.participants.length >= 2), 'a meeting on two bridges with people');
      const calls = meeting.instances.map((i) => running.servers[i.bridge]?.world.listCalls().find((c) => c.id === i.callId));
      assert.deepEqual(calls.map((c) => [c?.name, c?.callCorrelator]), [[meeting.name, meeting.correlator], [meeting.name, meeting.correlator]]);
      await waitFor(() => running.servers.every((s) => s.world.listCalls().some((c) => bridgeCluster.meetingOf(c.id) === undefined)), 'each server playing its own calls too');
    } finally {
      await running.stop();
    }
  });

  test('the simulate command offers --meetings', () => {
    assert.match(simulateCommand().helpInformation(), /--meetings <n>/);
  });
});

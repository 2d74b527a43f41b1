// The simulated CMS's health resources over real sockets, through its CA: GET /system/status
// (version, uptime on the simulator's clock, cluster flag, call-leg counts following people in and
// out), GET /system/alarms (raised and cleared as faults, paged like every collection), Basic
// auth, and a REST API kept failing by restBusy while the events feed goes on as before.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { CALL_ELEMENTS, type Subscription } from '../src/protocol/index.js';
import { formBridgeCluster, startControlApi, type SimulatedServer } from '../src/simulator/index.js';
import type { ProbeFrame } from '../src/simulator/probe-client.js';
import { ManualClock } from './helpers/manual-clock.js';
import { probe, simulator } from './helpers/simulators.js';

const XML_START = '<?xml version="1.0"?>';
const START = Date.UTC(2026, 11, 3, 10, 0, 0);

const dispatchers = new Map<SimulatedServer, Agent>();
after(async () => {
  await Promise.all([...dispatchers.values()].map((d) => d.close()));
});

/** An agent trusting the simulator's own CA, one per server. */
function dispatcherFor(server: SimulatedServer): Agent {
  let agent = dispatchers.get(server);
  if (!agent) {
    agent = new Agent({ connect: { ca: server.caPem } });
    dispatchers.set(server, agent);
  }
  return agent;
}

async function rest(server: SimulatedServer, method: string, path: string, auth: string | null = `${server.username}:${server.password}`) {
  const headers: Record<string, string> = auth === null ? {} : { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` };
  const response = await fetch(`${server.url}/api/v1${path}`, { method, headers, dispatcher: dispatcherFor(server) });
  return { status: response.status, body: await response.text(), allow: response.headers.get('allow') };
}

async function status(server: SimulatedServer): Promise<Record<string, string>> {
  const answer = await rest(server, 'GET', '/system/status');
  assert.equal(answer.status, 200, answer.body);
  return Object.fromEntries([...answer.body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1] as string, m[2] as string]));
}

const legCounts = async (server: SimulatedServer) => {
  const s = await status(server);
  return [Number(s.callLegsActive), Number(s.callLegsMaxActive), Number(s.callLegsCompleted)];
};

const alarmIds = (xml: string): string[] => [...xml.matchAll(/<alarm id="([^"]+)"/g)].map((m) => m[1] as string);
const failure = (code: string) => `${XML_START}<failureDetails><${code} /></failureDetails>`;

describe('GET /system/status', () => {
  let clock: ManualClock;
  let server: SimulatedServer;
  before(async () => {
    clock = new ManualClock(START);
    server = await simulator({ clock });
  });

  test('a fresh bridge: the whole document, version 3.8.1 by default, nothing counted yet', async () => {
    assert.equal(server.tls, true);
    const answer = await rest(server, 'GET', '/system/status');
    assert.equal(answer.status, 200);
    assert.equal(
      answer.body,
      `${XML_START}<status><softwareVersion>3.8.1</softwareVersion><uptimeSeconds>0</uptimeSeconds><activated>true</activated>` +
        '<clusterEnabled>false</clusterEnabled><cdrTime>2026-12-03T10:00:00Z</cdrTime><callLegsActive>0</callLegsActive>' +
        '<callLegsMaxActive>0</callLegsMaxActive><callLegsCompleted>0</callLegsCompleted><audioBitRateOutgoing>0</audioBitRateOutgoing>' +
        '<videoBitRateOutgoing>0</videoBitRateOutgoing><audioBitRateIncoming>0</audioBitRateIncoming><videoBitRateIncoming>0</videoBitRateIncoming></status>',
    );
    assert.equal(server.systemStatus().cdrTime, '2026-12-03T10:00:00Z');
  });

  test('uptime and cdrTime follow the simulator clock', async () => {
    await clock.advance(12_345_678);
    const s = await status(server);
    assert.equal(s.uptimeSeconds, '12345');
    assert.equal(s.cdrTime, '2026-12-03T13:25:45Z');
  });

  test('call legs: active counts connected and on-hold people, the maximum stays, leaving completes', async () => {
    const callId = server.world.createCall({ name: 'Health' });
    const [a, b] = [server.world.addParticipant(callId), server.world.addParticipant(callId)];
    server.world.addParticipant(callId, { state: 'onHold' });
    const ringing = server.world.addParticipant(callId, { state: 'ringing', direction: 'outgoing' });
    assert.deepEqual(await legCounts(server), [3, 3, 0], 'a ringing dial-out is not active yet');
    server.world.updateParticipant(callId, ringing, { state: 'connected' });
    assert.deepEqual(await legCounts(server), [4, 4, 0]);
    server.world.removeParticipant(callId, a);
    assert.deepEqual(await legCounts(server), [3, 4, 1]);
    // A leave through the REST API counts the same.
    assert.equal((await rest(server, 'DELETE', `/participants/${b}`)).status, 200);
    assert.deepEqual(await legCounts(server), [2, 4, 2]);
    const other = server.world.createCall({ name: 'Other' });
    server.world.addParticipant(other);
    assert.deepEqual(await legCounts(server), [3, 4, 2]);
    // Ending a call completes everyone still in it.
    server.world.endCall(callId);
    assert.deepEqual(await legCounts(server), [1, 4, 4]);
    assert.equal(server.systemStatus().callLegsActive, 1);
  });

  test('softwareVersion is an option', async () => {
    const other = await simulator({ softwareVersion: '3.9.2' });
    assert.equal((await status(other)).softwareVersion, '3.9.2');
  });
});

test('in a cluster: clusterEnabled, and people only listed here (hosted elsewhere) are not counted', async () => {
  const bridges = [await simulator({ switches: { listRemoteParticipants: true } }), await simulator({ switches: { listRemoteParticipants: true } })];
  const [zero, one] = bridges as [SimulatedServer, SimulatedServer];
  const cluster = formBridgeCluster(bridges);
  assert.equal((await status(zero)).clusterEnabled, 'true');
  const meeting = cluster.startMeeting({ name: 'Spread', on: [0, 1] });
  cluster.join(meeting, 0);
  cluster.join(meeting, 0);
  const there = cluster.join(meeting, 1);
  assert.equal(zero.world.listCalls()[0]?.roster.length, 3, 'bridge 0 lists the one hosted on bridge 1');
  assert.deepEqual(await legCounts(zero), [2, 2, 0]);
  assert.deepEqual(await legCounts(one), [1, 1, 0]);
  cluster.leave(there);
  assert.deepEqual(await legCounts(zero), [2, 2, 0], 'a listing leaving is no leg of this bridge');
  assert.deepEqual(await legCounts(one), [0, 1, 1]);
  cluster.dissolve();
  assert.equal((await status(zero)).clusterEnabled, 'false');
});

describe('GET /system/alarms', () => {
  let clock: ManualClock;
  let server: SimulatedServer;
  before(async () => {
    clock = new ManualClock(START);
    server = await simulator({ clock });
  });

  test('none at first; a raised alarm is listed with its age on the clock, failureReason when given', async () => {
    assert.equal((await rest(server, 'GET', '/system/alarms')).body, `${XML_START}<alarms total="0"></alarms>`);
    const cdr = server.faults.raiseAlarm('cdrConnectionFailure');
    await clock.advance(17_400);
    const db = server.faults.raiseAlarm('databaseConnectionError', 'peer <db-2> & lost');
    await clock.advance(2_000);
    const answer = await rest(server, 'GET', '/system/alarms');
    assert.equal(answer.status, 200);
    assert.equal(
      answer.body,
      `${XML_START}<alarms total="2"><alarm id="${cdr}"><type>cdrConnectionFailure</type><activeTimeSeconds>19</activeTimeSeconds></alarm>` +
        `<alarm id="${db}"><type>databaseConnectionError</type><activeTimeSeconds>2</activeTimeSeconds><failureReason>peer &lt;db-2&gt; &amp; lost</failureReason></alarm></alarms>`,
    );
    assert.match(cdr, /^[0-9a-f-]{36}$/);
  });

  test('raising an active type again keeps its id and age; clearing removes it; clearing twice is harmless', async () => {
    const [cdr] = server.alarms();
    assert.equal(server.faults.raiseAlarm('cdrConnectionFailure', 'again'), cdr?.id);
    assert.deepEqual(server.alarms()[0], cdr, 'same id, age and (no) failureReason');
    server.faults.clearAlarm('cdrConnectionFailure');
    server.faults.clearAlarm('cdrConnectionFailure');
    server.faults.clearAlarm('callDistributionFailure');
    assert.deepEqual(alarmIds((await rest(server, 'GET', '/system/alarms')).body), [server.alarms()[0]?.id]);
    const fresh = server.faults.raiseAlarm('cdrConnectionFailure');
    assert.notEqual(fresh, cdr?.id, 'raised again after a clear: a new alarm');
    assert.equal(server.alarms()[1]?.activeTimeSeconds, 0);
    server.faults.clearAlarm('cdrConnectionFailure');
    server.faults.clearAlarm('databaseConnectionError');
    assert.deepEqual(server.alarms(), []);
    assert.throws(() => server.faults.raiseAlarm(''), TypeError);
  });

  test('paged with offset and limit, capped by restPageLimit, total the whole count', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => server.faults.raiseAlarm(`type${i}`));
    const first = await rest(server, 'GET', '/system/alarms');
    assert.match(first.body, /<alarms total="12">/);
    assert.deepEqual(alarmIds(first.body), ids.slice(0, 10), 'the default cap is 10');
    assert.deepEqual(alarmIds((await rest(server, 'GET', '/system/alarms?offset=10')).body), ids.slice(10));
    assert.deepEqual(alarmIds((await rest(server, 'GET', '/system/alarms?offset=3&limit=4')).body), ids.slice(3, 7));
    server.switches.restPageLimit = 3;
    assert.deepEqual(alarmIds((await rest(server, 'GET', '/system/alarms?limit=5')).body), ids.slice(0, 3));
    server.switches.restPageLimit = 10;
    const bad = await rest(server, 'GET', '/system/alarms?offset=-1');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /<parameterError parameter="offset" error="invalidValue" \/>/);
    for (let i = 0; i < 12; i += 1) server.faults.clearAlarm(`type${i}`);
  });

  test('the control API raises and clears alarms', async () => {
    const control = await startControlApi([server]);
    try {
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${control.url}/servers/${server.name}/faults/${path}`, { method: 'POST', body: JSON.stringify(body) });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      };
      const raised = await post('raiseAlarm', { type: 'callBridgeConnectionFailure', failureReason: 'bridge-2 unreachable' });
      assert.equal(raised.status, 200);
      assert.deepEqual(server.alarms(), [{ id: raised.body.id, type: 'callBridgeConnectionFailure', failureReason: 'bridge-2 unreachable', activeTimeSeconds: 0 }]);
      assert.deepEqual((await post('raiseAlarm', { type: 'callBridgeConnectionFailure' })).body, { id: raised.body.id });
      assert.equal((await post('raiseAlarm', {})).status, 400);
      assert.equal((await post('raiseAlarm', { type: 'x', failureReason: 3 })).status, 400);
      assert.equal((await post('clearAlarm', { type: 'callBridgeConnectionFailure' })).status, 204);
      assert.deepEqual(server.alarms(), []);
      assert.equal((await post('clearAlarm', {})).status, 400);
    } finally {
      await control.close();
    }
  });
});

describe('authentication and methods', () => {
  let server: SimulatedServer;
  before(async () => {
    server = await simulator({ username: 'ops', password: 'p4ss' });
    server.faults.raiseAlarm('cdrConnectionFailure');
  });

  test('both resources need the bridge credentials: 401 authenticationFailure otherwise', async () => {
    for (const path of ['/system/status', '/system/alarms']) {
      for (const auth of [null, 'ops:wrong', 'admin:admin']) {
        const answer = await rest(server, 'GET', path, auth);
        assert.equal(answer.status, 401, `${path} as ${auth}`);
        assert.equal(answer.body, failure('authenticationFailure'));
      }
      assert.equal((await rest(server, 'GET', path)).status, 200);
    }
  });

  test('they only read (405 with Allow: GET); other paths under system/ are unknown', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await rest(server, method, '/system/alarms');
      assert.equal(answer.status, 405);
      assert.equal(answer.allow, 'GET');
    }
    for (const path of ['/system', '/system/health', '/system/status/1', '/system/alarms/x']) {
      const answer = await rest(server, 'GET', path);
      assert.equal(answer.status, 404, path);
      assert.equal(answer.body, failure('unknownPath'));
    }
  });
});

test('restBusy keeps the REST API failing until cancelled, while the events feed goes on', async () => {
  const server = await simulator();
  const isCallList = (f: ProbeFrame) => f.kind === 'message' && f.message.type === 'callListUpdate';
  const subscribe = async () => {
    const p = await probe(server);
    const id = p.subscribe([{ index: 1, type: 'calls', elements: CALL_ELEMENTS }] as Subscription[]);
    await p.waitFor((f) => f.kind === 'messageAck' && f.ack.messageId === id);
    return p;
  };
  const before = await subscribe();
  server.faults.restBusy(Number.MAX_SAFE_INTEGER);
  for (const path of ['/system/status', '/system/alarms', '/calls', '/callBridges']) {
    const answer = await rest(server, 'GET', path);
    assert.equal(answer.status, 503, path);
    assert.equal(answer.body, failure('databaseNotReady'));
  }
  // The feed is untouched: the open socket hears of a new call, and a new client gets a token,
  // a socket and its messages.
  const mark = before.frames.length;
  server.world.createCall({ name: 'During the outage' });
  await before.waitFor(isCallList, { from: mark });
  const during = await subscribe();
  const again = during.frames.length;
  server.world.createCall({ name: 'Still during' });
  await during.waitFor(isCallList, { from: again });
  assert.equal(server.stats().openConnections, 2);
  assert.equal((await rest(server, 'GET', '/system/status')).status, 503, 'still failing');
  server.faults.restBusy(0);
  const s = await status(server);
  assert.equal(s.softwareVersion, '3.8.1');
  assert.deepEqual(server.violations(), []);
});

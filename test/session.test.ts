// The session against the simulator over TLS with its CA, on real sockets: handshake to live,
// following calls and rosters, long traffic, reconnects with reconciliation, bad frames, held
// acks, clean stop, no secrets in logs.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { createServer, connect, type Socket } from 'node:net';
import pino from 'pino';
import { createSession, type Session, type SessionOptions, type TlsOptions } from '../src/session/index.js';
import { startSimulator, startTraffic, type SimulatedServer, type SimulatorSwitches } from '../src/simulator/index.js';
import type { CmsEvent } from '../src/state/index.js';
import { ManualClock } from './helpers/manual-clock.js';
import { sleep, waitFor } from './helpers/wait.js';

const PASSWORD = 'Sess-Pa55word!x';

interface Followed {
  session: Session;
  events: CmsEvent[];
  logs: string[];
}

const running: Session[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((session) => session.stop()));
});

function follow(sim: SimulatedServer, options: Partial<SessionOptions> & { tls?: TlsOptions; plain?: boolean } = {}): Followed {
  const events: CmsEvent[] = [];
  const logs: string[] = [];
  const session = createSession({
    target: {
      name: 'cms-test',
      host: sim.host,
      port: sim.port,
      username: 'api',
      password: PASSWORD,
      tls: options.tls ?? { ca: sim.caPem },
      plain: options.plain,
    },
    receiver: (batch) => {
      for (const event of batch) events.push(event);
      return undefined;
    },
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) }),
    random: () => 0.5,
    ...options,
    timings: { snapshotQuietMs: 100, backoffInitialMs: 50, backoffMaxMs: 400, closeGraceMs: 300, ...options.timings },
  });
  running.push(session);
  session.start();
  return { session, events, logs };
}


const live = (followed: Followed, connections = 1) => () =>
  followed.session.status().state === 'live' && followed.events.filter((e) => e.type === 'server.connected').length >= connections;

type Model = Array<Record<string, unknown> & { id: string; roster: Array<Record<string, unknown> & { id: string }> }>;
const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
const normalise = (calls: Model) => calls.map((call) => ({ ...call, roster: [...call.roster].sort(byId) })).sort(byId);
/** True when the session's model equals the world (`ignore`: call fields the session cannot know). */
const inStep = (sim: SimulatedServer, session: Session, ignore: readonly string[] = []) => {
  const world = sim.world.listCalls().map((call) => {
    const copy: Record<string, unknown> = { ...call };
    for (const field of ignore) delete copy[field];
    return copy;
  });
  try {
    assert.deepStrictEqual(normalise(session.calls() as Model), normalise(world as Model));
    return true;
  } catch {
    return false;
  }
};

/**
 * Checks the event stream a consumer would see: nothing started or joined twice, nothing updated
 * or ended that is not open, and every participant left before its call ended. Returns what is open.
 */
function checkStream(events: CmsEvent[]): { calls: Set<string>; participants: Set<string> } {
  const calls = new Set<string>();
  const participants = new Set<string>();
  const roster = new Map<string, Set<string>>();
  for (const [i, event] of events.entries()) {
    const at = `event ${i} (${event.type})`;
    switch (event.type) {
      case 'call.started':
        assert.ok(!calls.has(event.callId), `${at}: call ${event.callId} started twice`);
        calls.add(event.callId);
        roster.set(event.callId, new Set());
        break;
      case 'call.updated':
        assert.ok(calls.has(event.callId), `${at}: update of a call not open`);
        break;
      case 'call.ended':
        assert.ok(calls.has(event.callId), `${at}: end of a call not open`);
        assert.equal(roster.get(event.callId)?.size, 0, `${at}: call ended with participants still in`);
        calls.delete(event.callId);
        break;
      case 'participant.joined':
        assert.ok(calls.has(event.callId), `${at}: join into a call not open`);
        assert.ok(!participants.has(event.participantId), `${at}: ${event.participantId} joined twice`);
        participants.add(event.participantId);
        roster.get(event.callId)?.add(event.participantId);
        break;
      case 'participant.updated':
        assert.ok(participants.has(event.participantId), `${at}: update of a participant not in`);
        break;
      case 'participant.left':
        assert.ok(participants.delete(event.participantId), `${at}: leave of a participant not in`);
        roster.get(event.callId)?.delete(event.participantId);
        break;
      default:
        break;
    }
  }
  return { calls, participants };
}

let sim: SimulatedServer;
before(async () => {
  sim = await startSimulator({ username: 'api', password: PASSWORD });
});
after(async () => {
  await sim.close();
});

let violationsBefore = 0;
/** Each test starts from an empty world with default switches, and sees only its own violations. */
async function freshWorld(switches: Partial<SimulatorSwitches> = {}): Promise<void> {
  for (const call of sim.world.listCalls()) sim.world.endCall(call.id);
  Object.assign(sim.switches, { answerPings: true, badCallState: 'deactivated', subscriptionUpdateListsAll: false, sendInitialCallInfo: true }, switches);
  await sim.idle();
  violationsBefore = sim.violations().length;
}
const violations = () => sim.violations().slice(violationsBefore);

test('handshake to live: token, WebSocket, subscribe, active, snapshot; no violations', async () => {
  await freshWorld();
  const before = sim.stats();
  const room = sim.world.createCall({ name: 'Room A' });
  const kim = sim.world.addParticipant(room, { name: 'Kim Lee', state: 'connected' });
  const followed = follow(sim);
  await waitFor(live(followed), 'live');
  await waitFor(() => inStep(sim, followed.session), 'the model to match the world');

  const stats = sim.stats();
  assert.equal(stats.tokensIssued - before.tokensIssued, 1);
  assert.equal(stats.connectionsOpened - before.connectionsOpened, 1);
  const types = followed.events.map((e) => e.type);
  assert.equal(types.filter((t) => t === 'server.connected').length, 1);
  assert.ok(types.includes('call.started') && types.includes('participant.joined'), types.join());
  const joined = followed.events.find((e) => e.type === 'participant.joined');
  assert.equal(joined?.type === 'participant.joined' && joined.participantId, kim);
  const status = followed.session.status();
  assert.equal(status.lastError, null);
  assert.ok(status.connectedSince, 'connectedSince is set while live');
  assert.equal(status.counters.connectAttempts, 1);
  assert.equal(status.counters.badFrames, 0);
  await sim.idle();
  assert.equal(followed.session.status().counters.acksSent, sim.stats().acksReceived - before.acksReceived);
  assert.deepEqual(violations(), []);
});

test('calls and rosters are followed as they appear, change and end; every join gets its leave', async () => {
  await freshWorld();
  const followed = follow(sim);
  await waitFor(live(followed), 'live');
  const room = sim.world.createCall({ name: 'Design Review' });
  await waitFor(() => followed.events.some((e) => e.type === 'call.started'), 'call.started');
  const ana = sim.world.addParticipant(room, { name: '', uri: '5551234@example.com', state: 'ringing', direction: 'outgoing' });
  const tom = sim.world.addParticipant(room, { name: 'Tom Walsh', state: 'connected' });
  sim.world.updateParticipant(room, ana, { name: 'Ana Souza', state: 'connected' });
  sim.world.removeParticipant(room, tom, 'participantInitiated');
  sim.world.updateCall(room, { recording: 'active' });
  await waitFor(() => inStep(sim, followed.session), 'roster in step');
  sim.world.endCall(room, 'allLeft');
  await waitFor(() => followed.events.some((e) => e.type === 'call.ended'), 'call.ended');

  const open = checkStream(followed.events);
  assert.equal(open.calls.size, 0);
  assert.equal(open.participants.size, 0);
  const story = followed.events
    .filter((e) => e.type !== 'server.connected')
    .map((e) => `${e.type}${'participantId' in e ? `:${e.participantId === ana ? 'ana' : 'tom'}` : ''}${'reason' in e && e.reason ? `:${e.reason}` : ''}`);
  assert.deepEqual(story.filter((s) => !s.startsWith('call.updated') && !s.startsWith('participant.updated')), [
    'call.started',
    'participant.joined:ana',
    'participant.joined:tom',
    'participant.left:tom:participantInitiated',
    'participant.left:ana:callEnded',
    'call.ended:allLeft',
  ]);
  const anaUpdate = followed.events.find((e) => e.type === 'participant.updated' && e.participantId === ana);
  assert.deepEqual(anaUpdate?.type === 'participant.updated' && anaUpdate.changes, { name: 'Ana Souza', state: 'connected' });
  assert.deepEqual(violations(), []);
});

test('a long realistic run with a drop in the middle: zero violations, the model matches the world, counts return to zero', async () => {
  await freshWorld();
  const followed = follow(sim);
  await waitFor(live(followed), 'live');
  const traffic = startTraffic(sim.world, { rate: 150, maxCalls: 6 });
  const received = () => followed.session.status().counters.messagesReceived;
  await waitFor(() => received() >= 100, 'traffic before the drop');
  sim.faults.dropAll();
  await waitFor(live(followed, 2), 'live again under traffic');
  const afterDrop = received();
  await waitFor(() => received() >= afterDrop + 100, 'traffic after the drop');
  traffic.stop();
  await sim.idle();
  await waitFor(() => inStep(sim, followed.session), 'the model to match the world');
  const status = followed.session.status();
  assert.ok(status.counters.messagesReceived > 150, `only ${status.counters.messagesReceived} messages`);
  assert.equal(status.counters.connectAttempts, 2);
  assert.equal(status.counters.unknownIndexes, 0);
  assert.equal(status.counters.badFrames, 0);

  for (const call of sim.world.listCalls()) sim.world.endCall(call.id);
  await waitFor(() => followed.session.calls().length === 0, 'every call to end');
  const open = checkStream(followed.events);
  assert.deepEqual([open.calls.size, open.participants.size], [0, 0]);
  assert.deepEqual(violations(), []);
});

test('reconnects with a fresh token after dropAll; nothing is announced twice', async () => {
  await freshWorld();
  const room = sim.world.createCall({ name: 'Weekly Sync' });
  sim.world.addParticipant(room, { name: 'Mei Chen', state: 'connected' });
  const followed = follow(sim);
  await waitFor(live(followed), 'live');
  await waitFor(() => inStep(sim, followed.session), 'in step');
  const tokens = sim.stats().tokensIssued;

  sim.faults.dropAll();
  await waitFor(() => followed.events.some((e) => e.type === 'server.disconnected'), 'server.disconnected');
  await waitFor(live(followed, 2), 'live again');
  assert.equal(sim.stats().tokensIssued, tokens + 1, 'one fresh token for the new attempt');
  sim.world.addParticipant(room, { name: 'Omar Haddad', state: 'connected' });
  await waitFor(() => inStep(sim, followed.session), 'in step after reconnect');

  checkStream(followed.events);
  const status = followed.session.status();
  assert.equal(status.counters.reconnects, 1);
  assert.equal(status.lastError?.kind, 'closed');
  const disconnected = followed.events.find((e) => e.type === 'server.disconnected');
  assert.match(disconnected?.type === 'server.disconnected' ? disconnected.reason : '', /closed/);
  assert.deepEqual(violations(), []);
});

for (const variant of [
  { label: 'deactivated for vanished calls', switches: {}, ignore: [] },
  {
    label: 'an error state for vanished calls, updates listing the whole set, no initial callInfo',
    switches: { badCallState: 'callNotFound', subscriptionUpdateListsAll: true, sendInitialCallInfo: false },
    // Only a callInfoUpdate carries it, and none comes unless it changes.
    ignore: ['joinAudioMuteOverride'],
  },
]) {
  test(`goDown/comeUp with changes made while down is reconciled (${variant.label})`, async () => {
    await freshWorld(variant.switches);
    const w = sim.world;
    const ending = w.createCall({ name: 'Ends while down' });
    const p1 = w.addParticipant(ending, { name: 'P1', state: 'connected' });
    const p2 = w.addParticipant(ending, { name: 'P2', state: 'connected' });
    const staying = w.createCall({ name: 'Stays' });
    const leaver = w.addParticipant(staying, { name: 'Leaver', state: 'connected' });
    const stayer = w.addParticipant(staying, { name: 'Stayer', state: 'connected', audioMuted: false });
    const emptyRoster = w.createCall({ name: 'Empty roster' });
    const lastOne = w.addParticipant(emptyRoster, { name: 'Last one', state: 'connected' });
    const followed = follow(sim);
    await waitFor(live(followed), 'live');
    await waitFor(() => inStep(sim, followed.session, variant.ignore), 'in step');

    sim.faults.goDown();
    await waitFor(() => followed.session.status().lastError?.kind === 'handshake', 'a refused attempt while down');
    assert.match(followed.session.status().lastError?.message ?? '', /HTTP 503: serviceUnavailable/);
    w.endCall(ending);
    w.removeParticipant(staying, leaver);
    w.updateCall(staying, { name: 'Stays (renamed)' });
    w.updateParticipant(staying, stayer, { audioMuted: true });
    w.removeParticipant(emptyRoster, lastOne);
    const fresh = w.createCall({ name: 'New while down' });
    const newcomer = w.addParticipant(fresh, { name: 'Newcomer', state: 'connected' });
    const mark = followed.events.length;
    sim.faults.comeUp();
    await waitFor(live(followed, 2), 'live again');
    await waitFor(() => inStep(sim, followed.session, variant.ignore), 'in step after reconciliation');
    // Snapshots complete after the quiet period; give the last synthetic events time to land.
    await waitFor(() => followed.events.slice(mark).some((e) => e.type === 'participant.left' && e.participantId === lastOne), 'the empty roster to settle');

    checkStream(followed.events);
    const after = followed.events.slice(mark);
    const find = (type: string, id: string) => after.filter((e) => e.type === type && ('participantId' in e ? e.participantId === id : 'callId' in e && e.callId === id));
    for (const id of [p1, p2]) {
      const [left] = find('participant.left', id);
      assert.ok(left?.synthetic && 'reason' in left && left.reason === 'callEnded', `synthetic callEnded leave for ${id}`);
    }
    assert.ok(find('call.ended', ending)[0]?.synthetic, 'synthetic call.ended');
    assert.ok(find('participant.left', leaver)[0]?.synthetic, 'synthetic leave of who left while down');
    assert.ok(find('participant.left', lastOne)[0]?.synthetic, 'synthetic leave from a now-empty roster');
    const renamed = find('call.updated', staying).find((e) => e.type === 'call.updated' && 'name' in e.changes);
    assert.ok(renamed?.synthetic && renamed.type === 'call.updated' && renamed.changes.name === 'Stays (renamed)', 'synthetic rename');
    const muted = find('participant.updated', stayer)[0];
    assert.ok(muted?.type === 'participant.updated' && muted.changes.audioMuted === true && muted.synthetic, 'synthetic mute');
    assert.equal(find('call.started', fresh).length, 1);
    assert.equal(find('participant.joined', newcomer).length, 1);
    assert.equal(find('call.started', staying).length, 0, 'a known call is not announced again');
    assert.equal(find('participant.joined', stayer).length, 0, 'a known participant is not announced again');
    assert.equal(followed.session.status().counters.unknownIndexes, 0);
    assert.deepEqual(violations(), []);
  });
}

test('bad frames are survived: counted, acked when numbered, never an ack acked; the feed goes on', async () => {
  await freshWorld();
  const followed = follow(sim);
  await waitFor(live(followed), 'live');
  await sim.idle();
  const acksBefore = sim.stats().acksReceived;
  sim.faults.sendRaw('not json at all');
  sim.faults.sendRaw('{"type":"hello"}');
  sim.faults.sendRaw('{"type":"messageAck","messageAck":{"messageId":424242}}');
  sim.faults.sendRaw('{"type":"message","message":{"messageId":5000,"type":"somethingNew"}}');
  sim.faults.sendRaw('{"type":"message","message":{"messageId":5001,"type":"callListUpdate","subscriptionIndex":77,"updates":[]}}');
  sim.faults.sendRaw('{"type":"message","message":{"messageId":5002,"type":"rosterUpdate","subscriptionIndex":1,"updates":[{"updateType":"add"}]}}');
  const room = sim.world.createCall({ name: 'After the noise' });
  await waitFor(() => followed.events.some((e) => e.type === 'call.started' && e.callId === room), 'the feed to go on');
  const counters = followed.session.status().counters;
  assert.equal(counters.badFrames, 5);
  assert.equal(counters.unknownIndexes, 1);
  assert.equal(followed.session.status().counters.connectAttempts, 1);
  await sim.idle();
  const seen = violations();
  assert.deepEqual(seen.map((v) => v.kind).sort(), ['unknownAck', 'unknownAck', 'unknownAck'], JSON.stringify(seen));
  assert.ok(seen.every((v) => /message 500[012]\b/.test(v.detail)), 'only the numbered raw messages were acked');
  assert.ok(sim.stats().acksReceived - acksBefore >= 3, 'the numbered raw messages were acked');
  assert.ok(followed.logs.some((line) => line.includes('bad frame')), 'bad frames are logged');
});

test('a receiver that returns a promise holds the ack and every later message until it settles', async () => {
  await freshWorld();
  const order: string[] = [];
  let pending = 0;
  let overlapped = 0;
  const followed = follow(sim, {
    receiver: (events, messageId) => {
      pending++;
      if (pending !== 1) overlapped++;
      const wait = (async () => {
        await sleep(15);
        for (const event of events) order.push(`${event.type}@${messageId ?? '-'}`);
        pending--;
      })();
      return { wait, afterAck: (acked) => void (acked && order.push(`ack@${messageId}`)) };
    },
  });
  await waitFor(() => followed.session.status().state === 'live', 'live');
  const room = sim.world.createCall({ name: 'Slow consumer' });
  for (let i = 0; i < 5; i++) sim.world.addParticipant(room, { name: `P${i}`, state: 'connected' });
  sim.world.endCall(room);
  await sim.idle();
  await waitFor(() => order.some((s) => s.startsWith('call.ended')), 'the call to end');
  // Every event of a message is delivered before that message is acked, and acks keep message order.
  for (const [i, entry] of order.entries()) {
    const match = /^(.+)@(\d+)$/.exec(entry);
    if (!match || match[1] === 'ack') continue;
    const ackAt = order.indexOf(`ack@${match[2]}`);
    assert.ok(ackAt > i, `${entry} acked before it was delivered`);
  }
  const acks = order.filter((s) => s.startsWith('ack@')).map((s) => Number(s.slice(4)));
  assert.ok(acks.length >= 8, `only ${acks.length} acks seen`);
  assert.deepEqual(acks, [...acks].sort((a, b) => a - b));
  assert.equal(overlapped, 0, 'the receiver is never called again before the previous wait settled');
  assert.deepEqual(violations(), []);
});

test('stop() leaves no timer or socket behind', async () => {
  await freshWorld();
  const room = sim.world.createCall({ name: 'Leak check' });
  sim.world.addParticipant(room, { name: 'Kim', state: 'connected' });
  await new Promise((resolve) => setImmediate(resolve));
  const count = (types: string[]) => process.getActiveResourcesInfo().filter((type) => types.includes(type)).length;
  const SOCKETS = ['TCPSocketWrap', 'TLSWrap', 'TCPWRAP'];
  const baseline = { timers: count(['Timeout']), sockets: count(SOCKETS) };
  const followed = follow(sim, { timings: { pingIntervalMs: 50 } });
  await waitFor(live(followed), 'live');
  await waitFor(() => inStep(sim, followed.session), 'in step');
  sim.faults.dropAll();
  await waitFor(live(followed, 2), 'live again');
  running.splice(running.indexOf(followed.session), 1);
  await followed.session.stop();
  assert.equal(followed.session.status().state, 'stopped');
  assert.ok(count(['Timeout']) <= baseline.timers, `timers: ${count(['Timeout'])} > ${baseline.timers}`);
  // The client side is closed when stop() resolves; the simulator's side of the socket closes a moment later.
  await waitFor(() => count(SOCKETS) <= baseline.sockets, `sockets back to ${baseline.sockets}: ${process.getActiveResourcesInfo().join(',')}`, 2000);
  assert.equal(followed.events.at(-1)?.type, 'server.disconnected');
  const last = followed.events.at(-1);
  assert.equal(last?.type === 'server.disconnected' && last.reason, 'stopped');
});

test('stop() during connecting and during backoff resolves promptly and cleanly', async () => {
  await freshWorld();
  const connecting = follow(sim);
  running.splice(running.indexOf(connecting.session), 1);
  await connecting.session.stop();
  assert.equal(connecting.session.status().state, 'stopped');
  assert.ok(!connecting.events.some((e) => e.type === 'server.connected'), 'never live');

  sim.faults.goDown();
  try {
    // On a manual clock the retry never comes by itself: stop() resolving proves it does not wait for it.
    const clock = new ManualClock();
    const backingOff = follow(sim, { clock, timings: { backoffInitialMs: 5000, backoffMaxMs: 5000 } });
    await waitFor(() => backingOff.session.status().state === 'backoff', 'backoff');
    assert.ok(backingOff.session.status().nextAttemptAt, 'nextAttemptAt is set in backoff');
    assert.equal(clock.pending, 1, 'only the retry timer waits');
    running.splice(running.indexOf(backingOff.session), 1);
    await backingOff.session.stop();
    assert.equal(clock.pending, 0, 'the retry timer is cancelled');
    assert.equal(backingOff.session.status().nextAttemptAt, null);
  } finally {
    sim.faults.comeUp();
  }
});

test('secrets never appear in logs or events: password, tokens, authToken URLs', async () => {
  // A plain simulator behind a tapping proxy, to learn the tokens the session was given.
  const plain = await startSimulator({ tls: false, username: 'api', password: PASSWORD });
  const seen: string[] = [];
  const proxy = createServer((client: Socket) => {
    const upstream = connect(plain.port, plain.host);
    upstream.on('data', (chunk: Buffer) => seen.push(chunk.toString('latin1')));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  try {
    plain.world.createCall({ name: 'Secret meeting' });
    const proxied = { ...plain, host: '127.0.0.1', port } as SimulatedServer;
    const followed = follow(proxied, { plain: true });
    await waitFor(live(followed), 'live');
    plain.switches.tokenTtlMs = 0; // every later handshake fails: ws error paths get logged too
    plain.faults.dropAll();
    await waitFor(() => followed.session.status().lastError?.kind === 'handshake', 'a refused upgrade');
    await waitFor(() => followed.session.status().counters.connectAttempts >= 3, 'more attempts');
    plain.switches.tokenTtlMs = 30_000;
    await waitFor(live(followed, 2), 'live again');
    const wrong = follow(proxied, { plain: true, target: { name: 'bad', host: '127.0.0.1', port, username: 'api', password: 'Wr0ng-Secret-pw', plain: true } });
    await waitFor(() => wrong.session.status().lastError?.kind === 'auth', 'auth failure');

    const tokens = [...seen.join('').matchAll(/X-Cisco-CMS-Auth-Token: (\S+)/gi)].map((m) => m[1]);
    assert.ok(tokens.length >= 3, `saw ${tokens.length} tokens`);
    const output = [...followed.logs, ...wrong.logs, JSON.stringify(followed.events), JSON.stringify(followed.session.status()), JSON.stringify(wrong.session.status())].join('\n');
    assert.ok(followed.logs.length > 5 && wrong.logs.length > 0, 'logs were captured');
    for (const secret of [PASSWORD, 'Wr0ng-Secret-pw', Buffer.from(`api:${PASSWORD}`).toString('base64'), 'authToken=', ...tokens]) {
      assert.ok(!output.includes(secret), `a secret leaked: ${secret.slice(0, 4)}…`);
    }
  } finally {
    await Promise.all(running.splice(0).map((session) => session.stop()));
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await plain.close();
  }
});

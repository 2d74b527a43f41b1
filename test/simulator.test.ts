// The simulated CMS against the reference and the recorded meeting: authentication, handshake,
// subscriptions, snapshots, deltas and the end of a call. Real sockets, a minimal probe client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { before, describe, test } from 'node:test';
import { generate } from 'selfsigned';
import { CALL_ELEMENTS, CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS, type ServerMessage, type Subscription } from '../src/protocol/index.js';
import type { SimulatedServer } from '../src/simulator/index.js';
import { openSocket, requestToken, type Probe, type ProbeFrame } from '../src/simulator/probe-client.js';
import { probe, simulator } from './helpers/simulators.js';
import { ManualClock } from './helpers/manual-clock.js';

const FIXTURE = readFileSync(new URL('./fixtures/meeting.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Record<string, any>);

const calls = (index = 1, elements: readonly string[] = CALL_ELEMENTS): Subscription => ({ index, type: 'calls', elements } as Subscription);
const info = (index: number, call: string, elements: readonly string[] = CALL_INFO_ELEMENTS): Subscription => ({ index, type: 'callInfo', call, elements } as Subscription);
const roster = (index: number, call: string, elements: readonly string[] = CALL_ROSTER_ELEMENTS): Subscription => ({ index, type: 'callRoster', call, elements } as Subscription);

const isMessage = (type: ServerMessage['type']) => (f: ProbeFrame) => f.kind === 'message' && f.message.type === type;
const isAck = (id: number) => (f: ProbeFrame) => f.kind === 'messageAck' && f.ack.messageId === id;
const statesOf = (f: ProbeFrame) => (f.kind === 'message' && f.message.type === 'subscriptionUpdate' ? f.message.subscriptions : undefined);

/** Subscribes and waits until the server has sent everything the request causes. */
async function subscribeAndSettle(p: Probe, subs: Subscription[], server: SimulatedServer): Promise<ProbeFrame[]> {
  const from = p.frames.length;
  const id = p.subscribe(subs);
  await p.waitFor(isAck(id), { from });
  await server.idle();
  await p.quiet(30);
  return p.frames.slice(from);
}

describe('authentication', () => {
  let server: SimulatedServer;
  before(async () => {
    server = await simulator({ username: 'api', password: 's3cret' });
  });

  test('issues a token in X-Cisco-CMS-Auth-Token for good credentials', async () => {
    const answer = await requestToken(server);
    assert.equal(answer.status, 200);
    assert.match(answer.token ?? '', /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(server.stats().tokensIssued, 1);
  });

  test('refuses bad credentials with 401 and an XML failureDetails body', async () => {
    const answer = await requestToken(server, { username: 'api', password: 'wrong' });
    assert.equal(answer.status, 401);
    assert.equal(answer.token, undefined);
    assert.match(answer.body, /^<\?xml[^>]*\?><failureDetails>.*<\/failureDetails>$/);
  });

  test('serves TLS with a certificate whose fingerprint and CA file are published', async () => {
    assert.equal(server.tls, true);
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(readFileSync(server.caPath as string, 'utf8'), server.caPem);
    const presented = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: server.host, port: server.port, ca: server.caPem, servername: 'localhost' }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
    assert.equal(presented, server.fingerprint);
    assert.match(server.fingerprint ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('a token opens one socket only, and only before it expires', async () => {
    const { token } = await requestToken(server);
    const first = await openSocket(server, token);
    assert.ok(!('refused' in first), 'a fresh token opens the socket');
    first.close();
    assert.deepEqual(await openSocket(server, token), { refused: 401 }, 'a used token is refused');
    assert.deepEqual(await openSocket(server, undefined), { refused: 401 }, 'no token is refused');
    assert.deepEqual(await openSocket(server, 'made-up'), { refused: 401 }, 'an unknown token is refused');

    const clock = new ManualClock();
    const timed = await simulator({ clock, switches: { tokenTtlMs: 50 } });
    const { token: fresh } = await requestToken(timed);
    await clock.advance(50);
    const inTime = await openSocket(timed, fresh);
    assert.ok(!('refused' in inTime), 'a token is good for its whole TTL');
    inTime.close();
    const { token: stale } = await requestToken(timed);
    await clock.advance(51);
    assert.deepEqual(await openSocket(timed, stale), { refused: 401 }, 'an expired token is refused');
  });

  test('reusable tokens and the refusal status are switches', async () => {
    server.switches.tokenSingleUse = false;
    server.switches.handshakeRejectStatus = 403;
    try {
      const { token } = await requestToken(server);
      for (let i = 0; i < 2; i += 1) {
        const ws = await openSocket(server, token);
        assert.ok(!('refused' in ws), `use ${i + 1} of a reusable token is accepted`);
        ws.close();
      }
      assert.deepEqual(await openSocket(server, 'made-up'), { refused: 403 });
    } finally {
      server.switches.tokenSingleUse = true;
      server.switches.handshakeRejectStatus = 401;
    }
  });

  test('plain mode and a given certificate', async () => {
    const plain = await simulator({ tls: false });
    assert.match(plain.url, /^http:\/\//);
    assert.equal(plain.caPem, undefined);
    const p = await probe(plain);
    p.subscribe([calls()]);
    await p.waitFor(isMessage('subscriptionUpdate'));

    const pems = await generate([{ name: 'commonName', value: 'given' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const given = await simulator({ tls: { cert: pems.cert, key: pems.private } });
    assert.equal(given.caPem, pems.cert);
    assert.notEqual(given.fingerprint, server.fingerprint);
    assert.equal((await requestToken(given)).status, 200);
  });
});

describe('the recorded meeting', () => {
  test('replays frame for frame (callList count and recording updates aside)', async () => {
    const server = await simulator({ switches: { lateRosterAfterRemove: true } });
    const world = server.world;
    const callId = '3f0c1d52-7a1e-4c2b-9a41-0c5d2e8b7a10';
    const room = 'a1e5f7c2-0b3d-4e8f-9c1a-2d4e6f8a0b1c';
    const kim = 'c9d8e7f6-5a4b-4c3d-8e2f-1a0b9c8d7e6f';
    const recorder = '0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b';
    world.createCall({ id: callId, name: 'Weekly Sync', callCorrelator: 'b2d7e0a4-11c9-4f5e-8e3a-6f1d2c9b0e77' });
    world.addParticipant(callId, { id: room, name: 'Room 4.12', uri: 'room412@example.com' });

    const p = await probe(server);
    p.subscribe([calls()]);
    const add = await p.waitFor(isMessage('callListUpdate'));
    assert.equal(add.kind === 'message' && add.message.type === 'callListUpdate' && add.message.updates[0]?.call, callId);
    p.subscribe([calls(), info(2, callId), roster(3, callId)]);
    await p.waitFor(isMessage('rosterUpdate'));

    world.addParticipant(callId, { id: kim, name: '', uri: '5551234@example.com', state: 'initial', direction: 'outgoing' });
    world.updateParticipant(callId, kim, { state: 'ringing' });
    world.updateParticipant(callId, kim, { name: 'Kim Lee', uri: '5551234@example.com;x-cisco-number=5551234', state: 'connected' });
    world.updateParticipant(callId, room, { activeSpeaker: true });
    world.batch(() => {
      world.updateParticipant(callId, room, { activeSpeaker: false });
      world.updateParticipant(callId, kim, { activeSpeaker: true });
    });
    world.batch(() => {
      world.updateParticipant(callId, room, { layout: 'telepresence' });
      world.updateParticipant(callId, kim, { layout: 'telepresence' });
    });
    world.updateCall(callId, { recording: 'active' });
    world.addParticipant(callId, { id: recorder, name: '', uri: 'recorder@example.com', state: 'initial', direction: 'outgoing', canMove: false });
    world.removeParticipant(callId, recorder, 'unknownDestination');
    world.updateCall(callId, { recording: 'inactive' });
    world.updateParticipant(callId, kim, { state: 'onHold' });
    world.removeParticipant(callId, kim, 'participantInitiated');
    world.batch(() => {
      world.removeParticipant(callId, room);
      world.endCall(callId, 'allLeft');
    });
    await server.idle();
    await p.quiet(30);

    // The fixture's bridge sent a callList update for one count change and none for recording;
    // the simulator reports every subscribed element that changes. Those updates aside, and the
    // ids renumbered, both streams must be identical.
    const comparable = (frames: Array<Record<string, any>>) =>
      frames
        .filter((f) => !(f.type === 'message' && f.message.type === 'callListUpdate' && f.message.updates.every((u: any) => u.updateType === 'update')))
        .map((f) => (f.type === 'message' ? { ...f, message: { ...f.message, messageId: 0 } } : f));
    const received = p.frames.map((f) => (f.kind === 'message' ? { type: 'message', message: f.message } : { type: 'messageAck', messageAck: (f as any).ack }));
    assert.deepEqual(comparable(received), comparable(FIXTURE));
    // Up to the first divergence the ids match too: the handshake and snapshot exactly as recorded.
    assert.deepEqual(received.slice(0, 16), FIXTURE.slice(0, 16));
    const ids = p.messages().map((m) => m.messageId);
    assert.deepEqual(ids, ids.map((_, i) => i + 1), 'server message ids count up from 1 without gaps');
    assert.deepEqual(server.violations(), []);
  });
});

describe('subscriptions', () => {
  let server: SimulatedServer;
  let callId: string;
  let alice: string;
  before(async () => {
    server = await simulator();
    callId = server.world.createCall({ name: 'Design Review' });
    alice = server.world.addParticipant(callId, { name: 'Alice', uri: 'alice@example.com' });
  });

  test('add carries every subscribed element (null where unset); update only the changed subscribed ones', async () => {
    const p = await probe(server);
    const snapshot = await subscribeAndSettle(p, [roster(7, callId, ['state', 'audioMuted', 'importance']), calls(8, ['name'])], server);
    const rosterAdd = snapshot.find(isMessage('rosterUpdate'));
    assert.deepEqual(rosterAdd?.kind === 'message' && rosterAdd.message, {
      messageId: 3, // after pending and active; snapshots follow the request's order
      type: 'rosterUpdate',
      subscriptionIndex: 7,
      updates: [{ participant: alice, updateType: 'add', state: 'connected', audioMuted: false, importance: null }],
    });

    const from = p.frames.length;
    server.world.updateParticipant(callId, alice, { name: 'Alice B.', audioMuted: true });
    server.world.updateParticipant(callId, alice, { name: 'Alice C.' }); // nothing subscribed changed: no message
    const bob = server.world.addParticipant(callId, { name: 'Bob' }); // the count changes, but calls asked for name only
    await server.idle();
    await p.quiet(30);
    const updates = p.frames.slice(from).map((f) => (f.kind === 'message' && f.message.type === 'rosterUpdate' ? f.message.updates : f));
    assert.deepEqual(updates, [
      [{ participant: alice, updateType: 'update', audioMuted: true }],
      [{ participant: bob, updateType: 'add', state: 'connected', audioMuted: false, importance: null }],
    ]);
    server.world.removeParticipant(callId, bob);
    await server.idle();
  });

  test('a request replaces the set: unchanged ones keep going, new ones start, dropped ones are deactivated', async () => {
    const p = await probe(server);
    const first = await subscribeAndSettle(p, [calls(1), info(2, callId)], server);
    assert.deepEqual(first.map(statesOf).filter(Boolean), [
      [{ index: 1, state: 'pending' }, { index: 2, state: 'pending' }],
      [{ index: 1, state: 'active' }, { index: 2, state: 'active' }],
    ]);
    assert.equal(first.filter(isMessage('callListUpdate')).length, 1);
    assert.equal(first.filter(isMessage('callInfoUpdate')).length, 1, 'an initial full callInfoUpdate');

    const second = await subscribeAndSettle(p, [calls(1), roster(3, callId)], server);
    assert.deepEqual(second.map(statesOf).filter(Boolean), [
      [{ index: 3, state: 'pending' }, { index: 2, state: 'deactivated' }],
      [{ index: 3, state: 'active' }],
    ]);
    assert.equal(second.filter(isMessage('callListUpdate')).length, 0, 'no new snapshot for an unchanged subscription');
    assert.equal(second.filter(isMessage('rosterUpdate')).length, 1);

    const from = p.frames.length;
    server.world.updateCall(callId, { name: 'Design Review 2' });
    const update = await p.waitFor(isMessage('callListUpdate'), { from });
    assert.equal(update.kind === 'message' && update.message.type === 'callListUpdate' && update.message.subscriptionIndex, 1);
    await server.idle();
    await p.quiet(30);
    assert.equal(p.frames.slice(from).filter(isMessage('callInfoUpdate')).length, 0, 'the dropped callInfo gets nothing');
    assert.deepEqual(server.violations(), []);
  });

  test('changed elements restart a subscription; listing every subscription is a switch', async () => {
    server.switches.subscriptionUpdateListsAll = true;
    try {
      const p = await probe(server);
      await subscribeAndSettle(p, [calls(1), info(2, callId)], server);
      const next = await subscribeAndSettle(p, [calls(1), info(2, callId, ['name'])], server);
      assert.deepEqual(next.map(statesOf).filter(Boolean), [
        [{ index: 1, state: 'active' }, { index: 2, state: 'pending' }],
        [{ index: 1, state: 'active' }, { index: 2, state: 'active' }],
      ]);
      const full = next.find(isMessage('callInfoUpdate'));
      assert.deepEqual(full?.kind === 'message' && full.message.type === 'callInfoUpdate' && full.message.callInfo, { name: 'Design Review 2' });
    } finally {
      server.switches.subscriptionUpdateListsAll = false;
    }
  });

  test('a per-call subscription of an unknown call is deactivated (or gets the configured state)', async () => {
    const p = await probe(server);
    const frames = await subscribeAndSettle(p, [calls(1), roster(2, 'no-such-call')], server);
    assert.deepEqual(frames.map(statesOf).filter(Boolean), [
      [{ index: 1, state: 'pending' }, { index: 2, state: 'pending' }],
      [{ index: 1, state: 'active' }, { index: 2, state: 'deactivated' }],
    ]);
    server.switches.badCallState = 'error';
    try {
      const again = await subscribeAndSettle(p, [calls(1), info(3, 'no-such-call')], server);
      assert.deepEqual(again.map(statesOf).filter(Boolean).at(-1), [{ index: 3, state: 'error' }]);
    } finally {
      server.switches.badCallState = 'deactivated';
    }
  });

  test('the initial callInfoUpdate and the ack status are switches', async () => {
    server.switches.sendInitialCallInfo = false;
    try {
      const p = await probe(server);
      const frames = await subscribeAndSettle(p, [info(1, callId)], server);
      assert.equal(frames.filter(isMessage('subscriptionUpdate')).length, 2);
      assert.equal(frames.filter(isMessage('callInfoUpdate')).length, 0);
    } finally {
      server.switches.sendInitialCallInfo = true;
    }
    server.switches.subscribeAckStatus = 'failure';
    try {
      const p = await probe(server);
      const frames = await subscribeAndSettle(p, [calls(1)], server);
      assert.deepEqual(frames, [{ kind: 'messageAck', ack: { messageId: 1, status: 'failure' } }], 'a refused request changes nothing');
    } finally {
      server.switches.subscribeAckStatus = 'success';
    }
  });

  test('an empty roster sends nothing after active; a large one arrives in several messages', async () => {
    const empty = server.world.createCall({ name: 'Empty' });
    const big = server.world.createCall({ name: 'Town Hall' });
    server.world.batch(() => {
      for (let i = 0; i < 23; i += 1) server.world.addParticipant(big);
    });
    const p = await probe(server);
    const frames = await subscribeAndSettle(p, [roster(1, empty), roster(2, big)], server);
    const rosters = frames.filter(isMessage('rosterUpdate')).map((f) => (f.kind === 'message' && f.message.type === 'rosterUpdate' ? f.message : undefined));
    assert.ok(rosters.every((m) => m?.subscriptionIndex === 2));
    assert.deepEqual(rosters.map((m) => m?.updates.length), [10, 10, 3]);
    server.world.endCall(empty);
    server.world.endCall(big);
    await server.idle();
  });
});

describe('the end of a call', () => {
  test('callListUpdate remove with a reason, then deactivated for its per-call subscriptions', async () => {
    const server = await simulator();
    const callId = server.world.createCall();
    server.world.addParticipant(callId);
    const p = await probe(server);
    await subscribeAndSettle(p, [calls(1), info(2, callId), roster(3, callId)], server);
    const from = p.frames.length;
    server.world.endCall(callId, 'callDeactivated');
    await server.idle();
    await p.quiet(30);
    const tail = p.frames.slice(from).map((f) => (f.kind === 'message' ? { ...f.message, messageId: 0 } : f));
    assert.deepEqual(tail, [
      { messageId: 0, type: 'callListUpdate', subscriptionIndex: 1, updates: [{ call: callId, updateType: 'remove', reason: 'callDeactivated' }] },
      { messageId: 0, type: 'subscriptionUpdate', subscriptions: [{ index: 2, state: 'deactivated' }, { index: 3, state: 'deactivated' }] },
    ], 'no roster removes for the remaining participant: the client synthesizes the leave');
  });

  test('with lateRosterAfterRemove, a roster update slips in between the remove and the deactivation', async () => {
    const server = await simulator({ switches: { lateRosterAfterRemove: true } });
    const callId = server.world.createCall();
    const someone = server.world.addParticipant(callId);
    const p = await probe(server);
    await subscribeAndSettle(p, [calls(1), roster(3, callId)], server);
    const from = p.frames.length;
    server.world.endCall(callId);
    await server.idle();
    await p.quiet(30);
    const tail = p.frames.slice(from).map((f) => (f.kind === 'message' ? f.message.type : f.kind));
    assert.deepEqual(tail, ['callListUpdate', 'rosterUpdate', 'subscriptionUpdate']);
    const late = p.frames[from + 1];
    assert.deepEqual(late?.kind === 'message' && late.message.type === 'rosterUpdate' && late.message.updates, [
      { participant: someone, updateType: 'update', activeSpeaker: false },
    ]);
  });

  test('a leave is a roster remove, then the lower participant count', async () => {
    const server = await simulator();
    const callId = server.world.createCall();
    const a = server.world.addParticipant(callId);
    server.world.addParticipant(callId, { state: 'ringing', direction: 'outgoing' });
    assert.equal(server.world.listCalls()[0]?.participants, 1, 'a ringing dial-out is not counted yet');
    const p = await probe(server);
    await subscribeAndSettle(p, [calls(1, ['participants']), info(2, callId, ['participants']), roster(3, callId, ['state'])], server);
    const from = p.frames.length;
    server.world.removeParticipant(callId, a, 'participantInitiated');
    await server.idle();
    await p.quiet(30);
    const tail = p.frames.slice(from).map((f) => (f.kind === 'message' ? { ...f.message, messageId: 0 } : f));
    assert.deepEqual(tail, [
      { messageId: 0, type: 'rosterUpdate', subscriptionIndex: 3, updates: [{ participant: a, updateType: 'remove', reason: 'participantInitiated' }] },
      { messageId: 0, type: 'callInfoUpdate', subscriptionIndex: 2, callInfo: { participants: 0 } },
      { messageId: 0, type: 'callListUpdate', subscriptionIndex: 1, updates: [{ call: callId, updateType: 'update', participants: 0 }] },
    ]);
  });
});

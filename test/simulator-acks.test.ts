// The simulated CMS's ack discipline, its record of client violations, pings, limits and faults.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CALL_ELEMENTS, type Subscription } from '../src/protocol/index.js';
import type { SimulatedServer, SimulatorOptions } from '../src/simulator/index.js';
import { openSocket, requestToken, type Probe, type ProbeFrame } from '../src/simulator/probe-client.js';
import { probe, simulator } from './helpers/simulators.js';
import { ManualClock, settle } from './helpers/manual-clock.js';
import { waitFor } from './helpers/wait.js';

const calls: Subscription = { index: 1, type: 'calls', elements: CALL_ELEMENTS };
const messageIds = (p: Probe) => p.messages().map((m) => m.messageId);
const kinds = (server: SimulatedServer) => server.violations().map((v) => v.kind);
const isAck = (f: ProbeFrame) => f.kind === 'messageAck';

/** A server with three calls, so a `calls` subscription costs pending, active and one snapshot message. */
async function busyServer(options: SimulatorOptions = {}): Promise<SimulatedServer> {
  const server = await simulator(options);
  for (let i = 0; i < 3; i += 1) server.world.createCall();
  return server;
}

describe('ack window', () => {
  test('stop-and-wait: the next message leaves only after the previous one is acked', async () => {
    const server = await busyServer();
    const p = await probe(server, false);
    p.subscribe([calls]);
    await p.waitForCount(2); // messageAck + pending
    // pending (sent), active and the snapshot (held back, waiting for room in the window): the
    // server's own accounting shows it holding them, so the probe has nothing more to wait for.
    await waitFor(() => server.stats().queued === 2, 'active and the snapshot queued');
    assert.deepEqual([server.stats().unacked, server.stats().queued], [1, 2]);
    assert.deepEqual(messageIds(p), [1], 'nothing more while message 1 is unacked');
    p.ack(1);
    await p.waitForCount(3);
    await waitFor(() => server.stats().acksReceived === 1, 'the ack counted');
    assert.deepEqual([server.stats().unacked, server.stats().queued], [1, 1]);
    assert.deepEqual(messageIds(p), [1, 2]);
    p.ack(2);
    await p.waitForCount(4);
    assert.deepEqual(messageIds(p), [1, 2, 3]);
    assert.equal(p.messages()[2]?.type, 'callListUpdate');
    assert.equal(server.stats().queued, 0);
    let idle = false;
    void server.idle().then(() => (idle = true));
    await settle();
    assert.equal(server.stats().unacked, 1);
    assert.equal(idle, false, 'not idle while message 3 is unacked');
    p.ack(3);
    await server.idle();
    assert.deepEqual(server.violations(), []);
  });

  test('a wider window lets that many messages out unacked', async () => {
    const server = await busyServer({ switches: { ackWindow: 2 } });
    const p = await probe(server, false);
    p.subscribe([calls]);
    await p.waitForCount(3);
    await waitFor(() => server.stats().queued === 1, 'the snapshot queued');
    assert.deepEqual([server.stats().unacked, server.stats().queued], [2, 1]);
    assert.deepEqual(messageIds(p), [1, 2]);
    p.ack(1);
    await p.waitForCount(4);
    assert.deepEqual(messageIds(p), [1, 2, 3]);
  });

  test('ack timeout with "close": the socket is closed and the timeout recorded', async () => {
    const clock = new ManualClock();
    const server = await busyServer({ switches: { ackTimeoutMs: 150 }, clock });
    const p = await probe(server, false);
    p.subscribe([calls]);
    await p.waitForCount(2);
    await clock.advance(149);
    assert.deepEqual(kinds(server), [], 'not before the timeout');
    await clock.advance(1);
    const closed = await p.closed;
    assert.equal(closed?.code, 1008);
    assert.deepEqual(kinds(server), ['ackTimeout']);
    assert.deepEqual(messageIds(p), [1]);
  });

  test('ack timeout with "stall": the socket stays open and never carries another message', async () => {
    const clock = new ManualClock();
    const server = await busyServer({ switches: { ackTimeoutMs: 150, ackTimeoutAction: 'stall' }, clock });
    const p = await probe(server, false);
    p.subscribe([calls]);
    await p.waitForCount(2);
    await clock.advance(400);
    assert.deepEqual(kinds(server), ['ackTimeout']);
    p.ack(1); // too late
    await waitFor(() => server.stats().acksReceived === 1, 'the late ack to arrive');
    server.world.createCall();
    // The stalled connection drops what it would send: nothing is queued and nothing goes out.
    assert.equal(server.stats().queued, 0);
    assert.deepEqual(messageIds(p), [1]);
    assert.equal(server.stats().openConnections, 1);
    assert.deepEqual(kinds(server), ['ackTimeout']);
    await server.idle(); // a connection stalled for good is not waited for
  });

  test('acks that keep coming in time keep the connection alive past the timeout', async () => {
    const clock = new ManualClock();
    const server = await busyServer({ switches: { ackTimeoutMs: 200 }, clock });
    const p = await probe(server);
    p.subscribe([calls]);
    const world = server.world;
    const id = world.createCall();
    for (let i = 0; i < 5; i += 1) {
      world.updateCall(id, { name: `tick ${i}` });
      await server.idle(); // acked
      await clock.advance(80);
    }
    assert.equal(clock.now() - Date.UTC(2026, 0, 1), 400, 'twice the timeout has passed');
    await server.idle();
    assert.equal(server.stats().openConnections, 1);
    assert.deepEqual(server.violations(), []);
  });
});

describe('violations', () => {
  test('a correct client leaves none; each kind of mistake is recorded once, with its connection', async () => {
    const server = await busyServer();
    const p = await probe(server);
    p.subscribe([calls]);
    await p.waitForCount(4); // ack, pending, active, snapshot
    await server.idle();
    assert.deepEqual(server.violations(), []);

    p.ack(3); // again
    p.ack(99); // never sent
    p.send(`{"type":"message","message":{"messageId":50,"type":"subscribeRequest","subscriptions":[${JSON.stringify(calls)}]}}`);
    await p.waitFor(isAck, { from: 4 });
    p.ack(50); // the ack of the server's messageAck
    p.send('{not json');
    p.send('{"type":"message","message":{"messageId":51,"type":"rosterUpdate"}}');
    p.send('{"type":"hello"}');
    p.send('{"type":"messageAck","messageAck":{"status":"success"}}');
    p.send('{"type":"message","message":{"messageId":52,"type":"subscribeRequest","subscriptions":[{"index":1,"type":"nope"}]}}');
    p.send('{"type":"message","message":{"messageId":53,"type":"subscribeRequest","subscriptions":[{"index":1,"type":"calls","elements":["name","colour"]}]}}');
    p.send('{"type":"message","message":{"messageId":53,"type":"subscribeRequest","subscriptions":[{"index":1,"type":"calls","elements":[]},{"index":1,"type":"calls","elements":[]}]}}');
    await p.quiet(50);
    p.autoAck = false;
    const from = p.frames.length;
    server.world.createCall();
    const update = await p.waitFor((f) => f.kind === 'message', { from });
    if (update.kind === 'message') p.ack(update.message.messageId, 'failure');
    await waitFor(() => kinds(server).includes('nonSuccessAck'), 'the failure ack to be recorded');
    assert.deepEqual(kinds(server), [
      'duplicateAck',
      'unknownAck',
      'ackOfAck',
      'badJson',
      'unknownMessageType',
      'unknownEnvelope',
      'malformedFrame',
      'invalidSubscription',
      'invalidSubscription',
      'clientIdNotIncreasing',
      'invalidSubscription',
      'nonSuccessAck',
    ]);
    const connectionIds = new Set(server.violations().map((v) => v.connectionId));
    assert.deepEqual([...connectionIds], [1]);
    const detail = server.violations().find((v) => v.kind === 'invalidSubscription' && v.detail.includes('colour'));
    assert.ok(detail, 'the detail names the unknown element');
    // Invalid requests are answered with a failed ack so that a client does not wait forever.
    const failed = p.frames.filter((f) => f.kind === 'messageAck' && f.ack.status === 'failure').map((f) => f.kind === 'messageAck' && f.ack.messageId);
    assert.deepEqual(failed, [52, 53]);
  });
});

describe('keepalive and limits', () => {
  test('pings are answered unless answerPings is off', async () => {
    const server = await simulator();
    const p = await probe(server);
    const pong = () =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 300);
        p.ws.once('pong', () => {
          clearTimeout(timer);
          resolve(true);
        });
        p.ws.ping();
      });
    assert.equal(await pong(), true);
    server.switches.answerPings = false;
    assert.equal(await pong(), false);
  });

  test('upgrades beyond maxConnections are refused with the configured status', async () => {
    const server = await simulator({ switches: { maxConnections: 1 } });
    await probe(server);
    const { token } = await requestToken(server);
    assert.deepEqual(await openSocket(server, token), { refused: 503 });
    server.switches.connectionLimitStatus = 429;
    const { token: another } = await requestToken(server);
    assert.deepEqual(await openSocket(server, another), { refused: 429 });
    assert.equal(server.stats().handshakesRejected, 2);
    assert.equal(server.stats().openConnections, 1);
  });
});

describe('faults', () => {
  test('dropAll destroys every socket without a close frame', async () => {
    const server = await simulator();
    const [a, b] = [await probe(server), await probe(server)];
    server.faults.dropAll();
    assert.equal(server.stats().openConnections, 0);
    const [closedA, closedB] = await Promise.all([a?.closed, b?.closed]);
    assert.equal(closedA?.code, 1006, 'abnormal closure: no close frame was sent');
    assert.equal(closedB?.code, 1006);
    assert.equal(server.stats().connectionsOpened, 2);
  });

  test('goDown refuses tokens and upgrades with 503 and drops sockets; comeUp restores service', async () => {
    const server = await simulator({ switches: { tokenSingleUse: false } });
    const p = await probe(server);
    const { token } = await requestToken(server);
    server.faults.goDown();
    assert.equal((await p.closed).code, 1006);
    assert.equal((await requestToken(server)).status, 503);
    assert.deepEqual(await openSocket(server, token), { refused: 503 });
    server.faults.comeUp();
    assert.equal((await requestToken(server)).status, 200);
    const again = await probe(server);
    again.subscribe([calls]);
    await again.waitForCount(3);
  });

  test('stallAcks holds subscribeRequests until it is turned off', async () => {
    const server = await busyServer();
    const p = await probe(server);
    server.world.createCall();
    server.faults.stallAcks(true);
    p.subscribe([calls]);
    await waitFor(() => server.stats().subscribeRequests === 1, 'the request to arrive');
    assert.equal(p.frames.length, 0, 'no messageAck and no subscriptionUpdate while stalled');
    server.faults.stallAcks(false);
    await p.waitForCount(4);
    assert.deepEqual(p.frames[0], { kind: 'messageAck', ack: { messageId: 1, status: 'success' } });
    assert.equal(server.stats().subscribeRequests, 1);
  });

  test('sendRaw writes a frame as is to every open socket, outside the id sequence', async () => {
    const server = await busyServer();
    const [a, b] = [await probe(server), await probe(server)];
    server.faults.sendRaw('{"type":"message","message":{"type":"rosterUpdate"');
    await Promise.all([a?.waitForCount(1), b?.waitForCount(1)]);
    assert.deepEqual(a?.frames[0], { kind: 'invalid', text: '{"type":"message","message":{"type":"rosterUpdate"' });
    a?.subscribe([calls]);
    await a?.waitForCount(3);
    assert.equal(a?.messages()[0]?.messageId, 1, 'raw frames do not consume message ids');
  });

  test('onFrameSent reports every message with its connection and id', async () => {
    const server = await busyServer();
    const sent: Array<[number, number]> = [];
    server.onFrameSent = (connectionId, messageId) => sent.push([connectionId, messageId]);
    const p = await probe(server);
    p.subscribe([calls]);
    await p.waitForCount(4);
    await server.idle();
    assert.deepEqual(sent, [[1, 1], [1, 2], [1, 3]]);
    assert.equal(server.stats().messagesSent, 3);
    assert.equal(server.stats().acksReceived, 3);
  });
});

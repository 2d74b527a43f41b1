// The simulated CMS's per-connection figures (SimulatedServer.connectionFigures): messages sent,
// acks received and when the last one came, open and closed connections alike, so that a test
// can show that a given socket never acked after some moment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CALL_ELEMENTS, type Subscription } from '../src/protocol/index.js';
import { probe, simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const calls: Subscription = { index: 1, type: 'calls', elements: CALL_ELEMENTS };

test('per connection: messages sent, acks received, the last ack time, and closed connections kept', async () => {
  const server = await simulator();
  server.world.createCall();
  const a = await probe(server, false);
  const b = await probe(server, false);
  a.subscribe([calls]);
  b.subscribe([calls]);
  await a.waitForCount(2);
  await b.waitForCount(2);
  const before = Date.now();
  a.ack(1);
  await waitFor(() => server.connectionFigures()[0]?.acksReceived === 1, 'the ack of connection 1 counted');
  const [first, second] = server.connectionFigures();
  assert.equal(server.connectionFigures().length, 2);
  assert.equal(first!.closedAt, null);
  assert.ok(first!.lastAckAt !== null && first!.lastAckAt >= before, 'the last ack is stamped');
  assert.ok(first!.messagesSent >= 2, 'the next message went out after the ack');
  assert.deepEqual([second!.acksReceived, second!.lastAckAt, second!.messagesSent], [0, null, 1], 'the other connection acked nothing');
  await b.close();
  await waitFor(() => server.stats().openConnections === 1, 'connection 2 closed');
  const closed = server.connectionFigures().find((figures) => figures.id === second!.id);
  assert.ok(closed?.closedAt !== null && closed!.closedAt >= closed!.openedAt, 'a closed connection is still reported, with its closing time');
  assert.deepEqual(server.violations(), []);
});

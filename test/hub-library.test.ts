// The hub used as a library, in this process: taps see every event with its exact line and the
// id of the CMS message it came from, in the order the simulator sent them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createHub, createLogger, type CmsEvent } from '../src/index.js';
import { startSimulator } from '../src/simulator/index.js';
import { serverEntry } from './helpers/daemon.js';
import { waitFor } from './helpers/wait.js';

const sim = await startSimulator({ password: 'library-pw-1' });
after(() => sim.close());

test('a tap gets each event, its line and its CMS message id', async () => {
  const sentIds: number[] = [];
  sim.onFrameSent = (_connection, messageId) => sentIds.push(messageId);
  const callId = sim.world.createCall({ name: 'Library call' });
  sim.world.addParticipant(callId, { name: 'Ann', state: 'connected' });

  const hub = createHub({ servers: [serverEntry('cms-lib', sim)], sinks: [] }, { logger: createLogger({ level: 'silent' }) });
  const seen: { event: CmsEvent; line: string; messageId: number | undefined }[] = [];
  hub.tap((event, line, messageId) => seen.push({ event, line, messageId }));
  const handled: string[] = [];
  hub.on('*', (event) => void handled.push(event.id));
  await hub.start();
  try {
    await waitFor(() => seen.some((s) => s.event.type === 'participant.joined'), 'the snapshot');
    const joined = seen.find((s) => s.event.type === 'participant.joined')!.event;
    assert.ok(joined.type === 'participant.joined');
    sim.world.updateParticipant(callId, joined.participantId, { audioMuted: true });
    await waitFor(() => seen.some((s) => s.event.type === 'participant.updated'), 'the mute');

    // server.connected comes with the message that made the subscription active.
    assert.equal(seen[0]!.event.type, 'server.connected');
    let previous = 0;
    for (const { event, line, messageId } of seen) {
      assert.equal(line, JSON.stringify(event));
      assert.ok(Number.isInteger(messageId) && sentIds.includes(messageId!), `${event.type}: ${messageId} is a message the simulator sent`);
      assert.ok(messageId! >= previous, 'in the order they were sent');
      previous = messageId!;
    }
    await waitFor(() => handled.length === seen.length, 'handlers to see the same events');
    assert.deepEqual(handled, seen.map((s) => s.event.id));
  } finally {
    await hub.stop();
    sim.onFrameSent = undefined;
  }
});

// The hub used as a library, in this process: taps see every event with its exact line and the
// id of the CMS message it came from, in the order the simulator sent them; a sink that is full
// holds the acks to the CMS back until it has room, and nothing is lost or reordered.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createHub, createLogger, type CmsEvent, type Sink, type SinkStatus } from '../src/index.js';
import { serverEntry } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { sleep, waitFor } from './helpers/wait.js';

const sim = await simulator({ password: 'library-pw-1' });

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

/** A sink that can be made full: writes then return a promise that resolves once it has room. */
class GateSink implements Sink {
  readonly name = 'gate';
  readonly type = 'test';
  readonly events: CmsEvent[] = [];
  private room: { promise: Promise<void>; open: () => void } | undefined;

  write(event: CmsEvent): void | Promise<void> {
    this.events.push(event);
    return this.room?.promise;
  }

  fill(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.room = { promise, open };
  }

  drain(): void {
    this.room?.open();
    this.room = undefined;
  }

  status(): SinkStatus {
    return { name: this.name, type: this.type, state: 'ok', backlog: 0, delivered: this.events.length, lastError: null, full: this.room !== undefined };
  }

  async close(): Promise<void> {}
}

test('a full sink holds the acks to the CMS back until it has room; nothing is lost or reordered', async () => {
  const server = await simulator({ password: 'library-pw-2' });
  const callId = server.world.createCall({ name: 'Gated call' });
  const participantId = server.world.addParticipant(callId, { name: 'Bo', state: 'connected' });
  const gate = new GateSink();
  const hub = createHub({ servers: [serverEntry('cms-gate', server)], sinks: [] }, { logger: createLogger({ level: 'silent' }), sinks: [gate] });
  await hub.start();
  try {
    await waitFor(() => gate.events.some((e) => e.type === 'participant.joined'), 'the snapshot');
    gate.fill();
    for (let i = 0; i < 6; i++) {
      server.world.updateParticipant(callId, participantId, { audioMuted: i % 2 === 0 });
      await sleep(20); // one message each
    }
    // The write that found the sink full returned a promise: the message after it is not acked.
    await waitFor(() => server.stats().queued > 0, 'messages waiting at the server');
    // The client has read every frame the server sent (its messages, and one messageAck per
    // subscribeRequest), the last of them the message the server waits for: it holds that ack.
    const client = () => hub.servers()[0]!.counters!;
    const framesSent = () => server.stats().messagesSent + server.stats().subscribeRequests;
    await waitFor(() => client().messagesReceived === framesSent(), 'the held message to reach the client');
    const still = server.stats();
    assert.equal(still.acksReceived, client().acksSent, 'no ack while the sink is full');
    assert.equal(still.unacked, 1, 'one message waits for its ack');
    assert.ok(still.queued > 0, 'the server holds the rest back (stop-and-wait)');

    gate.drain();
    await waitFor(() => gate.events.filter((e) => e.type === 'participant.updated').length === 6, 'every update once there is room');
    const mutes = gate.events.filter((e) => e.type === 'participant.updated').map((e) => (e.type === 'participant.updated' ? e.changes.audioMuted : undefined));
    assert.deepEqual(mutes, [true, false, true, false, true, false], 'in the order they happened');
    await waitFor(() => server.stats().unacked === 0 && server.stats().queued === 0, 'every message acked');
    assert.deepEqual(server.violations(), []);
  } finally {
    await hub.stop();
  }
});

test('a sink whose write fails is logged and does not hold the feed back', async () => {
  const server = await simulator({ password: 'library-pw-3' });
  const callId = server.world.createCall({ name: 'Failing sink call' });
  const participantId = server.world.addParticipant(callId, { name: 'Cy', state: 'connected' });
  const seen: CmsEvent[] = [];
  let failNext = false;
  const flaky: Sink = {
    name: 'flaky',
    type: 'test',
    write(event) {
      seen.push(event);
      if (!failNext) return undefined;
      failNext = false;
      return Promise.reject(new Error('downstream exploded'));
    },
    status: () => ({ name: 'flaky', type: 'test', state: 'ok', backlog: 0, delivered: seen.length, lastError: null, full: false }),
    close: async () => {},
  };
  const logged: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'error', destination });
  const hub = createHub({ servers: [serverEntry('cms-flaky', server)], sinks: [] }, { logger, sinks: [flaky] });
  await hub.start();
  try {
    await waitFor(() => seen.some((e) => e.type === 'participant.joined'), 'the snapshot');
    failNext = true;
    for (let i = 0; i < 4; i++) {
      server.world.updateParticipant(callId, participantId, { audioMuted: i % 2 === 0 });
      await sleep(20);
    }
    await waitFor(() => seen.filter((e) => e.type === 'participant.updated').length === 4, 'every update, after the failure too');
    await waitFor(() => server.stats().unacked === 0 && server.stats().queued === 0, 'every message acked');
    assert.ok(logged.some((line) => line.includes('sink write failed') && line.includes('downstream exploded')), 'the failure is logged');
  } finally {
    await hub.stop();
  }
});

test('a handler acts on the call through context.cms after the ack; the change comes back through the feed', async () => {
  const server = await simulator({ password: 'library-pw-3' });
  const callId = server.world.createCall({ name: 'Acted on' });
  const hub = createHub({ servers: [serverEntry('cms-act', server)], sinks: [] }, { logger: createLogger({ level: 'silent' }) });
  const seen: CmsEvent[] = [];
  hub.tap((event) => void seen.push(event));
  hub.on('participant.joined', (event, context) => {
    if (event.participant.name !== 'Noisy') return;
    return () => context.cms.muteAudio(event.participantId);
  });
  await hub.start();
  try {
    assert.equal(hub.cms('cms-act')?.server, 'cms-act');
    assert.equal(hub.cms('no-such-server'), undefined);
    const noisy = server.world.addParticipant(callId, { name: 'Noisy', state: 'connected', audioMuted: false });
    const muted = await waitFor(
      () => seen.find((e) => e.type === 'participant.updated' && e.participantId === noisy && e.changes.audioMuted === true),
      'the mute to come back as an event',
    );
    assert.ok(muted);
    assert.ok(server.restRequests().some((r) => r.method === 'PUT' && r.path.startsWith('/api/v1/callLegs/') && r.params.rxAudioMute === 'true'));
  } finally {
    await hub.stop();
  }
});

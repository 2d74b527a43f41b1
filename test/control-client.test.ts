// The CMS REST client (src/control/) against the simulator's REST API over TLS: each operation
// sends the right request (resource, form-encoded, authenticated) and its effect reaches the
// world; refusals are typed with the failureDetails code; a 503 is tried again; a CMS that never
// answers is a timeout, not a hang; credentials appear in no error.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { CmsApiError } from '../src/control/errors.js';
import { CmsClient } from '../src/control/cms-client.js';
import type { ServerTarget } from '../src/session/types.js';
import { simulator } from './helpers/simulators.js';

const PASSWORD = 'rest-Secret-77';
const sim = await simulator({ username: 'api', password: PASSWORD });
const target = (overrides: Partial<ServerTarget> = {}): ServerTarget => ({ name: 'cms-rest', host: sim.host, port: sim.port, username: 'api', password: PASSWORD, tls: { ca: sim.caPem }, ...overrides });
const client = new CmsClient({ target: target(), random: () => 0 });
after(() => client.close());

const participant = (callId: string, id: string) => sim.world.listCalls().find((c) => c.id === callId)?.roster.find((p) => p.id === id);
const lastRequests = (n: number) => sim.restRequests(n).map((r) => `${r.method} ${r.path} ${JSON.stringify(r.params)}`);

test('mute, camera, layout and importance act on the participant through its call legs', async () => {
  const call = sim.world.createCall({ name: 'Controlled' });
  const ann = sim.world.addParticipant(call, { name: 'Ann', state: 'connected' });
  const legs = await client.legsOf(ann);
  assert.equal(legs.length, 1);
  assert.notEqual(legs[0], ann, 'a leg id is not the participant id');
  await client.muteAudio(ann);
  assert.equal(participant(call, ann)?.audioMuted, true);
  assert.deepEqual(lastRequests(1), [`PUT /api/v1/callLegs/${legs[0]} {"rxAudioMute":"true"}`]);
  const put = sim.restRequests(1)[0]!;
  assert.equal(put.contentType, 'application/x-www-form-urlencoded');
  assert.equal(put.authenticated, true);
  await client.muteAudio(ann, false);
  assert.equal(participant(call, ann)?.audioMuted, false);
  await client.muteVideo(ann);
  assert.equal(participant(call, ann)?.videoMuted, true);
  await client.setLayout(ann, 'speakerOnly');
  assert.equal(participant(call, ann)?.layout, 'speakerOnly');
  await client.setImportance(ann, 5);
  assert.equal(participant(call, ann)?.importance, 5);
  await client.setImportance(ann, null);
  assert.equal(participant(call, ann)?.importance, null);
});

test('dial out returns the new participant; drop removes every leg; lock, record and end act on the call', async () => {
  const call = sim.world.createCall({ name: 'Dialled' });
  const id = await client.dial(call, 'room@example.com', 'Room 4');
  assert.equal(participant(call, id)?.uri, 'room@example.com');
  assert.equal(participant(call, id)?.name, 'Room 4');
  assert.deepEqual(lastRequests(1), [`POST /api/v1/calls/${call}/participants {"remoteParty":"room@example.com","nameLabelOverride":"Room 4"}`]);
  await client.drop(id);
  assert.equal(participant(call, id), undefined);
  await client.lock(call);
  assert.equal(sim.world.listCalls().find((c) => c.id === call)?.lockState, 'locked');
  await client.lock(call, false);
  assert.equal(sim.world.listCalls().find((c) => c.id === call)?.lockState, 'unlocked');
  await client.record(call);
  assert.equal(sim.world.listCalls().find((c) => c.id === call)?.recording, 'active');
  await client.end(call);
  assert.equal(sim.world.listCalls().find((c) => c.id === call), undefined);
  const calls = await client.request('GET', '/calls');
  assert.equal(calls.status, 200);
  assert.match(calls.body, /^<\?xml/);
});

test('refusals are typed: the failureDetails code, the status and a sentence', async () => {
  const gone = await assert.rejects(client.end('no-such-call'), (error: unknown) => {
    assert.ok(error instanceof CmsApiError);
    assert.equal(error.code, 'callDoesNotExist');
    assert.equal(error.status, 400);
    assert.match(error.message, /end the call: the call does not exist \(it may have ended\) \(HTTP 400, callDoesNotExist\)/);
    return true;
  });
  void gone;
  await assert.rejects(client.muteAudio('no-such-participant'), (error: unknown) => error instanceof CmsApiError && error.code === 'participantDoesNotExist');
  const call = sim.world.createCall({ name: 'Bad layout' });
  const bob = sim.world.addParticipant(call, { name: 'Bob', state: 'connected' });
  await assert.rejects(client.setLayout(bob, 'sideways'), (error: unknown) => {
    assert.ok(error instanceof CmsApiError);
    assert.equal(error.code, 'parameterError');
    assert.equal(error.details.parameter, 'chosenLayout');
    assert.match(error.message, /refused parameter chosenLayout/);
    return true;
  });
});

test('a 503 is tried again with backoff; one that lasts is an error', async () => {
  const call = sim.world.createCall({ name: 'Busy' });
  sim.faults.restBusy(2);
  await client.lock(call);
  assert.equal(sim.world.listCalls().find((c) => c.id === call)?.lockState, 'locked');
  assert.deepEqual(sim.restRequests(3).map((r) => r.status), [503, 503, 200]);
  sim.faults.restBusy(10);
  try {
    await assert.rejects(client.lock(call, false), (error: unknown) => error instanceof CmsApiError && error.status === 503 && error.code === 'databaseNotReady');
  } finally {
    sim.faults.restBusy(0);
  }
});

test('bad credentials and an untrusted certificate are errors without the password', async () => {
  const wrong = new CmsClient({ target: target({ password: 'Wrong-Secret-99' }) });
  try {
    await assert.rejects(wrong.end('x'), (error: unknown) => {
      assert.ok(error instanceof CmsApiError);
      assert.equal(error.status, 401);
      assert.ok(!error.message.includes('Wrong-Secret-99') && !error.message.includes(Buffer.from('api:Wrong-Secret-99').toString('base64')), error.message);
      return true;
    });
  } finally {
    await wrong.close();
  }
  const untrusted = new CmsClient({ target: target({ tls: {} }) });
  try {
    await assert.rejects(untrusted.end('x'), (error: unknown) => error instanceof CmsApiError && error.status === 0 && /self-signed|not trusted/.test(error.message) && !error.message.includes(PASSWORD));
  } finally {
    await untrusted.close();
  }
});

test('a CMS that accepts the connection and never answers is a timeout, not a hang', async () => {
  const silent = new Set<Socket>();
  const blackhole = createServer((socket) => void silent.add(socket));
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const { port } = blackhole.address() as { port: number };
  const hanging = new CmsClient({ target: target({ host: '127.0.0.1', port, plain: true }), timeoutMs: 200 });
  try {
    await assert.rejects(hanging.end('x'), (error: unknown) => error instanceof CmsApiError && error.status === 0 && /no answer within 200 ms/.test(error.message));
  } finally {
    await hanging.close().catch(() => undefined);
    for (const socket of silent) socket.destroy();
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  }
});

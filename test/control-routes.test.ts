// The HTTP control routes (src/http/control-routes.ts) on a hub following the simulator over TLS:
// the token rules, 404 from the model, 400 naming the field, the CMS's refusals passed on, and
// every accepted action coming back as events from the feed; the token in no log line.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createHub, createLogger, startHttpServer, type CmsEvent, type Hub } from '../src/index.js';
import type { RunningHttpServer } from '../src/http/server.js';
import { serverEntry } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const TOKEN = 'control-Token-0123456789';
const sim = await simulator({ password: 'routes-pw-1' });
const callId = sim.world.createCall({ name: 'Routed' });
const ann = sim.world.addParticipant(callId, { name: 'Ann', state: 'connected', audioMuted: false });
const bob = sim.world.addParticipant(callId, { name: 'Bob', state: 'connected' });
let hub: Hub;
let http: RunningHttpServer;
let closed: RunningHttpServer;
const events: CmsEvent[] = [];
let logs = '';

before(async () => {
  const logger = createLogger({ destination: new Writable({ write: (chunk, _enc, done) => ((logs += chunk.toString()), done()) }), pretty: false });
  hub = createHub({ servers: [serverEntry('cms-r', sim)], sinks: [] }, { logger });
  hub.tap((event) => void events.push(event));
  await hub.start();
  await waitFor(() => hub.calls('cms-r')?.find((c) => c.id === callId)?.roster.length === 2, 'the snapshot');
  http = await startHttpServer(hub, { port: 0, controlToken: TOKEN });
  closed = await startHttpServer(hub, { port: 0 });
});
after(async () => {
  await http?.close();
  await closed?.close();
  await hub?.stop();
});

const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN, base = () => http.url) => {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${base()}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};
const p = (id: string) => `/api/servers/cms-r/calls/${callId}/participants/${id}`;
const seen = (check: (e: CmsEvent) => boolean, what: string) => waitFor(() => events.find(check), what);
/** The REST requests the control routes caused (the hub's health checks read /system/* on their own schedule). */
const controlRequests = () => sim.restRequests().filter((r) => !r.path.startsWith('/api/v1/system/'));

test('without control configured every control route is 403; a missing or wrong token is 401', async () => {
  assert.equal((await call('PATCH', p(ann), { audioMuted: true }, TOKEN, () => closed.url)).status, 403);
  assert.equal((await call('DELETE', `/api/servers/cms-r/calls/${callId}`, undefined, TOKEN, () => closed.url)).status, 403);
  assert.equal((await call('PATCH', p(ann), { audioMuted: true }, null)).status, 401);
  assert.equal((await call('PATCH', p(ann), { audioMuted: true }, 'wrong-token')).status, 401);
  assert.equal((await call('PATCH', p(ann), { audioMuted: true }, `${TOKEN}x`)).status, 401);
  assert.equal(controlRequests().length, 0, 'nothing reached the CMS');
});

test('unknown server, call or participant is 404; a bad body is 400 naming the field', async () => {
  assert.equal((await call('PATCH', `/api/servers/nope/calls/${callId}`, { locked: true })).status, 404);
  assert.match((await call('PATCH', `/api/servers/cms-r/calls/nope`, { locked: true })).body.error, /has no call "nope"/);
  assert.match((await call('PATCH', p('nobody'), { audioMuted: true })).body.error, /has no participant "nobody"/);
  const bad = async (body: unknown, pattern: RegExp) => {
    const answer = await call('PATCH', p(ann), body);
    assert.equal(answer.status, 400, JSON.stringify(body));
    assert.match(answer.body.error, pattern);
  };
  await bad('{not json', /not JSON/);
  await bad({ audioMuted: 'yes' }, /field "audioMuted" must be true or false/);
  await bad({ colour: 'red' }, /unknown field "colour"/);
  await bad({}, /give at least one of/);
  await bad({ importance: -1 }, /field "importance" must be a whole number/);
  const dial = await call('POST', `/api/servers/cms-r/calls/${callId}/participants`, { name: 'No uri' });
  assert.equal(dial.status, 400);
  assert.match(dial.body.error, /"uri" is required/);
  assert.equal((await call('GET', p(ann))).status, 405);
  assert.equal(controlRequests().length, 0, 'nothing reached the CMS');
});

test('mute, drop, dial, lock and end: accepted by the CMS, then seen as events from the feed', async () => {
  assert.equal((await call('PATCH', p(ann), { audioMuted: true })).status, 204);
  await seen((e) => e.type === 'participant.updated' && e.participantId === ann && e.changes.audioMuted === true, 'the mute');
  const put = controlRequests().at(-1)!;
  assert.equal(put.method, 'PUT');
  assert.match(put.path, /^\/api\/v1\/callLegs\//);
  assert.equal(put.contentType, 'application/x-www-form-urlencoded');
  assert.equal(put.authenticated, true);
  assert.deepEqual(put.params, { rxAudioMute: 'true' });

  assert.equal((await call('DELETE', p(bob))).status, 204);
  await seen((e) => e.type === 'participant.left' && e.participantId === bob, 'the drop');

  const dial = await call('POST', `/api/servers/cms-r/calls/${callId}/participants`, { uri: 'room@example.com', name: 'Room 4' });
  assert.equal(dial.status, 201);
  assert.equal(typeof dial.body.participantId, 'string');
  await seen((e) => e.type === 'participant.joined' && e.participantId === dial.body.participantId && e.participant.uri === 'room@example.com', 'the dialled room');

  assert.equal((await call('PATCH', `/api/servers/cms-r/calls/${callId}`, { locked: true, recording: true })).status, 204);
  await seen((e) => e.type === 'call.updated' && e.callId === callId && e.call.lockState === 'locked', 'the lock');
  await seen((e) => e.type === 'call.updated' && e.callId === callId && e.call.recording === 'active', 'the recording');
});

test("the CMS's refusals are passed on with their status and code; the token is in no log line", async () => {
  const layout = await call('PATCH', p(ann), { layout: 'sideways' });
  assert.equal(layout.status, 400);
  assert.equal(layout.body.code, 'parameterError');
  assert.match(layout.body.error, /chosenLayout/);
  sim.faults.restBusy(100);
  try {
    const busy = await call('PATCH', `/api/servers/cms-r/calls/${callId}`, { locked: false });
    assert.equal(busy.status, 503);
    assert.equal(busy.body.code, 'databaseNotReady');
  } finally {
    sim.faults.restBusy(0);
  }
  assert.equal((await call('DELETE', `/api/servers/cms-r/calls/${callId}`)).status, 204);
  await seen((e) => e.type === 'call.ended' && e.callId === callId, 'the end');
  assert.match(logs, /control: drop participant accepted by the CMS/);
  assert.match(logs, /"action":"end call","outcome":"accepted"/);
  assert.ok(!logs.includes(TOKEN), 'the token is never logged');
  assert.ok(!logs.includes('routes-pw-1'), 'the password is never logged');
});

// The simulated CMS's REST call-control API over real sockets: Basic auth on every request,
// form-encoded bodies only, call legs with their own ids, XML answers, Location on create,
// failureDetails refusals, the 503 fault, the request record, and every accepted change reaching
// a subscriber through the events feed.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { CALL_ELEMENTS, CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS, type RosterEntry, type ServerMessage, type Subscription } from '../src/protocol/index.js';
import { checkSwitches, type SimulatedServer } from '../src/simulator/index.js';
import type { Probe, ProbeFrame } from '../src/simulator/probe-client.js';
import { probe, simulator } from './helpers/simulators.js';

const FORM = 'application/x-www-form-urlencoded';
const XML_START = '<?xml version="1.0"?>';

interface Answer {
  status: number;
  body: string;
  location: string | null;
}

async function rest(
  server: SimulatedServer,
  method: string,
  path: string,
  params?: Record<string, string>,
  options: { auth?: string | null; contentType?: string; body?: string; dispatcher?: Agent } = {},
): Promise<Answer> {
  const auth = options.auth === undefined ? `${server.username}:${server.password}` : options.auth;
  const headers: Record<string, string> = {};
  if (auth !== null) headers.Authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  let body = options.body;
  if (params) body = new URLSearchParams(params).toString();
  if (body !== undefined) headers['Content-Type'] = options.contentType ?? FORM;
  const response = await fetch(`${server.url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }), ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) });
  return { status: response.status, body: await response.text(), location: response.headers.get('location') };
}

/** The ids of a collection's children, in order (the test reads what the simulator wrote). */
const childIds = (xml: string, child: string): string[] => [...xml.matchAll(new RegExp(`<${child} id="([^"]+)"`, 'g'))].map((m) => m[1] as string);
const failure = (code: string) => new RegExp(`^<\\?xml version="1\\.0"\\?><failureDetails><${code}( [^>]*)? /></failureDetails>$`);

const isAck = (id: number) => (f: ProbeFrame) => f.kind === 'messageAck' && f.ack.messageId === id;
const message = (f: ProbeFrame): ServerMessage | undefined => (f.kind === 'message' ? f.message : undefined);
const rosterEntries = (f: ProbeFrame): RosterEntry[] => {
  const m = message(f);
  return m?.type === 'rosterUpdate' ? m.updates : [];
};

/** A probe following the call list, one call's info and its roster, settled after the snapshot. */
async function follow(server: SimulatedServer, callId: string): Promise<Probe> {
  const p = await probe(server);
  const subs = [
    { index: 1, type: 'calls', elements: CALL_ELEMENTS },
    { index: 2, type: 'callInfo', call: callId, elements: CALL_INFO_ELEMENTS },
    { index: 3, type: 'callRoster', call: callId, elements: CALL_ROSTER_ELEMENTS },
  ] as Subscription[];
  await p.waitFor(isAck(p.subscribe(subs)));
  await server.idle();
  await p.quiet(30);
  return p;
}

const participantOf = (server: SimulatedServer, callId: string, id: string) =>
  server.world.listCalls().find((c) => c.id === callId)?.roster.find((p) => p.id === id);

async function legOf(server: SimulatedServer, participantId: string): Promise<string> {
  const answer = await rest(server, 'GET', `/participants/${participantId}/callLegs`);
  assert.equal(answer.status, 200);
  const legs = childIds(answer.body, 'callLeg');
  assert.equal(legs.length, 1, answer.body);
  return legs[0] as string;
}

describe('authentication and bodies', () => {
  let server: SimulatedServer;
  let callId: string;
  before(async () => {
    server = await simulator({ tls: false, username: 'api', password: 's3cret' });
    callId = server.world.createCall({ name: 'Auth' });
  });

  test('every request needs Basic auth with the bridge credentials: 401 otherwise, and nothing changes', async () => {
    for (const auth of [null, 'api:wrong', 'other:s3cret']) {
      const get = await rest(server, 'GET', '/calls', undefined, { auth });
      assert.equal(get.status, 401);
      assert.match(get.body, failure('authenticationFailure'));
      const put = await rest(server, 'PUT', `/calls/${callId}`, { locked: 'true' }, { auth });
      assert.equal(put.status, 401);
    }
    assert.equal(server.world.listCalls()[0]?.lockState, 'unlocked');
    assert.ok(server.restRequests(6).every((r) => r.authenticated === false && r.status === 401));
    assert.equal((await rest(server, 'GET', '/calls')).status, 200);
  });

  test('a JSON or plain-text body is refused with 400 parameterError; a form body is accepted', async () => {
    const json = await rest(server, 'PUT', `/calls/${callId}`, undefined, { body: '{"locked":true}', contentType: 'application/json' });
    assert.equal(json.status, 400);
    assert.match(json.body, failure('parameterError'));
    assert.match(json.body, /parameter="Content-Type"/);
    const text = await rest(server, 'POST', `/calls/${callId}/participants`, undefined, { body: 'remoteParty=a@b', contentType: 'text/plain' });
    assert.equal(text.status, 400);
    assert.equal(server.world.listCalls()[0]?.lockState, 'unlocked');
    assert.equal(server.world.listCalls()[0]?.roster.length, 0);
    const record = server.restRequests(2)[0];
    assert.equal(record?.contentType, 'application/json');
    assert.deepEqual(record?.params, {});
    assert.equal(record?.rawBody, '{"locked":true}');
    const form = await rest(server, 'PUT', `/calls/${callId}`, undefined, { body: 'locked=true', contentType: `${FORM}; charset=utf-8` });
    assert.equal(form.status, 200);
    assert.equal(server.world.listCalls()[0]?.lockState, 'locked');
  });

  test('booleans are true or false; an unknown value or parameter is a parameterError naming it', async () => {
    const bad = await rest(server, 'PUT', `/calls/${callId}`, { locked: 'yes' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /<parameterError parameter="locked" error="invalidValue" \/>/);
    const unknown = await rest(server, 'PUT', `/calls/${callId}`, { lockState: 'locked' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /<parameterError parameter="lockState" error="unknownParameter" \/>/);
    const missing = await rest(server, 'POST', `/calls/${callId}/participants`, { nameLabelOverride: 'x' });
    assert.match(missing.body, /<parameterError parameter="remoteParty" error="required" \/>/);
  });

  test('unknown paths are 404, wrong methods 405', async () => {
    assert.equal((await rest(server, 'GET', '/coSpacesX')).status, 404);
    const wrong = await rest(server, 'PATCH', `/calls/${callId}`, { locked: 'true' });
    assert.equal(wrong.status, 405);
    assert.match(wrong.body, failure('methodNotSupported'));
  });
});

describe('reading', () => {
  let server: SimulatedServer;
  let callId: string;
  let alice: string;
  before(async () => {
    server = await simulator({ tls: false });
    callId = server.world.createCall({ name: 'Design & Review' });
    server.world.createCall({ name: 'Other' });
    alice = server.world.addParticipant(callId, { name: 'Alice <A>', uri: 'alice@example.com' });
  });

  test('calls, a call, its participants, a participant, their legs and a leg, as XML', async () => {
    const list = await rest(server, 'GET', '/calls');
    assert.equal(list.status, 200);
    assert.ok(list.body.startsWith(`${XML_START}<calls total="2">`), list.body);
    assert.equal(childIds(list.body, 'call')[0], callId);
    assert.match(list.body, /<name>Design &amp; Review<\/name>/);
    const call = await rest(server, 'GET', `/calls/${callId}`);
    assert.ok(call.body.startsWith(`${XML_START}<call id="${callId}">`));
    assert.match(call.body, /<locked>false<\/locked>/);
    const participants = await rest(server, 'GET', `/calls/${callId}/participants`);
    assert.ok(participants.body.startsWith(`${XML_START}<participants total="1">`));
    assert.deepEqual(childIds(participants.body, 'participant'), [alice]);
    const participant = await rest(server, 'GET', `/participants/${alice}`);
    assert.match(participant.body, /<name>Alice &lt;A&gt;<\/name>/);
    const leg = await legOf(server, alice);
    assert.notEqual(leg, alice, 'a leg id is not the participant id');
    const legAnswer = await rest(server, 'GET', `/callLegs/${leg}`);
    assert.ok(legAnswer.body.startsWith(`${XML_START}<callLeg id="${leg}">`));
    assert.match(legAnswer.body, /<rxAudioMute>false<\/rxAudioMute>/);
    const filtered = await rest(server, 'GET', `/callLegs?participantFilter=${alice}`);
    assert.deepEqual(childIds(filtered.body, 'callLeg'), [leg]);
  });

  test('collections are paged with offset and limit, capped by restPageLimit, total counting all', async () => {
    server.switches.restPageLimit = 1;
    try {
      const first = await rest(server, 'GET', '/calls?limit=5');
      const second = await rest(server, 'GET', '/calls?offset=1');
      assert.match(first.body, /<calls total="2">/);
      assert.equal(childIds(first.body, 'call').length, 1);
      assert.notDeepEqual(childIds(first.body, 'call'), childIds(second.body, 'call'));
    } finally {
      server.switches.restPageLimit = 10;
    }
  });
});

describe('call control reaches the world and the events feed', () => {
  let server: SimulatedServer;
  let callId: string;
  let p: Probe;
  before(async () => {
    server = await simulator({ tls: false });
    callId = server.world.createCall({ name: 'Control' });
    p = await follow(server, callId);
  });

  test('PUT callLegs/<leg> mutes audio and video and sets the layout; the feed reports it', async () => {
    const bob = server.world.addParticipant(callId, { name: 'Bob' });
    const leg = await legOf(server, bob);
    const from = p.frames.length;
    assert.deepEqual(await rest(server, 'PUT', `/callLegs/${leg}`, { rxAudioMute: 'true' }), { status: 200, body: '', location: null });
    assert.equal(participantOf(server, callId, bob)?.audioMuted, true);
    await p.waitFor((f) => rosterEntries(f).some((u) => u.participant === bob && u.updateType === 'update' && u.audioMuted === true), { from });
    await rest(server, 'PUT', `/callLegs/${leg}`, { rxVideoMute: 'true', chosenLayout: 'speakerOnly' });
    await p.waitFor((f) => rosterEntries(f).some((u) => u.participant === bob && u.videoMuted === true && u.layout === 'speakerOnly'), { from });
    await rest(server, 'PUT', `/callLegs/${leg}`, { rxAudioMute: 'false' });
    assert.deepEqual([participantOf(server, callId, bob)?.audioMuted, participantOf(server, callId, bob)?.videoMuted], [false, true]);
    const badLayout = await rest(server, 'PUT', `/callLegs/${leg}`, { chosenLayout: 'mosaic' });
    assert.match(badLayout.body, /<parameterError parameter="chosenLayout" error="invalidValue" \/>/);
    const byParticipantId = await rest(server, 'PUT', `/callLegs/${bob}`, { rxAudioMute: 'true' });
    assert.match(byParticipantId.body, failure('callLegDoesNotExist'), 'a participant id is not a leg id');
  });

  test('PUT participants/<id> sets importance; an empty value clears it', async () => {
    const carol = server.world.addParticipant(callId, { name: 'Carol' });
    assert.equal((await rest(server, 'PUT', `/participants/${carol}`, { importance: '5' })).status, 200);
    assert.equal(participantOf(server, callId, carol)?.importance, 5);
    await rest(server, 'PUT', `/participants/${carol}`, { importance: '' });
    assert.equal(participantOf(server, callId, carol)?.importance, null);
    assert.equal((await rest(server, 'PUT', `/participants/${carol}`, { importance: 'high' })).status, 400);
  });

  test('PUT calls/<call>/participants/* mutes everyone but the listed ones', async () => {
    const [x, y] = [server.world.addParticipant(callId, {}), server.world.addParticipant(callId, {})] as [string, string];
    assert.equal((await rest(server, 'PUT', `/calls/${callId}/participants/*`, { rxAudioMute: 'true', filterIds: y, mode: 'exclude' })).status, 200);
    assert.equal(participantOf(server, callId, x)?.audioMuted, true);
    assert.equal(participantOf(server, callId, y)?.audioMuted, false);
  });

  test('DELETE callLegs/<leg> and DELETE participants/<id> drop the participant; their legs go too', async () => {
    const dan = server.world.addParticipant(callId, { name: 'Dan' });
    const eve = server.world.addParticipant(callId, { name: 'Eve' });
    const leg = await legOf(server, dan);
    const from = p.frames.length;
    assert.deepEqual(await rest(server, 'DELETE', `/callLegs/${leg}`), { status: 200, body: '', location: null });
    assert.equal(participantOf(server, callId, dan), undefined);
    await p.waitFor((f) => rosterEntries(f).some((u) => u.participant === dan && u.updateType === 'remove'), { from });
    assert.match((await rest(server, 'GET', `/callLegs/${leg}`)).body, failure('callLegDoesNotExist'));
    assert.match((await rest(server, 'GET', `/participants/${dan}`)).body, failure('participantDoesNotExist'));
    assert.equal((await rest(server, 'DELETE', `/participants/${eve}`)).status, 200);
    await p.waitFor((f) => rosterEntries(f).some((u) => u.participant === eve && u.updateType === 'remove'), { from });
    server.world.addParticipant(callId, { id: 'gone' });
    const goneLeg = await legOf(server, 'gone');
    server.world.removeParticipant(callId, 'gone');
    assert.match((await rest(server, 'PUT', `/callLegs/${goneLeg}`, { rxAudioMute: 'true' })).body, failure('callLegDoesNotExist'));
  });

  test('POST calls/<call>/participants dials out: 200, no body, Location of the new participant', async () => {
    const from = p.frames.length;
    const answer = await rest(server, 'POST', `/calls/${callId}/participants`, { remoteParty: 'room@example.com', nameLabelOverride: 'Room 1' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, '');
    const id = answer.location?.match(/^\/api\/v1\/participants\/([^/]+)$/)?.[1];
    assert.ok(id, `Location ${answer.location}`);
    const dialled = participantOf(server, callId, id);
    assert.deepEqual([dialled?.name, dialled?.uri, dialled?.state, dialled?.direction], ['Room 1', 'room@example.com', 'initial', 'outgoing']);
    await p.waitFor((f) => rosterEntries(f).some((u) => u.participant === id && u.updateType === 'add' && u.state === 'initial'), { from });
    assert.equal((await rest(server, 'GET', answer.location?.slice('/api/v1'.length) ?? '')).status, 200);
    const unnamed = await rest(server, 'POST', `/calls/${callId}/participants`, { remoteParty: 'kim@example.com' });
    assert.equal(participantOf(server, callId, unnamed.location?.split('/').pop() ?? '')?.name, '');
    const viaLeg = await rest(server, 'POST', `/calls/${callId}/callLegs`, { remoteParty: 'lee@example.com' });
    const leg = viaLeg.location?.match(/^\/api\/v1\/callLegs\/([^/]+)$/)?.[1];
    assert.ok(leg);
    assert.match((await rest(server, 'GET', `/callLegs/${leg}`)).body, /<remoteParty>lee@example\.com<\/remoteParty>/);
  });

  test('with dialOutAnswerMs, a dial-out rings and then connects', async () => {
    server.switches.dialOutAnswerMs = 20;
    try {
      const answer = await rest(server, 'POST', `/calls/${callId}/participants`, { remoteParty: 'late@example.com' });
      const id = answer.location?.split('/').pop() ?? '';
      await p.waitFor((f) => rosterEntries(f).some((u) => u.participant === id && u.state === 'connected'));
    } finally {
      server.switches.dialOutAnswerMs = 0;
    }
  });

  test('PUT calls/<call> locks and records; the feed reports lockState and recording', async () => {
    const from = p.frames.length;
    assert.equal((await rest(server, 'PUT', `/calls/${callId}`, { locked: 'true', recording: 'true' })).status, 200);
    const call = server.world.listCalls().find((c) => c.id === callId);
    assert.deepEqual([call?.lockState, call?.recording], ['locked', 'active']);
    await p.waitFor((f) => message(f)?.type === 'callInfoUpdate' && (message(f) as { callInfo: { lockState?: string } }).callInfo.lockState === 'locked', { from });
    await rest(server, 'PUT', `/calls/${callId}`, { locked: 'false', recording: 'false' });
    const after = server.world.listCalls().find((c) => c.id === callId);
    assert.deepEqual([after?.lockState, after?.recording], ['unlocked', 'inactive']);
  });

  test('DELETE calls/<call> ends the call; the feed reports the remove', async () => {
    const from = p.frames.length;
    assert.equal((await rest(server, 'DELETE', `/calls/${callId}`)).status, 200);
    assert.equal(server.world.listCalls().length, 0);
    await p.waitFor((f) => {
      const m = message(f);
      return m?.type === 'callListUpdate' && m.updates.some((u) => u.call === callId && u.updateType === 'remove');
    }, { from });
    assert.match((await rest(server, 'GET', `/calls/${callId}`)).body, failure('callDoesNotExist'));
    assert.deepEqual(server.violations(), []);
  });
});

describe('refusals, faults and the request record', () => {
  let server: SimulatedServer;
  let callId: string;
  before(async () => {
    server = await simulator({ tls: false });
    callId = server.world.createCall({ name: 'Faults' });
  });

  test('unknown ids answer failureDetails codes with staleIdStatus (400 by default, 404 when switched)', async () => {
    const tries: Array<[string, string, Record<string, string> | undefined, string]> = [
      ['GET', '/calls/nope', undefined, 'callDoesNotExist'],
      ['PUT', '/calls/nope', { locked: 'true' }, 'callDoesNotExist'],
      ['DELETE', '/calls/nope', undefined, 'callDoesNotExist'],
      ['POST', '/calls/nope/participants', { remoteParty: 'a@b' }, 'callDoesNotExist'],
      ['GET', '/participants/nope', undefined, 'participantDoesNotExist'],
      ['PUT', '/participants/nope', { importance: '1' }, 'participantDoesNotExist'],
      ['DELETE', '/participants/nope', undefined, 'participantDoesNotExist'],
      ['GET', '/participants/nope/callLegs', undefined, 'participantDoesNotExist'],
      ['GET', '/callLegs/nope', undefined, 'callLegDoesNotExist'],
      ['PUT', '/callLegs/nope', { rxAudioMute: 'true' }, 'callLegDoesNotExist'],
      ['DELETE', '/callLegs/nope', undefined, 'callLegDoesNotExist'],
    ];
    for (const status of [400, 404] as const) {
      server.switches.staleIdStatus = status;
      for (const [method, path, params, code] of tries) {
        const answer = await rest(server, method, path, params);
        assert.equal(answer.status, status, `${method} ${path}`);
        assert.match(answer.body, failure(code), `${method} ${path}`);
      }
    }
    server.switches.staleIdStatus = 400;
    assert.deepEqual(checkSwitches({ staleIdStatus: 403 }), ['switch "staleIdStatus" must be 400 or 404']);
    assert.deepEqual(checkSwitches({ restPageLimit: 0, dialOutAnswerMs: -1 }).length, 2);
  });

  test('faults.restBusy(n): the next n requests answer 503 databaseNotReady, then service resumes', async () => {
    server.faults.restBusy(2);
    for (let i = 0; i < 2; i += 1) {
      const busy = await rest(server, 'PUT', `/calls/${callId}`, { locked: 'true' });
      assert.equal(busy.status, 503);
      assert.match(busy.body, failure('databaseNotReady'));
    }
    assert.equal(server.world.listCalls()[0]?.lockState, 'unlocked', 'a refused request changes nothing');
    assert.equal((await rest(server, 'PUT', `/calls/${callId}`, { locked: 'true' })).status, 200);
    assert.equal(server.world.listCalls()[0]?.lockState, 'locked');
    server.faults.goDown();
    assert.equal((await rest(server, 'GET', '/calls')).status, 503);
    server.faults.comeUp();
  });

  test('every request is recorded: method, path, query, content type, form params, authentication, status', async () => {
    const before = server.restRequests().length;
    await rest(server, 'PUT', `/calls/${callId}`, { recording: 'true' });
    await rest(server, 'GET', '/calls?offset=0', undefined, { auth: 'admin:nope' });
    const records = server.restRequests(2);
    assert.equal(server.restRequests().length, before + 2);
    assert.deepEqual(records.map(({ at: _at, ...r }) => r), [
      { method: 'PUT', path: `/api/v1/calls/${callId}`, query: {}, contentType: FORM, params: { recording: 'true' }, authenticated: true, status: 200 },
      { method: 'GET', path: '/api/v1/calls', query: { offset: '0' }, params: {}, authenticated: false, status: 401 },
    ]);
    assert.ok(!JSON.stringify(server.restRequests()).includes('admin'), 'no credentials in the record');
  });
});

test('over TLS, with the simulator CA, the API answers as over plain HTTP', async () => {
  const server = await simulator();
  assert.equal(server.tls, true);
  const callId = server.world.createCall({ name: 'Secure' });
  const alice = server.world.addParticipant(callId, { name: 'Alice' });
  const dispatcher = new Agent({ connect: { ca: server.caPem } });
  try {
    const legs = await rest(server, 'GET', `/participants/${alice}/callLegs`, undefined, { dispatcher });
    const leg = childIds(legs.body, 'callLeg')[0];
    assert.equal((await rest(server, 'PUT', `/callLegs/${leg}`, { rxAudioMute: 'true' }, { dispatcher })).status, 200);
    assert.equal(participantOf(server, callId, alice)?.audioMuted, true);
    assert.equal((await rest(server, 'GET', '/calls', undefined, { dispatcher, auth: null })).status, 401);
  } finally {
    await dispatcher.close();
  }
});

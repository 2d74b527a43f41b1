// The simulated CMS's CDR side over real sockets: REST /system/cdrReceivers (list, add up to
// four, get, change, delete, unknown ids), and the records POSTed to a plain node:http receiver,
// read with the daemon's own CDR parser: the CMS order of a call's records, recordIndex and
// correlatorIndex, one POST in flight (or several: cdrPostsInFlight), re-sending after a non-200 or lost answer, the
// cdrConnectionFailure alarm while a receiver is down, buffer overflow, batching, the callBridge
// attribute, two receivers, burst(), and close() ending the pushers.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { fetch } from 'undici';
import { parseCdrBody, type CdrRecord } from '../src/cdr/parse.js';
import { formBridgeCluster, type SimulatedServer, type SimulatorSwitches } from '../src/simulator/index.js';
import { selfSignedCertificate } from '../src/simulator/certificate.js';
import { ManualClock } from './helpers/manual-clock.js';
import { simulator } from './helpers/simulators.js';

const FORM = 'application/x-www-form-urlencoded';
const XML_START = '<?xml version="1.0"?>';
const START = Date.UTC(2026, 11, 3, 10, 0, 0);
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

interface Post {
  url: string;
  contentType: string | undefined;
  body: string;
  status: number;
  records: CdrRecord[];
  session: string;
  callBridge: string | null;
}

/** A CDR receiver: records every POST, answers with `answer(n)` (n counts POSTs from 0), counts POSTs in flight. */
class Receiver {
  readonly posts: Post[] = [];
  answer: (n: number) => number | Promise<number> = () => 200;
  inFlight = 0;
  maxInFlight = 0;
  connections = 0;
  /** The connections open now. */
  readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  /** With `tls`, an https receiver. */
  constructor(private readonly tls?: { cert: string; key: string }) {}

  async listen(port = 0): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = this.tls ? createHttpsServer({ cert: this.tls.cert, key: this.tls.key }, handler) : createServer(handler);
    server.on(this.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    receivers.add(this);
    return this;
  }

  url(path = '/cdr'): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}${path}`;
  }

  /** The records of the POSTs answered 200, in arrival order. */
  records(): CdrRecord[] {
    return this.posts.filter((p) => p.status === 200).flatMap((p) => p.records);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const n = this.posts.length;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const parsed = parseCdrBody(body);
    assert.ok(parsed.ok, parsed.ok ? '' : `${parsed.problem}: ${body}`);
    const post: Post = { url: req.url ?? '', contentType: req.headers['content-type'], body, status: 0, records: parsed.records, session: parsed.session, callBridge: parsed.callBridge };
    this.posts.push(post);
    post.status = await this.answer(n);
    this.inFlight -= 1;
    res.writeHead(post.status, { 'Content-Length': 0 });
    res.end();
  }
}

const receivers = new Set<Receiver>();
after(async () => {
  await Promise.all([...receivers].map((r) => r.close()));
});

async function rest(server: SimulatedServer, method: string, path: string, params?: Record<string, string>, auth = true) {
  const headers: Record<string, string> = auth ? { Authorization: `Basic ${Buffer.from(`${server.username}:${server.password}`).toString('base64')}` } : {};
  const body = params ? new URLSearchParams(params).toString() : undefined;
  if (body !== undefined) headers['Content-Type'] = FORM;
  const response = await fetch(`${server.url}/api/v1${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: response.status, body: await response.text(), location: response.headers.get('location') };
}

const failure = (code: string, attrs = '') => `${XML_START}<failureDetails><${code}${attrs} /></failureDetails>`;
const ids = (xml: string) => [...xml.matchAll(/<cdrReceiver id="([^"]+)"/g)].map((m) => m[1] as string);

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cdrSimulator = (switches: Partial<SimulatorSwitches> = {}, clock?: ManualClock) =>
  simulator({ tls: false, switches: { cdrRetryMs: 50, ...switches }, ...(clock ? { clock } : {}) });

/** What one record says, compactly: type plus the fields the sequence is about. */
const brief = (r: CdrRecord) => `${r.type}${r.fields.ivr ? ' ivr' : ''}${typeof r.fields.call === 'string' ? ' call' : ''}`;

describe('REST /system/cdrReceivers', () => {
  test('list, add up to four, get, change, delete, unknown ids, paging', async () => {
    const server = await cdrSimulator();
    let answer = await rest(server, 'GET', '/system/cdrReceivers');
    assert.deepEqual([answer.status, answer.body], [200, `${XML_START}<cdrReceivers total="0" maximum="4"></cdrReceivers>`]);

    const added: string[] = [];
    for (let i = 1; i <= 4; i += 1) {
      answer = await rest(server, 'POST', '/system/cdrReceivers', { uri: `http://127.0.0.1:9/cdr/${i}?token=t${i}` });
      assert.equal(answer.status, 200, answer.body);
      assert.equal(answer.body, '');
      const match = /^\/api\/v1\/system\/cdrReceivers\/([0-9a-f-]{36})$/.exec(answer.location ?? '');
      assert.ok(match, `Location ${answer.location}`);
      added.push(match[1] as string);
    }
    answer = await rest(server, 'POST', '/system/cdrReceivers', { uri: 'http://127.0.0.1:9/cdr/5' });
    assert.deepEqual([answer.status, answer.body], [400, failure('tooManyCdrReceivers')]);
    assert.throws(() => server.cdr.addReceiver('http://127.0.0.1:9/cdr/5'), /at most 4/);

    answer = await rest(server, 'GET', '/system/cdrReceivers');
    assert.equal(answer.status, 200);
    assert.match(answer.body, /^<\?xml version="1\.0"\?><cdrReceivers total="4" maximum="4">/);
    assert.deepEqual(ids(answer.body), added);
    assert.ok(answer.body.includes(`<cdrReceiver id="${added[0]}"><uri>http://127.0.0.1:9/cdr/1?token=t1</uri></cdrReceiver>`), answer.body);
    assert.deepEqual(server.cdr.receivers(), added.map((id, i) => ({ id, uri: `http://127.0.0.1:9/cdr/${i + 1}?token=t${i + 1}` })));
    answer = await rest(server, 'GET', '/system/cdrReceivers?offset=1&limit=2');
    assert.match(answer.body, /total="4" maximum="4"/);
    assert.deepEqual(ids(answer.body), added.slice(1, 3));
    assert.equal((await rest(server, 'GET', '/system/cdrReceivers?offset=x')).status, 400);

    const [first, second] = added as [string, string];
    answer = await rest(server, 'GET', `/system/cdrReceivers/${first}`);
    assert.deepEqual([answer.status, answer.body], [200, `${XML_START}<cdrReceiver id="${first}"><uri>http://127.0.0.1:9/cdr/1?token=t1</uri></cdrReceiver>`]);
    answer = await rest(server, 'PUT', `/system/cdrReceivers/${first}`, { uri: 'https://collector.example.com:8444/cdr?token=new&x=1' });
    assert.deepEqual([answer.status, answer.body], [200, '']);
    assert.match((await rest(server, 'GET', `/system/cdrReceivers/${first}`)).body, /<uri>https:\/\/collector\.example\.com:8444\/cdr\?token=new&amp;x=1<\/uri>/);
    answer = await rest(server, 'DELETE', `/system/cdrReceivers/${second}`);
    assert.deepEqual([answer.status, answer.body], [200, '']);
    assert.deepEqual(ids((await rest(server, 'GET', '/system/cdrReceivers')).body), [first, added[2], added[3]]);

    for (const [method, params] of [['GET', undefined], ['PUT', { uri: 'http://127.0.0.1:9/x' }], ['DELETE', undefined]] as const) {
      answer = await rest(server, method, `/system/cdrReceivers/${second}`, params);
      assert.deepEqual([method, answer.status, answer.body], [method, 400, failure('cdrReceiverDoesNotExist')]);
    }
    server.switches.staleIdStatus = 404;
    assert.deepEqual(await rest(server, 'GET', `/system/cdrReceivers/${second}`), { status: 404, body: failure('cdrReceiverDoesNotExist'), location: null });
    server.switches.staleIdStatus = 400;

    // Room again for one: refusals of its parameters.
    assert.equal((await rest(server, 'POST', '/system/cdrReceivers', {})).body, failure('parameterError', ' parameter="uri" error="required"'));
    for (const uri of ['ftp://127.0.0.1/cdr', 'not a uri', '/relative/cdr']) {
      answer = await rest(server, 'POST', '/system/cdrReceivers', { uri });
      assert.deepEqual([uri, answer.status, answer.body], [uri, 400, failure('parameterError', ' parameter="uri" error="invalidValue"')]);
    }
    answer = await rest(server, 'POST', '/system/cdrReceivers', { uri: 'http://127.0.0.1:9/', colour: 'blue' });
    assert.deepEqual([answer.status, answer.body], [400, failure('parameterError', ' parameter="colour" error="unknownParameter"')]);
    answer = await rest(server, 'PUT', `/system/cdrReceivers/${first}`, {});
    assert.equal(answer.body, failure('parameterError', ' parameter="uri" error="required"'));
    assert.equal((await rest(server, 'DELETE', '/system/cdrReceivers')).status, 405);
    assert.equal((await rest(server, 'GET', '/system/cdrReceivers', undefined, false)).status, 401);
    assert.equal(server.cdr.receivers().length, 3);
  });
});

describe('records of the world', () => {
  test("a call's records in CMS order: legs start, IVR, callStart, into the call, leaves, the call ends", async () => {
    const clock = new ManualClock(START);
    const server = await cdrSimulator({}, clock);
    const receiver = await new Receiver().listen();
    const receiverId = server.cdr.addReceiver(receiver.url('/cdr/cms-a?token=abc'));
    assert.match(server.cdr.session, /^[0-9a-f-]{36}$/);

    const callId = server.world.createCall({ name: 'Weekly Sync' });
    const correlator = server.world.listCalls()[0]?.callCorrelator;
    const kim = server.world.addParticipant(callId, { name: 'Kim', uri: 'kim@example.com' });
    const kimLeg = /<callLeg id="([^"]+)"/.exec((await rest(server, 'GET', `/participants/${kim}/callLegs`)).body)?.[1];
    assert.ok(kimLeg);
    await clock.advance(5000);
    const lee = server.world.addParticipant(callId, { name: 'Lee', uri: 'lee@example.com', state: 'initial' });
    server.world.updateParticipant(callId, lee, { state: 'connected' });
    await clock.advance(60_000);
    server.world.updateCall(callId, { recording: 'active' });
    server.world.updateCall(callId, { recording: 'inactive' });
    server.world.removeParticipant(callId, kim);
    await clock.advance(10_000);
    server.world.endCall(callId);
    await server.cdr.drained();

    const records = receiver.records();
    assert.deepEqual(records.map(brief), [
      'callLegStart', 'callLegUpdate ivr', 'callStart', 'callLegUpdate call',
      'callLegStart', 'callLegUpdate ivr', 'callLegUpdate call',
      'recordingStart call', 'recordingEnd',
      'callLegEnd',
      'callLegEnd', 'callEnd',
    ]);
    assert.deepEqual(records.map((r) => r.recordIndex), records.map((_, i) => i + 1));
    assert.deepEqual(records.map((r) => r.correlatorIndex), records.map((_, i) => i));
    assert.ok(records.every((r) => r.missingBefore === 0 && TIME.test(r.time)));
    assert.equal(records[0]?.time, '2026-12-03T10:00:00Z');
    assert.equal(records[11]?.time, '2026-12-03T10:01:15Z');
    for (const post of receiver.posts) {
      assert.equal(post.url, '/cdr/cms-a?token=abc', 'the query string travels as written');
      assert.equal(post.contentType, 'text/xml');
      assert.equal(post.session, server.cdr.session);
      assert.equal(post.callBridge, null);
      assert.equal(post.records.length, 1);
      assert.ok(post.body.startsWith(`${XML_START}\n<records session="${server.cdr.session}">`), post.body);
    }

    const [kimStart, kimIvr, callStart, kimIn, leeStart, , , recordingStart, recordingEnd, kimEnd, leeEnd, callEnd] = records as CdrRecord[];
    assert.deepEqual([kimStart!.element, kimStart!.elementId], ['callLeg', kimLeg], 'the leg id is the one REST /callLegs lists');
    assert.deepEqual(kimStart!.fields, {
      displayName: 'Kim', localAddress: 'weekly.sync@example.com', remoteParty: 'kim@example.com', remoteAddress: kimStart!.fields.remoteAddress,
      type: 'sip', direction: 'incoming', sipCallId: kimStart!.fields.sipCallId, groupId: kim, canMove: true,
    });
    assert.deepEqual(kimIvr!.fields, { state: 'connected', ivr: true, groupId: kim, displayName: 'Kim', remoteAddress: kimStart!.fields.remoteAddress, confirmationStatus: 'notRequired' });
    assert.deepEqual([callStart!.element, callStart!.elementId], ['call', callId]);
    assert.deepEqual(callStart!.fields, { name: 'Weekly Sync', ownerName: '', callType: 'coSpace', coSpace: callStart!.fields.coSpace, tenant: '', cdrTag: '', callCorrelator: correlator });
    assert.match(String(callStart!.fields.coSpace), /^[0-9a-f-]{36}$/);
    assert.deepEqual([kimIn!.elementId, kimIn!.fields.call, kimIn!.fields.deactivated, kimIn!.fields.groupId], [kimLeg, callId, false, kim]);
    assert.equal(leeStart!.fields.groupId, lee);
    assert.equal(recordingStart!.fields.call, callId);
    assert.match(String(recordingStart!.fields.path), /^spaces\/[0-9a-f-]{36}\/20261203100105\+0000$/);
    assert.deepEqual([recordingEnd!.elementId, recordingEnd!.fields], [recordingStart!.elementId, {}]);

    assert.equal(kimEnd!.elementId, kimLeg);
    assert.ok(!('groupId' in kimEnd!.fields) && !('call' in kimEnd!.fields), 'a callLegEnd names neither its group nor its call');
    assert.deepEqual([kimEnd!.fields.reason, kimEnd!.fields.remoteTeardown, kimEnd!.fields.durationSeconds, kimEnd!.fields.activatedDuration], ['remoteTeardown', true, 65, 65]);
    assert.deepEqual([leeEnd!.fields.reason, leeEnd!.fields.remoteTeardown, leeEnd!.fields.durationSeconds], ['callEnded', false, 70]);
    assert.equal(leeEnd!.elementId, leeStart!.elementId);
    for (const end of [kimEnd!, leeEnd!]) {
      assert.equal(end.fields.sipCallId, records.find((r) => r.type === 'callLegStart' && r.elementId === end.elementId)?.fields.sipCallId);
      assert.deepEqual(Object.keys(end.fields.mediaUsagePercentages as object), ['mainVideoViewer', 'mainVideoContributor', 'presentationContributor', 'multiStreamVideo']);
      assert.equal(typeof (end.fields.rxVideo as Record<string, unknown>).maxSizeWidth, 'number');
      assert.equal((end.fields.rxAudio as Record<string, unknown>).codec, 'opus');
      assert.ok(Array.isArray(end.fields.alarms ?? []));
      assert.notEqual(end.fields.encryptedMedia, end.fields.unencryptedMedia);
    }
    assert.deepEqual([callEnd!.elementId, callEnd!.fields], [callId, { callLegsCompleted: 2, callLegsMaxActive: 2, durationSeconds: 75 }]);
    assert.equal(server.cdr.backlog(receiverId), 0);
    assert.deepEqual(server.cdr.stats(), { posts: 12, delivered: 12, failures: 0, discarded: 0, records: 12 });
  });

  test('a dial-out names its call from its first record, which the callStart precedes; streaming starts and ends', async () => {
    const server = await cdrSimulator();
    const receiver = await new Receiver().listen();
    server.cdr.addReceiver(receiver.url());
    const callId = server.world.createCall({ name: 'Board', streaming: 'active' });
    const answer = await rest(server, 'POST', `/calls/${callId}/participants`, { remoteParty: 'sam@example.com' });
    assert.equal(answer.status, 200);
    const sam = (answer.location ?? '').split('/').pop() as string;
    server.world.updateParticipant(callId, sam, { state: 'connected' });
    server.world.updateCall(callId, { streaming: 'inactive' });
    server.world.endCall(callId);
    await server.cdr.drained();
    const records = receiver.records();
    assert.deepEqual(records.map(brief), ['callStart', 'streamingStart call', 'callLegStart call', 'callLegUpdate call', 'streamingEnd', 'callLegEnd', 'callEnd']);
    assert.equal(records[2]?.fields.direction, 'outgoing');
    assert.equal(records[2]?.fields.groupId, sam);
    assert.equal(records[1]?.fields.streamUrl, 'rtmp://stream.example.com/live/board');
  });

  test('a cluster: only the hosting bridge has a leg; a move ends it on one bridge and starts it on the other', async () => {
    const bridges = [await cdrSimulator({ listRemoteParticipants: true }), await simulator({ tls: false, name: 'cms-b', switches: { listRemoteParticipants: true } })];
    const [a, b] = [await new Receiver().listen(), await new Receiver().listen()];
    bridges[0]!.cdr.addReceiver(a.url());
    bridges[1]!.cdr.addReceiver(b.url());
    const cluster = formBridgeCluster(bridges);
    const meeting = cluster.startMeeting({ name: 'All Hands', on: [0, 1] });
    const kim = cluster.join(meeting, 0, { name: 'Kim' });
    await Promise.all(bridges.map((bridge) => bridge.cdr.drained()));
    assert.deepEqual(b.records().map(brief), [], 'a participant only listed on bridge 1 has no leg there');
    const callIds = [cluster.callId(meeting, 0), cluster.callId(meeting, 1)];
    cluster.move(kim, 1);
    cluster.endMeeting(meeting);
    await Promise.all(bridges.map((bridge) => bridge.cdr.drained()));
    const [ra, rb] = [a.records(), b.records()];
    assert.deepEqual(ra.map(brief), ['callLegStart', 'callLegUpdate ivr', 'callStart', 'callLegUpdate call', 'callLegEnd', 'callEnd']);
    assert.equal(ra[4]?.fields.reason, 'remoteTeardown');
    assert.deepEqual(rb.map(brief), ['callLegStart', 'callLegUpdate ivr', 'callStart', 'callLegUpdate call', 'callLegEnd', 'callEnd']);
    assert.equal(rb[4]?.fields.reason, 'callEnded');
    assert.deepEqual([ra[0]?.fields.groupId, rb[0]?.fields.groupId], [kim, kim]);
    assert.deepEqual([ra[2]?.fields.callCorrelator, rb[2]?.fields.callCorrelator], [meeting, meeting]);
    assert.deepEqual([ra[2]?.elementId, rb[2]?.elementId], callIds);
    cluster.dissolve();
  });

  test('a receiver added later gets the records from then on; two receivers, own recordIndex, same correlatorIndex', async () => {
    const server = await cdrSimulator();
    const [a, b] = [await new Receiver().listen(), await new Receiver().listen()];
    server.cdr.addReceiver(a.url('/a'));
    const callId = server.world.createCall();
    server.world.addParticipant(callId);
    await server.cdr.drained();
    server.cdr.addReceiver(b.url('/b'));
    const late = server.world.addParticipant(callId);
    server.world.removeParticipant(callId, late);
    server.world.endCall(callId);
    await server.cdr.drained();
    const [ra, rb] = [a.records(), b.records()];
    assert.deepEqual(ra.map((r) => r.recordIndex), ra.map((_, i) => i + 1));
    assert.deepEqual(ra.map((r) => r.correlatorIndex), ra.map((_, i) => i));
    assert.deepEqual(rb.map(brief), ['callLegStart', 'callLegUpdate ivr', 'callLegUpdate call', 'callLegEnd', 'callLegEnd', 'callEnd'], 'no history, no second callStart');
    assert.deepEqual(rb.map((r) => r.recordIndex), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(rb.map((r) => r.correlatorIndex), ra.slice(-6).map((r) => r.correlatorIndex));
    assert.deepEqual(rb.map((r) => r.correlatorIndex), [4, 5, 6, 7, 8, 9]);
    assert.deepEqual(rb.map((r) => r.elementId), ra.slice(-6).map((r) => r.elementId));
    assert.deepEqual(new Set([...a.posts, ...b.posts].map((p) => p.session)), new Set([server.cdr.session]));
    assert.deepEqual(server.cdr.stats(), { posts: 16, delivered: 16, failures: 0, discarded: 0, records: 16 });
  });
});

describe('delivery', () => {
  test('an https receiver: its certificate is not verified unless cdrVerifyReceiverTls', async () => {
    const server = await cdrSimulator();
    const receiver = await new Receiver(await selfSignedCertificate('127.0.0.1')).listen();
    server.cdr.addReceiver(receiver.url('/cdr?token=s'));
    server.cdr.burst(1, 1);
    await server.cdr.drained();
    assert.equal(receiver.records().length, 6);
    assert.equal(receiver.posts[0]?.url, '/cdr?token=s');
    server.switches.cdrVerifyReceiverTls = true;
    server.cdr.burst(1, 1);
    await until('a refused certificate', () => server.cdr.stats().failures > 0);
    assert.equal(receiver.records().length, 6);
    assert.ok(server.alarms().some((a) => a.type === 'cdrConnectionFailure'));
    server.switches.cdrVerifyReceiverTls = false;
    await server.cdr.drained();
    assert.equal(receiver.records().length, 12);
    assert.ok(!server.alarms().some((a) => a.type === 'cdrConnectionFailure'));
  });

  test('one POST in flight per receiver, over one keep-alive connection', async () => {
    const server = await cdrSimulator();
    const receiver = await new Receiver().listen();
    receiver.answer = () => new Promise((resolve) => setTimeout(() => resolve(200), 5));
    server.cdr.addReceiver(receiver.url());
    // Records made while a POST is in flight: three bursts, then the world's own changes, each ready to leave at once.
    for (let i = 0; i < 3; i += 1) server.cdr.burst(1, 2);
    const callId = server.world.createCall();
    for (let i = 0; i < 3; i += 1) server.world.addParticipant(callId, { state: 'initial' });
    assert.equal(server.cdr.backlog(), 30 + 3);
    await until('a few answers', () => receiver.posts.length >= 3);
    server.world.endCall(callId);
    // The one POST in flight may have been answered 200 here while the pusher has not read the answer yet.
    const unseen = server.cdr.backlog() - (30 + 3 + 3 - receiver.records().length);
    assert.ok(unseen === 0 || unseen === 1, `backlog off by ${unseen}`);
    await server.cdr.drained();
    assert.equal(receiver.posts.length, 36);
    assert.equal(receiver.maxInFlight, 1);
    assert.equal(receiver.connections, 1);
    assert.deepEqual(receiver.records().map((r) => r.recordIndex), Array.from({ length: 36 }, (_, i) => i + 1));
  });

  test('an answer other than 200 sends the same records again; drained() says why it waits', async () => {
    const server = await cdrSimulator({ cdrRecordsPerPost: 2 });
    const receiver = await new Receiver().listen();
    let failing = true;
    receiver.answer = (n) => (n < 2 || failing ? (n % 2 === 0 ? 500 : 403) : 200);
    const id = server.cdr.addReceiver(receiver.url());
    server.world.addParticipant(server.world.createCall());
    await assert.rejects(server.cdr.drained(300), (error: Error) => {
      assert.match(error.message, new RegExp(`not drained after 300 ms: receiver ${id} \\(http://127\\.0\\.0\\.1:\\d+/cdr\\) holds 4 record\\(s\\), last POST: answered (500|403)`));
      return true;
    });
    assert.ok(receiver.posts.length >= 3);
    assert.ok(receiver.posts.every((p) => p.body === receiver.posts[0]?.body), 'the same body every time');
    assert.deepEqual(receiver.posts[0]?.records.map((r) => r.recordIndex), [1, 2]);
    assert.ok(!server.alarms().some((a) => a.type === 'cdrConnectionFailure'), 'an answer, even a refusal, is no connection failure');
    failing = false;
    await server.cdr.drained();
    assert.deepEqual(receiver.records().map((r) => r.recordIndex), [1, 2, 3, 4]);
    const stats = server.cdr.stats();
    assert.equal(stats.failures, receiver.posts.length - 2);
    assert.deepEqual([stats.delivered, stats.records, stats.posts], [4, 4, receiver.posts.length]);
  });

  test('a lost answer (loseAnswers): the records are sent again, on a new connection', async () => {
    const server = await cdrSimulator();
    const receiver = await new Receiver().listen();
    server.cdr.addReceiver(receiver.url());
    server.cdr.loseAnswers(2);
    server.world.addParticipant(server.world.createCall());
    await server.cdr.drained();
    assert.deepEqual(receiver.posts.map((p) => p.records[0]?.recordIndex), [1, 1, 1, 2, 3, 4]);
    assert.ok(receiver.posts.every((p) => p.status === 200));
    assert.equal(receiver.connections, 3, 'the connection closes with each lost answer');
    assert.deepEqual(server.cdr.stats(), { posts: 6, delivered: 4, failures: 2, discarded: 0, records: 4 });
  });

  test('a receiver down: cdrConnectionFailure listed by GET /system/alarms until it is back and took the records', async () => {
    const server = await cdrSimulator();
    const receiver = await new Receiver().listen();
    const port = receiver.port;
    await receiver.close();
    server.cdr.addReceiver(receiver.url());
    server.world.addParticipant(server.world.createCall());
    const alarmListed = async () => (await rest(server, 'GET', '/system/alarms')).body.includes('<type>cdrConnectionFailure</type>');
    await until('the alarm', alarmListed);
    assert.equal(server.cdr.backlog(), 4);
    await assert.rejects(server.cdr.drained(200), /holds 4 record\(s\), last POST: ECONNREFUSED/);
    assert.equal(server.cdr.stats().delivered, 0);
    await receiver.listen(port);
    await server.cdr.drained();
    assert.equal(await alarmListed(), false);
    assert.deepEqual(receiver.records().map((r) => r.recordIndex), [1, 2, 3, 4]);
    assert.ok(server.cdr.stats().failures >= 1);
  });

  test('a full buffer discards the oldest waiting records; the next one sent counts them', async () => {
    const server = await cdrSimulator({ cdrBufferRecords: 3 });
    const receiver = await new Receiver().listen();
    let release = (): void => undefined;
    const gate = new Promise<number>((resolve) => (release = () => resolve(200)));
    receiver.answer = (n) => (n === 0 ? gate : 200);
    server.cdr.addReceiver(receiver.url());
    // 6 records made at once for a buffer of 3: 1-3 discarded before anything leaves; 4 goes, its answer held.
    server.cdr.burst(1, 1);
    await until('the first POST', () => receiver.posts.length === 1);
    // 6 more (7-12) while 4 is in flight: 5-9 discarded.
    server.cdr.burst(1, 1);
    assert.equal(server.cdr.backlog(), 4);
    assert.equal(server.cdr.stats().discarded, 8);
    release();
    await server.cdr.drained();
    const records = receiver.records();
    assert.deepEqual(records.map((r) => [r.recordIndex, r.correlatorIndex, r.missingBefore]), [[4, 3, 3], [10, 9, 5], [11, 10, 0], [12, 11, 0]]);
    assert.ok(receiver.posts[1]?.body.includes('<record type="callLegUpdate" time="') && receiver.posts[1]?.body.includes('recordIndex="10" correlatorIndex="9" numPreceedingRecordsMissing="5">'), receiver.posts[1]?.body);
    assert.deepEqual(records.map((r) => r.type), ['callLegUpdate', 'callLegUpdate', 'callLegEnd', 'callEnd']);
    assert.deepEqual(server.cdr.stats(), { posts: 4, delivered: 4, failures: 0, discarded: 8, records: 12 });
  });

  test('cdrRecordsPerPost batches in order, a call\'s last callLegEnd travelling with its callEnd', async () => {
    const server = await cdrSimulator({ cdrRecordsPerPost: 3 });
    const receiver = await new Receiver().listen();
    server.cdr.addReceiver(receiver.url());
    server.cdr.burst(1, 2);
    await server.cdr.drained();
    assert.deepEqual(receiver.posts.map((p) => p.records.map((r) => r.recordIndex)), [[1, 2, 3], [4, 5, 6], [7, 8], [9, 10]]);
    assert.deepEqual(receiver.posts[3]?.records.map((r) => r.type), ['callLegEnd', 'callEnd']);
    const body = receiver.posts[0]?.body ?? '';
    assert.equal(body.match(/<record /g)?.length, 3);
  });

  test('cdrPostsInFlight: several POSTs at once, each on a connection of its own; a refused one is sent again, every record delivered once', async () => {
    const server = await cdrSimulator({ cdrPostsInFlight: 3 });
    const receiver = await new Receiver().listen();
    // Answers come late, so that POSTs pile up; the 4th is refused once.
    receiver.answer = async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return n === 3 ? 500 : 200;
    };
    server.cdr.addReceiver(receiver.url());
    server.cdr.burst(2, 2);
    await server.cdr.drained();
    assert.equal(receiver.maxInFlight, 3);
    assert.ok(receiver.connections >= 3, `${receiver.connections} connections`);
    const delivered = receiver.records().map((r) => r.recordIndex);
    assert.deepEqual([...delivered].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1), 'every record once');
    assert.notDeepEqual(delivered, [...delivered].sort((a, b) => a - b), 'the refused record arrived after later ones');
    assert.deepEqual(server.cdr.stats(), { posts: 21, delivered: 20, failures: 1, discarded: 0, records: 20 });
    assert.equal(server.cdr.backlog(), 0);
  });

  test('the callBridge attribute: off by default, a stable GUID of its own, its callBridges id in a cluster', async () => {
    const [one, two] = [await cdrSimulator(), await simulator({ tls: false, name: 'cms-b' })];
    const receiver = await new Receiver().listen();
    one.cdr.addReceiver(receiver.url());
    one.cdr.burst(1, 1);
    await one.cdr.drained();
    assert.equal(receiver.posts.at(-1)?.callBridge, null);
    assert.ok(!receiver.posts.at(-1)?.body.includes('callBridge='));
    one.switches.cdrCallBridgeAttribute = true;
    one.cdr.burst(2, 1);
    await one.cdr.drained();
    const own = new Set(receiver.posts.slice(-12).map((p) => p.callBridge));
    assert.equal(own.size, 1);
    assert.match([...own][0] as string, /^[0-9a-f-]{36}$/);
    const cluster = formBridgeCluster([one, two]);
    one.cdr.burst(1, 1);
    await one.cdr.drained();
    assert.equal(receiver.posts.at(-1)?.callBridge, cluster.bridgeId(0));
    assert.notEqual(cluster.bridgeId(0), [...own][0]);
    cluster.dissolve();
  });

  test('burst(): whole synthetic calls, the world untouched', async () => {
    const server = await cdrSimulator({ cdrRecordsPerPost: 50 });
    const receiver = await new Receiver().listen();
    server.cdr.addReceiver(receiver.url());
    server.cdr.burst(5, 3);
    await server.cdr.drained();
    assert.deepEqual(server.world.listCalls(), []);
    const records = receiver.records();
    assert.equal(records.length, 5 * 14);
    assert.deepEqual(records.map((r) => r.recordIndex), records.map((_, i) => i + 1));
    const perCall = records.slice(0, 14).map(brief);
    assert.deepEqual(perCall, [
      'callLegStart', 'callLegUpdate ivr', 'callStart', 'callLegUpdate call',
      'callLegStart', 'callLegUpdate ivr', 'callLegUpdate call',
      'callLegStart', 'callLegUpdate ivr', 'callLegUpdate call',
      'callLegEnd', 'callLegEnd', 'callLegEnd', 'callEnd',
    ]);
    const callIds = records.filter((r) => r.type === 'callStart').map((r) => r.elementId);
    assert.equal(new Set(callIds).size, 5);
    assert.deepEqual(records.filter((r) => r.type === 'callEnd').map((r) => r.elementId), callIds);
    assert.deepEqual(server.cdr.stats(), { posts: 2, delivered: 70, failures: 0, discarded: 0, records: 70 });
    server.cdr.burst(0, 5);
    assert.equal(server.cdr.backlog(), 0);
  });

  test('deleting a receiver drops its buffer; close() aborts the POST in flight at once', async () => {
    const server = await cdrSimulator({ cdrRetryMs: 60_000 });
    const [down, hanging] = [await new Receiver().listen(), await new Receiver().listen()];
    await down.close();
    const downId = server.cdr.addReceiver(down.url());
    hanging.answer = () => new Promise<number>(() => undefined);
    server.cdr.addReceiver(hanging.url());
    server.cdr.burst(1, 1);
    await until('the hanging POST', () => hanging.posts.length === 1);
    await until('the failed connection', () => server.cdr.stats().failures === 1);
    assert.equal(server.cdr.backlog(downId), 6);
    assert.ok(server.alarms().some((a) => a.type === 'cdrConnectionFailure'), 'one receiver unreachable is enough');
    assert.equal((await rest(server, 'DELETE', `/system/cdrReceivers/${downId}`)).status, 200);
    assert.throws(() => server.cdr.backlog(downId), /no CDR receiver/);
    assert.ok(!server.alarms().some((a) => a.type === 'cdrConnectionFailure'), 'the unreachable receiver is gone, and its alarm with it');
    assert.equal(server.cdr.backlog(), 6);
    const waiting = server.cdr.drained(60_000).then(() => 'drained', (error: Error) => error.message);
    const started = Date.now();
    await server.close();
    assert.ok(Date.now() - started < 2000, 'close() does not wait for the receiver');
    assert.match(await waiting, /closed before its CDR backlog drained/);
    await until('the receiver sees the connection closed', () => hanging.connections === 1 && hanging.sockets.size === 0);
  });
});

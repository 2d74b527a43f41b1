// The hub's pure parts: config validation messages, server diffing, secret scrubbing, and the
// handler queue's ordering, bound and follow-ups.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../src/hub/index.js';
import { createLogger, registerSecret, scrubSecrets } from '../src/hub/logger.js';
import { diffServers } from '../src/hub/server-diff.js';
import { MeetingHosts } from '../src/hub/meeting-hosts.js';
import { CONTROL } from '../src/defaults.js';
import { AckGate, ServerDispatcher } from '../src/hub/dispatcher.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from './helpers/wait.js';
import { HandlerRegistry } from '../src/hub/handlers.js';
import { currentContext } from '../src/hub/context.js';
import type { CmsEvent } from '../src/state/events.js';
import type { ServerTarget } from '../src/session/types.js';

test('config errors name the field and the problem', () => {
  const check = (raw: unknown, pattern: RegExp) => {
    assert.throws(() => validateConfig(raw, '/etc/cms.yaml'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, pattern);
      return true;
    });
  };
  check({ servers: [{ name: 'a', host: 'h', username: 'u' }] }, /^\/etc\/cms\.yaml: servers\[0\]\.password: give exactly one of password, passwordEnv or passwordFile/m);
  check({ servers: [{ name: 'a', host: 'h', username: 'u', password: 'p', prot: 1 }] }, /servers\[0\]: .*prot/);
  check({ servers: [{ name: 'a', host: 'h', username: 'u', password: 'p', tls: { fingerprint: 'zz' } }] }, /servers\[0\]\.tls\.fingerprint: must be a SHA-256 fingerprint/);
  check({}, /servers: give either servers or serversUrl/);
  check(
    { servers: [{ name: 'a', host: 'h', username: 'u', password: 'p' }, { name: 'a', host: 'h2', username: 'u', password: 'p' }] },
    /servers\[1\]\.name: duplicate server name "a"/,
  );
  check({ servers: [], http: { port: 70000 } }, /http\.port/);
  const ok = validateConfig({ servers: [{ name: 'a', host: 'h', username: 'u', password: 'p' }] }, 'x');
  assert.equal(ok.servers![0]!.port, 443);
  assert.equal(ok.dispatch.queueSize, 10_000);
});

test('server diffs restart only what changed', () => {
  const target = (name: string, password = 'pw'): ServerTarget => ({ name, host: 'h', port: 1, username: 'u', password });
  const current = new Map([['a', target('a')], ['b', target('b')], ['c', target('c')]]);
  const diff = diffServers(current, [target('a'), target('b', 'new'), target('d')]);
  assert.deepEqual(diff.added.map((t) => t.name), ['d']);
  assert.deepEqual(diff.changed.map((t) => t.name), ['b']);
  assert.deepEqual(diff.removed, ['c']);
});

test('secrets and auth tokens are scrubbed from any log line', () => {
  registerSecret('S3cr3t-Value!');
  assert.equal(scrubSecrets('wss://h/events/v1?authToken=abc.def-123&x=1'), 'wss://h/events/v1?authToken=***&x=1');
  assert.equal(scrubSecrets('password was S3cr3t-Value! ok'), 'password was *** ok');
  let written = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      written += chunk;
      done();
    },
  });
  const logger = createLogger({ destination: sink, pretty: false });
  logger.error({ password: 'x1', err: new Error('failed for wss://h/events/v1?authToken=tok123') }, 'oops S3cr3t-Value!');
  assert.ok(!written.includes('tok123'));
  assert.ok(!written.includes('S3cr3t-Value!'));
  assert.ok(!written.includes('"x1"'));
  assert.match(written, /\*\*\*/);
});

const silentLogger = createLogger({ level: 'silent' });
const event = (n: number): CmsEvent =>
  ({ id: String(n), ts: '', type: 'call.started', server: 's', callId: `c${n}`, call: { id: `c${n}` } }) as CmsEvent;

function makeDispatcher(registry: HandlerRegistry, queueSize = 3, clock?: ManualClock) {
  const errors: string[] = [];
  const dispatcher = new ServerDispatcher({
    context: { server: 's', logger: silentLogger, session: {} as never, cms: {} as never },
    registry,
    queueSize,
    handlerTimeoutMs: 50,
    hooks: { onHandlerError: (_e, kind) => errors.push(kind), onHandlerDone: () => {} },
    clock,
  });
  return { dispatcher, errors };
}

test('the handler queue keeps order, reports when full, and isolates failures', async () => {
  const registry = new HandlerRegistry();
  const clock = new ManualClock();
  const seen: string[] = [];
  // Handler 3 never finishes by itself: only the handler timeout (on the manual clock) moves on.
  registry.on('call.started', async (e) => {
    await new Promise((r) => setTimeout(r, 2));
    if (e.id === '2') throw new Error('boom');
    if (e.id === '3') await new Promise(() => {});
    seen.push(e.id);
  });
  const { dispatcher, errors } = makeDispatcher(registry, 3, clock);
  for (let i = 1; i <= 5; i++) dispatcher.enqueue(event(i));
  assert.equal(dispatcher.full, true);
  let roomAt = -1;
  const room = dispatcher.waitForRoom().then(() => (roomAt = dispatcher.depth));
  const idle = dispatcher.waitForIdle();
  await waitFor(() => errors.length === 1 && clock.pending === 1, 'handler 3 to be running');
  await clock.advance(49);
  assert.deepEqual(errors, ['error'], 'not timed out before handlerTimeoutMs');
  await clock.advance(1);
  await idle;
  await room;
  assert.ok(roomAt < 3, 'room is announced once the queue is below its bound');
  assert.deepEqual(seen, ['1', '4', '5']);
  assert.deepEqual(errors, ['error', 'timeout']);
});

test('follow-ups wait for the ack of their message and keep the context', async () => {
  const registry = new HandlerRegistry();
  const ran: string[] = [];
  registry.on('call.started', (e) => () => ran.push(`${e.id}@${currentContext()?.server}`));
  const { dispatcher } = makeDispatcher(registry, 100);
  const first = new AckGate();
  const second = new AckGate();
  const lost = new AckGate();
  dispatcher.enqueue(event(1), first);
  dispatcher.enqueue(event(2), second);
  dispatcher.enqueue(event(3), lost);
  await dispatcher.waitForIdle();
  assert.deepEqual(ran, []);
  dispatcher.settle(first, true);
  assert.deepEqual(ran, ['1@s']);
  dispatcher.settle(second, true);
  assert.deepEqual(ran, ['1@s', '2@s']);
  dispatcher.settle(lost, false);
  assert.deepEqual(ran, ['1@s', '2@s'], 'a message never acked (connection lost) drops its follow-ups');
  // A handler that finishes after its message was acked runs its follow-up at once.
  dispatcher.enqueue(event(4), first);
  await dispatcher.waitForIdle();
  assert.deepEqual(ran, ['1@s', '2@s', '4@s']);
  dispatcher.enqueue(event(5));
  await dispatcher.waitForIdle();
  assert.deepEqual(ran, ['1@s', '2@s', '4@s', '5@s'], 'events of no message: at once');
});

test('MeetingHosts: asks the listing bridges in order until one calls the participant its own; rechecks a meeting once it is quiet, at the latest after the max wait', async () => {
  const clock = new ManualClock();
  const asked: string[] = [];
  const found: string[] = [];
  let host = 'b';
  /** What the meetings model would know: the host last found. */
  let known = 'a';
  const hosts = new MeetingHosts({
    ask: async (server, participant) => {
      asked.push(`${server}?${participant}`);
      if (server === 'down') throw new Error('connect ECONNREFUSED');
      return server === host;
    },
    found: (participant, server) => {
      found.push(`${participant}@${server}`);
      known = server;
    },
    shared: () => [['kim', [known, known === 'a' ? 'b' : 'a']]],
    log: silentLogger,
    clock,
  });
  hosts.lookup('kim', ['down', 'a', 'b']);
  await waitFor(() => found.length === 1, 'the host found');
  assert.deepEqual(asked, ['down?kim', 'a?kim', 'b?kim'], 'a bridge that cannot answer is passed over');
  assert.deepEqual(found, ['kim@b']);

  // One change, then quiet: one round, a quiet period later, the known host asked first.
  asked.length = 0;
  hosts.recheck('m1');
  await clock.advance(CONTROL.hostRecheckQuietMs - 1);
  assert.deepEqual(asked, [], 'not before the meeting is quiet');
  await clock.advance(1);
  await waitFor(() => found.length === 2, 'the recheck');
  assert.deepEqual(asked, ['b?kim'], 'an unchanged host costs one request');

  // Changes keep coming for twice the max wait: a round at the latest every max wait, not one per change.
  asked.length = 0;
  host = 'a';
  const busyMs = 2 * CONTROL.hostRecheckMaxWaitMs;
  for (let t = 0; t < busyMs; t += CONTROL.hostRecheckQuietMs / 2) {
    hosts.recheck('m1');
    await clock.advance(CONTROL.hostRecheckQuietMs / 2);
  }
  await clock.advance(CONTROL.hostRecheckQuietMs);
  await waitFor(() => found.at(-1) === 'kim@a' && asked.length % 2 === 0, 'the rechecks to find the new host');
  const rounds = asked.length / 2;
  assert.ok(rounds >= 2 && rounds <= 3, `${rounds} rounds over ${busyMs} ms of changes every ${CONTROL.hostRecheckQuietMs / 2} ms`);
  hosts.stop();
  hosts.recheck('m1');
  await clock.advance(CONTROL.hostRecheckMaxWaitMs);
  assert.equal(asked.length, rounds * 2, 'nothing after stop');
});

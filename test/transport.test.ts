import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer } from 'node:net';
import { startSimulator, type SimulatedServer } from '../src/simulator/index.js';
import { sleep } from './helpers/wait.js';
import { ManualClock } from './helpers/manual-clock.js';
import {
  PingWatchdog,
  TransportError,
  classifyError,
  createTlsConfig,
  failureDetails,
  fetchAuthToken,
  openEventSocket,
  redact,
} from '../src/transport/index.js';

const PASSWORD = 'pw-Transport-7x!';

test('ping watchdog: a server that never answers pings is never declared dead', async () => {
  const clock = new ManualClock();
  let pings = 0;
  let dead = 0;
  const watchdog = new PingWatchdog({ intervalMs: 1000, sendPing: () => pings++, onDead: () => dead++, clock });
  watchdog.start();
  await clock.advance(100_000);
  assert.equal(pings, 100);
  assert.equal(dead, 0);
  assert.equal(watchdog.enforced, false);
  watchdog.stop();
  assert.equal(clock.pending, 0);
});

test('ping watchdog: after a first pong, missed pongs end the connection once', async () => {
  const clock = new ManualClock();
  let pings = 0;
  const dead: number[] = [];
  const watchdog = new PingWatchdog({ intervalMs: 1000, maxMissed: 2, sendPing: () => pings++, onDead: (n) => dead.push(n), clock });
  watchdog.start();
  await clock.advance(1000);
  watchdog.pong();
  assert.equal(watchdog.enforced, true);
  for (let i = 0; i < 10; i++) {
    await clock.advance(1000);
    watchdog.pong();
  }
  assert.deepEqual(dead, [], 'answered pings keep it alive');
  await clock.advance(2000);
  assert.deepEqual(dead, []);
  await clock.advance(999);
  assert.deepEqual(dead, [], 'not before the interval is over');
  await clock.advance(1);
  assert.deepEqual(dead, [2]);
  assert.equal(clock.pending, 0, 'stopped after declaring the peer dead');
  assert.equal(pings, 13);
});

test('failureDetails: element names and attributes in one line', () => {
  assert.equal(failureDetails('<?xml version="1.0"?><failureDetails><tooManyTokens /></failureDetails>'), 'tooManyTokens');
  assert.equal(
    failureDetails('<failureDetails>\n  <parameterError parameter="name" error="required"/>\n</failureDetails>'),
    'parameterError parameter="name" error="required"',
  );
  assert.equal(failureDetails('<html>nope</html>'), undefined);
});

test('redact: tokens in URLs and given secrets', () => {
  assert.equal(redact('GET wss://h:1/events/v1?authToken=abc.def&x=1 failed', []), 'GET wss://h:1/events/v1?authToken=***&x=1 failed');
  assert.equal(redact('user api:hunter2', ['hunter2']), 'user api:***');
});

test('classifyError maps node codes to kinds with readable messages', () => {
  const tls = (code: string) => classifyError(Object.assign(new Error('x'), { code }), 'token request to h:1', []);
  for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
    const error = tls(code);
    assert.equal(error.kind, 'tls', code);
    assert.match(error.message, new RegExp(`token request to h:1: the server's TLS certificate is rejected: .*\\(${code}\\)`));
  }
  assert.equal(tls('CERT_HAS_EXPIRED').code, 'TLS_EXPIRED');
  assert.equal(tls('ERR_TLS_CERT_ALTNAME_INVALID').code, 'TLS_HOSTNAME');
  const refused = tls('ECONNREFUSED');
  assert.equal(refused.kind, 'network');
  assert.equal(refused.message, 'token request to h:1: connection refused (ECONNREFUSED)');
  const leaky = classifyError(new Error('Invalid URL: wss://h/events/v1?authToken=SECRET-TOKEN'), 'x', ['SECRET-TOKEN']);
  assert.ok(!leaky.message.includes('SECRET-TOKEN'), leaky.message);
  assert.ok(!String((leaky.cause as Error).message).includes('SECRET-TOKEN'), 'the kept cause is redacted too');
  const typed = new TransportError('auth', 'AUTH_REJECTED', 'no');
  assert.equal(classifyError(typed, 'x', []), typed);
});

test('createTlsConfig: one object per server; bad pins refused', () => {
  assert.deepEqual(createTlsConfig({ plain: true }), { secure: false, insecure: false, pin: undefined, options: {} });
  assert.equal(createTlsConfig({}).options.rejectUnauthorized, true);
  const pinned = createTlsConfig({ tls: { fingerprint: 'ab:'.repeat(31) + 'ab' } });
  assert.equal(pinned.pin, 'AB'.repeat(32));
  assert.equal(pinned.options.rejectUnauthorized, false, 'the pin is the trust anchor');
  assert.equal(createTlsConfig({ tls: { fingerprint: 'AB'.repeat(32), ca: 'pem' } }).options.rejectUnauthorized, true);
  assert.equal(createTlsConfig({ tls: { insecure: true, ca: 'pem' } }).options.rejectUnauthorized, false);
  assert.throws(() => createTlsConfig({ tls: { fingerprint: 'abc' } }), /SHA-256/);
});

let sim: SimulatedServer;
before(async () => {
  sim = await startSimulator({ username: 'api', password: PASSWORD });
});
after(async () => {
  await sim.close();
});

const target = (tls: Parameters<typeof createTlsConfig>[0]['tls'], password = PASSWORD) => ({
  tls: createTlsConfig({ tls }),
  host: sim.host,
  port: sim.port,
  username: 'api',
  password,
});

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransportError, `expected a TransportError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

test('token and WebSocket with the CA; a used token is refused at the upgrade (handshake, status)', async () => {
  const params = target({ ca: sim.caPem });
  const token = await fetchAuthToken(params);
  assert.match(token, /^\S+$/);
  const ws = await openEventSocket({ ...params, token });
  assert.equal(ws.protocol, '', 'no subprotocol');
  assert.equal(ws.scheme, 'wss:');
  ws.terminate();
  const error = await rejection(openEventSocket({ ...params, token }));
  assert.equal(error.kind, 'handshake');
  assert.equal(error.code, 'UPGRADE_REFUSED');
  assert.equal(error.status, 401);
  assert.ok(!error.message.includes(token) && !error.message.includes('authToken='), error.message);
});

test('401 is an auth error naming the user, never the password', async () => {
  const error = await rejection(fetchAuthToken(target({ ca: sim.caPem }, 'wrong-password-123')));
  assert.equal(error.kind, 'auth');
  assert.equal(error.status, 401);
  assert.equal(error.message, "authentication failed for user 'api' (HTTP 401): check username/password");
});

test('another status is named with the failureDetails', async () => {
  sim.faults.goDown();
  try {
    const error = await rejection(fetchAuthToken(target({ ca: sim.caPem })));
    assert.equal(error.kind, 'handshake');
    assert.equal(error.code, 'TOKEN_REFUSED');
    assert.match(error.message, /HTTP 503: serviceUnavailable/);
  } finally {
    sim.faults.comeUp();
  }
});

test('no CA: the self-signed certificate is a tls error, and the password is never sent', async () => {
  const issued = sim.stats().tokensIssued;
  const error = await rejection(fetchAuthToken(target(undefined)));
  assert.equal(error.kind, 'tls');
  assert.equal(error.code, 'TLS_UNTRUSTED');
  assert.match(error.message, /self-signed|not trusted/);
  assert.equal(sim.stats().tokensIssued, issued);
});

test('fingerprint pin: right one connects both requests, wrong one is a tls error before anything is sent', async () => {
  const right = target({ fingerprint: sim.fingerprint });
  const token = await fetchAuthToken(right);
  const ws = await openEventSocket({ ...right, token });
  ws.terminate();

  const issued = sim.stats().tokensIssued;
  const wrong = target({ fingerprint: '00'.repeat(32) });
  const error = await rejection(fetchAuthToken(wrong));
  assert.equal(error.kind, 'tls');
  assert.equal(error.code, 'TLS_FINGERPRINT');
  assert.equal(sim.stats().tokensIssued, issued, 'the password never reached the server');
  const fresh = await fetchAuthToken(right);
  const wsError = await rejection(openEventSocket({ ...wrong, token: fresh }));
  assert.equal(wsError.code, 'TLS_FINGERPRINT');
  assert.ok(!wsError.message.includes(fresh), 'no token in the message');
  // The token was not spent by the refused attempt.
  (await openEventSocket({ ...right, token: fresh })).terminate();
});

test('insecure: no verification at all', async () => {
  const params = target({ insecure: true });
  assert.equal(params.tls.options.rejectUnauthorized, false);
  // Without a CA the self-signed certificate is refused (see above); insecure gets through both steps.
  const ws = await openEventSocket({ ...params, token: await fetchAuthToken(params) });
  assert.equal(ws.open, true);
  assert.equal(ws.scheme, 'wss:');
  ws.terminate();
});

test('plain targets use http and ws', async () => {
  const plainSim = await startSimulator({ tls: false, username: 'api', password: PASSWORD });
  try {
    const params = { tls: createTlsConfig({ plain: true }), host: plainSim.host, port: plainSim.port, username: 'api', password: PASSWORD };
    assert.equal(params.tls.secure, false);
    const token = await fetchAuthToken(params);
    assert.equal(plainSim.stats().tokensIssued, 1, 'the token request went over plain HTTP');
    const ws = await openEventSocket({ ...params, token });
    assert.equal(ws.scheme, 'ws:');
    assert.equal(ws.open, true);
    ws.terminate();
  } finally {
    await plainSim.close();
  }
});

test('connection refused is a network error', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const error = await rejection(fetchAuthToken({ ...target({ ca: sim.caPem }), port }));
  assert.equal(error.kind, 'network');
  assert.match(error.message, new RegExp(`token request to 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\)`));
});

test('abort rejects with the reason and leaves no socket behind', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r.startsWith('TLS')).length;
  const controller = new AbortController();
  const reason = new TransportError('network', 'TIMEOUT', 'took too long');
  const pending = fetchAuthToken({ ...target({ ca: sim.caPem }), signal: controller.signal });
  controller.abort(reason);
  assert.equal(await rejection(pending), reason);
  const token = await fetchAuthToken(target({ ca: sim.caPem }));
  const second = new AbortController();
  const opening = openEventSocket({ ...target({ ca: sim.caPem }), token, signal: second.signal });
  setImmediate(() => second.abort(reason));
  assert.equal(await rejection(opening), reason);
  // The simulator's side of each socket closes a moment after ours.
  const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r.startsWith('TLS')).length;
  const deadline = Date.now() + 2000;
  while (sockets() > before && Date.now() < deadline) await sleep(10);
  assert.ok(sockets() <= before, `sockets before ${before}, after ${sockets()}`);
});

// How the session fails and recovers, against the simulator over real sockets: bad credentials,
// TLS trust and pins, insecure mode, backoff, stalled subscriptions, refused subscriptions,
// dead-peer detection, connect timeouts, a throwing receiver.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { createServer, type Socket } from 'node:net';
import pino from 'pino';
import { createSession, type Session, type SessionOptions, type ServerTarget } from '../src/session/index.js';
import { startSimulator, type SimulatedServer } from '../src/simulator/index.js';
import type { CmsEvent } from '../src/state/index.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from './helpers/wait.js';

const PASSWORD = 'Fail-Pa55word!y';

interface Followed {
  session: Session;
  events: CmsEvent[];
  /** Parsed pino lines. */
  logs: Array<Record<string, unknown> & { level: number; msg: string }>;
}

const running: Session[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((session) => session.stop()));
});

let sim: SimulatedServer;
before(async () => {
  sim = await startSimulator({ username: 'api', password: PASSWORD });
});
after(async () => {
  await sim.close();
});

function follow(target: Partial<ServerTarget> = {}, options: Partial<SessionOptions> = {}): Followed {
  const events: CmsEvent[] = [];
  const logs: Followed['logs'] = [];
  const session = createSession({
    target: { name: 'cms-fail', host: sim.host, port: sim.port, username: 'api', password: PASSWORD, tls: { ca: sim.caPem }, ...target },
    receiver: (batch) => {
      for (const event of batch) events.push(event);
      return undefined;
    },
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    random: () => 0.5,
    ...options,
    timings: { snapshotQuietMs: 100, backoffInitialMs: 50, backoffMaxMs: 400, authFailureRetryMs: 150, closeGraceMs: 300, ...options.timings },
  });
  running.push(session);
  session.start();
  return { session, events, logs };
}


const attempts = (followed: Followed) => followed.session.status().counters.connectAttempts;
const isLive = (followed: Followed) => followed.session.status().state === 'live';
const ERROR = 50;
const WARN = 40;

test('bad credentials: an auth error, logged once at error level, retried slowly', async () => {
  const followed = follow({ password: 'not-the-password' });
  await waitFor(() => attempts(followed) >= 3, 'three attempts');
  const status = followed.session.status();
  assert.equal(status.state === 'backoff' || status.state === 'connecting', true, status.state);
  assert.equal(status.lastError?.kind, 'auth');
  assert.equal(status.lastError?.message, "authentication failed for user 'api' (HTTP 401): check username/password");
  const loud = followed.logs.filter((line) => line.level >= WARN);
  assert.deepEqual(
    loud.map((line) => [line.level, line.msg]),
    [[ERROR, "authentication failed for user 'api' (HTTP 401): check username/password"]],
  );
  assert.ok(followed.logs.every((line) => line.retryInMs === undefined || line.retryInMs === 150), 'authFailureRetryMs, not the backoff');
  assert.equal(followed.events.length, 0);
});

test('no CA for a self-signed server: a tls error with advice, retried slowly', async () => {
  const followed = follow({ tls: {} });
  await waitFor(() => attempts(followed) >= 2, 'two attempts');
  const error = followed.session.status().lastError;
  assert.equal(error?.kind, 'tls');
  assert.match(error?.message ?? '', /TLS certificate is rejected: .*self-signed.*tls\.ca/);
  assert.equal(followed.logs.filter((line) => line.level >= WARN).length, 1);
});

test('fingerprint pin: the right one goes live without a CA, a wrong one is a tls error', async () => {
  const right = follow({ tls: { fingerprint: sim.fingerprint } });
  await waitFor(() => isLive(right), 'live with the pin');
  const wrong = follow({ tls: { fingerprint: 'AB'.repeat(32) } });
  await waitFor(() => wrong.session.status().lastError !== null, 'a failure');
  assert.equal(wrong.session.status().lastError?.kind, 'tls');
  assert.match(wrong.session.status().lastError?.message ?? '', /does not match the pinned tls\.fingerprint/);
});

test('insecure mode goes live and warns at every connect', async () => {
  const followed = follow({ tls: { insecure: true } });
  await waitFor(() => isLive(followed), 'live');
  sim.faults.dropAll();
  await waitFor(() => attempts(followed) === 2 && isLive(followed), 'live again');
  const warnings = followed.logs.filter((line) => line.level === WARN && /tls\.insecure/.test(line.msg));
  assert.equal(warnings.length, 2);
});

test('backoff: full jitter with the injected random, growing to the cap, reset only after a long enough live', async () => {
  const delays = (followed: Followed) => followed.logs.filter((line) => typeof line.retryInMs === 'number').map((line) => line.retryInMs);
  sim.faults.goDown();
  let followed: Followed;
  try {
    followed = follow({}, { random: () => 0.999, timings: { backoffInitialMs: 40, backoffMaxMs: 160 } });
    await waitFor(() => delays(followed).length >= 4, 'four failed attempts');
    assert.deepEqual(delays(followed).slice(0, 4), [39, 79, 159, 159]);
    assert.equal(followed.session.status().lastError?.kind, 'handshake', 'a refused token request is not an auth problem');
  } finally {
    sim.faults.comeUp();
  }
  await waitFor(() => isLive(followed), 'live');
  const before = delays(followed).length;
  sim.faults.dropAll();
  await waitFor(() => delays(followed).length > before, 'the next failure');
  assert.equal(delays(followed)[before], 159, 'live too briefly: the backoff keeps growing');

  const resetting = follow({}, { random: () => 0.999, timings: { backoffInitialMs: 40, backoffMaxMs: 160, backoffResetAfterMs: 0 } });
  await waitFor(() => isLive(resetting), 'live');
  sim.faults.dropAll();
  await waitFor(() => delays(resetting).length > 0, 'a failure');
  assert.equal(delays(resetting)[0], 39, 'live long enough: the backoff starts over');
});

test('stalled acks: the subscribe timeout ends the attempt and the session reconnects', async () => {
  sim.faults.stallAcks(true);
  let followed: Followed;
  try {
    followed = follow({}, { timings: { subscribeTimeoutMs: 250 } });
    await waitFor(() => followed.session.status().lastError?.kind === 'protocol', 'a subscribe timeout');
    assert.match(followed.session.status().lastError?.message ?? '', /no answer to subscribeRequest 1 .* within 0\.3 s/);
    await waitFor(() => attempts(followed) >= 2, 'a second attempt');
  } finally {
    sim.faults.stallAcks(false);
  }
  await waitFor(() => isLive(followed), 'live once acks flow');
});

test('a subscribeRequest acked with a failure status is a protocol error', async () => {
  sim.switches.subscribeAckStatus = 'failure';
  let followed: Followed;
  try {
    followed = follow();
    await waitFor(() => followed.session.status().lastError !== null, 'a failure');
    assert.equal(followed.session.status().lastError?.kind, 'protocol');
    assert.match(followed.session.status().lastError?.message ?? '', /refused the subscription request \(messageAck status "failure"\)/);
  } finally {
    sim.switches.subscribeAckStatus = 'success';
  }
  await waitFor(() => isLive(followed), 'live once accepted');
});

test('ping watchdog: never kills a connection to a server that ignores pings, enforced once it answered', async () => {
  // Pings go out when the manual clock says so; pongs come back over the real socket.
  const clock = new ManualClock();
  const pings = () => sim.stats().pingsReceived;
  const tick = async (times: number) => {
    for (let i = 0; i < times; i++) {
      const before = pings();
      await clock.advance(1000);
      await waitFor(() => pings() > before || !isLive(followed), 'the ping to reach the server');
    }
  };
  sim.switches.answerPings = false;
  const followed = follow({}, { clock, timings: { pingIntervalMs: 1000 } });
  try {
    await waitFor(() => isLive(followed), 'live');
    await tick(20);
    assert.equal(attempts(followed), 1, 'twenty unanswered pings are fine on a server that never answered');
    assert.ok(isLive(followed), 'still live');

    sim.switches.answerPings = true;
    const pongs = sim.stats().pongsSent;
    await tick(1);
    await waitFor(() => sim.stats().pongsSent > pongs, 'a pong');
    sim.switches.answerPings = false;
    // Enforced from the pong on: the next two pings may go unanswered, the third tick ends it.
    // (Three ticks, or four when the pong is read only after the first of them.)
    let ticks = 0;
    while (followed.session.status().lastError?.kind !== 'network' && ticks < 10) {
      ticks++;
      await tick(1);
    }
    assert.ok(ticks === 3 || ticks === 4, `the watchdog fired after ${ticks} ticks`);
    assert.match(followed.session.status().lastError?.message ?? '', /stopped answering WebSocket pings \(2 unanswered/);
    await clock.advance(1000); // the backoff before the next attempt
    await waitFor(() => isLive(followed), 'live again');
    const reconnectedAt = attempts(followed);
    await tick(20);
    assert.equal(attempts(followed), reconnectedAt, 'the new connection is not enforced yet');
    assert.ok(isLive(followed));
  } finally {
    sim.switches.answerPings = true;
  }
});

test('a server that accepts TCP and says nothing hits the connect timeout', async () => {
  const silent = new Set<Socket>();
  const blackhole = createServer((socket) => void silent.add(socket));
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = blackhole.address() as { port: number };
    const followed = follow({ host: '127.0.0.1', port }, { timings: { connectTimeoutMs: 200 } });
    await waitFor(() => followed.session.status().lastError !== null, 'a timeout');
    assert.equal(followed.session.status().lastError?.kind, 'network');
    assert.match(followed.session.status().lastError?.message ?? '', /connecting to 127\.0\.0\.1:\d+ took longer than 0\.2 s/);
    running.splice(running.indexOf(followed.session), 1);
    await followed.session.stop();
  } finally {
    for (const socket of silent) socket.destroy();
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  }
});

test('a throwing receiver is logged and the feed goes on', async () => {
  let calls = 0;
  const followed = follow({}, {
    receiver: () => {
      calls++;
      throw new Error('handler bug');
    },
  });
  await waitFor(() => isLive(followed), 'live');
  const room = sim.world.createCall({ name: 'Throwing' });
  sim.world.addParticipant(room, { name: 'Kim', state: 'connected' });
  await sim.idle();
  await waitFor(() => followed.session.calls().some((call) => call.id === room && call.roster.length === 1), 'the model to follow');
  assert.ok(calls >= 3, `receiver called ${calls} times`);
  assert.ok(followed.logs.some((line) => line.level === ERROR && line.msg === 'event receiver threw'), 'logged');
  sim.world.endCall(room);
});

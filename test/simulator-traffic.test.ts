// The simulator as a whole: generated meetings followed by a minimal correct client, the control
// API, clusters and the `simulate` command.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import { seededRandom, startCluster, startControlApi, startSimulator, startTraffic, type SimulatedServer } from '../src/simulator/index.js';
import { Probe, requestToken } from '../src/simulator/probe-client.js';
import { Follower } from './helpers/follower.js';
import { ManualClock } from './helpers/manual-clock.js';
import { waitFor } from './helpers/wait.js';

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Waits until the server has nothing in flight and the follower's last request was answered. */
async function settle(server: SimulatedServer, follower: Follower): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    await server.idle();
    await follower.probe.quiet(30);
    if (follower.settled) return;
  }
  throw new Error('the follower never settled');
}

describe('traffic', () => {
  test('plays realistic meetings that a correct client follows exactly, with no violation', async () => {
    const server = await startSimulator();
    cleanups.push(() => server.close());
    const probe = await Probe.open(server);
    cleanups.push(() => probe.close());
    const follower = new Follower(probe);
    const traffic = startTraffic(server.world, { rate: 500, random: seededRandom(7), maxCalls: 3 });
    await waitFor(() => probe.messages().length > 1200, 'a busy stream');
    traffic.stop();
    await settle(server, follower);

    const messages = probe.messages();
    assert.ok(messages.length > 300, `a busy stream (${messages.length} messages)`);
    assert.deepEqual(messages.map((m) => m.messageId), messages.map((_, i) => i + 1), 'ids count up from 1');
    assert.deepEqual(follower.problems, []);
    assert.deepEqual(server.violations(), []);
    const sortById = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    const world = server.world.listCalls().map((c) => ({ ...c, roster: sortById(c.roster) }));
    const model = follower.snapshot().map((c) => ({ ...c, roster: sortById(c.roster) }));
    assert.deepEqual(sortById(model), sortById(world), "the client's model is the world");

    // The stream shows the life of real meetings.
    const entries = messages.flatMap((m) => (m.type === 'rosterUpdate' ? m.updates : []));
    const states = new Set(entries.map((e) => e.state).filter(Boolean));
    for (const state of ['initial', 'ringing', 'connected', 'onHold']) assert.ok(states.has(state), `a participant was ${state}`);
    assert.ok(entries.some((e) => e.uri?.includes(';x-cisco-number=')), 'a dialled number connects with ;x-cisco-number=');
    assert.ok(entries.some((e) => e.updateType === 'update' && typeof e.name === 'string' && e.name !== '' && e.state === 'connected'), 'names arrive on connect');
    assert.ok(entries.some((e) => e.updateType === 'remove'), 'people leave');
    assert.ok(entries.some((e) => e.audioMuted !== undefined && e.updateType === 'update'), 'people mute');
    assert.ok(messages.some((m) => m.type === 'rosterUpdate' && m.updates.length >= 2 && m.updates.every((u) => u.updateType === 'update')), 'several updates in one message');
    assert.ok(messages.some((m) => m.type === 'callListUpdate' && m.updates.some((u) => u.updateType === 'remove')), 'calls end');
  });

  test('the rate is approximately messages per second', async () => {
    const server = await startSimulator({ tls: false });
    cleanups.push(() => server.close());
    const probe = await Probe.open(server);
    cleanups.push(() => probe.close());
    const follower = new Follower(probe);
    // The pace runs on a manual clock: two seconds pass exactly, however busy the machine is.
    const clock = new ManualClock();
    const traffic = startTraffic(server.world, { rate: 40, random: seededRandom(3), clock });
    for (let ms = 0; ms < 2000; ms += 20) {
      await clock.advance(20);
      await server.idle();
    }
    traffic.stop();
    const count = probe.messages().length;
    assert.ok(count >= 30 && count <= 160, `about 80 messages in 2 s at rate 40, got ${count}`);
    assert.deepEqual(follower.problems, []);
  });
});

describe('control API', () => {
  test('drives worlds, switches and faults over HTTP', async () => {
    const alpha = await startSimulator({ name: 'alpha', tls: false });
    const beta = await startSimulator({ name: 'beta', tls: false });
    const control = await startControlApi([alpha, beta]);
    cleanups.push(() => alpha.close(), () => beta.close(), () => control.close());
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${control.url}${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };

    const listed = await call('GET', '/servers');
    assert.deepEqual(listed.body.map((s: { name: string; url: string }) => [s.name, s.url]), [['alpha', alpha.url], ['beta', beta.url]]);

    const probe = await Probe.open(alpha);
    cleanups.push(() => probe.close());
    probe.subscribe([{ index: 1, type: 'calls', elements: ['name', 'participants'] }]);
    await probe.waitForCount(3);
    const seen = (from: number) => probe.waitFor((f) => f.kind === 'message' && f.message.type === 'callListUpdate', { from });

    let from = probe.frames.length;
    const created = await call('POST', '/servers/alpha/calls', { name: 'Ops Bridge' });
    assert.equal(created.status, 201);
    const callId = created.body.id as string;
    const add = await seen(from);
    assert.deepEqual(add.kind === 'message' && add.message.type === 'callListUpdate' && add.message.updates, [
      { call: callId, updateType: 'add', name: 'Ops Bridge', participants: 0 },
    ]);

    const joined = await call('POST', `/servers/alpha/calls/${callId}/participants`, { name: 'Dana', uri: 'dana@example.com' });
    assert.equal(joined.status, 201);
    assert.equal((await call('PATCH', `/servers/alpha/calls/${callId}/participants/${joined.body.id}`, { audioMuted: true })).status, 204);
    assert.equal((await call('PATCH', `/servers/alpha/calls/${callId}`, { name: 'Ops Bridge 2' })).status, 204);
    const calls = await call('GET', '/servers/alpha/calls');
    assert.equal(calls.body[0].name, 'Ops Bridge 2');
    assert.equal(calls.body[0].participants, 1);
    assert.deepEqual(calls.body[0].roster.map((p: { name: string; audioMuted: boolean }) => [p.name, p.audioMuted]), [['Dana', true]]);
    assert.equal((await call('DELETE', `/servers/alpha/calls/${callId}/participants/${joined.body.id}?reason=participantInitiated`)).status, 204);
    await alpha.idle();
    from = probe.frames.length;
    assert.equal((await call('DELETE', `/servers/alpha/calls/${callId}?reason=allLeft`)).status, 204);
    const removed = await seen(from);
    assert.deepEqual(removed.kind === 'message' && removed.message.type === 'callListUpdate' && removed.message.updates, [
      { call: callId, updateType: 'remove', reason: 'allLeft' },
    ]);
    assert.deepEqual((await call('GET', '/servers/alpha/calls')).body, []);

    // Mistakes are answered with a status and a message, never a crash.
    assert.equal((await call('PATCH', `/servers/alpha/calls/${callId}`, { name: 'x' })).status, 404);
    assert.equal((await call('POST', '/servers/alpha/calls', { colour: 'red' })).status, 400);
    assert.equal((await call('POST', '/servers/alpha/calls', '{oops')).status, 400);
    assert.equal((await call('GET', '/servers/gamma/calls')).status, 404);
    assert.equal((await call('GET', '/nowhere')).status, 404);

    // Switches, by name, by port, or for every server.
    assert.equal((await call('GET', `/servers/${alpha.port}/switches`)).body.ackWindow, 1);
    assert.equal((await call('PATCH', '/servers/alpha/switches', { ackWindow: 3, badCallState: 'error' })).status, 200);
    assert.equal(alpha.switches.ackWindow, 3);
    assert.equal(alpha.switches.badCallState, 'error');
    const refused = await call('PATCH', '/servers/alpha/switches', { ackWindow: 0, bogus: true });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /ackWindow.*bogus/);
    assert.equal(alpha.switches.ackWindow, 3, 'a refused patch changes nothing');
    assert.equal((await call('PATCH', '/servers/*/switches', { answerPings: false })).status, 200);
    assert.equal(beta.switches.answerPings, false);

    // Faults and violations.
    from = probe.frames.length;
    assert.equal((await call('POST', '/servers/alpha/faults/raw', { frame: 'garbage' })).status, 204);
    assert.deepEqual(await probe.waitFor((f) => f.kind === 'invalid', { from }), { kind: 'invalid', text: 'garbage' });
    probe.send('garbage back');
    await waitFor(() => alpha.violations().length > 0, 'the garbage to be recorded');
    const violations = await call('GET', '/servers/alpha/violations');
    assert.deepEqual(violations.body.map((v: { kind: string }) => v.kind), ['badJson']);
    assert.equal((await call('POST', '/servers/alpha/faults/stall', { on: true })).status, 204);
    from = probe.frames.length;
    const requests = alpha.stats().subscribeRequests;
    probe.subscribe([]);
    await waitFor(() => alpha.stats().subscribeRequests > requests, 'the request to arrive');
    assert.equal(probe.frames.length, from, 'stalled: the request is not acked');
    assert.equal((await call('POST', '/servers/alpha/faults/stall', { on: false })).status, 204);
    await probe.waitFor((f) => f.kind === 'messageAck', { from });
    assert.equal((await call('POST', '/servers/alpha/faults/drop')).status, 204);
    assert.equal((await probe.closed).code, 1006);
    assert.equal((await call('POST', '/servers/*/faults/down')).status, 204);
    assert.equal((await requestToken(beta)).status, 503);
    assert.equal((await call('POST', '/servers/beta/faults/up')).status, 204);
    assert.equal((await requestToken(beta)).status, 200);
    assert.equal((await requestToken(alpha)).status, 503, 'alpha is still down');
    assert.equal((await call('POST', '/servers/alpha/faults/melt')).status, 404);
    const detail = await call('GET', '/servers/alpha');
    assert.equal(detail.body.stats.connectionsOpened, 1);
  });
});

describe('cluster', () => {
  test('starts servers on their own ports with their own worlds and traffic, and stops them', async () => {
    const cluster = await startCluster({ servers: 3, tls: false, rate: 50 });
    const ports = cluster.servers.map((s) => s.port);
    assert.equal(new Set(ports).size, 3);
    assert.deepEqual(cluster.servers.map((s) => s.name), ['cms-1', 'cms-2', 'cms-3']);
    await waitFor(() => cluster.servers.every((s) => s.world.listCalls().length > 0), 'traffic on every server');
    assert.notEqual(cluster.servers[0]?.world, cluster.servers[1]?.world);
    await cluster.stop();
    await assert.rejects(requestToken(cluster.servers[0] as SimulatedServer));
  });
});

describe('simulate command', () => {
  const run = (args: string[]) =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const { simulateCommand } = await import('./src/cli/simulate-command.ts'); await simulateCommand().parseAsync(process.argv.slice(1), { from: 'user' });",
        '--',
        ...args,
      ],
      { cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] },
    );

  test('prints each server and the control API, serves them, and exits 0 on SIGTERM', async () => {
    const child = run(['--servers', '2', '--port', '0', '--user', 'u1', '--password', 'p1', '--rate', '0']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.resume();
    await waitFor(() => out.includes('control '), 'the listing', 7500);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 3, out);
    const servers = lines.slice(0, 2).map((line) => {
      const match = /^(\S+) (https:\/\/127\.0\.0\.1:\d+) user=u1 password=p1 ca=(\S+) sha256=([0-9A-F:]{95})$/.exec(line);
      assert.ok(match, line);
      return match;
    });
    assert.deepEqual(servers.map((m) => m[1]), ['cms-1', 'cms-2']);
    const { readFileSync } = await import('node:fs');
    const caPem = readFileSync(servers[0]?.[3] as string, 'utf8');
    const answer = await requestToken({ url: servers[0]?.[2] as string, caPem, username: 'u1', password: 'p1' });
    assert.equal(answer.status, 200);
    const controlUrl = /^control (http:\/\/\S+)$/.exec(lines[2] as string)?.[1];
    const listed = await (await fetch(`${controlUrl}/servers`)).json();
    assert.equal((listed as unknown[]).length, 2);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  test('--help describes the options and the control routes', async () => {
    const child = run(['--help']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    for (const option of ['--servers', '--port', '--user', '--password', '--rate', '--no-tls', '--control-port', '--host']) assert.ok(out.includes(option), option);
    assert.match(out, /POST +\/servers\/\{server\|\*\}\/faults\/drop/);
  });
});

// `cms-events control …` against a hub's HTTP control routes (the simulator behind it): the
// actions reach the CMS and come back as events; a missing token, a wrong one and an unknown
// call are clear errors with a non-zero exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createHub, createLogger, startHttpServer, type CmsEvent, type Hub } from '../src/index.js';
import type { RunningHttpServer } from '../src/http/server.js';
import { BIN, serverEntry, tempDir } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const TOKEN = 'cli-control-Token-42-abcdef';
const sim = await simulator({ password: 'cli-pw-1' });
const callId = sim.world.createCall({ name: 'From the shell' });
const ann = sim.world.addParticipant(callId, { name: 'Ann', state: 'connected', audioMuted: false });
let hub: Hub;
let http: RunningHttpServer;
const events: CmsEvent[] = [];

before(async () => {
  hub = createHub({ servers: [serverEntry('cms-cli', sim)], sinks: [] }, { logger: createLogger({ level: 'silent' }) });
  hub.tap((event) => void events.push(event));
  await hub.start();
  await waitFor(() => hub.calls('cms-cli')?.find((c) => c.id === callId)?.roster.length === 1, 'the snapshot');
  http = await startHttpServer(hub, { port: 0, controlToken: TOKEN });
});
after(async () => {
  await http?.close();
  await hub?.stop();
});

function control(args: string[], env: Record<string, string> = { CMS_EVENTS_CONTROL_TOKEN: TOKEN }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = ['control', ...args, '--url', http.url, '--server', 'cms-cli'];
  const child = spawn(process.execPath, [BIN, ...base], { env: { ...process.env, CMS_EVENTS_CONTROL_TOKEN: '', ...env, NODE_OPTIONS: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('mute, dial and lock from the shell reach the CMS and come back as events', async () => {
  const mute = await control(['mute', '--call', callId, '--participant', ann]);
  assert.equal(mute.code, 0, mute.stderr);
  await waitFor(() => events.find((e) => e.type === 'participant.updated' && e.participantId === ann && e.changes.audioMuted === true), 'the mute');
  const file = join(tempDir('cms-events-cli-'), 'token');
  writeFileSync(file, `${TOKEN}\n`);
  const dial = await control(['dial', '--call', callId, '--uri', 'room@example.com', '--name', 'Room', '--token-file', file], {});
  assert.equal(dial.code, 0, dial.stderr);
  const { participantId } = JSON.parse(dial.stdout) as { participantId: string };
  await waitFor(() => events.find((e) => e.type === 'participant.joined' && e.participantId === participantId), 'the dialled room');
  const lock = await control(['lock', '--call', callId]);
  assert.equal(lock.code, 0, lock.stderr);
  await waitFor(() => events.find((e) => e.type === 'call.updated' && e.callId === callId && e.call.lockState === 'locked'), 'the lock');
});

test('no token, a wrong token and an unknown call are clear errors', async () => {
  const none = await control(['end', '--call', callId], {});
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no token: set CMS_EVENTS_CONTROL_TOKEN or give --token-file/);
  const wrong = await control(['end', '--call', callId], { CMS_EVENTS_CONTROL_TOKEN: 'not-the-token' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /HTTP 401: a valid Authorization: Bearer <token> header is needed/);
  const unknown = await control(['end', '--call', 'no-such-call']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /HTTP 404: server "cms-cli" has no call "no-such-call"/);
  const usage = await control(['mute', '--call', callId]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /required option '--participant <id>'/);
  assert.ok(![none, wrong, unknown, usage].some((r) => r.stderr.includes(TOKEN)), 'the token is never printed');
});

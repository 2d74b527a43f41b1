// Where the server list comes from: the config file (edited live, broken and mended, SIGHUP) and
// a directory URL; and config errors that name the file, the field and the problem.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSimulator, type SimulatedServer } from '../src/simulator/index.js';
import { freePort, getJson, serverEntry, startDaemon, tempDir, writeConfig, type Daemon } from './helpers/daemon.js';
import { waitFor } from './helpers/wait.js';

/** How many log lines so far say `text`. */
const logged = (d: Daemon, text: string) => d.stderr().split(text).length - 1;
const connected = (d: Daemon, server: string) =>
  d.events.filter((e) => e.type === 'server.connected' && e.server === server).length;
const disconnected = (d: Daemon, server: string) =>
  d.events.filter((e) => e.type === 'server.disconnected' && e.server === server).length;

describe('config errors', () => {
  it('exits 2 naming the file, the field and the problem', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, { servers: [{ name: 'a', host: 'h', port: 'four', username: 'u', password: 'p' }] });
    const daemon = startDaemon(['run', '--config', file]);
    const { code } = await daemon.exit;
    assert.equal(code, 2);
    assert.match(daemon.stderr(), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: servers\\[0\\]\\.port: .*number`));
    assert.equal(daemon.stdout(), '');
  });

  it('exits 2 when a password variable is missing, and for YAML syntax errors', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, { servers: [{ name: 'a', host: 'h', username: 'u', passwordEnv: 'NO_SUCH_VAR_4411' }] });
    const missing = startDaemon(['run', '--config', file]);
    assert.equal((await missing.exit).code, 2);
    assert.match(missing.stderr(), /servers\[0\]\.passwordEnv: environment variable NO_SUCH_VAR_4411 is not set/);
    const yaml = join(dir, 'broken.yaml');
    writeFileSync(yaml, 'servers:\n  - name: [unclosed\n');
    const broken = startDaemon(['run', '--config', yaml]);
    assert.equal((await broken.exit).code, 2);
    assert.match(broken.stderr(), /broken\.yaml/);
  });
});

describe('cluster section errors', () => {
  const server = { name: 'a', host: 'h', username: 'u', password: 'p' };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a URL that is not NATS', { nats: 'http://nats:4222' }, /cluster\.nats\[0\]: must be a nats:\/\/, tls:\/\/, ws:\/\/ or wss:\/\/ URL/],
    ['a lease of 0', { nats: 'nats://127.0.0.1:4222', leaseSeconds: 0 }, /cluster\.leaseSeconds: must be at least 1/],
    ['an instance name NATS cannot key', { nats: 'nats://127.0.0.1:4222', instance: 'a b.c' }, /cluster\.instance: must be 1–64 letters, digits/],
    ['two ways to authenticate', { nats: 'nats://127.0.0.1:4222', token: 't', user: 'u', password: 'p' }, /cluster\.credsFile: give at most one way to authenticate/],
    ['an unreadable token file', { nats: 'nats://127.0.0.1:4222', tokenFile: 'no-such-token' }, /cluster\.tokenFile: cannot read no-such-token/],
    ['an unknown field', { nats: 'nats://127.0.0.1:4222', leaseSecs: 6 }, /cluster: .*leaseSecs/],
  ];
  for (const [what, cluster, message] of cases) {
    it(`exits 2 for ${what}, naming the field`, async () => {
      const dir = tempDir();
      const file = writeConfig(dir, { servers: [server], cluster });
      const daemon = startDaemon(['run', '--config', file]);
      assert.equal((await daemon.exit).code, 2);
      assert.match(daemon.stderr(), message);
      assert.equal(daemon.stdout(), '');
    });
  }
});

describe('config file followed live', () => {
  let a: SimulatedServer;
  let b: SimulatedServer;
  let daemon: Daemon;
  let file: string;
  let dir: string;
  let api: string;

  before(async () => {
    a = await startSimulator({ password: 'pw-a-1234' });
    b = await startSimulator({ password: 'pw-b-5678' });
    dir = tempDir();
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    process.env.CMS_TEST_PASSWORD_B = b.password;
    file = join(dir, 'config.yaml');
    writeFileSync(file, `servers:\n  - name: cms-a\n    host: ${a.host}\n    port: ${a.port}\n    username: ${a.username}\n    password: ${a.password}\n    tls: { ca: ${a.caPath} }\nhttp: { port: ${port} }\n`);
    daemon = startDaemon(['run', '--config', file], { CMS_TEST_PASSWORD_B: b.password });
    await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'cms-a', 'cms-a connected');
  });

  after(async () => {
    await daemon?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  const writeServers = (servers: unknown[], extra: Record<string, unknown> = {}) => {
    // Written beside and renamed into place, as editors do.
    const temp = join(dir, 'config.tmp');
    writeFileSync(temp, JSON.stringify({ servers, http: { port: Number(new URL(api).port) }, ...extra }));
    renameSync(temp, file);
  };

  it('starts a server added to the file without touching the others', async () => {
    const callOnA = a.world.createCall({ name: 'keeps going' });
    await daemon.waitForEvent((e) => e.type === 'call.started' && e.callId === callOnA, 'call on a');
    writeServers([serverEntry('cms-a', a), serverEntry('cms-b', b, { password: undefined, passwordEnv: 'CMS_TEST_PASSWORD_B' })]);
    await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'cms-b', 'cms-b connected');
    assert.equal(connected(daemon, 'cms-a'), 1, 'cms-a was not interrupted');
    assert.equal(disconnected(daemon, 'cms-a'), 0);
  });

  it('keeps the last good set when the file is broken, and recovers when it is mended', async () => {
    writeFileSync(file, '{ "servers": [ this is broken');
    await waitFor(() => /config file is broken/.test(daemon.stderr()), 'the broken file to be reported');
    const { body } = await getJson<any[]>(`${api}/api/servers`);
    assert.deepEqual(body.map((s) => s.name).sort(), ['cms-a', 'cms-b']);
    assert.equal(daemon.child.exitCode, null, 'still running');
    const changes = logged(daemon, 'server set changed');
    writeServers([serverEntry('cms-a', a), serverEntry('cms-b', b, { password: undefined, passwordEnv: 'CMS_TEST_PASSWORD_B' })]);
    // Once the mended file is read, any restart would already have begun (it starts with 'server set changed').
    await waitFor(() => /config file is valid again and unchanged/.test(daemon.stderr()), 'the mended file to be read');
    assert.equal(logged(daemon, 'server set changed'), changes, 'no server set change');
    assert.equal(connected(daemon, 'cms-b'), 1, 'an unchanged server is not restarted by a mended file');
  });

  it('stops a removed server cleanly: server.disconnected, gone from the API', async () => {
    writeServers([serverEntry('cms-b', b, { password: undefined, passwordEnv: 'CMS_TEST_PASSWORD_B' })]);
    await daemon.waitForEvent((e) => e.type === 'server.disconnected' && e.server === 'cms-a', 'cms-a disconnected');
    await waitFor(async () => {
      const { body } = await getJson<any[]>(`${api}/api/servers`);
      return body.length === 1 && body[0].name === 'cms-b';
    }, 'cms-a to leave the API');
    assert.equal((await fetch(`${api}/api/servers/cms-a/calls`)).status, 404);
    await waitFor(() => a.stats().openConnections === 0, 'the socket to cms-a to close');
  });

  it('restarts a changed server without announcing its calls again', async () => {
    const callId = b.world.createCall({ name: 'Survives a restart' });
    const pid = b.world.addParticipant(callId, { name: 'Lee', uri: 'lee@example.com', state: 'connected', direction: 'incoming' });
    await daemon.waitForEvent((e) => e.type === 'participant.joined' && e.participantId === pid, 'Lee joined');
    const before = connected(daemon, 'cms-b');
    // Pinning the certificate changes how cms-b is reached: it is restarted.
    writeServers([serverEntry('cms-b', b, { password: undefined, passwordEnv: 'CMS_TEST_PASSWORD_B', tls: { ca: b.caPath, fingerprint: b.fingerprint } })]);
    await waitFor(() => connected(daemon, 'cms-b') === before + 1, 'cms-b reconnected with the new settings');
    b.world.updateParticipant(callId, pid, { audioMuted: true });
    await daemon.waitForEvent((e) => e.type === 'participant.updated' && e.participantId === pid, 'an update after the restart');
    assert.equal(daemon.events.filter((e) => e.type === 'call.started' && e.callId === callId).length, 1);
    assert.equal(daemon.events.filter((e) => e.type === 'participant.joined' && e.participantId === pid).length, 1);
    assert.equal(daemon.events.filter((e) => e.type === 'call.ended' && e.callId === callId).length, 0);
  });

  it('reloads on SIGHUP: a changed password file is picked up', async () => {
    // The watcher follows the config file only, so this change is seen through SIGHUP alone.
    const passwordFile = join(dir, 'cms-a.password');
    writeFileSync(passwordFile, 'not-the-password-0');
    const bEntry = serverEntry('cms-b', b, { password: undefined, passwordEnv: 'CMS_TEST_PASSWORD_B' });
    writeServers([bEntry, serverEntry('cms-a', a, { password: undefined, passwordFile: 'cms-a.password' })]);
    await waitFor(async () => {
      const { body } = await getJson<any[]>(`${api}/api/servers`);
      return body.find((s) => s.name === 'cms-a')?.lastErrorKind === 'auth';
    }, 'cms-a to fail authentication');
    writeFileSync(passwordFile, `${a.password}\n`);
    daemon.child.kill('SIGHUP');
    await waitFor(() => connected(daemon, 'cms-a') === 2, 'cms-a connected after SIGHUP');
    assert.equal(daemon.child.exitCode, null);
  });
});

describe('directory URL source', () => {
  let a: SimulatedServer;
  let b: SimulatedServer;
  let directory: Server;
  let entries: unknown[];
  let requests: { etag: string | undefined }[] = [];
  let failing = false;

  before(async () => {
    a = await startSimulator({ password: 'dir-pw-a-1' });
    b = await startSimulator({ password: 'dir-pw-b-2' });
    entries = [serverEntry('dir-a', a), { ...serverEntry('dir-b', b), active: false }];
    directory = createServer((req, res) => {
      requests.push({ etag: req.headers['if-none-match'] as string | undefined });
      if (failing) {
        res.writeHead(500).end('down');
        return;
      }
      const body = JSON.stringify({ servers: entries });
      const etag = `"${Buffer.from(body).length}-${body.length % 97}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
    });
    await new Promise<void>((resolve) => directory.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close(), new Promise((r) => directory?.close(r))]);
  });

  it('follows the directory, skips inactive servers, honours ETag and survives its failures', async () => {
    const dir = tempDir();
    const { port } = directory.address() as { port: number };
    const file = writeConfig(dir, { serversUrl: `http://127.0.0.1:${port}/servers`, serversRefreshSeconds: 0.3 });
    const daemon = startDaemon(['run', '--config', file]);
    try {
      await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'dir-a', 'dir-a connected');
      await waitFor(() => requests.some((r) => r.etag), 'a conditional request');
      assert.equal(connected(daemon, 'dir-b'), 0, 'inactive server skipped');

      failing = true;
      await waitFor(() => /server directory failed/.test(daemon.stderr()), 'the failure to be logged');
      failing = false;
      assert.equal(disconnected(daemon, 'dir-a'), 0, 'a failing directory keeps the last good list');

      entries = [serverEntry('dir-b', b)];
      await daemon.waitForEvent((e) => e.type === 'server.connected' && e.server === 'dir-b', 'dir-b connected');
      await daemon.waitForEvent((e) => e.type === 'server.disconnected' && e.server === 'dir-a', 'dir-a removed');
    } finally {
      const { code } = await daemon.stop();
      assert.equal(code, 0);
    }
    assert.ok(!daemon.stderr().includes('dir-pw-'), 'no password in logs');
  });
});

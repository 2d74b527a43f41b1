// The npm package as a user gets it: `npm pack` of the built project, installed with
// `npm install -g --prefix` into a fresh folder with nothing else beside it, and the installed
// `cms-events` run against the simulator: --version, events on stdout, /healthz, SIGTERM exit 0.
// The tarball must hold what runs (dist, bin, examples, README, licence) and nothing else.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort, tempDir, serverEntry, writeConfig } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('the packed tarball, installed alone, runs', { timeout: 300_000 }, async () => {
  const dir = tempDir('cms-events-package-');
  // The suite built dist/ already (pretest); packing must not rebuild it under the other tests.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  const files = packed!.files.map((f) => f.path);
  const outside = files.filter((f) => !/^(dist\/|bin\/|examples\/|README\.md$|LICENSE$|package\.json$)/.test(f));
  assert.deepEqual(outside, [], 'nothing but what runs');
  assert.ok(files.includes('bin/cms-events') && files.includes('dist/cli/main.js') && files.includes('dist/dashboard/index.html') && files.includes('LICENSE'));
  assert.ok(!files.some((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('bench/')));

  const prefix = path.join(dir, 'prefix');
  await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', path.join(dir, packed!.filename)], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  const bin = path.join(prefix, 'bin', 'cms-events');
  assert.equal((await run(bin, ['--version'], { cwd: dir })).stdout.trim(), VERSION);

  const sim = await simulator({ name: 'packaged' });
  const call = sim.world.createCall({ name: 'Packaged' });
  sim.world.addParticipant(call, { name: 'Ann', state: 'connected' });
  const port = await freePort();
  const config = writeConfig(dir, { servers: [serverEntry('cms-p', sim)], http: { host: '127.0.0.1', port } });
  // Only the installed package: no repository on the path, no NODE_OPTIONS from the test runner.
  const child = spawn(bin, ['run', '--config', config], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(() => out.includes('"type":"participant.joined"'), 'events on stdout', 30_000);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const dashboard = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(dashboard.status, 200, 'the dashboard is in the package');
    await dashboard.arrayBuffer();
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exit, 0, `exit 0 on SIGTERM (stderr: ${err.slice(-500)})`);
  assert.ok(out.includes('"type":"server.disconnected"'));
});

// The systemd unit (deploy/systemd/cms-events.service) as systemd itself judges it, offline:
// `systemd-analyze security` rates its exposure at most 2.0, and `systemd-analyze verify` finds
// nothing wrong. verify also checks that ExecStart's program exists: the unit names
// /usr/local/bin/cms-events (where `npm install --global` puts it), so verify runs in a mount
// namespace of its own where /usr/local/bin holds this checkout's bin/cms-events.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './helpers/daemon.js';
import { requirePrograms } from './helpers/requirements.js';

const run = promisify(execFile);
const needs = requirePrograms('systemd-analyze');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const UNIT = path.join(ROOT, 'deploy', 'systemd', 'cms-events.service');

test('the unit: exposure at most 2.0, and systemd-analyze verify clean', { skip: needs.skip }, async (t) => {
  const analyze = needs.path('systemd-analyze');
  const { stdout } = await run(analyze, ['security', '--offline=true', '--no-pager', UNIT]);
  const exposure = /Overall exposure level for cms-events\.service: ([\d.]+)/.exec(stdout);
  assert.ok(exposure, `an overall exposure level in:\n${stdout.slice(-500)}`);
  t.diagnostic(`exposure ${exposure[1]}`);
  assert.ok(Number(exposure[1]) <= 2.0, `exposure ${exposure[1]} is at most 2.0`);
  // The threshold option makes systemd-analyze itself fail above it.
  await run(analyze, ['security', '--offline=true', '--threshold=20', '--no-pager', UNIT]);

  const bin = tempDir('cms-events-unit-bin-');
  symlinkSync(path.join(ROOT, 'bin', 'cms-events'), path.join(bin, 'cms-events'));
  const verify = await run('unshare', ['--mount', 'sh', '-c', `mount --bind "$1" /usr/local/bin && exec "$2" verify "$3" 2>&1`, 'sh', bin, analyze, UNIT]).catch(
    (error: { stdout?: string; stderr?: string; code?: number }) => error,
  );
  const said = `${verify.stdout ?? ''}${verify.stderr ?? ''}`.trim();
  assert.equal(said, '', `systemd-analyze verify says nothing: ${said}`);
  assert.ok(!('code' in verify) || verify.code === undefined || verify.code === 0);

  const unit = readFileSync(UNIT, 'utf8');
  for (const line of ['DynamicUser=yes', 'StateDirectory=cms-events', 'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'NoNewPrivileges=yes']) {
    assert.ok(unit.includes(`\n${line}\n`), `the unit has ${line}`);
  }
  assert.ok(!/^MemoryDenyWriteExecute=yes/m.test(unit), 'V8 needs writable and executable memory');
});

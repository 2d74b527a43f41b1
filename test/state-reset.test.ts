// `cms-events state reset`: forgets all stored models or one server's, and refuses while
// another process holds the state folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lockFolder } from '../src/folder-lock.js';
import { BIN, tempDir, writeConfig } from './helpers/daemon.js';

function folderWithModels(): { dir: string; config: string; servers: string } {
  const dir = tempDir('cms-events-reset-');
  const servers = join(dir, 'kept', 'servers');
  mkdirSync(servers, { recursive: true });
  for (const name of ['cms-a', 'cms-b', 'cms-c']) writeFileSync(join(servers, `${name}.json`), '{}');
  const config = writeConfig(dir, { stateDir: 'kept', servers: [{ name: 'cms-a', host: 'h', username: 'u', password: 'p' }] });
  return { dir, config, servers };
}

const reset = (...args: string[]) => spawnSync(process.execPath, [BIN, 'state', 'reset', ...args], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

test('reset --server forgets one server; reset alone forgets them all', () => {
  const { config, servers } = folderWithModels();
  const one = reset('--config', config, '--server', 'cms-b');
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual(readdirSync(servers).sort(), ['cms-a.json', 'cms-c.json']);
  const all = reset('--config', config);
  assert.equal(all.status, 0, all.stderr);
  assert.match(all.stdout, /removed 2 stored model\(s\) from .*kept/);
  assert.deepEqual(readdirSync(servers), []);
});

test('reset refuses while another process holds the state folder', async () => {
  const { dir, config, servers } = folderWithModels();
  const lock = await lockFolder(join(dir, 'kept'), { name: 'state folder', setting: 'stateDir' });
  try {
    const refused = reset('--config', config);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, new RegExp(`state folder .*kept is locked by another process \\(pid ${process.pid} `));
    assert.equal(readdirSync(servers).length, 3, 'nothing removed');
  } finally {
    await lock.release();
  }
});

test('a config without state and a missing --config are said plainly', () => {
  const dir = tempDir('cms-events-reset-');
  const config = writeConfig(dir, { stateDir: null, servers: [] });
  const none = reset('--config', config);
  assert.equal(none.status, 0);
  assert.match(none.stdout, /keeps no state \(stateDir: null\)/);
  const usage = reset();
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /required option '-c, --config <file>'/);
});

// The spool folder's lock: one sink of one process per folder. Refused in the same process and
// from another live process (with the folder and the holder's pid in the message); taken over
// from a holder that cannot be running any more; released on close. And end to end: a second
// daemon on the folder of a running one exits 2 and says which folder and which process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FolderLockedError, Spool } from '../src/sinks/spool/index.js';
import { serverEntry, startDaemon, writeConfig } from './helpers/daemon.js';
import { simulator } from './helpers/simulators.js';
import { recordLogs, tempDir, waitFor } from './helpers/sinks.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SPOOL_MODULE = new URL('../src/sinks/spool/index.ts', import.meta.url).href;
const silent = recordLogs('silent').logger;
const open = (dir: string) => Spool.open({ dir, maxBytes: 1 << 20, logger: silent });
const lockOf = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8')) as { pid: number; host: string; boot: string };

/** A pid no process has (pids count up from 2 and wrap far below 2^22 + 1000 on Linux defaults). */
function deadPid(): number {
  for (let pid = 4_194_303; pid > 1000; pid -= 1) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
  throw new Error('no free pid found');
}

test('the same folder twice in one process is refused; the lock holds our pid and goes on close', async () => {
  const { dir, remove } = await tempDir('lock-same');
  try {
    const spool = await open(dir);
    assert.equal((await lockOf(dir)).pid, process.pid);
    await assert.rejects(open(dir), (error: unknown) => {
      assert.ok(error instanceof FolderLockedError);
      assert.match(error.message, /already used by another part of this process/);
      assert.ok(error.message.includes(dir), error.message);
      return true;
    });
    await spool.close();
    assert.equal(existsSync(path.join(dir, 'lock')), false, 'released on close');
    const again = await open(dir);
    await again.close();
  } finally {
    await remove();
  }
});

test('another live process holding the folder: refused, naming the folder and its pid; once it is killed -9 its lock is taken over', async () => {
  const { dir, remove } = await tempDir('lock-process');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { Spool } = await import(${JSON.stringify(SPOOL_MODULE)});
       const { default: pino } = await import('pino');
       await Spool.open({ dir: process.argv[1], maxBytes: 1 << 20, logger: pino({ level: 'silent' }) });
       process.stdout.write('locked\\n');
       setInterval(() => {}, 1 << 30);`,
      dir,
    ],
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => out.includes('locked') || child.exitCode !== null, 'the child to lock the folder', 30_000);
    assert.match(out, /locked/);
    await assert.rejects(open(dir), (error: unknown) => {
      assert.ok(error instanceof FolderLockedError);
      assert.ok(error.message.includes(dir), error.message);
      assert.ok(error.message.includes(`pid ${child.pid}`), error.message);
      assert.equal(error.holder?.pid, child.pid);
      return true;
    });
    child.kill('SIGKILL');
    await exited;
    assert.equal((await lockOf(dir)).pid, child.pid, 'kill -9 leaves the lock behind');
    const spool = await open(dir);
    assert.equal((await lockOf(dir)).pid, process.pid, 'taken over');
    await spool.close();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await remove();
  }
});

test('a lock whose holder cannot be running (no such pid, another boot, another host) is taken over; an unreadable one is not', async () => {
  const { dir, remove } = await tempDir('lock-stale');
  try {
    const me = await open(dir);
    const { boot } = await lockOf(dir);
    await me.close();
    const stale = [
      { pid: deadPid(), host: os.hostname(), boot, since: '2020-01-01T00:00:00.000Z' },
      { pid: process.ppid, host: os.hostname(), boot: 'another-boot', since: '2020-01-01T00:00:00.000Z' },
      { pid: process.ppid, host: 'another-host', boot, since: '2020-01-01T00:00:00.000Z' },
    ];
    for (const holder of stale) {
      await writeFile(path.join(dir, 'lock'), JSON.stringify(holder));
      const spool = await open(dir);
      assert.equal((await lockOf(dir)).pid, process.pid, `taken over from ${JSON.stringify(holder)}`);
      await spool.close();
    }
    // A live holder on this host and boot (our parent process) is respected.
    await writeFile(path.join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: os.hostname(), boot, since: 'x' }));
    await assert.rejects(open(dir), new RegExp(`pid ${process.ppid}`));
    await writeFile(path.join(dir, 'lock'), '');
    await assert.rejects(open(dir), /is locked/);
    assert.equal(await readFile(path.join(dir, 'lock'), 'utf8'), '', 'a refused open leaves the lock alone');
  } finally {
    await remove();
  }
});

test('daemons: a second one on the spool folder of a running one exits 2, naming the folder and the holder', async () => {
  const { dir, remove } = await tempDir('lock-daemons');
  const sim = await simulator({ name: 'lock-sim', tls: false });
  const config = writeConfig(dir, {
    servers: [serverEntry('cms-1', sim)],
    sinks: [{ type: 'file', path: 'out/events.ndjson', spoolDir: 'spool' }],
    log: { level: 'info' },
  });
  const spoolDir = path.join(dir, 'spool');
  const first = startDaemon(['run', '--config', config]);
  try {
    await waitFor(async () => (await lockOf(spoolDir).catch(() => null))?.pid === first.child.pid, 'the first daemon to lock its spool', 30_000);
    const second = startDaemon(['run', '--config', config]);
    const { code } = await second.exit;
    assert.equal(code, 2, second.stderr());
    assert.ok(second.stderr().includes(spoolDir), second.stderr());
    assert.ok(second.stderr().includes(`pid ${first.child.pid}`), second.stderr());
    assert.equal(first.child.exitCode, null, 'the first daemon runs on');
    assert.equal((await lockOf(spoolDir)).pid, first.child.pid);
    assert.equal((await first.stop()).code, 0);
    assert.equal(existsSync(path.join(spoolDir, 'lock')), false, 'released when the daemon stops');
  } finally {
    await first.stop();
    await remove();
  }
});

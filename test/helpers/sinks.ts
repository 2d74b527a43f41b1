// Shared helpers of the sink tests (real redis-server / nats-server processes on free ports,
// events, a log recorder).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { CmsEvent } from '../../src/state/events.js';
import { waitFor } from './wait.js';
import { findProgram } from './requirements.js';

export { freePort } from './daemon.js';
export { sleep, waitFor } from './wait.js';

export async function tempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `cms-events-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

let seq = 0;
/** A well-formed contract event; ids are unique across the test run. */
export function makeEvent(server: string, i: number): CmsEvent {
  seq += 1;
  const callId = `call-${i % 7}`;
  return {
    id: `${server}-${i}-${process.pid}-${seq}`,
    ts: new Date().toISOString(),
    type: 'call.updated',
    server,
    callId,
    call: { id: callId, name: `Meeting ${i % 7}`, participants: i % 13 },
    changes: { participants: i % 13 },
  };
}

export function makeEvents(servers: string[], perServer: number): CmsEvent[] {
  const out: CmsEvent[] = [];
  for (let i = 0; i < perServer; i += 1) for (const s of servers) out.push(makeEvent(s, i));
  return out;
}

/** Checks the de-duplicated sequence: every expected event exactly once, in order per server. */
export function checkDelivered(expected: CmsEvent[], receivedIds: string[]): { duplicates: number; problems: string[] } {
  const seen = new Set<string>();
  const firstCopies: string[] = [];
  let duplicates = 0;
  for (const id of receivedIds) {
    if (seen.has(id)) duplicates += 1;
    else {
      seen.add(id);
      firstCopies.push(id);
    }
  }
  const problems: string[] = [];
  const expectedIds = new Set(expected.map((e) => e.id));
  const missing = expected.filter((e) => !seen.has(e.id));
  if (missing.length) problems.push(`${missing.length} events missing, first ${missing[0]!.id}`);
  const extra = firstCopies.filter((id) => !expectedIds.has(id));
  if (extra.length) problems.push(`${extra.length} unexpected events`);
  const serverOf = new Map(expected.map((e) => [e.id, e.server]));
  const orderOf = new Map(expected.map((e, i) => [e.id, i]));
  const lastPerServer = new Map<string, number>();
  for (const id of firstCopies) {
    const server = serverOf.get(id);
    if (server === undefined) continue;
    const at = orderOf.get(id)!;
    const last = lastPerServer.get(server) ?? -1;
    if (at < last) {
      problems.push(`out of order on ${server}: ${id}`);
      break;
    }
    lastPerServer.set(server, at);
  }
  return { duplicates, problems };
}

export interface LogRecorder {
  logger: Logger;
  lines: Array<Record<string, unknown> & { msg: string; level: number }>;
  count(msg: string | RegExp): number;
  text(): string;
}

export function recordLogs(level: pino.LevelWithSilent = 'debug'): LogRecorder {
  const lines: LogRecorder['lines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = pino({ level }, stream);
  return {
    logger,
    lines,
    count: (msg) => lines.filter((l) => (typeof msg === 'string' ? l.msg.includes(msg) : msg.test(l.msg))).length,
    text: () => lines.map((l) => JSON.stringify(l)).join('\n'),
  };
}

/** Where the program is, by the one lookup of test/helpers/requirements.ts (its pretend switch included). */
function findBinary(name: 'redis-server' | 'nats-server'): string {
  const found = findProgram(name);
  if (found === undefined) throw new Error(`${name} is not installed (apt-get install ${name})`);
  return found;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface ServerProcess {
  port: number;
  proc: ChildProcess;
  /** SIGKILL (default) or SIGTERM, and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function startProcess(bin: 'redis-server' | 'nats-server', args: string[], port: number, cwd: string): Promise<ServerProcess> {
  const proc = spawn(findBinary(bin), args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`${bin} exited: ${stderr}`);
        return portOpen(port);
      },
      `${bin} on port ${port}`,
      15_000,
    );
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  return {
    port,
    proc,
    stop: async (signal = 'SIGKILL') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** redis-server on `port`; `durable` turns on appendfsync always so that kill -9 loses nothing acknowledged. */
export function startRedis(port: number, dir: string, durable = false, extra: string[] = []): Promise<ServerProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...extra];
  args.push(...(durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  return startProcess('redis-server', args, port, dir);
}

export async function startNats(port: number, storeDir: string, extra: string[] = []): Promise<ServerProcess> {
  await mkdir(storeDir, { recursive: true });
  return startProcess('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, ...extra], port, storeDir);
}

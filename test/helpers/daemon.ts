// Runs bin/cms-events as a child process, the way users and the acceptance checks do, and
// collects what it prints: events from stdout (NDJSON), logs from stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CmsEvent } from '../../src/state/events.js';
import type { SimulatedServer } from '../../src/simulator/index.js';
import { waitFor } from './wait.js';

export const BIN = fileURLToPath(new URL('../../bin/cms-events', import.meta.url));

export interface Daemon {
  child: ChildProcess;
  events: CmsEvent[];
  stdout: () => string;
  stderr: () => string;
  /** Lines of stdout that are not JSON objects (must stay empty). */
  junk: string[];
  waitForEvent(predicate: (e: CmsEvent) => boolean, what: string, timeoutMs?: number): Promise<CmsEvent>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(prefix = 'cms-events-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function serverEntry(name: string, sim: SimulatedServer, overrides: Record<string, unknown> = {}) {
  return {
    name,
    host: sim.host,
    port: sim.port,
    username: sim.username,
    password: sim.password,
    ...(sim.tls ? { tls: { ca: sim.caPath } } : { plain: true }),
    ...overrides,
  };
}

export function writeConfig(dir: string, config: unknown, name = 'config.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export function startDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: CmsEvent[] = [];
  const junk: string[] = [];
  let out = '';
  let err = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const value = JSON.parse(line);
        if (value && typeof value === 'object' && !Array.isArray(value)) events.push(value);
        else junk.push(line);
      } catch {
        junk.push(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    events,
    junk,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitForEvent: (predicate, what, timeoutMs = 15_000) =>
      waitFor(() => events.find(predicate), what, timeoutMs),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** A free TCP port on loopback (closed again before returning). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

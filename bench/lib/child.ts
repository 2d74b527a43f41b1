// The benchmark's child processes. Every side of a measurement (simulator, raw client, daemon)
// runs in a process of its own so that none shares an event loop with another. Commands go over
// the IPC channel (advanced serialization, so typed arrays travel as they are).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ROOT } from './dist.js';
import { wallNow } from './clock.js';

/** Open files wanted by each child: a thousand TLS servers and their clients need more than 1024. */
const FD_WANTED = 65_536;
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((path) => existsSync(path));

/** This process's soft and hard limits on open files. */
function openFileLimits(): { soft: number; hard: number } {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const value = (text: string | undefined) => (text === undefined ? 0 : text === 'unlimited' ? Infinity : Number(text));
  return { soft: value(line?.[1]), hard: value(line?.[2]) };
}

/** The open-file limit to give children: as many as wanted, within what this process may grant. */
export const FD_LIMIT = (() => {
  const { soft, hard } = openFileLimits();
  return Math.max(soft, Math.min(FD_WANTED, hard));
})();
const RAISE_LIMIT = PRLIMIT !== undefined && FD_LIMIT > openFileLimits().soft;

export interface SpawnOptions {
  /** Script path, relative to the repository root. */
  script: string;
  args?: string[];
  nodeFlags?: string[];
  /** Load the tsx loader (TypeScript scripts). */
  tsx?: boolean;
  /** An IPC channel for commands; off for the real daemon. */
  ipc?: boolean;
  /** Where stdout goes; `pipe` makes it readable as `stdout`. */
  stdout?: 'pipe' | 'ignore';
  env?: NodeJS.ProcessEnv;
  /** Names the process in errors. */
  label: string;
}

interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

interface ChildEvent {
  type: 'event';
  name: string;
  data: unknown;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

const STDERR_TAIL = 16 * 1024;

export class BenchProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Wall clock (ms) just before the spawn. */
  readonly spawnedAt: number;
  readonly exited: Promise<Exit>;
  readonly label: string;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; cmd: string }>();
  private readonly listeners = new Map<string, Set<(data: unknown) => void>>();
  private readonly readyPromise: Promise<void>;
  private stderr = '';
  private exit: Exit | undefined;

  constructor(options: SpawnOptions) {
    this.label = options.label;
    const nodeArgs = [...(options.tsx ? ['--import', 'tsx'] : []), ...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])];
    const [command, args] = RAISE_LIMIT
      ? [PRLIMIT!, [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs];
    this.spawnedAt = wallNow();
    this.child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
      stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
      serialization: 'advanced',
    });
    if (this.child.pid === undefined) throw new Error(`${this.label}: could not spawn ${command}`);
    this.pid = this.child.pid;
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        for (const [, waiter] of this.pending) waiter.reject(new Error(`${this.label} exited (${code ?? signal}) during "${waiter.cmd}"\n${this.tail()}`));
        this.pending.clear();
        resolve(this.exit);
      });
    });
    this.readyPromise = options.ipc
      ? new Promise((resolve, reject) => {
          this.child.on('message', (message: Reply | ChildEvent | { type: 'ready' }) => {
            if (message.type === 'ready') resolve();
            else if (message.type === 'reply') this.settle(message);
            else for (const listener of this.listeners.get(message.name) ?? []) listener(message.data);
          });
          void this.exited.then((exit) => reject(new Error(`${this.label} exited (${exit.code ?? exit.signal}) before it was ready\n${this.tail()}`)));
        })
      : Promise.resolve();
    // An unawaited readiness failure is reported by the caller's next call; never as unhandled.
    this.readyPromise.catch(() => undefined);
  }

  get stdout(): Readable {
    if (!this.child.stdout) throw new Error(`${this.label}: stdout is not piped`);
    return this.child.stdout;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  async call<T>(cmd: string, args?: unknown, timeoutMs = 180_000): Promise<T> {
    await this.readyPromise;
    if (!this.running) throw new Error(`${this.label} is not running (during "${cmd}")\n${this.tail()}`);
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, cmd });
      timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: "${cmd}" got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    this.child.send({ id, cmd, args });
    try {
      return await result;
    } finally {
      clearTimeout(timer);
    }
  }

  on(name: string, listener: (data: unknown) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** The last lines of its stderr, for error messages. */
  tail(lines = 20): string {
    return this.stderr.split('\n').slice(-lines).join('\n');
  }

  /**
   * Stops it with `signal` (after `exitOnItsOwnMs`, for a child already told to exit, so that
   * exit hooks such as --cpu-prof run); SIGKILL after `graceMs` more.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000, exitOnItsOwnMs = 0): Promise<Exit> {
    if (exitOnItsOwnMs > 0 && this.running) {
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, exitOnItsOwnMs))]);
    }
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(`${this.label}: ${waiter.cmd}: ${reply.error}`));
  }
}

/** Every process spawned by the run, so that an error or Ctrl-C leaves none behind. */
const live = new Set<BenchProcess>();

export function spawnChild(options: SpawnOptions): BenchProcess {
  const child = new BenchProcess(options);
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop('SIGTERM', 5_000)));
}

export function killAllNow(): void {
  for (const child of live) child.child.kill('SIGKILL');
}

// The two clients every figure compares, started against a list of simulated servers and
// returned once their feeds are live: the raw baseline, and the daemon (the real one, or the
// bench driver when a figure needs to look inside).
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DriverStatus, SinkChoice } from '../daemon-driver.js';
import type { SimServerInfo } from '../sim-process.js';
import { spawnChild, type BenchProcess } from './child.js';
import { sleep, waitFor, withTimeout } from './clock.js';
import { startRealDaemon, type RealDaemon } from './daemon.js';
import { LineReader } from './lines.js';

/** The daemon's snapshot rule waits this long (300 ms) for an empty roster; let it pass before measuring. */
const SNAPSHOT_SETTLE_MS = 500;

export interface Client {
  kind: 'raw' | 'daemon';
  proc: BenchProcess;
  /** Event lines read from its stdout (always 0 for the raw client, which prints nothing). */
  lines(): number;
  stop(): Promise<void>;
}

export async function startRawClient(
  servers: readonly SimServerInfo[],
  options: { record?: boolean; label?: string; nodeFlags?: string[]; liveTimeoutMs?: number } = {},
): Promise<Client> {
  const proc = spawnChild({ script: 'bench/raw-client.ts', tsx: true, ipc: true, nodeFlags: options.nodeFlags ?? [], label: options.label ?? 'raw client' });
  const live = new Promise<void>((resolve) => proc.on('live', () => resolve()));
  try {
    await proc.call('start', { servers, record: options.record === true });
    await withTimeout(live, options.liveTimeoutMs ?? 60_000, 'the raw client to be live');
  } catch (error) {
    await proc.stop();
    throw error;
  }
  await sleep(SNAPSHOT_SETTLE_MS);
  return {
    kind: 'raw',
    proc,
    lines: () => 0,
    async stop() {
      await proc.call('stop').catch(() => undefined);
      await proc.stop('SIGTERM', 15_000, 5_000);
    },
  };
}

export interface RealDaemonClient extends Client {
  daemon: RealDaemon;
}

/**
 * Node flags for every daemon and driver process of this run (run.ts --daemon-node-flags), put
 * before a scenario's own: for A/B runs of V8 settings without touching the code.
 */
let daemonNodeFlags: string[] = [];
export function setDaemonNodeFlags(flags: string[]): void {
  daemonNodeFlags = flags;
}

/** bin/cms-events run; live once GET /api/servers says every server is. */
export async function startDaemonClient(
  servers: readonly SimServerInfo[],
  options: { label?: string; nodeFlags?: string[]; liveTimeoutMs?: number; stateDir?: string | null } = {},
): Promise<RealDaemonClient> {
  const daemon = await startRealDaemon({
    servers,
    label: options.label ?? 'daemon',
    nodeFlags: [...daemonNodeFlags, ...(options.nodeFlags ?? [])],
    ...(options.stateDir !== undefined && { stateDir: options.stateDir }),
  });
  const stop = async () => {
    await daemon.proc.stop();
  };
  try {
    await waitFor(
      async () => {
        if (!daemon.proc.running) throw new Error(`the daemon exited\n${daemon.proc.tail()}`);
        const list = await daemon.servers();
        return list.length === servers.length && list.every((s) => s.state === 'live');
      },
      'every server to be live in the daemon',
      options.liveTimeoutMs ?? 60_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  await sleep(SNAPSHOT_SETTLE_MS);
  return { kind: 'daemon', proc: daemon.proc, daemon, lines: () => daemon.stdout.lines, stop };
}

export interface DriverClient extends Client {
  /** Absent when stdout goes to /dev/null. */
  reader: LineReader | undefined;
  status(): Promise<DriverStatus>;
}

/** The bench driver (createHub + stdout sink); live once hub.ready(). */
export async function startDriverClient(
  servers: readonly SimServerInfo[],
  options: {
    record?: boolean;
    label?: string;
    nodeFlags?: string[];
    onLine?: (line: string, arrivedAt: number) => void;
    liveTimeoutMs?: number;
    /** Diagnostics: another sink than the real stdout sink, or stdout to /dev/null instead of a pipe. */
    sinks?: SinkChoice;
    stdout?: 'pipe' | 'devnull';
    /** Runs once the process is up, before the hub starts (e.g. to start heap sampling). */
    beforeStart?: (proc: BenchProcess) => Promise<void>;
  } = {},
): Promise<DriverClient> {
  const toPipe = options.stdout !== 'devnull';
  const proc = spawnChild({ script: 'bench/daemon-driver.ts', tsx: true, ipc: true, stdout: toPipe ? 'pipe' : 'ignore', nodeFlags: [...daemonNodeFlags, ...(options.nodeFlags ?? [])], label: options.label ?? 'daemon driver' });
  const reader = toPipe ? new LineReader(proc.stdout, options.onLine) : undefined;
  const stop = async () => {
    await proc.call('stop', undefined, 30_000).catch(() => undefined);
    await proc.stop('SIGTERM', 15_000, 5_000);
  };
  try {
    await options.beforeStart?.(proc);
    await proc.call('start', { servers, record: options.record === true, sinks: options.sinks ?? 'stdout' });
    await waitFor(async () => (await proc.call<DriverStatus>('status')).ready, 'every server to be live in the driver', options.liveTimeoutMs ?? 60_000, 100);
  } catch (error) {
    await stop();
    throw error;
  }
  await sleep(SNAPSHOT_SETTLE_MS);
  return { kind: 'daemon', proc, reader, lines: () => reader?.lines ?? 0, status: () => proc.call<DriverStatus>('status'), stop };
}

/**
 * A fresh folder for one process's --cpu-prof output. Node writes one profile per thread, and
 * the tsx loader runs in a thread of its own, so a folder per run keeps them apart.
 */
export function cpuProfileFlags(dir: string, name: string): { flags: string[]; folder: string } {
  const folder = join(dir, `${name}-${Date.now()}`);
  mkdirSync(folder, { recursive: true });
  return { flags: ['--cpu-prof', `--cpu-prof-dir=${folder}`], folder };
}

/** The main thread's profile in a --cpu-prof folder: the biggest one (the loader thread's is nearly empty). */
export function mainThreadProfile(folder: string): string | undefined {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(folder, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
}

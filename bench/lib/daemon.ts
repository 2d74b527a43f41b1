// The real daemon, `bin/cms-events run --config FILE`, as a child process: its config file,
// its HTTP API, and its stdout (the NDJSON events) read through a pipe.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimServerInfo } from '../sim-process.js';
import { freePort } from '../../test/helpers/daemon.js';
import { spawnChild, type BenchProcess } from './child.js';
import { LineReader } from './lines.js';

/**
 * Folders made here for a daemon's config and state: a scenario may start another daemon on one
 * (`dir`) after the first stopped, so they go when the benchmark process ends, not with the daemon.
 */
const madeHere: string[] = [];
process.once('exit', () => {
  for (const dir of madeHere) rmSync(dir, { recursive: true, force: true });
});

export interface ApiServer {
  name: string;
  state: string;
  nextAttemptAt: string | null;
  connectedSince: string | null;
  /** The model shown is the stored one, not yet confirmed by the server. */
  restored?: boolean;
}

export interface RealDaemon {
  proc: BenchProcess;
  url: string;
  /** The folder of its config file (its default state folder is `state/` in it). */
  dir: string;
  stdout: LineReader;
  servers(): Promise<ApiServer[]>;
  ready(): Promise<boolean>;
}

export function serverEntries(servers: readonly SimServerInfo[]): object[] {
  return servers.map((s) => ({ name: s.name, host: s.host, port: s.port, username: s.username, password: s.password, tls: { ca: s.caPath } }));
}

export async function startRealDaemon(options: {
  servers: readonly SimServerInfo[];
  label: string;
  nodeFlags?: string[];
  logLevel?: string;
  /** The config's stateDir; absent: the product's default (state/ beside the config). */
  stateDir?: string | null;
  /** Reuse this folder for the config (and so its default state folder) instead of a new one. */
  dir?: string;
  /** Turns the HTTP control routes on. */
  controlToken?: string;
  /** The config's `cluster` section (cluster mode); absent: a single process. */
  cluster?: { nats: string; instance: string; leaseSeconds: number };
}): Promise<RealDaemon> {
  let dir = options.dir;
  if (dir === undefined) madeHere.push((dir = mkdtempSync(join(tmpdir(), 'cms-events-bench-'))));
  const port = await freePort();
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      servers: serverEntries(options.servers),
      http: { host: '127.0.0.1', port, ...(options.controlToken && { controlToken: options.controlToken }) },
      sinks: [{ type: 'stdout' }],
      log: { level: options.logLevel ?? 'info' },
      ...(options.stateDir !== undefined && { stateDir: options.stateDir }),
      ...(options.cluster !== undefined && { cluster: options.cluster }),
    }),
  );
  const proc = spawnChild({ script: 'bin/cms-events', args: ['run', '--config', config], nodeFlags: options.nodeFlags, stdout: 'pipe', label: options.label });
  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string) => fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return {
    proc,
    url,
    dir,
    // Every line is parsed, as any real consumer of the daemon's output does.
    stdout: new LineReader(proc.stdout, undefined, true),
    async servers() {
      try {
        const response = await get('/api/servers');
        return response.ok ? ((await response.json()) as ApiServer[]) : [];
      } catch {
        // Not listening yet, or busy: the caller polls again.
        return [];
      }
    },
    async ready() {
      try {
        const response = await get('/readyz');
        await response.arrayBuffer();
        return response.status === 200;
      } catch {
        return false;
      }
    },
  };
}

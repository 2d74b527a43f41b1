// A real `nats-server -js` for the cluster benchmark, started the way the tests start theirs
// (test/helpers/sinks.ts, startNats): a free port on 127.0.0.1, JetStream on, its store in a
// fresh temp folder (removed at stop), up once the port accepts connections. Every server
// started here is killed when the run exits, Ctrl-C included.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../test/helpers/daemon.js';
import { waitFor } from './clock.js';

export interface NatsServer {
  port: number;
  url: string;
  storeDir: string;
  proc: ChildProcess;
  /** SIGKILL (default) or SIGTERM, wait for the exit, remove the store. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

function natsServerPath(): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin']) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('nats-server is not installed (apt-get install nats-server)');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'cms-events-bench-nats-'));
  const proc = spawn(natsServerPath(), ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { cwd: storeDir, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  void exited.then(() => running.delete(proc));
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
    rmSync(storeDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`nats-server exited: ${stderr}`);
        return portOpen(port);
      },
      `nats-server on port ${port}`,
      15_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `nats://127.0.0.1:${port}`, storeDir, proc, stop };
}

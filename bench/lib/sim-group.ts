// One or more simulator processes seen as one: a thousand servers may be split over two
// processes so that their TLS work does not queue behind one event loop.
import type { Backlog, FrameDump, Mark, SimServerInfo, StartArgs } from '../sim-process.js';
import { spawnChild, type BenchProcess } from './child.js';

/** Tries this many port ranges when a fixed base port is taken. */
const PORT_ATTEMPTS = 5;

export class SimGroup {
  private constructor(
    readonly procs: BenchProcess[],
    readonly servers: SimServerInfo[],
    /** How many servers each process hosts, in order. */
    private readonly counts: number[],
  ) {}

  static async start(options: Omit<StartArgs, 'basePort' | 'prefix'> & { label: string; processes?: number; basePort?: number }): Promise<SimGroup> {
    const processes = Math.max(1, Math.min(options.processes ?? 1, options.servers));
    for (let attempt = 0; ; attempt++) {
      const base = options.basePort === undefined ? undefined : options.basePort + attempt * options.servers;
      const counts = Array.from({ length: processes }, (_, i) => Math.floor(options.servers / processes) + (i < options.servers % processes ? 1 : 0));
      const procs = counts.map((_, i) => spawnChild({ script: 'bench/sim-process.ts', tsx: true, ipc: true, label: `${options.label}#${i + 1}` }));
      try {
        let offset = 0;
        const lists = await Promise.all(
          counts.map((count, i) => {
            const args: StartArgs = {
              servers: count,
              prefix: processes === 1 ? 'cms' : `cms${i + 1}`,
              ...(base === undefined ? {} : { basePort: base + offset }),
              ...(options.switches ? { switches: options.switches } : {}),
              calls: options.calls ?? 0,
              participants: options.participants ?? 0,
            };
            offset += count;
            return procs[i]!.call<SimServerInfo[]>('start', args);
          }),
        );
        return new SimGroup(procs, lists.flat(), counts);
      } catch (error) {
        await Promise.all(procs.map((p) => p.stop()));
        const taken = /EADDRINUSE/.test(String(error));
        if (!taken || base === undefined || attempt + 1 >= PORT_ATTEMPTS) throw error;
      }
    }
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  all<T>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T[]> {
    return Promise.all(this.procs.map((p) => p.call<T>(cmd, args, timeoutMs)));
  }

  /** Counts of every server; `server` (an index into `servers`) needs a single process. */
  async mark(server?: number): Promise<Mark> {
    if (server !== undefined) {
      if (this.procs.length !== 1) throw new Error('per-server marks need a single simulator process');
      return this.procs[0]!.call<Mark>('mark', { server });
    }
    const marks = await this.all<Mark>('mark');
    return {
      t: marks.reduce((sum, m) => sum + m.t, 0) / marks.length,
      sent: marks.reduce((sum, m) => sum + m.sent, 0),
      acks: marks.reduce((sum, m) => sum + m.acks, 0),
      open: marks.reduce((sum, m) => sum + m.open, 0),
    };
  }

  async backlog(): Promise<Backlog> {
    const parts = await this.all<Backlog>('backlog');
    return parts.reduce<Backlog>(
      (sum, p) => ({ queued: sum.queued + p.queued, unacked: sum.unacked + p.unacked, connections: sum.connections + p.connections }),
      { queued: 0, unacked: 0, connections: 0 },
    );
  }

  /** Send times and message ids per server, in the order of `servers`. */
  async dump(): Promise<{ times: Float64Array[]; ids: Float64Array[] }> {
    const parts = await this.all<FrameDump>('dump');
    parts.forEach((part, i) => {
      if (part.times.length !== this.counts[i]) throw new Error('simulator dump does not match its server list');
    });
    return { times: parts.flatMap((p) => p.times), ids: parts.flatMap((p) => p.ids) };
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (!p.running) return;
        await p.call('stop', undefined, 30_000).catch(() => undefined);
        await p.stop('SIGTERM', 15_000, 3_000);
      }),
    );
  }
}

// The CMS side of the cdr benchmark, in a process of its own (spawned by bench/scenarios/cdr.ts):
// simulated servers in named sets (one set followed by the daemon, one whose records go to the
// plain HTTP server), each with its CDR pusher (src/simulator/cdr-pusher.ts: one POST in flight,
// one keep-alive connection per receiver). The orchestrator adds the receivers, sets the
// switches, bursts records and waits for them to be answered 200, over IPC.
import type * as Simulator from '../../src/simulator/index.js';
import type { CdrStats, SimulatedServer, SimulatorSwitches } from '../../src/simulator/index.js';
import type { SimServerInfo } from '../sim-process.js';
import { wallNow } from './clock.js';
import { serveCommands } from './commands.js';
import { loadDist } from './dist.js';

const sim = await loadDist<typeof Simulator>('simulator/index.js');

const clusters: Simulator.Cluster[] = [];
const sets = new Map<string, SimulatedServer[]>();

function set(name: string): SimulatedServer[] {
  const servers = sets.get(name);
  if (!servers) throw new Error(`no simulated server set "${name}"`);
  return servers;
}

/** The first `count` servers of the set (all when absent). */
const pick = (name: string, count?: number): SimulatedServer[] => set(name).slice(0, count ?? Infinity);

function sum(stats: CdrStats[]): CdrStats {
  return stats.reduce((a, s) => ({ posts: a.posts + s.posts, delivered: a.delivered + s.delivered, failures: a.failures + s.failures, discarded: a.discarded + s.discarded, records: a.records + s.records }), {
    posts: 0,
    delivered: 0,
    failures: 0,
    discarded: 0,
    records: 0,
  });
}

serveCommands({
  /** `servers` simulated servers per set, over TLS like every other benchmark's (the daemon follows their events feed too). */
  async start(args: { sets: string[]; servers: number; switches: Partial<SimulatorSwitches> }): Promise<Record<string, SimServerInfo[]>> {
    const result: Record<string, SimServerInfo[]> = {};
    for (const name of args.sets) {
      const cluster = await sim.startCluster({ servers: args.servers, name, tls: true, switches: args.switches, rate: 0 });
      clusters.push(cluster);
      sets.set(name, cluster.servers);
      result[name] = cluster.servers.map((s) => ({ name: s.name, host: s.host, port: s.port, username: s.username, password: s.password, caPath: s.caPath ?? '' }));
    }
    return result;
  },

  /** One receiver per server of the set: `uri` with `{name}` replaced by the server's name. */
  receivers(args: { set: string; uri: string }): void {
    for (const server of set(args.set)) server.cdr.addReceiver(args.uri.replaceAll('{name}', encodeURIComponent(server.name)));
  },

  /** Switches of every server of every set (read when they matter: the next POST). */
  switches(args: Partial<SimulatorSwitches>): void {
    for (const servers of sets.values()) for (const server of servers) Object.assign(server.switches, args);
  },

  /**
   * The full record sequences of `calls` calls of `participants` people on each of the first
   * `count` servers of the set, into their receivers' buffers at once. `t` is taken once every
   * record is buffered: the first POSTs leave on the next turn of the event loop.
   */
  burst(args: { set: string; count?: number; calls: number; participants: number }): { t: number; records: number } {
    const servers = pick(args.set, args.count);
    const before = sum(servers.map((s) => s.cdr.stats())).records;
    for (const server of servers) server.cdr.burst(args.calls, args.participants);
    const t = wallNow();
    return { t, records: sum(servers.map((s) => s.cdr.stats())).records - before };
  },

  /** Resolves once every receiver of the set's first `count` servers has been answered 200 for all it holds. */
  async drained(args: { set: string; count?: number; timeoutMs: number }): Promise<{ t: number; stats: CdrStats }> {
    const servers = pick(args.set, args.count);
    await Promise.all(servers.map((s) => s.cdr.drained(args.timeoutMs)));
    return { t: wallNow(), stats: sum(servers.map((s) => s.cdr.stats())) };
  },

  stats(args: { set: string; count?: number }): CdrStats {
    return sum(pick(args.set, args.count).map((s) => s.cdr.stats()));
  },

  backlog(args: { set: string }): number {
    return set(args.set).reduce((n, s) => n + s.cdr.backlog(), 0);
  },

  async stop(): Promise<void> {
    await Promise.all(clusters.map((c) => c.stop()));
    setImmediate(() => process.exit(0));
  },
});

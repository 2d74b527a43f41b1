// Many simulated bridges in one process, one port each, each with its own world and traffic.
import { startSimulator } from './server.js';
import { startTraffic } from './traffic.js';
import type { SimulatedServer, SimulatorOptions } from './types.js';

export interface ClusterOptions extends SimulatorOptions {
  servers: number;
  /** Server i listens on basePort + i; default `port`, and 0 (any free port) when neither is set. */
  basePort?: number;
  /** Traffic per server, in approximate messages per second; default 0 (a quiet world). */
  rate?: number;
}

export interface Cluster {
  servers: SimulatedServer[];
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { servers: count, basePort, rate = 0, ...serverOptions } = options;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`servers must be an integer >= 1, not ${count}`);
  const base = basePort ?? serverOptions.port ?? 0;
  const prefix = serverOptions.name ?? 'cms';
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      startSimulator({ ...serverOptions, name: `${prefix}-${i + 1}`, port: base === 0 ? 0 : base + i }),
    ),
  );
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await Promise.all(servers.map((s) => s.close()));
    throw failure.reason;
  }
  const traffic = servers.map((s) => startTraffic(s.world, { rate }));
  return {
    servers,
    stop: async () => {
      for (const t of traffic) t.stop();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

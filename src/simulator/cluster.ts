// Many simulated bridges in one process, one port each, each with its own world and traffic;
// with `meetings`, the first two also form a CMS cluster that keeps meetings spread over both.
import { formBridgeCluster, type BridgeCluster } from './bridge-cluster.js';
import { startMeetingTraffic } from './meeting-traffic.js';
import { startSimulator } from './server.js';
import { startTraffic } from './traffic.js';
import type { SimulatedServer, SimulatorOptions } from './types.js';

export interface ClusterOptions extends SimulatorOptions {
  servers: number;
  /** Server i listens on basePort + i; default `port`, and 0 (any free port) when neither is set. */
  basePort?: number;
  /** Traffic per server, in approximate messages per second; default 0 (a quiet world). */
  rate?: number;
  /**
   * Meetings kept spread over the first two servers, which then form a BridgeCluster, played at
   * `rate` besides each server's own traffic; default 0. Needs at least two servers.
   */
  meetings?: number;
}

export interface Cluster {
  servers: SimulatedServer[];
  /** The first two servers as one CMS cluster, when `meetings` was asked for. */
  bridgeCluster?: BridgeCluster;
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { servers: count, basePort, rate = 0, meetings = 0, ...serverOptions } = options;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`servers must be an integer >= 1, not ${count}`);
  if (!Number.isSafeInteger(meetings) || meetings < 0) throw new RangeError(`meetings must be an integer >= 0, not ${meetings}`);
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
  const bridgeCluster = meetings > 0 && servers.length >= 2 ? formBridgeCluster(servers.slice(0, 2)) : undefined;
  // Each server's own traffic leaves the cluster's meetings to the meeting traffic.
  const leaveAlone = bridgeCluster ? (callId: string) => bridgeCluster.meetingOf(callId) !== undefined : undefined;
  const traffic = servers.map((s) => startTraffic(s.world, { rate, ...(leaveAlone ? { leaveAlone } : {}) }));
  if (bridgeCluster) traffic.push(startMeetingTraffic(bridgeCluster, { rate, meetings }));
  return {
    servers,
    ...(bridgeCluster ? { bridgeCluster } : {}),
    stop: async () => {
      for (const t of traffic) t.stop();
      bridgeCluster?.dissolve();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

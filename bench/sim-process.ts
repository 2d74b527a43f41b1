// The simulator side of every benchmark, in a process of its own: it hosts the simulated CMS
// servers, plays their traffic, counts (and, for the latency benchmark, time-stamps) every
// frame it sends, and takes the faults. The orchestrator drives it over IPC.
import type * as Simulator from '../src/simulator/index.js';
import type { SimulatedServer, SimulatorSwitches } from '../src/simulator/index.js';
import { wallNow } from './lib/clock.js';
import { serveCommands } from './lib/commands.js';
import { loadDist } from './lib/dist.js';
import { SampleBuffer } from './lib/stats.js';

const sim = await loadDist<typeof Simulator>('simulator/index.js');

export interface SimServerInfo {
  name: string;
  host: string;
  port: number;
  username: string;
  password: string;
  caPath: string;
}

export interface StartArgs {
  servers: number;
  /** Server i listens on basePort + i; any free ports when absent. */
  basePort?: number;
  /** Prefix of the server names (`<prefix>-<i>`), unique across simulator processes. */
  prefix: string;
  switches?: Partial<SimulatorSwitches>;
  /** Calls created on each server at start, each with `participants` connected participants. */
  calls?: number;
  participants?: number;
}

export interface Mark {
  /** Wall clock, ms. */
  t: number;
  sent: number;
  acks: number;
  open: number;
}

export interface FrameDump {
  names: string[];
  times: Float64Array[];
  ids: Float64Array[];
}

export interface Backlog {
  /** Messages waiting in the simulator's per-connection queues (not sent yet). */
  queued: number;
  /** Messages sent and not acked yet. */
  unacked: number;
  connections: number;
}

interface Fed {
  server: SimulatedServer;
  callId: string;
  participantId: string;
  muted: boolean;
}

let cluster: Simulator.Cluster | undefined;
let servers: SimulatedServer[] = [];
let sendTimes: SampleBuffer[] = [];
/** The message id of each recorded frame, beside its time. */
let sendIds: SampleBuffer[] = [];
let recording = false;
let sent = 0;
let sentBy: number[] = [];
let traffic: { stop(): void }[] = [];

/**
 * Keeps `depth` mute toggles ahead of the client: as many messages as it can take, and no more.
 * `server` limits it to one server (the throughput benchmarks feed one client at a time).
 */
let feed: { depth: number; produced: number; sentAtStart: number; scheduled: boolean; targets: Fed[]; server: number | undefined } | undefined;

const sentOf = (server: number | undefined): number => (server === undefined ? sent : sentBy[server]!);

function topUp(): void {
  if (!feed) return;
  feed.scheduled = false;
  const missing = feed.depth - (feed.produced - (sentOf(feed.server) - feed.sentAtStart));
  for (let i = 0; i < missing; i++) {
    const target = feed.targets[i % feed.targets.length]!;
    target.muted = !target.muted;
    target.server.world.updateParticipant(target.callId, target.participantId, { audioMuted: target.muted });
  }
  feed.produced += Math.max(0, missing);
}

function frameSent(index: number, messageId: number): void {
  sent++;
  sentBy[index]!++;
  if (recording) {
    sendTimes[index]!.push(wallNow());
    sendIds[index]!.push(messageId);
  }
  // Never mutate the world from inside the connection's send loop: top up on the next turn.
  if (feed && !feed.scheduled && feed.produced - (sentOf(feed.server) - feed.sentAtStart) < feed.depth / 2) {
    feed.scheduled = true;
    setImmediate(topUp);
  }
}

/** What the simulated servers still have to send (queued) or wait for (unacked), for the queue-growth figure. */
function backlog(): Backlog {
  let queued = 0;
  let unacked = 0;
  let connections = 0;
  for (const server of servers) {
    const stats = server.stats();
    queued += stats.queued;
    unacked += stats.unacked;
    connections += stats.openConnections;
  }
  return { queued, unacked, connections };
}

function populate(server: SimulatedServer, calls: number, participants: number): void {
  for (let c = 0; c < calls; c++) {
    const callId = server.world.createCall({ name: `Bench call ${c + 1}`, callType: 'coSpace' });
    for (let p = 0; p < participants; p++) {
      server.world.addParticipant(callId, {
        name: `Person ${p + 1}`,
        uri: `person.${p + 1}@example.com`,
        state: 'connected',
        direction: 'incoming',
        audioMuted: false,
        videoMuted: false,
        layout: 'allEqual',
      });
    }
  }
}

serveCommands({
  async start(args: StartArgs): Promise<SimServerInfo[]> {
    cluster = await sim.startCluster({
      servers: args.servers,
      ...(args.basePort === undefined ? {} : { basePort: args.basePort }),
      name: args.prefix,
      tls: true,
      switches: args.switches ?? {},
      rate: 0,
    });
    servers = cluster.servers;
    sendTimes = servers.map(() => new SampleBuffer());
    sendIds = servers.map(() => new SampleBuffer());
    sentBy = servers.map(() => 0);
    servers.forEach((server, index) => {
      server.onFrameSent = (_connectionId, messageId) => frameSent(index, messageId);
      populate(server, args.calls ?? 0, args.participants ?? 0);
    });
    return servers.map((s) => ({ name: s.name, host: s.host, port: s.port, username: s.username, password: s.password, caPath: s.caPath ?? '' }));
  },

  /** Counts of every server, or of one (by index). */
  mark(args?: { server?: number }): Mark {
    let acks = 0;
    let open = 0;
    const counted = args?.server === undefined ? servers : [servers[args.server]!];
    for (const server of counted) {
      const stats = server.stats();
      acks += stats.acksReceived;
      open += stats.openConnections;
    }
    return { t: wallNow(), sent: sentOf(args?.server), acks, open };
  },

  feed(args: { on: boolean; depth?: number; server?: number }): void {
    if (!args.on) {
      feed = undefined;
      return;
    }
    const targets: Fed[] = [];
    for (const server of args.server === undefined ? servers : [servers[args.server]!]) {
      for (const call of server.world.listCalls()) {
        for (const person of call.roster) targets.push({ server, callId: call.id, participantId: person.id, muted: person.audioMuted === true });
      }
    }
    if (targets.length === 0) throw new Error('feed: no participant to toggle');
    feed = { depth: args.depth ?? 256, produced: 0, sentAtStart: sentOf(args.server), scheduled: false, targets, server: args.server };
    topUp();
  },

  /**
   * Realistic meetings on every server, each with its own independent (Poisson) timing; the
   * starts are spread over one mean interval as well.
   */
  traffic(args: { rate: number; maxCalls?: number }): void {
    for (const t of traffic) t.stop();
    const intervalMs = Math.min(1000, Math.max(10, 1000 / args.rate));
    traffic = servers.map((s, i) => {
      let started: { stop(): void } | undefined;
      const timer = setTimeout(() => {
        started = sim.startTraffic(s.world, { rate: args.rate, ...(args.maxCalls ? { maxCalls: args.maxCalls } : {}) });
      }, (i * intervalMs) / servers.length);
      return {
        stop: () => {
          clearTimeout(timer);
          started?.stop();
        },
      };
    });
  },

  trafficStop(): void {
    for (const t of traffic) t.stop();
    traffic = [];
  },

  record(args: { on: boolean }): void {
    if (args.on) for (const buffer of [...sendTimes, ...sendIds]) buffer.clear();
    recording = args.on;
  },

  /** The recorded send times and message ids, one array per server, in server order. */
  dump(): FrameDump {
    return { names: servers.map((s) => s.name), times: sendTimes.map((b) => b.toArray()), ids: sendIds.map((b) => b.toArray()) };
  },

  backlog,

  /** Waits for every connection to have nothing queued or unacked. */
  async idle(args: { timeoutMs: number }): Promise<{ ms: number; drained: boolean }> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(servers.map((s) => s.idle())).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), args.timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return { ms: performance.now() - started, drained };
  },

  /**
   * Every server goes down (tokens and upgrades refused, sockets dropped); meanwhile each call
   * loses its participants and gains a new one, which the client must reconcile on return.
   */
  down(): { t: number; changes: { server: string; removed: string[]; added: string[] }[] } {
    for (const server of servers) server.faults.goDown();
    const t = wallNow();
    const changes = servers.map((server) => {
      const removed: string[] = [];
      const added: string[] = [];
      for (const call of server.world.listCalls()) {
        for (const person of call.roster) {
          server.world.removeParticipant(call.id, person.id, 'participantInitiated');
          removed.push(person.id);
        }
        added.push(
          server.world.addParticipant(call.id, { name: 'Returning Person', uri: 'returning@example.com', state: 'connected', direction: 'incoming', audioMuted: false }),
        );
      }
      return { server: server.name, removed, added };
    });
    return { t, changes };
  },

  up(): { t: number } {
    for (const server of servers) server.faults.comeUp();
    return { t: wallNow() };
  },

  violations(): { server: string; kind: string; detail: string }[] {
    return servers.flatMap((s) => s.violations().map((v) => ({ server: s.name, kind: v.kind, detail: v.detail })));
  },

  async stop(): Promise<void> {
    for (const t of traffic) t.stop();
    await cluster?.stop();
    setImmediate(() => process.exit(0));
  },
});

// Cluster mode (issue 15), against a real `nats-server -js` (bench/lib/nats.ts):
//   1. Takeover time. Two daemon instances in cluster mode follow a few simulated servers over
//      TLS (one call with one participant each, so every server has a snapshot). Once every
//      server is followed (GET /api/servers: every owner set, the owner's own entry live), the
//      instance following the most servers is killed (SIGKILL) or paused (SIGSTOP; woken with
//      SIGCONT and stopped after the measurement). Takeover time: from the signal until every
//      server it followed is live on the survivor (its /api/servers polled every 50 ms: owner
//      the survivor, state live); also from the signal to the survivor's `server.connected` line
//      for each (read from its stdout as it arrives: more precise than the poll), and from its
//      log line "server taken over" to that line: the CMS part of a takeover (token, connect,
//      subscribe, snapshot), which is the "connect and snapshot time" of the target
//      ≤ 2 × lease + connect and snapshot. Fresh NATS (new store) and fresh instances per run.
//   2. Lock-step throughput of one instance in cluster mode (leaseSeconds 6) against the daemon
//      without `cluster` (stateDir null), interleaved slices as in bench/scenarios/state.ts;
//      CPU per message of each daemon, and of nats-server for the cluster instance (the
//      journal it writes every event to).
import { loadavg } from 'node:os';
import { sleep, waitFor, wallNow } from '../lib/clock.js';
import { startDaemonClient, type Client } from '../lib/clients.js';
import { startRealDaemon, type RealDaemon } from '../lib/daemon.js';
import { cpuPerMessageUs, slice, type Slice } from '../lib/interleave.js';
import { startNatsServer, type NatsServer } from '../lib/nats.js';
import { cpuSecondsOf } from '../lib/proc.js';
import { fmt, loadNow, type BenchContext, type BenchResult, type Benchmark, type Row } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { median, percentile, round, sortedCopy } from '../lib/stats.js';

/** Simulated servers the two instances share in the takeover runs. */
const SERVERS = 4;
const LEASES = [3, 6];
const MODES = ['kill', 'pause'] as const;
type Mode = (typeof MODES)[number];
const POLL_MS = 50;
const THROUGHPUT_LEASE = 6;
/** The daemon's snapshot rule waits 300 ms for an empty roster; let it pass before measuring (as clients.ts). */
const SNAPSHOT_SETTLE_MS = 500;

interface ClusterEntry {
  name: string;
  state: string;
  owner: string | null;
}

async function clusterServers(daemon: RealDaemon): Promise<ClusterEntry[]> {
  return (await daemon.servers()) as unknown as ClusterEntry[];
}

/** One instance: the daemon, and what it printed that the figures need, with arrival times. */
interface Instance {
  name: string;
  daemon: RealDaemon;
  /** server → wall times its `server.connected` lines arrived on stdout. */
  connected: Map<string, number[]>;
  /** server → `server.disconnected` reasons with arrival times. */
  disconnected: Map<string, { at: number; reason: string }[]>;
  /** server → times (the log line's own `time`) of "server taken over". */
  takenOver: Map<string, number[]>;
  /** Log lines at warn or above (for the report of anything odd). */
  warnings: string[];
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

async function startInstance(name: string, sim: SimGroup, nats: NatsServer, leaseSeconds: number): Promise<Instance> {
  const daemon = await startRealDaemon({
    servers: sim.servers,
    label: `daemon ${name} (cluster)`,
    stateDir: null,
    cluster: { nats: nats.url, instance: name, leaseSeconds },
  });
  const instance: Instance = { name, daemon, connected: new Map(), disconnected: new Map(), takenOver: new Map(), warnings: [] };
  daemon.stdout.listen((line, arrivedAt) => {
    if (!line.includes('"server.')) return;
    try {
      const event = JSON.parse(line) as { type: string; server: string; reason?: string };
      if (event.type === 'server.connected') push(instance.connected, event.server, arrivedAt);
      else if (event.type === 'server.disconnected') push(instance.disconnected, event.server, { at: arrivedAt, reason: event.reason ?? '' });
    } catch {
      // Not an event line.
    }
  });
  let partial = '';
  daemon.proc.child.stderr!.on('data', (chunk: string) => {
    const text = partial + chunk;
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        const log = JSON.parse(line) as { level: number; time: number; msg: string; server?: string };
        if (log.msg.startsWith('server taken over') && log.server) push(instance.takenOver, log.server, log.time);
        if (log.level >= 40 && instance.warnings.length < 50) instance.warnings.push(line.slice(0, 400));
      } catch {
        // Not a log line.
      }
    }
  });
  return instance;
}

/** server → owner, when every server has an owner, both instances agree and each owner's own entry says live. */
async function allFollowed(instances: readonly Instance[], servers: number): Promise<Map<string, string> | undefined> {
  const views = await Promise.all(instances.map((i) => clusterServers(i.daemon)));
  if (views.some((v) => v.length !== servers)) return undefined;
  const owners = new Map(views[0]!.map((s) => [s.name, s.owner]));
  for (const view of views) for (const s of view) if (s.owner === null || owners.get(s.name) !== s.owner) return undefined;
  for (const [server, owner] of owners) {
    const at = instances.findIndex((i) => i.name === owner);
    if (at < 0) return undefined;
    if (views[at]!.find((s) => s.name === server)?.state !== 'live') return undefined;
  }
  return owners as Map<string, string>;
}

interface TakeoverRun {
  lease: number;
  mode: Mode;
  run: number;
  load: number;
  /** Servers the victim followed, and how the servers were shared before. */
  moved: number;
  share: Record<string, number>;
  /** Random wait before the signal, within a renewal interval. */
  jitterMs: number;
  /** Signal → every moved server live on the survivor (API poll), ms; NaN: never within the wait. */
  apiMs: number;
  /** Signal → the survivor's last `server.connected` for a moved server (stdout), ms. */
  connectedMs: number;
  /** Per moved server: signal → "server taken over" log line, and that line → server.connected. */
  perServer: { server: string; takenOverMs: number; connectSnapshotMs: number; connectedMs: number }[];
  /** Pause only: after SIGCONT, how many moved servers the woken instance reported leaseLost for, within 5 s. */
  leaseLostAfterWake?: number;
  /** Anything the survivor or victim logged at warn or above. */
  warnings: string[];
  error?: string;
}

async function takeoverRun(ctx: BenchContext, sim: SimGroup, lease: number, mode: Mode, run: number): Promise<TakeoverRun> {
  const nats = await startNatsServer();
  const instances: Instance[] = [];
  const result: TakeoverRun = { lease, mode, run, load: loadavg()[0]!, moved: 0, share: {}, jitterMs: 0, apiMs: Number.NaN, connectedMs: Number.NaN, perServer: [], warnings: [] };
  let victim: Instance | undefined;
  try {
    instances.push(await startInstance('a', sim, nats, lease), await startInstance('b', sim, nats, lease));
    const owners = await waitFor(() => allFollowed(instances, SERVERS), 'every server followed by one of the two instances', 60_000 + 4 * lease * 1000, 100);
    for (const i of instances) result.share[i.name] = [...owners.values()].filter((o) => o === i.name).length;
    // Let the first models be published (at most once a second after a snapshot), as in steady
    // running; then a random part of a renewal interval (a third of the lease), so that the
    // signal falls at any point of the victim's renewal cycle, not always at the same one.
    result.jitterMs = Math.round(Math.random() * ((lease * 1000) / 3));
    await sleep(1200 + result.jitterMs);
    victim = instances[0]!;
    for (const i of instances) if (result.share[i.name]! > result.share[victim.name]!) victim = i;
    const survivor = instances.find((i) => i !== victim)!;
    const moved = [...owners].filter(([, o]) => o === victim!.name).map(([s]) => s);
    result.moved = moved.length;

    const signalAt = wallNow();
    victim.daemon.proc.child.kill(mode === 'kill' ? 'SIGKILL' : 'SIGSTOP');
    const liveAt = new Map<string, number>();
    const deadline = signalAt + 4 * lease * 1000 + 30_000;
    while (liveAt.size < moved.length && wallNow() < deadline) {
      const view = await clusterServers(survivor.daemon);
      const now = wallNow();
      for (const s of view) if (moved.includes(s.name) && s.owner === survivor.name && s.state === 'live' && !liveAt.has(s.name)) liveAt.set(s.name, now);
      await sleep(POLL_MS);
    }
    if (liveAt.size < moved.length) result.error = `only ${liveAt.size} of ${moved.length} servers live on the survivor ${4 * lease + 30} s after the signal`;
    else result.apiMs = Math.max(...[...liveAt.values()].map((t) => t - signalAt));
    // The stdout line may trail the API by a moment.
    await sleep(200);
    const connectedAfter = (server: string) => survivor.connected.get(server)?.find((t) => t >= signalAt);
    const takenOverAfter = (server: string) => survivor.takenOver.get(server)?.find((t) => t >= signalAt - 5);
    for (const server of moved) {
      const connected = connectedAfter(server);
      const taken = takenOverAfter(server);
      result.perServer.push({
        server,
        takenOverMs: taken === undefined ? Number.NaN : taken - signalAt,
        connectSnapshotMs: taken === undefined || connected === undefined ? Number.NaN : connected - taken,
        connectedMs: connected === undefined ? Number.NaN : connected - signalAt,
      });
    }
    if (result.perServer.every((p) => Number.isFinite(p.connectedMs))) result.connectedMs = Math.max(...result.perServer.map((p) => p.connectedMs));
    if (mode === 'pause') {
      const wokenAt = wallNow();
      victim.daemon.proc.child.kill('SIGCONT');
      await waitFor(
        () => moved.every((s) => victim!.disconnected.get(s)?.some((d) => d.at >= wokenAt && d.reason === 'leaseLost')) || wallNow() - wokenAt > 5000,
        'the woken instance to give its servers up',
        10_000,
        50,
      );
      result.leaseLostAfterWake = moved.filter((s) => victim!.disconnected.get(s)?.some((d) => d.at >= wokenAt && d.reason === 'leaseLost')).length;
      // Nobody else on the survivor's servers: the woken instance must not claim any of them.
      const view = await clusterServers(victim.daemon);
      const claimed = view.filter((s) => s.owner === victim!.name && s.state === 'live').map((s) => s.name);
      if (claimed.length > 0) result.error = `${result.error ? `${result.error}; ` : ''}the woken instance still says it follows ${claimed.join(', ')}`;
    }
    const p = result.perServer;
    ctx.log(
      `  lease ${lease} s, ${mode === 'kill' ? 'kill -9' : 'SIGSTOP'}, run ${run} (load ${loadNow()}): share ${JSON.stringify(result.share)}, ${moved.length} moved; all live (API) ${fmt.s(result.apiMs)}, last server.connected ${fmt.s(result.connectedMs)};` +
        ` taken over at ${p.map((x) => fmt.s(x.takenOverMs)).join(' ')}; connect+snapshot ${p.map((x) => fmt.ms(x.connectSnapshotMs, 0)).join(' ')}` +
        (result.leaseLostAfterWake !== undefined ? `; woken: leaseLost for ${result.leaseLostAfterWake}/${moved.length}` : '') +
        (result.error ? `; PROBLEM: ${result.error}` : ''),
    );
  } catch (error) {
    result.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
    ctx.log(`  lease ${lease} s, ${mode}, run ${run}: FAILED: ${result.error}`);
    for (const i of instances) ctx.log(`    ${i.name} stderr tail:\n${i.daemon.proc.tail(8)}`);
  } finally {
    for (const i of instances) result.warnings.push(...i.warnings.map((w) => `${i.name}: ${w}`));
    if (victim && mode === 'pause' && victim.daemon.proc.running) victim.daemon.proc.child.kill('SIGCONT');
    await Promise.all(instances.map((i) => i.daemon.proc.stop('SIGTERM', 15_000)));
    await nats.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see every instance go', 30_000, 50);
  }
  return result;
}

/** Contender B: one instance in cluster mode, its own fresh nats-server; ready once it owns its server and it is live. */
async function startClusterClient(server: SimGroup['servers'][number], natsCpu: { pid: number }): Promise<Client> {
  const nats = await startNatsServer();
  natsCpu.pid = nats.proc.pid!;
  const daemon = await startRealDaemon({ servers: [server], label: 'daemon (cluster)', stateDir: null, cluster: { nats: nats.url, instance: 'solo', leaseSeconds: THROUGHPUT_LEASE } });
  const stop = async () => {
    await daemon.proc.stop();
    await nats.stop();
  };
  try {
    await waitFor(
      async () => {
        if (!daemon.proc.running) throw new Error(`the cluster daemon exited\n${daemon.proc.tail()}`);
        const list = await clusterServers(daemon);
        return list.length === 1 && list[0]!.owner === 'solo' && list[0]!.state === 'live';
      },
      'the cluster instance to follow its server',
      60_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  await sleep(SNAPSHOT_SETTLE_MS);
  return { kind: 'daemon', proc: daemon.proc, lines: () => daemon.stdout.lines, stop };
}

interface ThroughputFigures {
  ratios: number[];
  single: Slice[];
  cluster: Slice[];
  /** nats-server CPU µs per message of the cluster instance's slices. */
  natsUs: number[];
  loads: number[];
}

/** Interleaved slices as bench/lib/interleave.ts does, with nats-server's CPU metered over the cluster instance's slices. */
async function throughput(ctx: BenchContext, runs: number): Promise<ThroughputFigures> {
  const sim = await SimGroup.start({ servers: 2, switches: { ackWindow: 1 }, calls: 1, participants: 1, label: 'simulator (cluster lock-step)' });
  const sliceMs = ctx.quick ? 1000 : 1500;
  const rounds = 4;
  const depth = 64;
  const out: ThroughputFigures = { ratios: [], single: [], cluster: [], natsUs: [], loads: [] };
  try {
    for (let run = 0; run < runs; run++) {
      const natsCpu = { pid: 0 };
      const clients: Client[] = [];
      const slices: Slice[][] = [[], []];
      const nats: number[] = [];
      try {
        clients.push(await startDaemonClient([sim.servers[0]!], { label: 'daemon (single)', stateDir: null }));
        clients.push(await startClusterClient(sim.servers[1]!, natsCpu));
        for (const [i, client] of clients.entries()) await slice(sim, i, client, depth, sliceMs);
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 1 ? [1, 0] : [0, 1];
          for (const i of order) {
            const cpu0 = cpuSecondsOf(natsCpu.pid);
            const t0 = wallNow();
            const s = await slice(sim, i, clients[i]!, depth, sliceMs);
            const natsSeconds = cpuSecondsOf(natsCpu.pid) - cpu0;
            slices[i]!.push(s);
            // Over the whole slice call (settle included), per message sent meanwhile at the slice's rate.
            if (i === 1) nats.push((natsSeconds / (s.messagesPerSecond * ((wallNow() - t0) / 1000))) * 1e6);
          }
        }
      } finally {
        for (const client of clients) await client.stop();
        await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see every client go', 30_000, 50);
      }
      const [single, cluster] = slices as [Slice[], Slice[]];
      const ratio = median(cluster.map((c, k) => c.messagesPerSecond / single[k]!.messagesPerSecond));
      out.ratios.push(ratio);
      out.single.push(...single);
      out.cluster.push(...cluster);
      out.natsUs.push(...nats);
      out.loads.push(loadavg()[0]!);
      ctx.log(
        `  lock-step run ${run + 1}/${runs} (load ${loadNow()}): single ${single.map((s) => Math.round(s.messagesPerSecond)).join(' ')} | cluster ${cluster.map((s) => Math.round(s.messagesPerSecond)).join(' ')} messages/s → ${fmt.ratio(ratio)};` +
          ` cpu per message: single ${median(single.map(cpuPerMessageUs)).toFixed(1)} µs, cluster ${median(cluster.map(cpuPerMessageUs)).toFixed(1)} µs + nats-server ${median(nats).toFixed(1)} µs`,
      );
    }
    const violations = (await sim.all<unknown[]>('violations')).flat();
    if (violations.length > 0) ctx.log(`  simulator violations: ${JSON.stringify(violations.slice(0, 5))}`);
  } finally {
    await sim.stop();
  }
  return out;
}

const finite = (values: number[]) => values.filter((v) => Number.isFinite(v));
const p50 = (values: number[]) => percentile(sortedCopy(finite(values)), 50);
const max = (values: number[]) => (finite(values).length ? Math.max(...finite(values)) : Number.NaN);

export const cluster: Benchmark = {
  name: 'cluster',
  title: 'Cluster mode: takeover time after kill -9 / SIGSTOP, lock-step throughput against a single process',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = ctx.runs ?? (ctx.quick ? 3 : 10);
    const takeovers: TakeoverRun[] = [];
    for (const lease of LEASES) {
      const sim = await SimGroup.start({ servers: SERVERS, calls: 1, participants: 1, label: `simulator (cluster takeover, lease ${lease} s)` });
      try {
        for (const mode of MODES) for (let run = 1; run <= runs; run++) takeovers.push(await takeoverRun(ctx, sim, lease, mode, run));
        const violations = (await sim.all<unknown[]>('violations')).flat();
        if (violations.length > 0) ctx.log(`  simulator violations: ${JSON.stringify(violations.slice(0, 5))}`);
      } finally {
        await sim.stop();
      }
    }
    const tpRuns = ctx.runs ?? (ctx.quick ? 1 : 3);
    const tp = await throughput(ctx, tpRuns);

    // Connect and snapshot: the survivor's "server taken over" line → its server.connected, every moved server of every run.
    const connectSnapshot = takeovers.flatMap((t) => t.perServer.map((p) => p.connectSnapshotMs));
    const connectSnapshotMs = p50(connectSnapshot);
    const rows: Row[] = [];
    const summary: Record<string, unknown>[] = [];
    for (const lease of LEASES) {
      for (const mode of MODES) {
        const set = takeovers.filter((t) => t.lease === lease && t.mode === mode);
        const target = 2 * lease * 1000 + connectSnapshotMs;
        const api = set.map((t) => t.apiMs);
        const connected = set.map((t) => t.connectedMs);
        const takenOver = set.flatMap((t) => t.perServer.map((p) => p.takenOverMs));
        const failed = set.filter((t) => t.error !== undefined).length;
        const worst = max(api);
        const label = mode === 'kill' ? 'kill -9' : 'SIGSTOP';
        ctx.log(`  lease ${lease} s, ${label}: all live (API) p50 ${fmt.s(p50(api))}, max ${fmt.s(worst)}; last server.connected p50 ${fmt.s(p50(connected))}, max ${fmt.s(max(connected))}; signal → "server taken over" ${fmt.s(Math.min(...finite(takenOver)))}–${fmt.s(max(takenOver))} (p50 ${fmt.s(p50(takenOver))}); ${failed} failed`);
        summary.push({ lease, mode, runs: set.length, failed, apiP50: round(p50(api)), apiMax: round(worst), connectedP50: round(p50(connected)), connectedMax: round(max(connected)), takenOverP50: round(p50(takenOver)), takenOverMin: round(Math.min(...finite(takenOver))), takenOverMax: round(max(takenOver)), targetMs: round(target) });
        rows.push({
          benchmark: 'cluster',
          figure: `takeover, lease ${lease} s, ${label}: p50 / max (API live)`,
          value: `${fmt.s(p50(api))} / ${fmt.s(worst)}`,
          baseline: `${fmt.s(p50(connected))} / ${fmt.s(max(connected))} (stdout)`,
          ratio: '',
          target: `≤ ${fmt.s(target)}`,
          verdict: failed === 0 && worst <= target ? 'met' : 'missed',
          runs: `${set.length}${failed ? ` (${failed} failed)` : ''}`,
        });
      }
    }
    rows.push({ benchmark: 'cluster', figure: 'connect+snapshot (taken-over line → server.connected)', value: fmt.ms(connectSnapshotMs, 0), baseline: '', ratio: '', target: '', verdict: 'info', runs: `${finite(connectSnapshot).length} servers` });
    const ratio = median(tp.ratios);
    const singleCpu = median(tp.single.map(cpuPerMessageUs));
    const clusterCpu = median(tp.cluster.map(cpuPerMessageUs));
    const natsCpu = median(tp.natsUs);
    const samples = `${tp.ratios.length}×4 slices`;
    rows.push(
      { benchmark: 'cluster', figure: 'lock-step messages/s, cluster / single', value: fmt.rate(median(tp.cluster.map((s) => s.messagesPerSecond))), baseline: fmt.rate(median(tp.single.map((s) => s.messagesPerSecond))), ratio: fmt.ratio(ratio), target: '', verdict: 'info', runs: samples },
      { benchmark: 'cluster', figure: 'CPU per message, cluster / single (daemon)', value: `${clusterCpu.toFixed(1)} µs`, baseline: `${singleCpu.toFixed(1)} µs`, ratio: fmt.ratio(clusterCpu / singleCpu), target: '', verdict: 'info', runs: samples },
      { benchmark: 'cluster', figure: 'CPU per message of nats-server (cluster)', value: `${natsCpu.toFixed(1)} µs`, baseline: '', ratio: '', target: '', verdict: 'info', runs: samples },
    );
    const strip = ({ from: _from, to: _to, ...s }: Slice) => ({ ...s, messagesPerSecond: round(s.messagesPerSecond) });
    return {
      rows,
      data: {
        servers: SERVERS,
        connectSnapshotMsP50: round(connectSnapshotMs),
        takeover: summary,
        takeoverRuns: takeovers.map((t) => ({ ...t, load: round(t.load, 2), apiMs: round(t.apiMs), connectedMs: round(t.connectedMs), perServer: t.perServer.map((p) => ({ server: p.server, takenOverMs: round(p.takenOverMs), connectSnapshotMs: round(p.connectSnapshotMs), connectedMs: round(p.connectedMs) })) })),
        throughput: {
          ratios: tp.ratios.map((r) => round(r, 3)),
          cpuPerMessageUs: { single: round(singleCpu, 1), cluster: round(clusterCpu, 1), natsServer: round(natsCpu, 1) },
          loads: tp.loads.map((l) => round(l, 2)),
          single: tp.single.map(strip),
          cluster: tp.cluster.map(strip),
        },
      },
    };
  },
};

// Target 4: latency under load. A hundred servers play realistic meetings (startTraffic),
// 5,000 messages/s in total, in lock-step as CMS does. Latency runs from the simulator writing
// a frame (its onFrameSent hook: server, message id, wall clock) to the event's line, on the
// same wall clock in both processes.
//
// Matching an event with its frame: a hub tap gets every event with the id of the CMS message
// it came from (see daemon-driver.ts), and the simulator records when it sent each id. (Matching
// by time instead, with the last frame sent before the event, is wrong often enough to matter:
// onFrameSent fires after ws.send() returns, and a simulator preempted right there stamps the
// frame after the client already handled it.) Three times per event:
//   - handed: the tap runs right after the sinks were handed the event's line (just after the
//     message's ack, in the same tick);
//   - written: the stdout sink's write that carries the line (after its about 1 ms of
//     buffering; a write to a pipe is synchronous in Node on Linux). The target, "to the
//     event's line being written", is judged on this one;
//   - read: the orchestrator reads the driver's stdout and stamps each line as it arrives. It
//     adds the pipe and the wake-up of the reading process, which on 2 shared cores is the
//     scheduler's noise more than the daemon's work.
// The k-th line read is the k-th event handed over (one sink, in order); the server of every
// line is checked against the driver's record.
import { loadavg } from 'node:os';
import type { DriverStatus, HandedDump, SinkChoice } from '../daemon-driver.js';
import { sleep, waitFor, wallNow } from '../lib/clock.js';
import { cpuProfileFlags, mainThreadProfile, startDriverClient, startRawClient, type Client, type DriverClient } from '../lib/clients.js';
import { formatSummary, readProfile, summarize } from '../lib/cpuprofile.js';
import { fmt, profilesDir, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { CpuMeter } from '../lib/proc.js';
import { SimGroup } from '../lib/sim-group.js';
import { mean, median, percentile, round, SampleBuffer, sortedCopy } from '../lib/stats.js';

const SERVERS = 100;
const TOTAL_RATE = 5_000;
const P99_TARGET_MS = 10;

interface LatencyRun {
  kind: 'raw' | 'daemon';
  /** Events (daemon) or messages (raw) measured. */
  samples: number;
  messagesPerSecond: number;
  /** Frame sent → line handed to the stdout sink (daemon only). */
  handed?: { p50: number; p99: number; max: number };
  /** Frame sent → the write to stdout that carried the line (daemon only). */
  written?: Latencies;
  /** Frame sent → line read from the pipe (daemon), or → message parsed (raw). */
  read: Latencies;
  /** The 1-minute load average at the end of the run. */
  load: number;
  /** CPU of the client and of the simulator over the window, in fractions of one core. */
  cpu: { client: number; simulator: number };
  backlog: { first: number; last: number; max: number; firstThirdMean: number; lastThirdMean: number } | null;
  drainMs: number;
  drained: boolean;
  loopDelayP99Max?: number;
  /** Garbage-collection pauses in the daemon over the window: longest, and share of the time. */
  gc?: { maxMs: number; share: number };
  sinkBacklogMax?: number;
  /** Lines that could not be matched with the driver's stamps (must be 0). */
  joinErrors?: number;
}

/** Index of the last element <= value in an ascending array, or -1. */
function lastAtOrBefore(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low - 1;
}

interface Latencies {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** Share of samples above the p99 target. */
  overTarget: number;
}

function summary(latencies: SampleBuffer): Latencies {
  const sorted = sortedCopy(latencies.toArray());
  const over = sorted.length - (lastAtOrBefore(sorted, P99_TARGET_MS) + 1);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    overTarget: over / Math.max(1, sorted.length),
  };
}

const TYPE = /"type":"([^"]+)"/;
const SERVER = /"server":"([^"]*)"/;

/** What the orchestrator reads from the driver's stdout, line by line. */
class ReadSide {
  readonly at = new SampleBuffer();
  readonly server = new SampleBuffer();
  readonly fromFrame = new SampleBuffer();
  constructor(private readonly index: Map<string, number>) {}

  // The reader shares the 2 cores with the daemon and the simulator, so it reads only what it
  // needs from each line, without JSON.parse: the first "type" and "server" of an event line
  // are its own (they come before the nested objects), and the bench's server names need no
  // escaping.
  take = (line: string, arrivedAt: number): void => {
    const type = TYPE.exec(line)?.[1];
    const server = SERVER.exec(line)?.[1];
    this.at.push(arrivedAt);
    // Not an event: its server (-1) never matches the driver's record, so it counts as a join error.
    this.server.push(server === undefined ? -1 : (this.index.get(server) ?? -1));
    // server.* events are not caused by a frame.
    this.fromFrame.push(type === undefined || type.startsWith('server.') ? 0 : 1);
  };
}

async function sampleLoop(sim: SimGroup, client: Client, stopAt: number, backlogs: number[], statuses: DriverStatus[]): Promise<void> {
  while (wallNow() < stopAt - 1000) {
    await sleep(1000);
    const backlog = await sim.backlog();
    backlogs.push(backlog.queued + backlog.unacked);
    if (client.kind === 'daemon') statuses.push(await (client as DriverClient).status());
  }
  await sleep(Math.max(0, stopAt - wallNow()));
}

async function measureRun(ctx: BenchContext, sim: SimGroup, kind: 'raw' | 'daemon', rate: number, nodeFlags: string[] = [], sinks: SinkChoice = 'stdout'): Promise<LatencyRun> {
  const warmMs = ctx.quick ? 3000 : 5000;
  const windowMs = ctx.quick ? 8000 : 20_000;
  const index = new Map(sim.servers.map((s, i) => [s.name, i]));
  const readSide = new ReadSide(index);
  const client =
    kind === 'raw'
      ? await startRawClient(sim.servers, { record: true, label: 'raw client (latency)' })
      : await startDriverClient(sim.servers, { record: true, onLine: readSide.take, nodeFlags, sinks, label: 'daemon driver (latency)' });
  const backlogs: number[] = [];
  const statuses: DriverStatus[] = [];
  let run: LatencyRun;
  try {
    await sleep(warmMs);
    if (client.kind === 'daemon') await (client as DriverClient).status();
    await sim.all('record', { on: true });
    const m0 = await sim.mark();
    const cpu = new CpuMeter([client.proc.pid, sim.pids[0]!]);
    const from = wallNow();
    await sampleLoop(sim, client, from + windowMs, backlogs, statuses);
    const to = wallNow();
    const use = cpu.read();
    await sim.all('record', { on: false });
    const m1 = await sim.mark();
    await sim.all('trafficStop');
    const drain = (await sim.all<{ ms: number; drained: boolean }>('idle', { timeoutMs: 10_000 })).reduce((a, b) => ({ ms: Math.max(a.ms, b.ms), drained: a.drained && b.drained }));
    const sent = await sim.dump();
    // Per server: message id → when the simulator sent it (frames sent within the window only).
    const sentAt = sent.times.map((times, s) => {
      const byId = new Map<number, number>();
      times.forEach((t, i) => {
        if (t >= from && t <= to) byId.set(sent.ids[s]![i]!, t);
      });
      return byId;
    });
    const handed = new SampleBuffer();
    const written = new SampleBuffer();
    const read = new SampleBuffer();
    let joinErrors = 0;
    if (client.kind === 'raw') {
      const received = await client.proc.call<{ times: Float64Array[]; ids: Float64Array[] }>('dump');
      received.times.forEach((times, s) => {
        times.forEach((at, i) => {
          const t = sentAt[s]!.get(received.ids[s]![i]!);
          if (t !== undefined) read.push(at - t);
        });
      });
    } else {
      const stamps = await client.proc.call<HandedDump>('dump');
      const lines = readSide.at.length;
      const reads = readSide.at.toArray();
      const readServer = readSide.server.toArray();
      const fromFrame = readSide.fromFrame.toArray();
      // The k-th line on stdout is the k-th event the hub handed to its one sink.
      for (let k = 0; k < stamps.at.length && k < lines; k++) {
        if (stamps.server[k] !== readServer[k]) {
          joinErrors++;
          continue;
        }
        if (!fromFrame[k]) continue;
        const s = stamps.server[k]!;
        // The hub's tap gives the id of the message each event came from (-1: none).
        const t = stamps.messageId[k]! >= 0 ? sentAt[s]!.get(stamps.messageId[k]!) : undefined;
        if (t === undefined) continue;
        handed.push(stamps.at[k]! - t);
        written.push(stamps.flushedAt[k]! - t);
        read.push(reads[k]! - t);
      }
      joinErrors += Math.abs(stamps.at.length - lines) + Math.abs(stamps.flushedAt.length - lines);
    }
    const third = Math.max(1, Math.floor(backlogs.length / 3));
    run = {
      kind,
      samples: read.length,
      messagesPerSecond: (m1.sent - m0.sent) / ((m1.t - m0.t) / 1000),
      read: summary(read),
      load: loadavg()[0]!,
      cpu: { client: use.get(client.proc.pid)!, simulator: use.get(sim.pids[0]!)! },
      backlog: backlogs.length
        ? {
            first: backlogs[0]!,
            last: backlogs[backlogs.length - 1]!,
            max: Math.max(...backlogs),
            firstThirdMean: mean(backlogs.slice(0, third)),
            lastThirdMean: mean(backlogs.slice(-third)),
          }
        : null,
      drainMs: drain.ms,
      drained: drain.drained,
    };
    if (client.kind === 'daemon') {
      const h = summary(handed);
      run.handed = { p50: h.p50, p99: h.p99, max: h.max };
      run.written = summary(written);
      run.loopDelayP99Max = Math.max(...statuses.map((s) => s.loopDelayP99));
      run.gc = {
        maxMs: Math.max(...statuses.map((s) => s.gc.maxMs)),
        share: statuses.reduce((sum, s) => sum + s.gc.totalMs, 0) / (to - from),
      };
      run.sinkBacklogMax = Math.max(...statuses.map((s) => s.sinkBacklog));
      run.joinErrors = joinErrors;
    }
  } finally {
    await client.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see the client go', 20_000, 50);
    await sim.all('traffic', { rate });
  }
  return run;
}

/** The traffic generator's rate is a budget in approximate messages; find the rate that gives 5,000/s. */
async function calibrate(ctx: BenchContext, sim: SimGroup): Promise<{ rate: number; measured: number }> {
  let rate = TOTAL_RATE / SERVERS;
  await sim.all('traffic', { rate });
  const client = await startRawClient(sim.servers, { label: 'raw client (calibration)' });
  let measured = 0;
  try {
    for (let step = 0; step < 4; step++) {
      await sleep(1000);
      const m0 = await sim.mark();
      await sleep(ctx.quick ? 2000 : 3000);
      const m1 = await sim.mark();
      measured = (m1.sent - m0.sent) / ((m1.t - m0.t) / 1000);
      if (Math.abs(measured - TOTAL_RATE) / TOTAL_RATE < 0.05) break;
      rate = Math.min(rate * 3, Math.max(rate / 3, (rate * TOTAL_RATE) / Math.max(1, measured)));
      await sim.all('traffic', { rate });
    }
  } finally {
    await client.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see the client go', 20_000, 50);
  }
  return { rate, measured };
}

export const latency: Benchmark = {
  name: 'latency',
  title: `Latency under load: ${SERVERS} servers, ${TOTAL_RATE.toLocaleString('en-US')} messages/s`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = ctx.runs ?? (ctx.quick ? 1 : 3);
    const sim = await SimGroup.start({ servers: SERVERS, label: 'simulator (latency)' });
    const results: LatencyRun[] = [];
    const data: Record<string, unknown> = { servers: SERVERS };
    try {
      const calibration = await calibrate(ctx, sim);
      data.trafficRatePerServer = round(calibration.rate, 1);
      ctx.log(`  traffic: rate ${calibration.rate.toFixed(1)} per server gave ${fmt.rate(calibration.measured)} to the raw client`);
      for (let run = 0; run < runs; run++) {
        const order: ('raw' | 'daemon')[] = run % 2 === 0 ? ['daemon', 'raw'] : ['raw', 'daemon'];
        for (const kind of order) {
          const figure = await measureRun(ctx, sim, kind, calibration.rate);
          results.push(figure);
          const b = figure.backlog;
          ctx.log(
            `  run ${run + 1}/${runs} ${kind.padEnd(6)} (load ${figure.load.toFixed(1)}, cpu ${fmt.pct(figure.cpu.client, 0)}) ${fmt.rate(figure.messagesPerSecond)} messages, ${figure.samples} samples: ` +
              (figure.handed ? `handed to stdout p50 ${fmt.ms(figure.handed.p50)} p99 ${fmt.ms(figure.handed.p99)}; ` : '') +
              (figure.written ? `written p50 ${fmt.ms(figure.written.p50)} p99 ${fmt.ms(figure.written.p99)} (${fmt.pct(figure.written.overTarget, 1)} over ${P99_TARGET_MS} ms); ` : '') +
              `${kind === 'raw' ? 'parsed' : 'read from pipe'} p50 ${fmt.ms(figure.read.p50)} p90 ${fmt.ms(figure.read.p90)} p99 ${fmt.ms(figure.read.p99)} max ${fmt.ms(figure.read.max)} (${fmt.pct(figure.read.overTarget, 1)} over ${P99_TARGET_MS} ms); ` +
              `simulator backlog ${b ? `${b.first}→${b.last} (max ${b.max})` : 'n/a'}, drained in ${fmt.ms(figure.drainMs, 0)}` +
              (figure.loopDelayP99Max !== undefined ? `, event-loop delay p99 ≤ ${fmt.ms(figure.loopDelayP99Max, 1)}` : '') +
              (figure.gc ? `, GC pauses ≤ ${fmt.ms(figure.gc.maxMs, 1)} (${fmt.pct(figure.gc.share, 1)} of the time)` : '') +
              (figure.joinErrors ? `, ${figure.joinErrors} JOIN ERRORS` : ''),
          );
        }
      }
      if (ctx.profile) {
        const dir = profilesDir(ctx);
        const { flags, folder } = cpuProfileFlags(dir, 'latency-driver');
        await measureRun(ctx, sim, 'daemon', calibration.rate, flags);
        const file = mainThreadProfile(folder);
        if (file) {
          const profile = summarize(readProfile(file), { top: 30 });
          data.profile = { file: file.slice(dir.length + 1), ...profile };
          ctx.log(formatSummary(profile, '  CPU profile of the daemon driver under load'));
        }
        // What writing stdout at most every 2 ms (instead of every turn) would do to latency.
        const coalesced = await measureRun(ctx, sim, 'daemon', calibration.rate, [], 'coalesced');
        data.coalescedStdout = coalesced;
        ctx.log(
          `  with a 2 ms coalescing stdout sink: written p50 ${fmt.ms(coalesced.written?.p50 ?? Number.NaN)} p99 ${fmt.ms(coalesced.written?.p99 ?? Number.NaN)}; read from pipe p50 ${fmt.ms(coalesced.read.p50)} p99 ${fmt.ms(coalesced.read.p99)}; ` +
            `event-loop delay p99 ≤ ${fmt.ms(coalesced.loopDelayP99Max ?? Number.NaN, 1)} (load ${coalesced.load.toFixed(1)})`,
        );
      }
      data.violations = (await sim.all<unknown[]>('violations')).flat().slice(0, 20);
    } finally {
      await sim.stop();
    }
    const daemon = results.filter((r) => r.kind === 'daemon');
    const raw = results.filter((r) => r.kind === 'raw');
    const med = (list: LatencyRun[], pick: (r: LatencyRun) => number) => median(list.map(pick));
    const writtenP99 = med(daemon, (r) => r.written?.p99 ?? Number.NaN);
    const noGrowth = (r: LatencyRun) => r.drained && r.drainMs <= 1000 && (!r.backlog || r.backlog.lastThirdMean <= r.backlog.firstThirdMean + SERVERS);
    data.runs = results;
    const n = `${daemon.length}+${raw.length}`;
    return {
      data,
      rows: [
        { benchmark: 'latency', figure: 'delivered messages/s', value: fmt.rate(med(daemon, (r) => r.messagesPerSecond)), baseline: fmt.rate(med(raw, (r) => r.messagesPerSecond)), ratio: '', target: `${TOTAL_RATE.toLocaleString('en-US')}/s offered`, verdict: 'info', runs: n },
        { benchmark: 'latency', figure: 'CPU of the client process', value: fmt.pct(med(daemon, (r) => r.cpu.client), 0), baseline: fmt.pct(med(raw, (r) => r.cpu.client), 0), ratio: '', target: '', verdict: 'info', runs: n },
        // The raw client writes nothing: its figures are frame → message parsed.
        { benchmark: 'latency', figure: 'p50 frame → line written', value: fmt.ms(med(daemon, (r) => r.written?.p50 ?? Number.NaN)), baseline: fmt.ms(med(raw, (r) => r.read.p50)), ratio: '', target: '', verdict: 'info', runs: n },
        { benchmark: 'latency', figure: 'p99 frame → line written', value: fmt.ms(writtenP99), baseline: fmt.ms(med(raw, (r) => r.read.p99)), ratio: '', target: `≤ ${P99_TARGET_MS} ms`, verdict: writtenP99 <= P99_TARGET_MS ? 'met' : 'missed', runs: n },
        {
          benchmark: 'latency',
          figure: 'p50 / p99 frame → handed to stdout',
          value: `${fmt.ms(med(daemon, (r) => r.handed?.p50 ?? Number.NaN))} / ${fmt.ms(med(daemon, (r) => r.handed?.p99 ?? Number.NaN))}`,
          baseline: '',
          ratio: '',
          target: '',
          verdict: 'info',
          runs: `${daemon.length}`,
        },
        { benchmark: 'latency', figure: 'p50 / p99 frame → line read by the reader', value: `${fmt.ms(med(daemon, (r) => r.read.p50))} / ${fmt.ms(med(daemon, (r) => r.read.p99))}`, baseline: '', ratio: '', target: '', verdict: 'info', runs: `${daemon.length}` },
        {
          benchmark: 'latency',
          figure: 'queue growth (simulator backlog, drain)',
          value: daemon.map((r) => `${r.backlog ? `${r.backlog.first}→${r.backlog.last}` : '?'}, ${fmt.ms(r.drainMs, 0)}`).join('; '),
          baseline: raw.map((r) => `${r.backlog ? `${r.backlog.first}→${r.backlog.last}` : '?'}, ${fmt.ms(r.drainMs, 0)}`).join('; '),
          ratio: '',
          target: 'none',
          verdict: daemon.every(noGrowth) ? 'met' : 'missed',
          runs: n,
        },
      ],
    };
  },
};

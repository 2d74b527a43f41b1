// Targets 1 and 2: messages per second through one server whose single participant toggles
// mute as fast as the client acks, in lock-step (ack window 1, how CMS behaves) and pipelined
// (window 64). The simulator counts the frames it sends.
//
// This machine is shared: other work comes and goes within seconds. So the raw baseline and the
// daemon are connected at the same time, each to its own simulated server in the same simulator
// process, and the traffic is switched from one to the other in short slices (raw, daemon,
// daemon, raw, …). Each slice is one sample; the ratio is the median of the ratios of adjacent
// slices, so that a burst of foreign load hits both sides of a ratio alike. The whole is
// repeated with fresh processes (`runs`).
//
// The daemon's stdout is read by this process, which parses every line as a real consumer does
// (bench/lib/lines.ts), so the consumer's share of the two cores counts against the daemon as it
// would in production. CPU per message (user + system time of the client process over a slice,
// divided by the messages of that slice) is reported beside the ratio: under a fleet, CPU is
// what caps the rate.
import { sleep, waitFor, wallNow } from '../lib/clock.js';
import type { AllocationReport } from '../lib/alloc.js';
import { cpuProfileFlags, mainThreadProfile, startDaemonClient, startDriverClient, startRawClient } from '../lib/clients.js';
import { formatSummary, readProfile, summarize } from '../lib/cpuprofile.js';
import { fmt, loadNow, profilesDir, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { SETTLE_MS, cpuPerMessageUs, interleaved, pairedRatio, slice, type Contender, type Slice } from '../lib/interleave.js';
import { median, round } from '../lib/stats.js';

interface ThroughputOptions {
  name: string;
  title: string;
  ackWindow: number;
  /** The daemon must reach this fraction of the raw baseline. */
  target: number;
}

const rawContender: Contender = { name: 'raw baseline', start: (server) => startRawClient([server]) };
const daemonContender: Contender = { name: 'daemon', start: (server) => startDaemonClient([server]) };

function throughput(options: ThroughputOptions): Benchmark {
  return {
    name: options.name,
    title: options.title,
    async run(ctx: BenchContext): Promise<BenchResult> {
      const runs = ctx.runs ?? (ctx.quick ? 1 : 3);
      const rounds = ctx.quick ? 4 : 4;
      const depth = Math.max(64, options.ackWindow * 4);
      const sim = await SimGroup.start({ servers: 2, switches: { ackWindow: options.ackWindow }, calls: 1, participants: 1, label: `simulator (${options.name})` });
      const raw: Slice[] = [];
      const daemon: Slice[] = [];
      const ratios: number[] = [];
      const data: Record<string, unknown> = { ackWindow: options.ackWindow, feedDepth: depth, slicesPerRun: rounds, sliceMs: ctx.quick ? 1000 : 1500 };
      try {
        for (let run = 0; run < runs; run++) {
          const [r, d] = await interleaved(ctx, sim, [rawContender, daemonContender], depth, rounds);
          raw.push(...r!);
          daemon.push(...d!);
          const ratio = pairedRatio(d!, r!);
          ratios.push(ratio);
          ctx.log(
            `  run ${run + 1}/${runs} (load ${loadNow()}): raw ${r!.map((s) => Math.round(s.messagesPerSecond)).join(' ')} | daemon ${d!.map((s) => Math.round(s.messagesPerSecond)).join(' ')} messages/s → ${fmt.ratio(ratio)}` +
              ` (cpu median: raw ${fmt.pct(median(r!.map((s) => s.cpu.client)), 0)}, daemon ${fmt.pct(median(d!.map((s) => s.cpu.client)), 0)}, simulator ${fmt.pct(median(d!.map((s) => s.cpu.simulator)), 0)}, reader ${fmt.pct(median(d!.map((s) => s.cpu.reader)), 0)};` +
              ` cpu per message: raw ${median(r!.map(cpuPerMessageUs)).toFixed(1)} µs, daemon ${median(d!.map(cpuPerMessageUs)).toFixed(1)} µs)`,
          );
        }
        if (ctx.profile) data.profile = await profileRuns(ctx, sim, depth, options);
        data.violations = (await sim.all<unknown[]>('violations')).flat().slice(0, 20);
      } finally {
        await sim.stop();
      }
      const rawMedian = median(raw.map((s) => s.messagesPerSecond));
      const daemonMedian = median(daemon.map((s) => s.messagesPerSecond));
      const ratio = median(daemon.map((d, i) => d.messagesPerSecond / raw[i]!.messagesPerSecond));
      const strip = ({ from: _from, to: _to, ...s }: Slice) => ({ ...s, messagesPerSecond: round(s.messagesPerSecond), linesPerSecond: round(s.linesPerSecond) });
      Object.assign(data, {
        raw: raw.map(strip),
        daemon: daemon.map(strip),
        rawMedian: round(rawMedian),
        daemonMedian: round(daemonMedian),
        pairedRatio: round(ratio, 3),
        ratioOfMedians: round(daemonMedian / rawMedian, 3),
        ratioPerRun: ratios.map((r) => round(r, 3)),
        cpuPerMessageUs: { raw: round(median(raw.map(cpuPerMessageUs)), 1), daemon: round(median(daemon.map(cpuPerMessageUs)), 1) },
      });
      const rawCpu = median(raw.map(cpuPerMessageUs));
      const daemonCpu = median(daemon.map(cpuPerMessageUs));
      const samples = `${runs}×${rounds} slices`;
      return {
        data,
        rows: [
          {
            benchmark: options.name,
            figure: `messages/s (ack window ${options.ackWindow})`,
            value: fmt.rate(daemonMedian),
            baseline: fmt.rate(rawMedian),
            ratio: fmt.ratio(ratio),
            target: `≥ ${options.target}× raw`,
            verdict: ratio >= options.target ? 'met' : 'missed',
            runs: samples,
          },
          {
            benchmark: options.name,
            figure: 'CPU per message (client process)',
            value: `${daemonCpu.toFixed(1)} µs`,
            baseline: `${rawCpu.toFixed(1)} µs`,
            ratio: fmt.ratio(daemonCpu / rawCpu),
            target: '',
            verdict: 'info',
            runs: samples,
          },
          {
            benchmark: options.name,
            figure: 'CPU of the client process',
            value: fmt.pct(median(daemon.map((s) => s.cpu.client)), 0),
            baseline: fmt.pct(median(raw.map((s) => s.cpu.client)), 0),
            ratio: '',
            target: '',
            verdict: 'info',
            runs: samples,
          },
        ],
      };
    },
  };
}

/**
 * Not part of the figures (--profile): where the gap comes from. A breakdown of the pipeline
 * (stdout to a pipe, to /dev/null, no sink at all) interleaved like the figures; one run of
 * each client alone under --cpu-prof, summarised over the measured slice; and the sampling
 * heap profiler in the bench driver and the raw client (bytes allocated per message).
 */
async function profileRuns(ctx: BenchContext, sim: SimGroup, depth: number, options: ThroughputOptions): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  result.breakdown = await breakdown(ctx, depth, options);

  const dir = profilesDir(ctx);
  const profileMs = ctx.quick ? 2500 : 4000;
  for (const kind of ['daemon', 'raw'] as const) {
    const { flags: nodeFlags, folder } = cpuProfileFlags(dir, `${options.name}-${kind}`);
    const server = sim.servers[0]!;
    const client = kind === 'raw' ? await startRawClient([server], { label: 'raw client (profiled)', nodeFlags }) : await startDaemonClient([server], { label: 'daemon (profiled)', nodeFlags });
    let figure: Slice;
    let exitedAt: number;
    try {
      await slice(sim, 0, client, depth, 1000);
      figure = await slice(sim, 0, client, depth, profileMs);
    } finally {
      await client.stop();
      exitedAt = wallNow();
      await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see the client go', 30_000, 50);
    }
    const file = mainThreadProfile(folder);
    if (!file) continue;
    // The profile ends when the process exits: count back to the measured slice.
    const summary = summarize(readProfile(file), { top: 30, fromEndMs: exitedAt - figure.from, toEndMs: exitedAt - figure.to });
    const perMessageUs = (summary.busyMs * 1000) / Math.max(1, figure.messagesPerSecond * ((figure.to - figure.from) / 1000));
    result[kind] = { file: file.slice(dir.length + 1), messagesPerSecond: round(figure.messagesPerSecond), busyMicrosecondsPerMessage: round(perMessageUs, 1), ...summary };
    ctx.log(formatSummary(summary, `  CPU profile of the ${kind === 'raw' ? 'raw client' : 'daemon'} (${options.name}, one slice, ${fmt.rate(figure.messagesPerSecond)}, ${perMessageUs.toFixed(1)} µs busy per message)`));
  }

  const allocation: Record<string, unknown> = {};
  for (const kind of ['daemon', 'raw'] as const) {
    const server = sim.servers[0]!;
    const client = kind === 'raw' ? await startRawClient([server], { label: 'raw client (allocation)' }) : await startDriverClient([server], { label: 'daemon driver (allocation)' });
    try {
      await slice(sim, 0, client, depth, 1000);
      await sim.all('feed', { on: true, depth, server: 0 });
      await sleep(SETTLE_MS);
      await client.proc.call('allocStart');
      const m0 = await sim.mark(0);
      await sleep(profileMs);
      const m1 = await sim.mark(0);
      const alloc = await client.proc.call<AllocationReport>('allocStop', { top: 20 });
      await sim.all('feed', { on: false });
      const messages = Math.max(1, m1.sent - m0.sent);
      allocation[kind] = {
        messages,
        bytesPerMessage: round(alloc.total / messages),
        top: alloc.top.map((site) => ({ ...site, bytesPerMessage: round(site.bytes / messages, 1) })),
      };
      ctx.log(`  allocation, ${kind === 'raw' ? 'raw client' : 'daemon driver'}: ${round(alloc.total / messages)} bytes per message (sampled over ${messages} messages); top sites:`);
      for (const site of alloc.top.slice(0, kind === 'raw' ? 6 : 14)) ctx.log(`    ${(site.bytes / messages).toFixed(0).padStart(6)} B/msg  ${site.fn}  ${site.where}`);
    } finally {
      await client.stop();
      await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see the client go', 30_000, 50);
    }
  }
  result.allocation = allocation;
  return result;
}

/**
 * The pipeline with its stdout sink writing to a pipe (as measured) and to /dev/null; with a
 * sink that writes at most every 2 ms; with a sink that drops the serialised line; with none.
 */
async function breakdown(ctx: BenchContext, depth: number, options: ThroughputOptions): Promise<Record<string, number>> {
  const contenders: Contender[] = [
    rawContender,
    daemonContender,
    { name: 'driver: stdout sink → pipe', start: (server) => startDriverClient([server], { label: 'driver (stdout → pipe)' }) },
    { name: 'driver: stdout sink → /dev/null', start: (server) => startDriverClient([server], { label: 'driver (stdout → /dev/null)', stdout: 'devnull' }) },
    { name: 'driver: 2 ms coalescing → pipe', start: (server) => startDriverClient([server], { label: 'driver (coalescing stdout)', sinks: 'coalesced' }) },
    { name: 'driver: serialised, not written', start: (server) => startDriverClient([server], { label: 'driver (null sink)', sinks: 'null' }) },
    { name: 'driver: no sink', start: (server) => startDriverClient([server], { label: 'driver (no sink)', sinks: 'none' }) },
  ];
  const sim = await SimGroup.start({ servers: contenders.length, switches: { ackWindow: options.ackWindow }, calls: 1, participants: 1, label: `simulator (${options.name} breakdown)` });
  let slices: Slice[][];
  try {
    slices = await interleaved(ctx, sim, contenders, depth, ctx.quick ? 3 : 4);
  } finally {
    await sim.stop();
  }
  const raw = slices[0]!;
  const result: Record<string, number> = {};
  ctx.log(`  breakdown (${options.name}; medians, ratio to the raw slice of the same round):`);
  contenders.forEach((contender, i) => {
    const rate = median(slices[i]!.map((s) => s.messagesPerSecond));
    const ratio = pairedRatio(slices[i]!, raw);
    result[contender.name] = round(rate);
    result[`${contender.name} (ratio)`] = round(ratio, 3);
    ctx.log(`    ${contender.name.padEnd(32)} ${fmt.rate(rate).padStart(9)}  ${fmt.ratio(ratio)}  cpu ${fmt.pct(median(slices[i]!.map((s) => s.cpu.client)), 0)}`);
  });
  return result;
}

export const lockstep = throughput({ name: 'lockstep', title: 'Lock-step throughput (ack window 1)', ackWindow: 1, target: 0.9 });
export const pipelined = throughput({ name: 'pipelined', title: 'Pipelined throughput (ack window 64)', ackWindow: 64, target: 0.6 });

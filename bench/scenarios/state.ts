// What keeping each server's model in stateDir costs (issue 12's targets):
//   1. lock-step throughput with stateDir on, against the same daemon with stateDir: null, in
//      interleaved slices (target: within 5 %), and the models written per second meanwhile;
//   2. start-up with a stored model for each of 1,000 servers (one call, one participant each),
//      against start-up without (target: no slower than 1.2×), alternating runs; and the state
//      folder's size on disk.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, waitFor } from '../lib/clock.js';
import { startDaemonClient, type RealDaemonClient } from '../lib/clients.js';
import { startRealDaemon, type RealDaemon } from '../lib/daemon.js';
import { cpuPerMessageUs, interleaved, pairedRatio, type Contender } from '../lib/interleave.js';
import { fmt, loadNow, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { median, round } from '../lib/stats.js';
import { waitAllLive } from './scale.js';

const SERVERS = 1000;
const THROUGHPUT_TARGET = 0.95;
const STARTUP_TARGET = 1.2;

/** A counter of the daemon's /metrics (0 when absent). */
async function metric(daemon: RealDaemon, name: string): Promise<number> {
  const text = await (await fetch(`${daemon.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

function folderBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const name of readdirSync(dir)) {
    const stat = statSync(join(dir, name));
    if (stat.isDirectory()) {
      const inner = folderBytes(join(dir, name));
      bytes += inner.bytes;
      files += inner.files;
    } else {
      bytes += stat.size;
      files += 1;
    }
  }
  return { bytes, files };
}

async function throughput(ctx: BenchContext, runs: number): Promise<{ ratios: number[]; cpu: { memory: number; state: number }; writesPerSecond: number[] }> {
  const sim = await SimGroup.start({ servers: 2, switches: { ackWindow: 1 }, calls: 1, participants: 1, label: 'simulator (state lock-step)' });
  const contenders: Contender[] = [
    { name: 'daemon, stateDir: null', start: (server) => startDaemonClient([server], { label: 'daemon (memory)', stateDir: null }) },
    { name: 'daemon, stateDir on', start: (server) => startDaemonClient([server], { label: 'daemon (stateDir)' }) },
  ];
  const ratios: number[] = [];
  const cpu = { memory: [] as number[], state: [] as number[] };
  const writesPerSecond: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const started = Date.now();
      let writes = 0;
      const [memory, state] = await interleaved(ctx, sim, contenders, 64, 4, async (clients) => {
        writes = await metric((clients[1] as RealDaemonClient).daemon, 'cms_events_state_writes_total');
      });
      // Its model changed with every message: at most one write a second is the promise.
      writesPerSecond.push(writes / ((Date.now() - started) / 1000));
      const ratio = pairedRatio(state!, memory!);
      ratios.push(ratio);
      cpu.memory.push(...memory!.map(cpuPerMessageUs));
      cpu.state.push(...state!.map(cpuPerMessageUs));
      ctx.log(
        `  run ${run + 1}/${runs} (load ${loadNow()}): memory ${memory!.map((s) => Math.round(s.messagesPerSecond)).join(' ')} | stateDir ${state!.map((s) => Math.round(s.messagesPerSecond)).join(' ')} messages/s → ${fmt.ratio(ratio)}; models written ${writesPerSecond.at(-1)!.toFixed(2)}/s`,
      );
    }
  } finally {
    await sim.stop();
  }
  return { ratios, cpu: { memory: median(cpu.memory), state: median(cpu.state) }, writesPerSecond };
}

/** Time to all live for 1,000 servers: without state, and with a stored model for each. */
async function startup(ctx: BenchContext, runs: number): Promise<{ memoryMs: number[]; storedMs: number[]; disk: { bytes: number; files: number }; writesPerSecondIdle: number }> {
  const sim = await SimGroup.start({ servers: SERVERS, processes: ctx.simProcesses, basePort: ctx.basePort, calls: 1, participants: 1, label: 'simulator (state start-up)' });
  const memoryMs: number[] = [];
  const storedMs: number[] = [];
  let disk = { bytes: 0, files: 0 };
  let writesPerSecondIdle = 0;
  const gone = () => waitFor(async () => (await sim.mark()).open === 0, 'the simulators to see the daemon go', 30_000, 100);
  try {
    // A first daemon writes every server's model, then stops (the last write comes with the stop).
    const seed = await startRealDaemon({ servers: sim.servers, label: 'daemon (writes the models)' });
    const folder = seed.dir;
    try {
      await waitAllLive(seed, SERVERS);
      // Every model is written once after its snapshot; from then on the fleet is idle.
      await waitFor(async () => (await metric(seed, 'cms_events_state_writes_total')) >= SERVERS, 'every model written', 60_000, 250);
      const w0 = await metric(seed, 'cms_events_state_writes_total');
      await sleep(5000);
      writesPerSecondIdle = ((await metric(seed, 'cms_events_state_writes_total')) - w0) / 5;
    } finally {
      await seed.proc.stop();
    }
    await gone();
    disk = folderBytes(join(folder, 'state'));
    ctx.log(`  state folder after the first run: ${disk.files} files, ${fmt.mb(disk.bytes)}; models written per second while idle: ${writesPerSecondIdle}`);
    for (let run = 0; run < runs; run++) {
      for (const stored of run % 2 === 0 ? [false, true] : [true, false]) {
        const daemon = await startRealDaemon({ servers: sim.servers, label: stored ? 'daemon (stored models)' : 'daemon (no state)', ...(stored ? { dir: folder } : { stateDir: null }) });
        try {
          const live = await waitAllLive(daemon, SERVERS);
          (stored ? storedMs : memoryMs).push(live.allLiveMs);
          ctx.log(`  run ${run + 1}/${runs} (load ${loadNow()}), ${stored ? 'with stored models' : 'without state   '}: all live after ${fmt.s(live.allLiveMs)}`);
          if (stored) await waitFor(async () => (await daemon.servers()).every((s) => s.restored !== true), 'every model reconciled', 60_000, 250);
        } finally {
          await daemon.proc.stop();
        }
        await gone();
      }
    }
  } finally {
    await sim.stop();
  }
  return { memoryMs, storedMs, disk, writesPerSecondIdle };
}

export const state: Benchmark = {
  name: 'state',
  title: 'The cost of stateDir: lock-step throughput and start-up with stored models',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = ctx.runs ?? (ctx.quick ? 1 : 3);
    const tp = await throughput(ctx, runs);
    const up = await startup(ctx, ctx.quick ? 1 : 2);
    const ratio = median(tp.ratios);
    const memoryMs = median(up.memoryMs);
    const storedMs = median(up.storedMs);
    const slowdown = storedMs / memoryMs;
    const data = {
      throughputRatios: tp.ratios.map((r) => round(r, 3)),
      cpuPerMessageUs: { memory: round(tp.cpu.memory, 1), state: round(tp.cpu.state, 1) },
      startup: { memoryMs: up.memoryMs.map((v) => round(v)), storedMs: up.storedMs.map((v) => round(v)) },
      disk: up.disk,
      writesPerSecondIdle: up.writesPerSecondIdle,
      writesPerSecondBusy: tp.writesPerSecond.map((v) => round(v, 2)),
    };
    const samples = `${tp.ratios.length}×4 slices`;
    return {
      data,
      rows: [
        { benchmark: 'state', figure: 'lock-step, stateDir on / off', value: fmt.ratio(ratio), baseline: '', ratio: fmt.ratio(ratio), target: `≥ ${THROUGHPUT_TARGET}×`, verdict: ratio >= THROUGHPUT_TARGET ? 'met' : 'missed', runs: samples },
        { benchmark: 'state', figure: 'CPU per message, stateDir on / off', value: `${tp.cpu.state.toFixed(1)} µs`, baseline: `${tp.cpu.memory.toFixed(1)} µs`, ratio: fmt.ratio(tp.cpu.state / tp.cpu.memory), target: '', verdict: 'info', runs: samples },
        { benchmark: 'state', figure: `${SERVERS} servers all live: stored models / none`, value: fmt.s(storedMs), baseline: fmt.s(memoryMs), ratio: fmt.ratio(slowdown), target: `≤ ${STARTUP_TARGET}×`, verdict: slowdown <= STARTUP_TARGET ? 'met' : 'missed', runs: `${up.storedMs.length}+${up.memoryMs.length}` },
        { benchmark: 'state', figure: 'models written per second: busy server / idle fleet', value: `${median(tp.writesPerSecond).toFixed(2)} / ${up.writesPerSecondIdle}`, baseline: '', ratio: '', target: '≤ 1 / 0', verdict: 'info', runs: samples },
        { benchmark: 'state', figure: `state folder, ${SERVERS} servers`, value: `${fmt.mb(up.disk.bytes)} in ${up.disk.files} files`, baseline: '', ratio: '', target: '', verdict: 'info', runs: '1' },
      ],
    };
  },
};

// Target 3: a thousand simulated TLS servers on consecutive ports, each with a call and a
// participant, followed by the real daemon. Measured: time from the daemon's spawn to every
// server `live` (GET /api/servers, polled), its resident memory (/proc/PID/status), and its CPU
// while nothing happens (utime + stime from /proc/PID/stat, no polling meanwhile).
import type { AllocationReport } from '../lib/alloc.js';
import { sleep, waitFor, wallNow } from '../lib/clock.js';
import { cpuProfileFlags, mainThreadProfile, startDriverClient } from '../lib/clients.js';
import { formatSummary, readProfile, summarize } from '../lib/cpuprofile.js';
import { startRealDaemon, type RealDaemon } from '../lib/daemon.js';
import { cpuSecondsOf, memoryOf } from '../lib/proc.js';
import { fmt, loadNow, profilesDir, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { median, round } from '../lib/stats.js';

const SERVERS = 1000;
/** The issue's outside check starts the daemon against this many TLS servers: one run mirrors it. */
const CHECK_SERVERS = 200;
const LIVE_TARGET_MS = 20_000;
const RSS_TARGET = 250 * 1024 * 1024;
const IDLE_CPU_TARGET = 0.02;
/** Give up on a run after this long without every server live. */
const LIVE_TIMEOUT_MS = 90_000;

interface ScaleRun {
  /** From spawn to the first poll that saw every server live; NaN if it never happened. */
  allLiveMs: number;
  halfLiveMs: number;
  readyz: boolean;
  states: Record<string, number>;
  rss: number;
  peakRss: number;
  idleCpu: number;
  idleSeconds: number;
  /** Frames the simulators sent during the idle window (expected 0). */
  framesDuringIdle: number;
}

export async function waitAllLive(daemon: RealDaemon, count: number): Promise<{ allLiveMs: number; halfLiveMs: number; states: Record<string, number> }> {
  let halfLiveMs = Number.NaN;
  let states: Record<string, number> = {};
  const deadline = daemon.proc.spawnedAt + LIVE_TIMEOUT_MS;
  while (wallNow() < deadline) {
    if (!daemon.proc.running) throw new Error(`the daemon exited\n${daemon.proc.tail()}`);
    const list = await daemon.servers();
    const at = wallNow();
    states = {};
    for (const server of list) states[server.state] = (states[server.state] ?? 0) + 1;
    const live = states.live ?? 0;
    if (Number.isNaN(halfLiveMs) && live >= count / 2) halfLiveMs = at - daemon.proc.spawnedAt;
    if (list.length === count && live === count) return { allLiveMs: at - daemon.proc.spawnedAt, halfLiveMs, states };
    await sleep(250);
  }
  return { allLiveMs: Number.NaN, halfLiveMs, states };
}

/**
 * Where the resident memory goes (--profile): the bench driver follows the same thousand
 * servers with the sampling heap profiler on from before the hub starts, keeping only objects
 * still alive at the end; then the heap after garbage collection against the RSS.
 */
async function memoryBreakdown(ctx: BenchContext, sim: SimGroup, settleMs: number): Promise<Record<string, unknown>> {
  const driver = await startDriverClient(sim.servers, {
    nodeFlags: ['--expose-gc'],
    label: 'daemon driver (memory)',
    liveTimeoutMs: LIVE_TIMEOUT_MS,
    beforeStart: (proc) => proc.call('allocStart', { retainedOnly: true }),
  });
  try {
    await sleep(settleMs);
    const heap = await driver.proc.call<NodeJS.MemoryUsage>('heap');
    const rss = memoryOf(driver.proc.pid).rss;
    const retained = await driver.proc.call<AllocationReport>('allocStop', { top: 20 });
    ctx.log(
      `  memory of the driver with ${SERVERS} servers live, after GC: RSS ${fmt.mb(rss)}, V8 heap ${fmt.mb(heap.heapUsed)} used of ${fmt.mb(heap.heapTotal)}, ` +
        `external ${fmt.mb(heap.external)}; outside the V8 heap ${fmt.mb(rss - heap.heapTotal)} (code, TLS, buffers); live JS objects by allocation site (sampled):`,
    );
    for (const site of retained.top.slice(0, 12)) ctx.log(`    ${(site.bytes / SERVERS / 1024).toFixed(1).padStart(6)} KB/server  ${site.fn}  ${site.where}`);
    return { rss, heap, retainedSampled: retained.total, retainedTop: retained.top };
  } finally {
    await driver.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see the driver go', 30_000, 100);
  }
}

/** The real daemon following only the first `count` servers: time to all live and RSS. */
async function followFirst(ctx: BenchContext, sim: SimGroup, count: number, settleMs: number): Promise<{ allLiveMs: number; rss: number; peakRss: number }> {
  const daemon = await startRealDaemon({ servers: sim.servers.slice(0, count), label: `daemon (${count} servers)` });
  try {
    const live = await waitAllLive(daemon, count);
    await sleep(settleMs);
    const memory = memoryOf(daemon.proc.pid);
    ctx.log(`  ${count} servers (load ${loadNow()}): all live after ${fmt.s(live.allLiveMs)}, RSS ${fmt.mb(memory.rss)} (peak ${fmt.mb(memory.peak)})`);
    return { allLiveMs: round(live.allLiveMs), rss: memory.rss, peakRss: memory.peak };
  } finally {
    await daemon.proc.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulators to see the daemon go', 30_000, 100);
  }
}

/** The real daemon with V8's young generation capped (--max-semi-space-size=2): what it does to RSS. */
async function smallYoungGeneration(ctx: BenchContext, sim: SimGroup, settleMs: number): Promise<Record<string, number>> {
  const daemon = await startRealDaemon({ servers: sim.servers, label: 'daemon (small semi-space)', nodeFlags: ['--max-semi-space-size=2'] });
  try {
    const live = await waitAllLive(daemon, SERVERS);
    await sleep(settleMs);
    const memory = memoryOf(daemon.proc.pid);
    ctx.log(`  with --max-semi-space-size=2: all live after ${fmt.s(live.allLiveMs)}, RSS ${fmt.mb(memory.rss)} (peak ${fmt.mb(memory.peak)})`);
    return { allLiveMs: round(live.allLiveMs), rss: memory.rss, peakRss: memory.peak };
  } finally {
    await daemon.proc.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulators to see the daemon go', 30_000, 100);
  }
}

export const scale: Benchmark = {
  name: 'scale',
  title: `Scale: ${SERVERS} TLS servers`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = ctx.runs ?? (ctx.quick ? 1 : 3);
    const idleMs = ctx.quick ? 5_000 : 10_000;
    const settleMs = ctx.quick ? 3_000 : 5_000;
    const started = performance.now();
    const sim = await SimGroup.start({ servers: SERVERS, processes: ctx.simProcesses, basePort: ctx.basePort, calls: 1, participants: 1, label: 'simulator (scale)' });
    ctx.log(`  ${SERVERS} servers on ports ${sim.servers[0]!.port}-${sim.servers.at(-1)!.port} in ${sim.procs.length} process(es), started in ${fmt.s(performance.now() - started)}`);
    const results: ScaleRun[] = [];
    const data: Record<string, unknown> = { servers: SERVERS, simulatorProcesses: sim.procs.length };
    try {
      // With --profile, one more run under --cpu-prof; its figures are not counted (the
      // profiler's sampling thread alone costs a few percent of a core).
      for (let run = 0; run < runs + (ctx.profile ? 1 : 0); run++) {
        const profiling = run === runs;
        const dir = profiling ? profilesDir(ctx) : '';
        const profile = profiling ? cpuProfileFlags(dir, 'scale-daemon') : undefined;
        const daemon = await startRealDaemon({ servers: sim.servers, label: 'daemon (scale)', ...(profile ? { nodeFlags: profile.flags } : {}) });
        let idleStart = 0;
        let idleEnd = 0;
        try {
          const live = await waitAllLive(daemon, SERVERS);
          const readyz = await daemon.ready();
          await sleep(settleMs);
          const before = memoryOf(daemon.proc.pid);
          const frames0 = (await sim.mark()).sent;
          idleStart = wallNow();
          const cpu0 = cpuSecondsOf(daemon.proc.pid);
          await sleep(idleMs);
          const cpu1 = cpuSecondsOf(daemon.proc.pid);
          idleEnd = wallNow();
          const after = memoryOf(daemon.proc.pid);
          const frames1 = (await sim.mark()).sent;
          const idleSeconds = (idleEnd - idleStart) / 1000;
          const figure: ScaleRun = {
            allLiveMs: live.allLiveMs,
            halfLiveMs: live.halfLiveMs,
            readyz,
            states: live.states,
            rss: Math.max(before.rss, after.rss),
            peakRss: after.peak,
            idleCpu: (cpu1 - cpu0) / idleSeconds,
            idleSeconds,
            framesDuringIdle: frames1 - frames0,
          };
          if (!profiling) results.push(figure);
          ctx.log(
            `  ${profiling ? 'profiled run (not counted)' : `run ${run + 1}/${runs}`} (load ${loadNow()}): all live after ${fmt.s(figure.allLiveMs)} (half after ${fmt.s(figure.halfLiveMs)}), readyz ${readyz ? 200 : 'not 200'}, ` +
              `RSS ${fmt.mb(figure.rss)} (peak ${fmt.mb(figure.peakRss)}), idle CPU ${fmt.pct(figure.idleCpu)} over ${idleSeconds.toFixed(1)} s` +
              (Number.isNaN(figure.allLiveMs) ? `, states ${JSON.stringify(live.states)}` : ''),
          );
        } finally {
          await daemon.proc.stop();
        }
        if (profile) {
          const exited = wallNow();
          const file = mainThreadProfile(profile.folder);
          if (file && idleStart > 0) {
            // The profile ends when the process exits: count back to the idle window.
            const summary = summarize(readProfile(file), { top: 25, fromEndMs: exited - idleStart, toEndMs: exited - idleEnd });
            data.idleProfile = { file: file.slice(dir.length + 1), ...summary };
            ctx.log(formatSummary(summary, '  CPU profile of the daemon during the idle window'));
            const startup = summarize(readProfile(file), { top: 25, toEndMs: exited - idleStart });
            data.startupProfile = { file: file.slice(dir.length + 1), ...startup };
            ctx.log(formatSummary(startup, '  CPU profile of the daemon from start to the idle window'));
          }
        }
        // Let the simulators see every socket go before the next run connects a thousand again.
        await waitFor(async () => (await sim.mark()).open === 0, 'the simulators to see the daemon go', 30_000, 100);
      }
      data.check200 = await followFirst(ctx, sim, CHECK_SERVERS, settleMs);
      if (ctx.profile) {
        data.memory = await memoryBreakdown(ctx, sim, settleMs);
        data.smallYoungGeneration = await smallYoungGeneration(ctx, sim, settleMs);
      }
    } finally {
      await sim.stop();
    }
    const allLive = median(results.map((r) => (Number.isNaN(r.allLiveMs) ? Infinity : r.allLiveMs)));
    const rss = median(results.map((r) => r.rss));
    const idleCpu = median(results.map((r) => r.idleCpu));
    data.runs = results.map((r) => ({ ...r, allLiveMs: round(r.allLiveMs), halfLiveMs: round(r.halfLiveMs), idleCpu: round(r.idleCpu, 4) }));
    const n = `${results.length}`;
    const check = data.check200 as { allLiveMs: number; rss: number };
    const worst = {
      live: Math.max(...results.map((r) => (Number.isNaN(r.allLiveMs) ? Infinity : r.allLiveMs))),
      rss: Math.max(...results.map((r) => r.rss)),
      cpu: Math.max(...results.map((r) => r.idleCpu)),
    };
    return {
      data,
      rows: [
        { benchmark: 'scale', figure: `time to all ${SERVERS} live`, value: `${fmt.s(allLive)} (worst ${fmt.s(worst.live)})`, baseline: '', ratio: '', target: `≤ ${LIVE_TARGET_MS / 1000} s`, verdict: allLive <= LIVE_TARGET_MS ? 'met' : 'missed', runs: n },
        { benchmark: 'scale', figure: 'daemon RSS, all live', value: `${fmt.mb(rss)} (worst ${fmt.mb(worst.rss)})`, baseline: '', ratio: '', target: '≤ 250 MB', verdict: rss <= RSS_TARGET ? 'met' : 'missed', runs: n },
        {
          benchmark: 'scale',
          figure: `${CHECK_SERVERS} servers: all live / RSS`,
          value: `${fmt.s(check.allLiveMs)} / ${fmt.mb(check.rss)}`,
          baseline: '',
          ratio: '',
          target: `≤ ${LIVE_TARGET_MS / 1000} s / ≤ 250 MB`,
          verdict: check.allLiveMs <= LIVE_TARGET_MS && check.rss <= RSS_TARGET ? 'met' : 'missed',
          runs: '1',
        },
        { benchmark: 'scale', figure: `idle CPU (${idleMs / 1000} s, no traffic)`, value: `${fmt.pct(idleCpu)} (worst ${fmt.pct(worst.cpu)})`, baseline: '', ratio: '', target: '< 2 % of a core', verdict: idleCpu < IDLE_CPU_TARGET ? 'met' : 'missed', runs: n },
      ],
    };
  },
};

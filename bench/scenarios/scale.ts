// Target 3: a thousand simulated TLS servers on consecutive ports, each with a call and a
// participant, followed by the real daemon. Measured: time from the daemon's spawn to every
// server `live` (GET /api/servers, polled), its resident memory (/proc/PID/status), and its CPU
// while nothing happens (utime + stime from /proc/PID/stat, no polling meanwhile).
import { sleep, wallNow } from '../lib/clock.js';
import { cpuProfileFlags, mainThreadProfile } from '../lib/clients.js';
import { formatSummary, readProfile, summarize } from '../lib/cpuprofile.js';
import { startRealDaemon, type RealDaemon } from '../lib/daemon.js';
import { cpuSecondsOf, memoryOf } from '../lib/proc.js';
import { fmt, profilesDir, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { median, round } from '../lib/stats.js';

const SERVERS = 1000;
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

async function waitAllLive(daemon: RealDaemon, count: number): Promise<{ allLiveMs: number; halfLiveMs: number; states: Record<string, number> }> {
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
      for (let run = 0; run < runs; run++) {
        const profiling = ctx.profile && run === runs - 1;
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
          results.push(figure);
          ctx.log(
            `  run ${run + 1}/${runs}: all live after ${fmt.s(figure.allLiveMs)} (half after ${fmt.s(figure.halfLiveMs)}), readyz ${readyz ? 200 : 'not 200'}, ` +
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
        await sleep(2000);
      }
    } finally {
      await sim.stop();
    }
    const allLive = median(results.map((r) => (Number.isNaN(r.allLiveMs) ? Infinity : r.allLiveMs)));
    const rss = median(results.map((r) => r.rss));
    const idleCpu = median(results.map((r) => r.idleCpu));
    data.runs = results.map((r) => ({ ...r, allLiveMs: round(r.allLiveMs), halfLiveMs: round(r.halfLiveMs), idleCpu: round(r.idleCpu, 4) }));
    const n = `${results.length}`;
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
        { benchmark: 'scale', figure: `idle CPU (${idleMs / 1000} s, no traffic)`, value: `${fmt.pct(idleCpu)} (worst ${fmt.pct(worst.cpu)})`, baseline: '', ratio: '', target: '< 2 % of a core', verdict: idleCpu < IDLE_CPU_TARGET ? 'met' : 'missed', runs: n },
      ],
    };
  },
};

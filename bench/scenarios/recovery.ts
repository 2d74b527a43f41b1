// Target 5: recovery. A hundred servers, each with a call and a participant, followed by the
// real daemon. All go down at once for 10 s (tokens and upgrades refused, sockets dropped);
// meanwhile each call's participant leaves and another joins. They come back, and each server
// counts as recovered once the daemon is live on it and has reconciled: the synthetic
// participant.left of the one who left and the participant.joined of the one who came, read
// from its stdout. The recovery time of each server is compared with when its backoff had
// scheduled the next attempt (nextAttemptAt in GET /api/servers, polled every 100 ms): the
// daemon may take the scheduled delay plus 1 s.
import { sleep, waitFor } from '../lib/clock.js';
import { startRealDaemon } from '../lib/daemon.js';
import { fmt, loadNow, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { median, round } from '../lib/stats.js';

const SERVERS = 100;
const DOWN_MS = 10_000;
const OVERHEAD_TARGET_MS = 1000;
const POLL_MS = 100;

interface ServerRecovery {
  server: string;
  /** Scheduled attempt after the return, minus the return; 0 when an attempt was due at once. */
  scheduledDelayMs: number;
  /** Return → live and reconciled. */
  recoveryMs: number;
  /** recoveryMs - scheduledDelayMs. */
  overheadMs: number;
  leftWasSynthetic: boolean;
}

interface RecoveryRun {
  servers: ServerRecovery[];
  recovered: number;
  maxRecoveryMs: number;
  medianRecoveryMs: number;
  maxScheduledDelayMs: number;
  maxOverheadMs: number;
  medianOverheadMs: number;
  leftNotSynthetic: number;
  junkLines: number;
}

interface Progress {
  connectedAt: number;
  leftAt: number;
  joinedAt: number;
  leftSynthetic: boolean;
  attempts: Set<number>;
}

async function measureRun(ctx: BenchContext, sim: SimGroup): Promise<RecoveryRun> {
  const daemon = await startRealDaemon({ servers: sim.servers, label: 'daemon (recovery)' });
  const progress = new Map(sim.servers.map((s) => [s.name, { connectedAt: 0, leftAt: 0, joinedAt: 0, leftSynthetic: false, attempts: new Set<number>() } as Progress]));
  let polling = true;
  /** stdout lines that are not JSON (must stay 0). */
  let junkLines = 0;
  try {
    await waitFor(
      async () => {
        if (!daemon.proc.running) throw new Error(`the daemon exited\n${daemon.proc.tail()}`);
        const list = await daemon.servers();
        return list.length === SERVERS && list.every((s) => s.state === 'live');
      },
      'every server to be live',
      60_000,
      200,
    );
    await sleep(1000);
    const removed = new Map<string, string>();
    const added = new Map<string, string>();
    daemon.stdout.listen((line, at) => {
      let event: { type: string; server: string; participantId?: string; synthetic?: boolean };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        junkLines++;
        return;
      }
      const p = progress.get(event.server);
      if (!p) return;
      if (event.type === 'server.connected') p.connectedAt = at;
      else if (event.type === 'participant.left' && event.participantId && removed.get(event.participantId) === event.server && !p.leftAt) {
        p.leftAt = at;
        p.leftSynthetic = event.synthetic === true;
      } else if (event.type === 'participant.joined' && event.participantId && added.get(event.participantId) === event.server && !p.joinedAt) p.joinedAt = at;
    });
    const poller = (async () => {
      while (polling) {
        for (const s of await daemon.servers()) {
          if (s.nextAttemptAt) progress.get(s.name)?.attempts.add(Date.parse(s.nextAttemptAt));
        }
        await sleep(POLL_MS);
      }
    })();
    const downs = await sim.all<{ t: number; changes: { server: string; removed: string[]; added: string[] }[] }>('down');
    for (const change of downs.flatMap((d) => d.changes)) {
      for (const id of change.removed) removed.set(id, change.server);
      for (const id of change.added) added.set(id, change.server);
    }
    await sleep(DOWN_MS);
    const ups = await sim.all<{ t: number }>('up');
    const back = Math.max(...ups.map((u) => u.t));
    const done = (p: Progress) => p.connectedAt >= back && p.leftAt > 0 && p.joinedAt > 0;
    try {
      // Backoff may be up to about 16 s after 10 s down (full jitter, doubling from 1 s).
      await waitFor(() => [...progress.values()].every(done), 'every server to be live and reconciled', 90_000, 50);
    } catch (error) {
      ctx.log(`  ${[...progress.values()].filter((p) => !done(p)).length} servers never recovered: ${(error as Error).message}`);
    }
    polling = false;
    await poller;
    const servers: ServerRecovery[] = [];
    for (const [server, p] of progress) {
      if (!done(p)) continue;
      const recoveredAt = Math.max(p.connectedAt, p.leftAt, p.joinedAt);
      // The attempt that succeeded is the first one scheduled at or after the return. When the
      // polls saw none (an attempt was already under way, or its backoff was shorter than a
      // poll), count it as due at once: that only makes the overhead look larger.
      const scheduled = Math.min(...[...p.attempts].filter((t) => t >= back), Infinity);
      const scheduledDelayMs = Number.isFinite(scheduled) && scheduled <= recoveredAt ? scheduled - back : 0;
      servers.push({ server, scheduledDelayMs, recoveryMs: recoveredAt - back, overheadMs: recoveredAt - back - scheduledDelayMs, leftWasSynthetic: p.leftSynthetic });
    }
    const pick = (f: (s: ServerRecovery) => number) => servers.map(f);
    return {
      servers,
      recovered: servers.length,
      maxRecoveryMs: Math.max(...pick((s) => s.recoveryMs)),
      medianRecoveryMs: median(pick((s) => s.recoveryMs)),
      maxScheduledDelayMs: Math.max(...pick((s) => s.scheduledDelayMs)),
      maxOverheadMs: servers.length === SERVERS ? Math.max(...pick((s) => s.overheadMs)) : Infinity,
      medianOverheadMs: median(pick((s) => s.overheadMs)),
      leftNotSynthetic: servers.filter((s) => !s.leftWasSynthetic).length,
      junkLines,
    };
  } finally {
    polling = false;
    await daemon.proc.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see the daemon go', 20_000, 50);
  }
}

export const recovery: Benchmark = {
  name: 'recovery',
  title: `Recovery: ${SERVERS} servers down for ${DOWN_MS / 1000} s`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = ctx.runs ?? (ctx.quick ? 1 : 3);
    const sim = await SimGroup.start({ servers: SERVERS, calls: 1, participants: 1, label: 'simulator (recovery)' });
    const results: RecoveryRun[] = [];
    try {
      for (let run = 0; run < runs; run++) {
        const r = await measureRun(ctx, sim);
        results.push(r);
        ctx.log(
          `  run ${run + 1}/${runs} (load ${loadNow()}): ${r.recovered}/${SERVERS} recovered; from return: median ${fmt.s(r.medianRecoveryMs)}, max ${fmt.s(r.maxRecoveryMs)}; ` +
            `scheduled delay max ${fmt.s(r.maxScheduledDelayMs)}; beyond schedule: median ${fmt.ms(r.medianOverheadMs, 0)}, max ${fmt.ms(r.maxOverheadMs, 0)}` +
            (r.leftNotSynthetic ? `; ${r.leftNotSynthetic} leaves NOT synthetic` : '') +
            (r.junkLines ? `; ${r.junkLines} stdout lines NOT JSON` : ''),
        );
      }
    } finally {
      await sim.stop();
    }
    const maxOverhead = median(results.map((r) => r.maxOverheadMs));
    const n = `${results.length}`;
    return {
      data: {
        servers: SERVERS,
        downMs: DOWN_MS,
        runs: results.map((r) => ({
          ...r,
          servers: r.servers.map((s) => ({ ...s, scheduledDelayMs: round(s.scheduledDelayMs), recoveryMs: round(s.recoveryMs), overheadMs: round(s.overheadMs) })),
        })),
      },
      rows: [
        { benchmark: 'recovery', figure: 'return → all live + reconciled (max)', value: fmt.s(median(results.map((r) => r.maxRecoveryMs))), baseline: '', ratio: '', target: '', verdict: 'info', runs: n },
        { benchmark: 'recovery', figure: 'scheduled backoff delay after return (max)', value: fmt.s(median(results.map((r) => r.maxScheduledDelayMs))), baseline: '', ratio: '', target: '', verdict: 'info', runs: n },
        {
          benchmark: 'recovery',
          figure: 'time beyond the schedule (worst server)',
          value: `${fmt.ms(maxOverhead, 0)} (median server ${fmt.ms(median(results.map((r) => r.medianOverheadMs)), 0)})`,
          baseline: '',
          ratio: '',
          target: `≤ ${OVERHEAD_TARGET_MS} ms`,
          verdict: maxOverhead <= OVERHEAD_TARGET_MS && results.every((r) => r.leftNotSynthetic === 0) ? 'met' : 'missed',
          runs: n,
        },
      ],
    };
  },
};

// Target 6: soak. Realistic traffic for 5 minutes (1 in --quick mode) through the daemon
// pipeline (bench driver: createHub + stdout sink, run with --expose-gc). Every sampling
// interval the driver collects garbage and reports heapUsed; the heap must stay within 10% of
// its level after the first minute (the first fifth of the run in --quick mode).
import { sleep } from '../lib/clock.js';
import { startDriverClient } from '../lib/clients.js';
import { fmt, type BenchContext, type BenchResult, type Benchmark } from '../lib/report.js';
import { SimGroup } from '../lib/sim-group.js';
import { round, slope } from '../lib/stats.js';
import { memoryOf } from '../lib/proc.js';

const SERVERS = 100;
const RATE_PER_SERVER = 10;
const GROWTH_TARGET = 0.1;

interface Sample {
  /** Seconds since the traffic started. */
  t: number;
  heapUsed: number;
  rss: number;
  external: number;
  messages: number;
}

export const soak: Benchmark = {
  name: 'soak',
  title: 'Soak: heap after GC under realistic traffic',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const durationMs = ctx.quick ? 60_000 : 300_000;
    const referenceMs = ctx.quick ? 12_000 : 60_000;
    const everyMs = ctx.quick ? 4_000 : 10_000;
    const sim = await SimGroup.start({ servers: SERVERS, label: 'simulator (soak)' });
    const samples: Sample[] = [];
    let lines = 0;
    try {
      await sim.all('traffic', { rate: RATE_PER_SERVER });
      const driver = await startDriverClient(sim.servers, { nodeFlags: ['--expose-gc'], label: 'daemon driver (soak)' });
      try {
        const started = performance.now();
        const m0 = await sim.mark();
        while (performance.now() - started < durationMs) {
          await sleep(Math.min(everyMs, durationMs - (performance.now() - started)));
          const heap = await driver.proc.call<NodeJS.MemoryUsage>('heap');
          const mark = await sim.mark();
          const sample = { t: (performance.now() - started) / 1000, heapUsed: heap.heapUsed, rss: memoryOf(driver.proc.pid).rss, external: heap.external, messages: mark.sent - m0.sent };
          samples.push(sample);
          ctx.log(`  ${sample.t.toFixed(0).padStart(4)} s  heap after GC ${fmt.mb(sample.heapUsed)}, RSS ${fmt.mb(sample.rss)}, ${sample.messages.toLocaleString('en-US')} messages`);
        }
        lines = driver.lines();
      } finally {
        await driver.stop();
      }
    } finally {
      await sim.stop();
    }
    const reference = samples.find((s) => s.t * 1000 >= referenceMs - everyMs / 2) ?? samples[0]!;
    const after = samples.filter((s) => s.t > reference.t);
    const maxAfter = Math.max(...after.map((s) => s.heapUsed));
    const last = samples[samples.length - 1]!;
    const growth = (maxAfter - reference.heapUsed) / reference.heapUsed;
    const perMinute = slope(after.map((s) => s.t / 60), after.map((s) => s.heapUsed));
    return {
      data: {
        servers: SERVERS,
        ratePerServer: RATE_PER_SERVER,
        durationMs,
        referenceAtSeconds: round(reference.t, 1),
        reference: reference.heapUsed,
        maxAfter,
        last: last.heapUsed,
        growth: round(growth, 4),
        slopeBytesPerMinute: round(perMinute),
        messages: last.messages,
        lines,
        samples: samples.map((s) => ({ ...s, t: round(s.t, 1) })),
      },
      rows: [
        {
          benchmark: 'soak',
          figure: `heap after GC, ${durationMs / 60_000} min (ref. at ${reference.t.toFixed(0)} s)`,
          value: `${fmt.mb(reference.heapUsed)} → max ${fmt.mb(maxAfter)}, last ${fmt.mb(last.heapUsed)} (${growth >= 0 ? '+' : ''}${fmt.pct(growth, 1)})`,
          baseline: '',
          ratio: '',
          target: '≤ +10 %',
          verdict: growth <= GROWTH_TARGET ? 'met' : 'missed',
          runs: '1',
        },
        {
          benchmark: 'soak',
          figure: 'messages through the daemon',
          value: `${last.messages.toLocaleString('en-US')} (${fmt.rate(last.messages / last.t)}), ${lines.toLocaleString('en-US')} lines`,
          baseline: '',
          ratio: '',
          target: '',
          verdict: 'info',
          runs: '1',
        },
      ],
    };
  },
};

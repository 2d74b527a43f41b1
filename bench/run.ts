// npm run bench: every benchmark against the simulator over TLS, each side in its own process.
// Prints a table and writes bench/results/latest.json (and latest.md, the same table in
// Markdown). See BENCHMARKS.md for what each figure means and how it is measured.
//
//   node --import tsx bench/run.ts [--only NAME[,NAME]] [--quick] [--runs N] [--profile]
//                                  [--base-port P] [--sim-processes N] [--out FILE] [--list]
//                                  [--daemon-node-flags="--single-threaded-gc ..."]
//                                  [--variant DIR]   (cdr: A/B against another built checkout)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow, stopAll } from './lib/child.js';
import { setDaemonNodeFlags } from './lib/clients.js';
import { distProblem, ROOT } from './lib/dist.js';
import { formatMarkdown, formatTable, RESULTS_DIR, type Benchmark, type BenchContext, type Row } from './lib/report.js';
import { cdr } from './scenarios/cdr.js';
import { cluster } from './scenarios/cluster.js';
import { control } from './scenarios/control.js';
import { latency } from './scenarios/latency.js';
import { meetings } from './scenarios/meetings.js';
import { recovery } from './scenarios/recovery.js';
import { scale } from './scenarios/scale.js';
import { soak } from './scenarios/soak.js';
import { state } from './scenarios/state.js';
import { lockstep, pipelined } from './scenarios/throughput.js';

const BENCHMARKS: Benchmark[] = [lockstep, pipelined, scale, latency, recovery, soak, state, control, meetings, cluster, cdr];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'base-port': { type: 'string', default: '21000' },
    'sim-processes': { type: 'string', default: '1' },
    out: { type: 'string', default: join(RESULTS_DIR, 'latest.json') },
    'daemon-node-flags': { type: 'string', default: '' },
    variant: { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help || values.list) {
  process.stdout.write(
    'usage: node --import tsx bench/run.ts [--only NAME[,NAME]] [--quick] [--runs N] [--profile] [--base-port P] [--sim-processes N] [--out FILE] [--daemon-node-flags="FLAGS"] [--variant DIR]\n\nbenchmarks:\n' +
      BENCHMARKS.map((b) => `  ${b.name.padEnd(10)} ${b.title}`).join('\n') +
      '\n',
  );
  process.exit(0);
}

const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown?.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}
const daemonFlags = values['daemon-node-flags']!.split(/\s+/).filter(Boolean);
setDaemonNodeFlags(daemonFlags);
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));

const log = (message: string) => process.stderr.write(`${message}\n`);

const ctx: BenchContext = {
  quick: values.quick === true,
  runs: values.runs === undefined ? undefined : Math.max(1, Number(values.runs)),
  profile: values.profile === true,
  basePort: Number(values['base-port']),
  simProcesses: Math.max(1, Number(values['sim-processes'])),
  resultsDir: dirname(values.out!),
  ...(values.variant !== undefined && { variant: resolve(values.variant) }),
  log,
};
if (ctx.variant !== undefined && !existsSync(join(ctx.variant, 'dist', 'index.js'))) {
  process.stderr.write(`--variant ${ctx.variant}: no dist/index.js there (build that checkout first: npm ci, or npx tsc -p tsconfig.build.json with node_modules beside it)\n`);
  process.exit(2);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function machine(): Record<string, unknown> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--', 'src']) !== '',
    daemonNodeFlags: daemonFlags,
  };
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping every child process');
  killAllNow();
  process.exit(130);
});

const problem = distProblem();
if (problem) log(`warning: ${problem}`);

const startedAt = new Date();
const info = machine();
log(`cms-events benchmarks${ctx.quick ? ' (quick)' : ''}: ${info.nproc} cores (${info.cpuModel}), node ${info.node}, commit ${info.commit}${info.dirty ? ' + local changes in src/' : ''}${daemonFlags.length ? `, daemon node flags: ${daemonFlags.join(' ')}` : ''}`);

const rows: Row[] = [];
const results: Record<string, unknown> = {};
for (const bench of selected) {
  const began = performance.now();
  log(`\n== ${bench.name}: ${bench.title}`);
  try {
    const result = await bench.run(ctx);
    rows.push(...result.rows);
    results[bench.name] = { seconds: Math.round((performance.now() - began) / 100) / 10, rows: result.rows, ...result.data };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`  FAILED: ${message}`);
    rows.push({ benchmark: bench.name, figure: 'did not complete', value: message.split('\n')[0]!.slice(0, 80), baseline: '', ratio: '', target: '', verdict: 'error', runs: '' });
    results[bench.name] = { error: message };
  } finally {
    await stopAll();
  }
  log(`  (${((performance.now() - began) / 1000).toFixed(0)} s)`);
}

const table = formatTable(rows);
process.stdout.write(`\n${table}\n`);
const command = `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();
const report = {
  startedAt: startedAt.toISOString(),
  seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  command,
  options: { quick: ctx.quick, runs: ctx.runs ?? null, profile: ctx.profile, basePort: ctx.basePort, simProcesses: ctx.simProcesses, variant: ctx.variant ?? null },
  machine: { ...info, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
  rows,
  benchmarks: results,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(values.out!.replace(/\.json$/, '') + '.md', `${formatMarkdown(rows)}\n`);
log(`\nwritten: ${values.out} (${report.seconds} s in all)`);
process.exit(rows.some((r) => r.verdict === 'error') ? 1 : 0);

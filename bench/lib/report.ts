// What every benchmark hands back, and the table printed at the end of a run.
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './dist.js';

export interface BenchContext {
  quick: boolean;
  /** Overrides every benchmark's number of runs. */
  runs: number | undefined;
  /** Also record CPU profiles and allocation, and summarise them. */
  profile: boolean;
  /** First port of the scale benchmark's consecutive range. */
  basePort: number;
  /** Simulator processes for the scale benchmark. */
  simProcesses: number;
  resultsDir: string;
  /**
   * Another checkout, built (its own dist/ and node_modules): the benchmarks that support it
   * (cdr) also run its daemon, interleaved with this one's, for an A/B of a change.
   */
  variant?: string;
  log(message: string): void;
}

export type Verdict = 'met' | 'missed' | 'info' | 'error';

export interface Row {
  benchmark: string;
  figure: string;
  /** The daemon's figure (median of the runs, unless said otherwise). */
  value: string;
  /** The raw baseline's figure in the same run, when there is one. */
  baseline: string;
  ratio: string;
  target: string;
  verdict: Verdict;
  runs: string;
}

export interface BenchResult {
  rows: Row[];
  /** Everything measured, run by run, for latest.json. */
  data: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

export function profilesDir(ctx: BenchContext): string {
  const dir = join(ctx.resultsDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

export function formatTable(rows: readonly Row[]): string {
  const header: Row = { benchmark: 'benchmark', figure: 'figure', value: 'daemon', baseline: 'raw baseline', ratio: 'ratio', target: 'target', verdict: 'info', runs: 'runs' };
  const cells = (r: Row, head = false) => [r.benchmark, r.figure, r.value, r.baseline, r.ratio, r.target, head ? 'result' : r.verdict === 'info' ? '' : r.verdict.toUpperCase(), r.runs];
  const all = [cells(header, true), ...rows.map((r) => cells(r))];
  const widths = all[0]!.map((_, c) => Math.max(...all.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** The same table in Markdown, for BENCHMARKS.md. */
export function formatMarkdown(rows: readonly Row[]): string {
  const head = '| benchmark | figure | daemon | raw baseline | ratio | target | result | runs |\n|---|---|---|---|---|---|---|---|';
  const body = rows.map((r) => `| ${[r.benchmark, r.figure, r.value, r.baseline, r.ratio, r.target, r.verdict === 'info' ? '' : r.verdict, r.runs].join(' | ')} |`);
  return [head, ...body].join('\n');
}

export const fmt = {
  rate: (v: number) => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')}/s` : 'n/a'),
  ms: (v: number, digits = 2) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a'),
  s: (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a'),
  mb: (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : 'n/a'),
  pct: (fraction: number, digits = 2) => (Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)} %` : 'n/a'),
  ratio: (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a'),
};

/** The 1-minute load average, to read a figure against what else ran on the machine. */
export const loadNow = (): string => loadavg()[0]!.toFixed(1);

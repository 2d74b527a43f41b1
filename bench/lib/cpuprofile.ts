// Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time per
// function and per module, with idle time and garbage collection apart.
import { readFileSync } from 'node:fs';
import { ROOT } from './dist.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds covered by the samples taken into account. */
  totalMs: number;
  idleMs: number;
  gcMs: number;
  /** Everything but idle. */
  busyMs: number;
  top: { fn: string; where: string; selfMs: number; pctOfBusy: number }[];
  byModule: { module: string; selfMs: number; pctOfBusy: number }[];
}

export interface SummaryOptions {
  top?: number;
  /** Only samples taken this many ms before the end of the profile, or later. */
  fromEndMs?: number;
  /** Only samples taken at least this many ms before the end of the profile. */
  toEndMs?: number;
}

const ROOT_URL = `file://${ROOT}`;

/** A short, stable name for where code lives: dist/state/server-state.js, ws, node:internal/…, (native). */
export function shortUrl(url: string): string {
  if (!url) return '(native)';
  const path = url.startsWith(ROOT_URL) ? url.slice(ROOT_URL.length) : url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
  return path.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, '$1');
}

/** The module a function belongs to: a folder of dist/ (session, state…), a package, or a Node subsystem. */
export function moduleOf(url: string): string {
  const short = shortUrl(url);
  const dist = /^dist\/([^/]+)\//.exec(short);
  if (dist) return `src/${dist[1]}`;
  const internal = /^node:internal\/([^/]+(?:\/[^/]+)?)/.exec(short);
  if (internal) return `node:${internal[1]!.replace(/\.js$/, '')}`;
  if (short.startsWith('node:')) return short.replace(/\.js$/, '');
  return short.startsWith('bench/') ? 'bench' : short;
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/**
 * Each sample within the window (ms before the profile's end; absent: no bound) with the node it
 * hit and the time it stands for (until the next sample).
 */
export function forEachSample(profile: CpuProfile, window: { fromEndMs?: number; toEndMs?: number }, visit: (nodeId: number, durationUs: number) => void): void {
  const from = window.fromEndMs === undefined ? -Infinity : profile.endTime - window.fromEndMs * 1000;
  const to = window.toEndMs === undefined ? Infinity : profile.endTime - window.toEndMs * 1000;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    visit(profile.samples[i]!, profile.timeDeltas[i + 1] ?? 0);
  }
}

export function summarize(profile: CpuProfile, options: SummaryOptions = {}): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  forEachSample(profile, options, (id, duration) => selfUs.set(id, (selfUs.get(id) ?? 0) + duration));
  const byFunction = new Map<string, { fn: string; where: string; us: number }>();
  const byModule = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  let gcUs = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gcUs += us;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const entry = byFunction.get(key) ?? { fn: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    const module = frame.url ? moduleOf(frame.url) : frame.functionName.startsWith('(') ? frame.functionName : '(native)';
    byModule.set(module, (byModule.get(module) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => Math.round((us / Math.max(1, busyUs)) * 1000) / 10;
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    totalMs: ms(totalUs),
    idleMs: ms(idleUs),
    gcMs: ms(gcUs),
    busyMs: ms(busyUs),
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, options.top ?? 25)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: ms(e.us), pctOfBusy: pct(e.us) })),
    byModule: [...byModule.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([module, us]) => ({ module, selfMs: ms(us), pctOfBusy: pct(us) })),
  };
}

export function formatSummary(summary: ProfileSummary, title: string, modules = 12): string {
  const lines = [
    `${title}: ${summary.totalMs} ms sampled, ${summary.busyMs} ms busy (${summary.idleMs} ms idle), GC ${summary.gcMs} ms`,
    '  self time by function (% of busy):',
    ...summary.top.map((e) => `    ${e.pctOfBusy.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.fn}  ${e.where}`),
    '  self time by module:',
    ...summary.byModule.slice(0, modules).map((e) => `    ${e.pctOfBusy.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(1).padStart(8)} ms  ${e.module}`),
  ];
  return lines.join('\n');
}

// Where a process's time went, by part of the code: each sample's time goes to the part of the
// frame nearest the leaf that some part claims (so a write(2) called by the journal counts for the
// journal, not for "native"); a `fallback` part (Node's own modules, say) only when no other part
// claims any frame of the stack. Self time alone (cpuprofile.ts) names write*String or
// fdatasync; this says who called them. Samples of idle time are left out.
import { forEachSample, shortUrl, type CpuProfile } from './cpuprofile.js';

export interface Part {
  name: string;
  /** Whether a frame belongs to this part; `url` is shortened (dist/…, a package name, node:…). */
  claims(fn: string, url: string): boolean;
  /** Claims a sample only when no other part claims a frame of its stack. */
  fallback?: boolean;
}

export interface PartTime {
  name: string;
  ms: number;
  pctOfBusy: number;
}

/** Busy time per part over the window (ms before the profile's end, as cpuprofile.ts's summarize). */
export function timeByPart(profile: CpuProfile, parts: readonly Part[], window: { fromEndMs: number; toEndMs: number }): { busyMs: number; parts: PartTime[] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const partOf = new Map<number, string>();
  const part = (id: number): string => {
    const known = partOf.get(id);
    if (known !== undefined) return known;
    let found: string | undefined;
    let fallback: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined && found === undefined; cur = parent.get(cur)) {
      const frame = nodes.get(cur)!.callFrame;
      const url = shortUrl(frame.url);
      found = parts.find((p) => !p.fallback && p.claims(frame.functionName, url))?.name;
      fallback ??= parts.find((p) => p.fallback && p.claims(frame.functionName, url))?.name;
    }
    found ??= fallback ?? 'other';
    partOf.set(id, found);
    return found;
  };
  const us = new Map<string, number>();
  let busy = 0;
  forEachSample(profile, window, (id, duration) => {
    if (nodes.get(id)!.callFrame.functionName === '(idle)') return;
    busy += duration;
    const name = part(id);
    us.set(name, (us.get(name) ?? 0) + duration);
  });
  return {
    busyMs: Math.round(busy / 100) / 10,
    parts: [...us.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, v]) => ({ name, ms: Math.round(v / 100) / 10, pctOfBusy: Math.round((v / Math.max(1, busy)) * 1000) / 10 })),
  };
}

// Resource figures of a process from /proc (Linux): resident memory and CPU time.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** VmRSS and VmHWM (peak) in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** utime + stime of the process, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here (0-based, from field 3).
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** CPU use of several processes over a stretch of time, as a fraction of one core each. */
export class CpuMeter {
  private readonly start: Map<number, number>;
  private readonly startedAt = performance.now();

  constructor(private readonly pids: readonly number[]) {
    this.start = new Map(pids.map((pid) => [pid, cpuSecondsOf(pid)]));
  }

  /** Fraction of one core per pid since construction. */
  read(): Map<number, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return new Map(this.pids.map((pid) => [pid, (cpuSecondsOf(pid) - (this.start.get(pid) ?? 0)) / seconds]));
  }
}

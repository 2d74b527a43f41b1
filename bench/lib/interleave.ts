// Interleaved slices: several clients connected at once, each to its own simulated server in the
// same simulator process, and the traffic switched from one to the other in short slices
// (A, B, B, A, …). Each slice is one sample; a ratio is the median of the ratios of adjacent
// slices, so that a burst of foreign load on this shared machine hits both sides alike.
import { CpuMeter } from './proc.js';
import { sleep, waitFor } from './clock.js';
import type { Client } from './clients.js';
import type { BenchContext } from './report.js';
import type { SimGroup } from './sim-group.js';
import { median } from './stats.js';
import type { SimServerInfo } from '../sim-process.js';

export interface Slice {
  /** Frames the simulator sent to this client per second. */
  messagesPerSecond: number;
  /** Event lines per second read from its stdout (0 for the raw client). */
  linesPerSecond: number;
  /** CPU over the slice, in fractions of one core. */
  cpu: { simulator: number; client: number; reader: number };
  from: number;
  to: number;
}

export interface Contender {
  name: string;
  start(server: SimServerInfo): Promise<Client>;
}

/** A client finishes what was queued for it before the next one's slice counts. */
export const SETTLE_MS = 250;

/** One slice: the feed on `server` only, for `ms`. */
export async function slice(sim: SimGroup, server: number, client: Client, depth: number, ms: number): Promise<Slice> {
  await sim.all('feed', { on: true, depth, server });
  // The previous client finishes what was queued for it; this one gets going.
  await sleep(SETTLE_MS);
  const m0 = await sim.mark(server);
  const lines0 = client.lines();
  const cpu = new CpuMeter([sim.pids[0]!, client.proc.pid, process.pid]);
  await sleep(ms);
  const m1 = await sim.mark(server);
  const lines1 = client.lines();
  const use = cpu.read();
  await sim.all('feed', { on: false });
  const seconds = (m1.t - m0.t) / 1000;
  return {
    messagesPerSecond: (m1.sent - m0.sent) / seconds,
    linesPerSecond: (lines1 - lines0) / seconds,
    cpu: { simulator: use.get(sim.pids[0]!)!, client: use.get(client.proc.pid)!, reader: use.get(process.pid)! },
    from: m0.t,
    to: m1.t,
  };
}

/** Every contender connected at once, server i for contender i; the feed rotates among them. */
/** `beforeStop`: reads what it needs of the clients (their metrics) while they still run. */
export async function interleaved(
  ctx: BenchContext,
  sim: SimGroup,
  contenders: readonly Contender[],
  depth: number,
  rounds: number,
  beforeStop?: (clients: readonly Client[]) => Promise<void>,
): Promise<Slice[][]> {
  const sliceMs = ctx.quick ? 1000 : 1500;
  const clients: Client[] = [];
  const slices: Slice[][] = contenders.map(() => []);
  try {
    for (const [i, contender] of contenders.entries()) clients.push(await contender.start(sim.servers[i]!));
    // Warm-up: the JIT of every client sees the hot path before anything counts.
    for (const [i, client] of clients.entries()) await slice(sim, i, client, depth, sliceMs);
    for (let round = 0; round < rounds; round++) {
      const order = [...clients.keys()];
      if (round % 2 === 1) order.reverse();
      for (const i of order) slices[i]!.push(await slice(sim, i, clients[i]!, depth, sliceMs));
    }
    await beforeStop?.(clients);
  } finally {
    for (const client of clients) await client.stop();
    await waitFor(async () => (await sim.mark()).open === 0, 'the simulator to see every client go', 30_000, 50);
  }
  return slices;
}

/** CPU microseconds the client spent per message in a slice. */
export const cpuPerMessageUs = (s: Slice): number => (s.cpu.client / s.messagesPerSecond) * 1e6;

/** Median over rounds of daemon/raw, each round's two slices being adjacent in time. */
export function pairedRatio(daemon: readonly Slice[], raw: readonly Slice[]): number {
  return median(daemon.map((d, i) => d.messagesPerSecond / raw[i]!.messagesPerSecond));
}

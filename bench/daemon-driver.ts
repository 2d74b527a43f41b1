// The daemon pipeline driven by the benchmark: createHub with the stdout sink, the same code
// `bin/cms-events run` wires up, minus the HTTP API and the config file watcher. It exists for
// what the real daemon cannot tell from outside: when each event's line was handed to stdout
// (latency), the heap after a forced garbage collection (soak), and allocation per message.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type * as HubModule from '../src/hub/index.js';
import type { Hub } from '../src/hub/index.js';
import type { Sink } from '../src/sinks/types.js';
import { startAllocationSampling, stopAllocationSampling } from './lib/alloc.js';
import { wallNow } from './lib/clock.js';
import { CoalescingStdoutSink, NullSink } from './lib/experimental-sinks.js';
import { serveCommands } from './lib/commands.js';
import { loadDist } from './lib/dist.js';
import { SampleBuffer } from './lib/stats.js';
import type { SimServerInfo } from './sim-process.js';

const hubModule = await loadDist<typeof HubModule>('hub/index.js');

let hub: Hub | undefined;
const writtenAt = new SampleBuffer();
const writtenBy = new SampleBuffer();
const writtenFor = new SampleBuffer();
const flushedAt = new SampleBuffer();

/**
 * Notes when each line leaves in a write to stdout (the stdout sink buffers lines for up to
 * 1 ms, then writes them in one chunk; writes to a pipe are synchronous in Node on Linux, so
 * this is when write(2) happens). Only event lines are written to this process's stdout.
 */
function stampStdoutWrites(): void {
  const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string') {
      const at = wallNow();
      for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) flushedAt.push(at);
    }
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}

/** The histogram records the time between its timer's turns: the delay is what exceeds this. */
const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
loopDelay.enable();

/** Garbage-collection pauses since the last status: their number, total and longest, ms. */
let gcPauses = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.count++;
    gcPauses.totalMs += entry.duration;
    gcPauses.maxMs = Math.max(gcPauses.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

export interface DriverStatus {
  ready: boolean;
  states: Record<string, number>;
  sinkBacklog: number;
  /** Event-loop delay since the last status, ms. */
  loopDelayP99: number;
  loopDelayMax: number;
  gc: { count: number; totalMs: number; maxMs: number };
  messagesReceived: number;
}

export interface HandedDump {
  /** Per event, in order: when the tap saw it (handed to the sinks), its server (index), its CMS message id (-1: none). */
  at: Float64Array;
  server: Float64Array;
  messageId: Float64Array;
  /** Per line written to stdout, in order: when the write carrying it was made. */
  flushedAt: Float64Array;
}

export type SinkChoice = 'stdout' | 'none' | 'null' | 'coalesced';

function experimentalSinks(choice: SinkChoice | undefined): { sinks?: Sink[] } {
  if (choice === 'null') return { sinks: [new NullSink()] };
  if (choice === 'coalesced') return { sinks: [new CoalescingStdoutSink(2)] };
  return {};
}

serveCommands({
  /**
   * `sinks` other than `stdout` (the real stdout sink) measure what it costs: `none` (no sink,
   * so no serialisation either), `null` (serialised, not written), `coalesced` (written at most
   * every 2 ms).
   */
  async start(args: { servers: SimServerInfo[]; record?: boolean; logLevel?: string; sinks?: SinkChoice }): Promise<void> {
    const logger = hubModule.createLogger({ level: (args.logLevel ?? 'info') as 'info' });
    hub = hubModule.createHub(
      {
        servers: args.servers.map((s) => ({ name: s.name, host: s.host, port: s.port, username: s.username, password: s.password, tls: { ca: s.caPath } })),
        sinks: args.sinks === 'none' ? [] : [{ type: 'stdout' }],
      },
      { logger, ...experimentalSinks(args.sinks) },
    );
    if (args.record) {
      stampStdoutWrites();
      const index = new Map(args.servers.map((s, i) => [s.name, i]));
      // A tap runs right after the sinks were handed the same event and line, just after the ack;
      // -1 stands for events no CMS message carried.
      hub.tap((event, _line, messageId) => {
        writtenAt.push(wallNow());
        writtenBy.push(index.get(event.server) ?? -1);
        writtenFor.push(messageId ?? -1);
      });
    }
    await hub.start();
  },

  status(): DriverStatus {
    const states: Record<string, number> = {};
    let messagesReceived = 0;
    const servers = hub?.servers() ?? [];
    for (const server of servers) {
      states[server.state] = (states[server.state] ?? 0) + 1;
      messagesReceived += server.counters?.messagesReceived ?? 0;
    }
    const status = {
      ready: servers.length > 0 && servers.every((s) => s.state === 'live'),
      states,
      sinkBacklog: (hub?.sinkStatuses() ?? []).reduce((sum, s) => sum + s.backlog, 0),
      loopDelayP99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
      loopDelayMax: Math.max(0, loopDelay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
      gc: gcPauses,
      messagesReceived,
    };
    loopDelay.reset();
    gcPauses = { count: 0, totalMs: 0, maxMs: 0 };
    return status;
  },

  /** When each event was handed to the sinks, by which server (index in the start list), for which message. */
  dump(): HandedDump {
    return { at: writtenAt.toArray(), server: writtenBy.toArray(), messageId: writtenFor.toArray(), flushedAt: flushedAt.toArray() };
  },

  /** Heap after full garbage collections (needs --expose-gc). */
  heap(): NodeJS.MemoryUsage {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('run the driver with --expose-gc');
    gc();
    gc();
    return process.memoryUsage();
  },

  allocStart: (args?: { retainedOnly?: boolean }) => startAllocationSampling(args),

  allocStop: (args: { top?: number }) => stopAllocationSampling(args.top),

  async stop(): Promise<void> {
    await hub?.stop();
    setImmediate(() => process.exit(0));
  },
});

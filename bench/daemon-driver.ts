// The daemon pipeline driven by the benchmark: createHub with the stdout sink, the same code
// `bin/cms-events run` wires up, minus the HTTP API and the config file watcher. It exists for
// what the real daemon cannot tell from outside: when each event's line was handed to stdout
// (latency), the heap after a forced garbage collection (soak), and allocation per message.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type * as HubModule from '../src/hub/index.js';
import type { Hub } from '../src/hub/index.js';
import { startAllocationSampling, stopAllocationSampling } from './lib/alloc.js';
import { wallNow } from './lib/clock.js';
import { serveCommands } from './lib/commands.js';
import { loadDist } from './lib/dist.js';
import { SampleBuffer } from './lib/stats.js';
import type { SimServerInfo } from './sim-process.js';

const hubModule = await loadDist<typeof HubModule>('hub/index.js');

let hub: Hub | undefined;
const writtenAt = new SampleBuffer();
const writtenBy = new SampleBuffer();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

export interface DriverStatus {
  ready: boolean;
  states: Record<string, number>;
  sinkBacklog: number;
  /** Event-loop delay since the last status, ms. */
  loopDelayP99: number;
  loopDelayMax: number;
  messagesReceived: number;
}

serveCommands({
  /** `sinks: none` takes the stdout sink out, to measure what it costs. */
  async start(args: { servers: SimServerInfo[]; record?: boolean; logLevel?: string; sinks?: 'stdout' | 'none' }): Promise<void> {
    const logger = hubModule.createLogger({ level: (args.logLevel ?? 'info') as 'info' });
    hub = hubModule.createHub(
      {
        servers: args.servers.map((s) => ({ name: s.name, host: s.host, port: s.port, username: s.username, password: s.password, tls: { ca: s.caPath } })),
        sinks: args.sinks === 'none' ? [] : [{ type: 'stdout' }],
      },
      { logger },
    );
    if (args.record) {
      const index = new Map(args.servers.map((s, i) => [s.name, i]));
      // A tap runs right after the sinks were handed the same event and line, inside the
      // message's receive step, so before its ack.
      hub.tap((event) => {
        writtenAt.push(wallNow());
        writtenBy.push(index.get(event.server) ?? -1);
      });
    }
    await hub.start();
  },

  status(): DriverStatus {
    const states: Record<string, number> = {};
    let messagesReceived = 0;
    for (const server of hub?.servers() ?? []) {
      states[server.state] = (states[server.state] ?? 0) + 1;
      messagesReceived += server.counters.messagesReceived;
    }
    const status = {
      ready: hub?.ready() === true && (hub?.servers().length ?? 0) > 0,
      states,
      sinkBacklog: (hub?.sinkStatuses() ?? []).reduce((sum, s) => sum + s.backlog, 0),
      loopDelayP99: loopDelay.percentile(99) / 1e6,
      loopDelayMax: loopDelay.max / 1e6,
      messagesReceived,
    };
    loopDelay.reset();
    return status;
  },

  /** When each event was handed to the sinks, and by which server (index in the start list). */
  dump(): { at: Float64Array; server: Float64Array } {
    return { at: writtenAt.toArray(), server: writtenBy.toArray() };
  },

  /** Heap after full garbage collections (needs --expose-gc). */
  heap(): NodeJS.MemoryUsage {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('run the driver with --expose-gc');
    gc();
    gc();
    return process.memoryUsage();
  },

  allocStart: () => startAllocationSampling(),

  allocStop: (args: { top?: number }) => stopAllocationSampling(args.top),

  async stop(): Promise<void> {
    await hub?.stop();
    setImmediate(() => process.exit(0));
  },
});

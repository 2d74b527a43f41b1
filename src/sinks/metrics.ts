// Prometheus metrics of the sinks: one family per registry, one `sink` label value per sink.
// Gauges are read from the live sinks at scrape time, so the hot path only bumps counters.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface SinkGaugeSource {
  backlog(): number;
  spoolBytes(): number;
  spoolFull(): boolean;
}

export const SINK_METRIC_NAMES = {
  delivered: 'cms_events_sink_delivered_total',
  failures: 'cms_events_sink_failures_total',
  rejected: 'cms_events_sink_rejected_total',
  backlog: 'cms_events_sink_backlog',
  spoolBytes: 'cms_events_sink_spool_bytes',
  spoolFull: 'cms_events_sink_spool_full',
  spoolFullEpisodes: 'cms_events_sink_spool_full_episodes_total',
  latency: 'cms_events_sink_delivery_latency_seconds',
} as const;

class SinkMetricFamily {
  readonly sources = new Map<string, SinkGaugeSource>();
  readonly delivered: Counter<'sink'>;
  readonly failures: Counter<'sink'>;
  readonly rejected: Counter<'sink'>;
  readonly spoolFullEpisodes: Counter<'sink'>;
  readonly latency: Histogram<'sink'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['sink'] as const;
    const sources = this.sources;
    this.delivered = new Counter({
      name: SINK_METRIC_NAMES.delivered,
      help: 'Events confirmed delivered by the downstream system',
      labelNames,
      registers,
    });
    this.failures = new Counter({
      name: SINK_METRIC_NAMES.failures,
      help: 'Failed delivery attempts (each is retried)',
      labelNames,
      registers,
    });
    this.rejected = new Counter({
      name: SINK_METRIC_NAMES.rejected,
      help: 'Events the downstream refused for good (e.g. HTTP 4xx) or that could not be read back from the spool; not retried',
      labelNames,
      registers,
    });
    this.spoolFullEpisodes = new Counter({
      name: SINK_METRIC_NAMES.spoolFullEpisodes,
      help: 'Times the spool filled up and the sink started holding the hub back',
      labelNames,
      registers,
    });
    this.latency = new Histogram({
      name: SINK_METRIC_NAMES.latency,
      help: 'From the event timestamp to confirmed delivery',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers,
    });
    const gauge = (name: string, help: string, read: (s: SinkGaugeSource) => number) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [sink, source] of sources) this.set({ sink }, read(source));
        },
      });
    gauge(SINK_METRIC_NAMES.backlog, 'Events accepted but not yet delivered (memory and spool)', (s) => s.backlog());
    gauge(SINK_METRIC_NAMES.spoolBytes, 'Bytes of the on-disk spool', (s) => s.spoolBytes());
    gauge(SINK_METRIC_NAMES.spoolFull, '1 while the spool is full and the hub is held back', (s) => (s.spoolFull() ? 1 : 0));
  }
}

const families = new WeakMap<Registry, SinkMetricFamily>();

export interface SinkMetrics {
  delivered(n: number): void;
  failure(): void;
  rejected(n: number): void;
  spoolFullEpisode(): void;
  latency(seconds: number): void;
  /** Stops reporting this sink's gauges (its counters keep their totals). */
  release(): void;
}

export function sinkMetrics(registry: Registry, sink: string, source: SinkGaugeSource): SinkMetrics {
  let family = families.get(registry);
  if (!family) {
    family = new SinkMetricFamily(registry);
    families.set(registry, family);
  }
  const f = family;
  f.sources.set(sink, source);
  const delivered = f.delivered.labels(sink);
  const failures = f.failures.labels(sink);
  const rejected = f.rejected.labels(sink);
  const episodes = f.spoolFullEpisodes.labels(sink);
  const latency = f.latency.labels(sink);
  // Touch every series so that a scrape shows zeros rather than nothing before the first event.
  delivered.inc(0);
  failures.inc(0);
  rejected.inc(0);
  episodes.inc(0);
  return {
    delivered: (n) => delivered.inc(n),
    failure: () => failures.inc(),
    rejected: (n) => rejected.inc(n),
    spoolFullEpisode: () => episodes.inc(),
    latency: (s) => latency.observe(s),
    release: () => {
      if (f.sources.get(sink) === source) f.sources.delete(sink);
    },
  };
}

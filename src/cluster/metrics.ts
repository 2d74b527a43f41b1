// Cluster mode's metrics (README.md, "Running several instances"): servers held here, takeovers
// since start, and how long lease renewals take by outcome.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Registers the gauges read at scrape time; returns the renewal histogram to observe into. */
export function clusterMetrics(registry: Registry, read: { owned: () => number; takeovers: () => number }): Histogram<'outcome'> {
  new Gauge({
    name: 'cms_events_cluster_servers_owned',
    help: 'Servers this instance holds the lease of (cluster mode)',
    registers: [registry],
    collect() {
      this.set(read.owned());
    },
  });
  new Counter({
    name: 'cms_events_cluster_takeovers_total',
    help: 'Servers this instance took over (their lease taken, their published model loaded) since start',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read.takeovers());
    },
  });
  return new Histogram({
    name: 'cms_events_cluster_lease_renew_seconds',
    help: 'Time a lease renewal took, by outcome (renewed, failed, lost)',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
}

// Prometheus metrics. Per-message figures are read from counters the sessions and the hub keep
// anyway, at scrape time (collect), so the message path pays nothing for them.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionCounters, SessionState, SessionStatus } from '../session/types.js';
import type { MeetingCounts } from '../state/meetings.js';
import type { CmsHealth } from './server-health.js';

const STATES: SessionState[] = ['connecting', 'subscribing', 'live', 'backoff', 'stopped'];

export interface MetricsSource {
  statuses(): SessionStatus[];
  queueDepths(): Map<string, number>;
  eventCounts(): Map<string, Map<string, number>>;
  /** Stored models written since start (0 without a state folder). */
  stateWrites(): number;
  meetings(): MeetingCounts;
  /** Each followed server's health as last read from its REST API. */
  health(): Map<string, CmsHealth>;
}

export interface HubMetrics {
  registry: Registry;
  handlerErrors: Counter<'server' | 'kind'>;
  handlerSeconds: Histogram<'type'>;
}

function countersFromSessions(
  registry: Registry,
  source: MetricsSource,
  name: string,
  help: string,
  field: keyof SessionCounters,
): void {
  new Counter({
    name,
    help,
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of source.statuses()) this.inc({ server: status.name }, status.counters[field]);
    },
  });
}

export function createHubMetrics(source: MetricsSource, registry = new Registry()): HubMetrics {
  new Gauge({
    name: 'cms_events_server_state',
    help: 'Session state per server (1 for the current state)',
    labelNames: ['server', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of source.statuses()) {
        for (const state of STATES) this.set({ server: status.name, state }, status.state === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'cms_events_server_live',
    help: '1 while the server feed is live',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of source.statuses()) this.set({ server: status.name }, status.state === 'live' ? 1 : 0);
    },
  });
  countersFromSessions(registry, source, 'cms_events_messages_received_total', 'Server messages received', 'messagesReceived');
  countersFromSessions(registry, source, 'cms_events_acks_sent_total', 'Acks sent to servers', 'acksSent');
  countersFromSessions(registry, source, 'cms_events_reconnects_total', 'Reconnections after a lost feed', 'reconnects');
  countersFromSessions(registry, source, 'cms_events_connect_attempts_total', 'Connection attempts', 'connectAttempts');
  countersFromSessions(registry, source, 'cms_events_bad_frames_total', 'Malformed or unknown frames received', 'badFrames');
  countersFromSessions(registry, source, 'cms_events_unknown_indexes_total', 'Updates for unknown subscription indexes', 'unknownIndexes');
  countersFromSessions(registry, source, 'cms_events_late_updates_total', 'Updates for calls already removed', 'lateUpdates');
  countersFromSessions(registry, source, 'cms_events_unknown_ids_total', 'Updates for ids never added', 'unknownIds');
  new Gauge({
    name: 'cms_events_queue_depth',
    help: 'Events waiting for handlers, per server',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [server, depth] of source.queueDepths()) this.set({ server }, depth);
    },
  });
  new Counter({
    name: 'cms_events_events_total',
    help: 'Events produced, per server and type',
    labelNames: ['server', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [server, byType] of source.eventCounts()) {
        for (const [type, count] of byType) this.inc({ server, type }, count);
      }
    },
  });
  new Counter({
    name: 'cms_events_state_writes_total',
    help: 'Server models written to the state folder',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source.stateWrites());
    },
  });
  new Gauge({
    name: 'cms_events_meetings',
    help: 'Live meetings (one per callCorrelator, however many bridges host it), by how many bridges they span',
    labelNames: ['span'],
    registers: [registry],
    collect() {
      const { meetings, spread } = source.meetings();
      this.set({ span: 'one' }, meetings - spread);
      this.set({ span: 'several' }, spread);
    },
  });
  new Gauge({
    name: 'cms_events_meeting_participants',
    help: 'Participants of the live meetings, each counted once however many bridges list them',
    registers: [registry],
    collect() {
      this.set(source.meetings().participants);
    },
  });
  new Gauge({
    name: 'cms_events_cms_call_legs_active',
    help: 'Active call legs as each CMS reports them (/system/status)',
    labelNames: ['server'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [server, health] of source.health()) if (health.callLegsActive !== null) this.set({ server }, health.callLegsActive);
    },
  });
  new Gauge({
    name: 'cms_events_cms_alarms',
    help: 'Alarms active on each CMS (/system/alarms), by type',
    labelNames: ['server', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [server, health] of source.health()) {
        const byType = new Map<string, number>();
        for (const alarm of health.alarms) byType.set(alarm.type, (byType.get(alarm.type) ?? 0) + 1);
        for (const [type, count] of byType) this.set({ server, type }, count);
      }
    },
  });
  const handlerErrors = new Counter({
    name: 'cms_events_handler_errors_total',
    help: 'Handlers that threw or timed out',
    labelNames: ['server', 'kind'],
    registers: [registry],
  });
  const handlerSeconds = new Histogram({
    name: 'cms_events_handler_duration_seconds',
    help: 'Handler run time',
    labelNames: ['type'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  return { registry, handlerErrors, handlerSeconds };
}

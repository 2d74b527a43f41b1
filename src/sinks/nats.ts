// NATS JetStream: each event is published to `<subject>.<server>.<type>` with `Nats-Msg-Id` set
// to the event id, so the stream drops a copy sent again within its duplicate window (default
// two minutes) and publish acks confirm storage. The stream (subjects `<subject>.>`) is created
// when missing.
//
// A batch is published in one synchronous loop and then its acks are awaited together: the
// client writes the whole batch to one connection, the server stores a prefix of it in order,
// and a retry resends from the first unacknowledged event. With msgID de-duplication the
// stream therefore holds each event once, in order per server.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { withDeadline } from './deadline.js';
import { redactUrl, type Secrets } from '../secrets.js';
import type { SpoolRecord } from './spool/index.js';
import type { DeliveryOutcome, DeliveryTransport } from './delivery.js';
import { NatsFence } from './nats-fence.js';

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

export interface NatsTransportOptions {
  servers: string[];
  subject: string;
  stream: string;
  timeoutMs: number;
  redactor: Secrets;
  logger: Logger;
  /** Cluster mode: publishes fenced by each event's epoch (nats-fence.ts). */
  fenced?: boolean;
}

/** A server name as one subject token: no dots, wildcards or whitespace. */
export function subjectToken(name: string): string {
  return name.replace(/[\s.*>]/g, '_') || '_';
}

export class NatsTransport implements DeliveryTransport {
  readonly target: string;
  private readonly servers: string[];
  private readonly auth: { user?: string; pass?: string; token?: string };
  private connection: { nc: NatsConnection; js: JetStreamClient; streamReady: boolean; fence?: NatsFence } | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: NatsTransportOptions) {
    this.target = `${options.servers.map(redactUrl).join(',')} stream ${options.stream} subject ${options.subject}.<server>.<type>`;
    // nats.js takes credentials as options, not from the URL.
    this.auth = {};
    this.servers = options.servers.map((s) => {
      const u = new URL(s);
      if (u.username || u.password) {
        const user = decodeURIComponent(u.username);
        const pass = decodeURIComponent(u.password);
        if (pass) Object.assign(this.auth, { user, pass });
        else Object.assign(this.auth, { token: user });
      }
      return `${u.protocol}//${u.host}`;
    });
  }

  async deliver(records: readonly SpoolRecord[], signal: AbortSignal): Promise<DeliveryOutcome> {
    let conn: NonNullable<NatsTransport['connection']>;
    try {
      conn = await withDeadline(this.connected(), this.options.timeoutMs * 2, signal);
      if (!conn.streamReady) {
        await withDeadline(this.ensureStream(conn.nc), this.options.timeoutMs * 2, signal);
        conn.streamReady = true;
      }
    } catch (error) {
      return { kind: 'failed', delivered: 0, error: `NATS ${this.target}: ${this.options.redactor.describe(error)}` };
    }

    const { subject, stream, timeoutMs } = this.options;
    if (this.options.fenced) return this.deliverFenced(conn, records, signal);
    const acks = records.map((r) =>
      conn.js.publish(`${subject}.${subjectToken(r.server)}.${r.type}`, r.line, {
        msgID: r.id,
        timeout: timeoutMs,
        expect: { streamName: stream },
      }),
    );
    let results: PromiseSettledResult<unknown>[];
    try {
      results = await withDeadline(Promise.allSettled(acks), timeoutMs + 1000, signal);
    } catch (error) {
      return { kind: 'failed', delivered: 0, error: `NATS publish: ${this.options.redactor.describe(error)}` };
    }
    const firstFailure = results.findIndex((r) => r.status === 'rejected');
    if (firstFailure === -1) return { kind: 'delivered' };
    const reason = (results[firstFailure] as PromiseRejectedResult).reason as unknown;
    // "No responders" means nothing listens on the subject: the stream may have been deleted.
    if (/no responders|not enabled|stream not found/i.test(String(reason))) conn.streamReady = false;
    return {
      kind: 'failed',
      delivered: firstFailure,
      error: `NATS publish to stream ${stream} failed: ${this.options.redactor.describe(reason)}`,
    };
  }

  /** Events dropped by the fence so far (a newer owner had written). */
  get fenced(): number {
    return this.connection?.fence?.fenced ?? 0;
  }

  private async deliverFenced(conn: NonNullable<NatsTransport['connection']>, records: readonly SpoolRecord[], signal: AbortSignal): Promise<DeliveryOutcome> {
    const { stream, subject, timeoutMs } = this.options;
    if (conn.fence === undefined) {
      const jsm = await jetstreamManager(conn.nc, { timeout: timeoutMs });
      conn.fence = new NatsFence({ js: conn.js, jsm, stream, subject, token: subjectToken, serverVersion: conn.nc.info?.version, timeoutMs });
      this.options.logger.info({ stream, ownerSubject: conn.fence.ownerSubjectMode }, conn.fence.ownerSubjectMode ? 'fenced publishing: owner-subject expectations (nats-server 2.11+)' : 'fenced publishing: per-subject chains after takeover markers (nats-server before 2.11)');
    }
    const fence = conn.fence;
    const before = fence.fenced;
    const handled = await withDeadline(fence.publish(records), timeoutMs * records.length + 2000, signal).then(
      () => ({ done: records.length, error: undefined as unknown }),
      (error: unknown) => ({ done: 0, error }),
    );
    if (fence.fenced > before) this.options.logger.warn({ dropped: fence.fenced - before }, 'events of a deposed owner refused by the stream (a newer owner announces the difference)');
    if (handled.error === undefined) return { kind: 'delivered' };
    return { kind: 'failed', delivered: handled.done, error: `NATS publish to stream ${stream}: ${this.options.redactor.describe(handled.error)}` };
  }

  async close(): Promise<void> {
    this.closed = true;
    const conn = this.connection;
    this.connection = null;
    if (conn) await withDeadline(conn.nc.close(), 2000).catch(() => {});
  }

  private async connected(): Promise<NonNullable<NatsTransport['connection']>> {
    while (!this.connection) {
      this.connecting ??= this.connect().finally(() => (this.connecting = null));
      await this.connecting;
    }
    return this.connection;
  }

  private async connect(): Promise<void> {
    const nc = await connect({
      servers: this.servers,
      ...this.auth,
      name: 'cms-events',
      timeout: this.options.timeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
    if (this.closed) {
      await nc.close();
      throw new Error('closing');
    }
    this.connection = { nc, js: jetstream(nc, { timeout: this.options.timeoutMs }), streamReady: false };
    void this.watch(nc);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    const logger = this.options.logger;
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') logger.warn({ server: redactUrl(s.server) }, 'NATS connection lost; reconnecting');
      else if (s.type === 'reconnect') logger.info({ server: redactUrl(s.server) }, 'NATS connection restored');
      else if (s.type === 'error') logger.warn({ error: this.options.redactor.describe(s.error) }, 'NATS error');
    }
    // Closed for good (not by us): the next delivery connects afresh.
    if (this.connection?.nc === nc) this.connection = null;
  }

  private async ensureStream(nc: NatsConnection): Promise<void> {
    const jsm = await jetstreamManager(nc, { timeout: this.options.timeoutMs });
    const { stream, subject } = this.options;
    try {
      await jsm.streams.info(stream);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
    }
    try {
      await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
      this.options.logger.info({ stream, subjects: [`${subject}.>`] }, 'created the JetStream stream');
    } catch (error) {
      // Another instance created it meanwhile.
      if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
    }
  }
}

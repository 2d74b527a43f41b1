// A sink that delivers through its spool: `write` appends to the spool, one loop reads the
// spool in order and hands batches to a transport (file, webhook, redis, nats), retrying with
// backoff until each batch is delivered or refused for good. One batch is in flight at a time,
// so events reach the downstream in spool order, which is the per-server order of the hub.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { assertNever } from '../assert-never.js';
import { Backoff } from '../backoff.js';
import { realClock, sleep, type Clock } from '../clock.js';
import { SPOOLED_SINK } from '../defaults.js';
import type { CmsEvent } from '../state/events.js';
import { sinkMetrics, type SinkMetrics } from './metrics.js';
import type { DeliveryOutcome, DeliveryTransport } from './delivery.js';
import { Spool, type SpoolRecord } from './spool/index.js';
import type { Sink, SinkState, SinkStatus } from './types.js';

export interface SpooledSinkOptions {
  name: string;
  type: string;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Records per delivery attempt. */
  batch: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  logger: Logger;
  registry: Registry;
  /** On close, how long to keep delivering the backlog to a healthy downstream. @defaultValue SPOOLED_SINK.closeDrainMs */
  closeDrainMs?: number;
  /** Drives the retry waits, the close waits, the failure streak and the spool's timers. */
  clock?: Clock;
}

/** Extra status fields of spooled sinks (GET /api/sinks shows them too). */
export interface SpooledSinkStatus extends SinkStatus {
  target: string;
  failures: number;
  rejected: number;
  spoolBytes: number;
  lastErrorAt: string | null;
  lastDeliveryAt: string | null;
}

export class SpooledSink implements Sink {
  readonly name: string;
  readonly type: string;
  private readonly logger: Logger;
  private readonly metrics: SinkMetrics;
  private readonly clock: Clock;
  /** Equal jitter: a downstream that just failed is not tried again at once. */
  private readonly backoff: Backoff;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private state: SinkState = 'ok';
  private delivered = 0;
  private failures = 0;
  private rejected = 0;
  private lastError: string | null = null;
  private lastErrorAt: Date | null = null;
  private lastDeliveryAt: Date | null = null;
  private streak: { since: number; lastLog: number } | null = null;
  private fullSince: number | null = null;
  private closing: Promise<void> | null = null;
  private writeAfterCloseLogged = false;
  private drained: (() => void) | null = null;

  static async create(options: SpooledSinkOptions, transport: DeliveryTransport): Promise<SpooledSink> {
    const logger = options.logger.child({ sink: options.name });
    let sink: SpooledSink | undefined;
    const spool = await Spool.open({
      dir: options.spoolDir,
      maxBytes: options.spoolMaxBytes,
      logger,
      onFullChange: (full) => sink?.onFullChange(full),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    sink = new SpooledSink(options, logger, spool, transport);
    if (spool.full) sink.onFullChange(true);
    return sink;
  }

  private constructor(
    private readonly options: SpooledSinkOptions,
    logger: Logger,
    private readonly spool: Spool,
    private readonly transport: DeliveryTransport,
  ) {
    this.name = options.name;
    this.type = options.type;
    this.logger = logger;
    this.clock = options.clock ?? realClock;
    this.backoff = new Backoff({ initialMs: options.backoffInitialMs, maxMs: options.backoffMaxMs, jitter: 'equal' });
    this.metrics = sinkMetrics(options.registry, options.name, {
      backlog: () => this.spool.backlog,
      spoolBytes: () => this.spool.diskBytes,
      spoolFull: () => this.spool.full,
    });
    this.loop = this.run().catch((error: unknown) => {
      // A bug, not a downstream failure: say so loudly; the spool keeps the events for a restart.
      this.logger.fatal({ err: error }, 'sink delivery loop crashed; events stay in the spool');
      this.state = 'failing';
      this.lastError = `internal error: ${String(error)}`;
    });
    this.logger.info({ target: transport.target, spool: options.spoolDir, backlog: spool.backlog }, 'sink ready');
  }

  write(event: CmsEvent, line: string): void | Promise<void> {
    if (this.closing) {
      if (!this.writeAfterCloseLogged) {
        this.writeAfterCloseLogged = true;
        this.logger.error({ id: event.id }, 'event written after close was ignored');
      }
      return;
    }
    this.spool.append(event.id, event.server, event.type, event.ts, line, event.epoch);
    if (this.spool.full) return this.spool.waitForRoom();
  }

  status(): SpooledSinkStatus {
    return {
      name: this.name,
      type: this.type,
      state: this.state,
      backlog: this.spool.backlog,
      delivered: this.delivered,
      lastError: this.lastError,
      full: this.spool.full,
      target: this.transport.target,
      failures: this.failures,
      rejected: this.rejected,
      spoolBytes: this.spool.diskBytes,
      lastErrorAt: this.lastErrorAt?.toISOString() ?? null,
      lastDeliveryAt: this.lastDeliveryAt?.toISOString() ?? null,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.spool.flush();
    const drainMs = this.options.closeDrainMs ?? SPOOLED_SINK.closeDrainMs;
    if (this.state === 'ok' && this.spool.backlog > 0 && drainMs > 0) {
      // A healthy downstream gets a moment to take the rest; anything left waits in the spool.
      const drained = new AbortController();
      this.drained = () => drained.abort();
      await sleep(this.clock, drainMs, drained.signal);
    }
    this.abort.abort();
    const grace = new AbortController();
    await Promise.race([this.loop, sleep(this.clock, SPOOLED_SINK.closeAbortGraceMs, grace.signal)]);
    grace.abort();
    await this.transport.close().catch((error: unknown) => {
      this.logger.warn({ error: String(error) }, 'closing the connection failed');
    });
    await this.loop;
    await this.spool.close();
    this.metrics.release();
    this.state = 'closed';
    const backlog = this.spool.backlog;
    this.logger.info({ backlog, delivered: this.delivered }, backlog > 0 ? 'sink closed; undelivered events stay in the spool' : 'sink closed');
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const batch = await this.spool.next(this.options.batch, SPOOLED_SINK.batchMaxBytes, signal);
      if (batch.length === 0) continue;
      let rest = batch.filter((r) => {
        if (r.corrupt === undefined) return true;
        this.rejected += 1;
        this.metrics.rejected(1);
        this.logger.error({ record: r.corrupt }, 'spool record is unreadable and cannot be delivered; skipped');
        return false;
      });
      while (rest.length > 0 && !signal.aborted) {
        const outcome = await this.transport.deliver(rest, signal).catch(
          (error: unknown): DeliveryOutcome => ({ kind: 'failed', delivered: 0, error: `internal error: ${String(error)}` }),
        );
        if (signal.aborted && outcome.kind !== 'delivered') break;
        switch (outcome.kind) {
          case 'delivered':
            this.confirm(rest);
            rest = [];
            break;
          case 'failed': {
            if (outcome.delivered > 0) {
              this.confirm(rest.slice(0, outcome.delivered));
              rest = rest.slice(outcome.delivered);
            }
            const delay = this.failed(outcome.error, outcome.retryAfterMs);
            await sleep(this.clock, delay, signal);
            break;
          }
          case 'rejected': {
            const delivered = outcome.delivered ?? 0;
            if (delivered > 0) {
              this.confirm(rest.slice(0, delivered));
              rest = rest.slice(delivered);
            }
            if (rest.length === 0) break;
            const refused = Math.max(1, Math.min(rest.length, outcome.refused ?? rest.length));
            this.refused(rest.slice(0, refused), outcome.error);
            rest = rest.slice(refused);
            break;
          }
          default:
            assertNever(outcome, 'delivery outcome');
        }
      }
      if (rest.length === 0) this.spool.ack(batch[batch.length - 1]!);
      if (this.drained && this.spool.backlog === 0) this.drained();
    }
  }

  private confirm(records: readonly SpoolRecord[]): void {
    this.spool.ack(records[records.length - 1]!);
    this.delivered += records.length;
    this.metrics.delivered(records.length);
    const now = this.clock.now();
    for (const r of records) {
      const at = Date.parse(r.ts);
      if (!Number.isNaN(at)) this.metrics.latency(Math.max(0, now - at) / 1000);
    }
    this.lastDeliveryAt = new Date(now);
    if (this.streak) {
      this.logger.info(
        { attempts: this.backoff.attempt, downMs: now - this.streak.since, backlog: this.spool.backlog },
        'delivery works again',
      );
      this.streak = null;
      this.backoff.reset();
    }
    this.state = 'ok';
  }

  /** Records a failed attempt; returns how long to wait before the next one. */
  private failed(error: string, retryAfterMs?: number): number {
    const now = this.clock.now();
    this.failures += 1;
    this.metrics.failure();
    this.lastError = error;
    this.lastErrorAt = new Date(now);
    const first = this.streak === null;
    this.streak ??= { since: now, lastLog: now };
    // Counted even when the downstream names its own delay, so that the windows keep growing.
    const backoff = this.backoff.next();
    const attempts = this.backoff.attempt;
    const wasFailing = this.state === 'failing';
    this.state =
      attempts >= SPOOLED_SINK.failingAfterAttempts || now - this.streak.since >= SPOOLED_SINK.failingAfterMs ? 'failing' : 'retrying';
    const delay = retryAfterMs !== undefined ? Math.min(Math.max(retryAfterMs, 0), SPOOLED_SINK.retryAfterCapMs) : backoff;
    if (first || (this.state === 'failing' && !wasFailing) || now - this.streak.lastLog >= SPOOLED_SINK.failureLogIntervalMs) {
      this.streak.lastLog = now;
      this.logger.warn(
        { error, attempts, retryInMs: Math.round(delay), backlog: this.spool.backlog, state: this.state },
        'delivery failed; retrying (events stay in the spool)',
      );
    }
    return delay;
  }

  private refused(records: readonly SpoolRecord[], error: string): void {
    this.spool.ack(records[records.length - 1]!);
    this.rejected += records.length;
    this.metrics.rejected(records.length);
    this.lastError = error;
    this.lastErrorAt = new Date(this.clock.now());
    this.state = 'failing';
    this.streak = null;
    this.backoff.reset();
    this.logger.error(
      { error, events: records.length, firstId: records[0]!.id, lastId: records[records.length - 1]!.id },
      'downstream refused a batch for good; these events are not delivered and will not be retried',
    );
  }

  private onFullChange(full: boolean): void {
    if (full) {
      this.fullSince = this.clock.now();
      this.metrics.spoolFullEpisode();
      this.logger.warn(
        { backlog: this.spool.backlog, backlogBytes: this.spool.backlogBytes, maxBytes: this.options.spoolMaxBytes },
        'spool full: holding the hub (and the acks to the CMS) back until the downstream catches up',
      );
    } else {
      this.logger.info({ heldMs: this.fullSince === null ? 0 : this.clock.now() - this.fullSince }, 'spool has room again');
      this.fullSince = null;
    }
  }
}

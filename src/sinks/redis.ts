// Redis Streams: one XADD per event (`MAXLEN ~ maxLen`), a batch sent as one MULTI/EXEC.
//
// Why a transaction rather than a bare pipeline: both go out in one write, but EXEC runs all or
// nothing, so after a lost connection a batch is either wholly in the stream (and a retry
// duplicates it whole) or not at all. Duplicates then always repeat a contiguous run, and a
// consumer that keeps the first copy of each event id still sees every server's events in
// order. Each entry carries the fields `id`, `server`, `type` and `event` (the JSON).
import { once } from 'node:events';
import { createClient } from 'redis';
import type { Logger } from 'pino';
import { withDeadline } from './deadline.js';
import { redactUrl, type Secrets } from '../secrets.js';
import type { SpoolRecord } from './spool/index.js';
import type { DeliveryOutcome, DeliveryTransport } from './delivery.js';

export interface RedisTransportOptions {
  url: string;
  stream: string;
  maxLen: number;
  streamPerServer: boolean;
  timeoutMs: number;
  redactor: Secrets;
  logger: Logger;
}

export class RedisTransport implements DeliveryTransport {
  readonly target: string;
  private readonly client: ReturnType<typeof createClient>;
  private lastClientError: string | null = null;
  private wasReady = false;

  constructor(private readonly options: RedisTransportOptions) {
    this.target = `${redactUrl(options.url)} stream ${options.streamPerServer ? `${options.stream}:<server>` : options.stream}`;
    this.client = createClient({
      url: options.url,
      // Fail at once while disconnected instead of queueing: the spool is the queue, and the
      // sink's status must show the outage.
      disableOfflineQueue: true,
      // Never give up reconnecting (the default stops after a socket timeout).
      socket: { connectTimeout: options.timeoutMs, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 3000) + Math.random() * 200 },
    });
    this.client.on('error', (error: unknown) => {
      this.lastClientError = options.redactor.describe(error);
    });
    this.client.on('ready', () => {
      if (this.wasReady) options.logger.info({ target: this.target }, 'redis connection restored');
      this.wasReady = true;
      this.lastClientError = null;
    });
  }

  async deliver(records: readonly SpoolRecord[], signal: AbortSignal): Promise<DeliveryOutcome> {
    if (!this.client.isOpen) {
      // Keeps reconnecting in the background for as long as the client is open.
      this.client.connect().catch((error: unknown) => {
        this.lastClientError = this.options.redactor.describe(error);
      });
    }
    if (!this.client.isReady && !this.wasReady) {
      // The very first connection: give it a moment rather than report a failure at start-up.
      await withDeadline(once(this.client, 'ready'), this.options.timeoutMs, signal).catch(() => {});
    }
    if (!this.client.isReady) {
      return { kind: 'failed', delivered: 0, error: `redis ${this.target} not connected${this.lastClientError ? `: ${this.lastClientError}` : ''}` };
    }
    const trim = { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.options.maxLen } } as const;
    const multi = this.client.multi();
    for (const r of records) {
      const key = this.options.streamPerServer ? `${this.options.stream}:${r.server}` : this.options.stream;
      multi.xAdd(key, '*', { id: r.id, server: r.server, type: r.type, event: r.line }, trim);
    }
    try {
      await withDeadline(multi.exec(), this.options.timeoutMs, signal);
      return { kind: 'delivered' };
    } catch (error) {
      return { kind: 'failed', delivered: 0, error: `redis XADD to ${this.target} failed: ${this.options.redactor.describe(error)}` };
    }
  }

  async close(): Promise<void> {
    if (this.client.isReady) {
      await withDeadline(this.client.close(), 2000).catch(() => this.client.destroy());
    } else if (this.client.isOpen) {
      this.client.destroy();
    }
  }
}

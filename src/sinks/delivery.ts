// What a spooled sink's transport (file, webhook, redis, nats) promises, and what it answers
// for each batch. The transports stay small because retries, order and the spool are the
// spooled sink's business (spooled-sink.ts), not theirs.
import type { SpoolRecord } from './spool/index.js';

export type DeliveryOutcome =
  /** Every record is confirmed by the downstream. */
  | { kind: 'delivered' }
  /** The first `delivered` records made it; the rest are retried (after `retryAfterMs` when the downstream asked for it). */
  | { kind: 'failed'; delivered: number; error: string; retryAfterMs?: number }
  /**
   * The downstream refused records for good (e.g. HTTP 400): they are counted, logged and
   * skipped. The first `delivered` records (default 0) made it before; then `refused` records
   * (default: all the rest) are refused; any after those are tried again.
   */
  | { kind: 'rejected'; error: string; delivered?: number; refused?: number };

export interface DeliveryTransport {
  /** Where it delivers, without secrets; shown in status and logs. */
  readonly target: string;
  /**
   * Delivers `records` in order. Must not throw and must settle soon after `signal` aborts.
   * Error texts must already be free of secrets.
   */
  deliver(records: readonly SpoolRecord[], signal: AbortSignal): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

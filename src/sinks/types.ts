// What every sink implements. The hub serialises each event once and hands the same line to
// every sink, so no sink repeats JSON work.
import type { CmsEvent } from '../state/events.js';

export type SinkState = 'ok' | 'retrying' | 'failing' | 'closed';

export interface SinkStatus {
  name: string;
  type: string;
  state: SinkState;
  /** Events accepted but not yet delivered (memory + spool). */
  backlog: number;
  delivered: number;
  lastError: string | null;
  /** True while the sink refuses more events and the hub must hold acks back. */
  full: boolean;
}

export interface Sink {
  readonly name: string;
  readonly type: string;
  /**
   * Accepts one event; `line` is JSON.stringify(event) without a newline. Calls come in the
   * order events happened per server. Returns a promise only when the sink cannot take more
   * right now (spool full): the caller must wait for it before writing again, and holds acks
   * to the CMS back meanwhile. Never throws.
   */
  write(event: CmsEvent, line: string): void | Promise<void>;
  status(): SinkStatus;
  /** Flushes what it can within a bounded time and releases every resource. */
  close(): Promise<void>;
}

// Delivery of CDRs to one receiver, as a CMS does it: the records generated for the receiver wait
// in a bounded buffer and leave in order, up to cdrRecordsPerPost per POST, cdrPostsInFlight POSTs
// (1 by default) in flight at a time over keep-alive connections (an undici Pool, a connection per
// POST in flight). A record is delivered only when its
// POST is answered 200; any other answer, a refused, reset or timed-out connection, or an answer
// loseAnswers() swallows, puts the POST's records back at the front, and they leave again, the
// same records with the same recordIndex, cdrRetryMs later. When the buffer is full the oldest
// waiting record is discarded and the record waiting after it carries the count in
// numPreceedingRecordsMissing. Whether the receiver can be reached is reported to the list
// (cdr-receivers.ts), which raises or clears the cdrConnectionFailure alarm.
import { Pool } from 'undici';
import type { Clock, TimerHandle } from '../clock.js';
import { recordsBody, type CdrEntry, type CdrRecord } from './cdr-records.js';
import type { SimulatorSwitches } from './switches.js';

/** How long a connection attempt, or the answer to a POST, may take before it counts as failed. */
const POST_TIMEOUT_MS = 10_000;
/** How long an idle keep-alive connection is kept. */
const KEEP_ALIVE_MS = 60_000;

export interface CdrCounters {
  posts: number;
  delivered: number;
  failures: number;
  discarded: number;
  records: number;
}

export interface PusherHost {
  readonly switches: SimulatorSwitches;
  readonly clock: Clock;
  readonly session: string;
  readonly counters: CdrCounters;
  /** The envelope's callBridge attribute; undefined leaves it out. */
  callBridge(): string | undefined;
  /** Whether this 200 answer is to be taken as lost (SimulatedCdr.loseAnswers). */
  loseAnswer(): boolean;
  /** The receiver could (true: a delivery succeeded) or could not (false) be connected to. */
  reachable(pusher: CdrPusher, ok: boolean): void;
  /** Records were delivered: a backlog went down. */
  backlogChanged(): void;
}

/** Where a receiver URI's POSTs go: its origin, and its path with the query string as written. */
export function receiverTarget(uri: string): { origin: string; path: string } | undefined {
  if (/[\s\x00-\x1f\x7f]/.test(uri)) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  const rest = /^[a-z]+:\/\/[^/?#]*([^#]*)/i.exec(uri)?.[1] ?? '';
  return { origin: url.origin, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/** A FIFO whose front can take back what was taken from it. */
class EntryQueue {
  private items: Array<CdrEntry | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): CdrEntry | undefined {
    return this.items[this.head];
  }

  push(entry: CdrEntry): void {
    this.items.push(entry);
  }

  shift(): CdrEntry | undefined {
    if (this.length === 0) return undefined;
    const entry = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Puts `entries` back in front, in their order. */
  unshiftAll(entries: readonly CdrEntry[]): void {
    if (entries.length <= this.head) {
      this.head -= entries.length;
      entries.forEach((entry, i) => (this.items[this.head + i] = entry));
    } else {
      this.items = [...entries, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const describe = (error: unknown): string => {
  const e = error as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  return String(e?.cause?.code ?? e?.code ?? e?.message ?? error);
};

export class CdrPusher {
  /** The last POST failed to connect (or timed out), and no delivery succeeded since. */
  unreachable = false;
  /** Why the last POST failed; undefined once one succeeded. */
  lastProblem: string | undefined;
  private target: { uri: string; origin: string; path: string };
  private readonly waiting = new EntryQueue();
  /** The POSTs in flight, each by its controller (a settled POST whose controller is gone is ignored). */
  private readonly inFlight = new Map<AbortController, CdrEntry[]>();
  private nextIndex = 1;
  /** Records discarded while nothing waited to carry the count. */
  private missing = 0;
  private client: Pool | undefined;
  /** The cdrVerifyReceiverTls and cdrPostsInFlight the client was made with. */
  private clientVerifies = false;
  private clientConnections = 1;
  private retry: TimerHandle | undefined;
  private closed = false;

  constructor(
    readonly id: string,
    uri: string,
    private readonly host: PusherHost,
  ) {
    this.target = this.targetOf(uri);
  }

  get uri(): string {
    return this.target.uri;
  }

  /** Records generated for this receiver and not answered 200 yet (those in flight included). */
  get backlog(): number {
    let count = this.waiting.length;
    for (const batch of this.inFlight.values()) count += batch.length;
    return count;
  }

  /** Gives the record its recordIndex; discards the oldest waiting record if the buffer is full. */
  push(record: CdrRecord): void {
    if (this.closed) return;
    const counters = this.host.counters;
    while (this.waiting.length >= this.host.switches.cdrBufferRecords) {
      const dropped = this.waiting.shift() as CdrEntry;
      counters.discarded += 1;
      const next = this.waiting.peek();
      if (next) next.missingBefore += dropped.missingBefore + 1;
      else this.missing += dropped.missingBefore + 1;
    }
    this.waiting.push({ record, recordIndex: this.nextIndex, missingBefore: this.missing });
    this.nextIndex += 1;
    this.missing = 0;
    counters.records += 1;
  }

  /** Sends the next POSTs, as many as may be in flight, unless a retry is due first. */
  kick(): void {
    while (!this.closed && !this.retry && this.waiting.length > 0 && this.inFlight.size < this.host.switches.cdrPostsInFlight) {
      const most = this.host.switches.cdrRecordsPerPost;
      const batch: CdrEntry[] = [];
      while (batch.length < most && this.waiting.length > 0) batch.push(this.waiting.shift() as CdrEntry);
      // A record tied to the next one (a call's last callLegEnd) waits for the next POST rather than leave without it.
      const last = batch[batch.length - 1] as CdrEntry;
      if (batch.length > 1 && last.record.tiedToNext && this.waiting.length > 0) this.waiting.unshiftAll([batch.pop() as CdrEntry]);
      this.post(batch);
    }
  }

  /** PUT uri=: the records go to the new URI from now on, whatever was in flight is sent again there. */
  retarget(uri: string): void {
    this.target = this.targetOf(uri);
    this.stop();
    this.kick();
  }

  /** Aborts the POST in flight, stops retrying, drops the buffer and the connection. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    this.stop();
    this.waiting.clear();
    await client?.destroy().catch(() => undefined);
  }

  private targetOf(uri: string): { uri: string; origin: string; path: string } {
    const target = receiverTarget(uri);
    if (!target) throw new TypeError(`not an http(s) URI: ${uri}`);
    return { uri, ...target };
  }

  /** Abandons the POSTs in flight (their records wait again, first, in order) and the retry timer; new connections next time. */
  private stop(): void {
    const batches = [...this.inFlight].map(([controller, batch]) => {
      controller.abort();
      return batch;
    });
    this.inFlight.clear();
    const entries = batches.flat();
    while (this.waiting.length > 0) entries.push(this.waiting.shift() as CdrEntry);
    for (const entry of entries.sort((a, b) => a.recordIndex - b.recordIndex)) this.waiting.push(entry);
    this.host.clock.clearTimeout(this.retry);
    this.retry = undefined;
    this.dropConnection();
  }

  private connection(): Pool {
    const verify = this.host.switches.cdrVerifyReceiverTls;
    const connections = this.host.switches.cdrPostsInFlight;
    if (this.client && (this.client.closed || this.client.destroyed || this.clientVerifies !== verify || this.clientConnections !== connections)) this.dropConnection();
    if (!this.client || this.client.closed || this.client.destroyed) {
      this.client = new Pool(this.target.origin, {
        connections,
        connect: { rejectUnauthorized: verify, timeout: POST_TIMEOUT_MS },
        headersTimeout: POST_TIMEOUT_MS,
        bodyTimeout: POST_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_MS,
      });
      this.clientVerifies = verify;
      this.clientConnections = connections;
    }
    return this.client;
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = undefined;
    client?.destroy().catch(() => undefined);
  }

  private post(batch: CdrEntry[]): void {
    const host = this.host;
    const controller = new AbortController();
    this.inFlight.set(controller, batch);
    const body = recordsBody(host.session, host.callBridge(), batch);
    host.counters.posts += 1;
    let request;
    try {
      request = this.connection().request({ method: 'POST', path: this.target.path, headers: { 'content-type': 'text/xml' }, body, signal: controller.signal });
    } catch (error) {
      request = Promise.reject(error);
    }
    request
      .then(async (response) => {
        await response.body.text();
        return response.statusCode;
      })
      .then(
        (status) => {
          if (this.inFlight.has(controller)) this.answered(controller, status);
        },
        (error: unknown) => {
          // UND_ERR_DESTROYED: the connections were dropped here (a lost answer of another POST), not refused.
          const problem = describe(error);
          if (this.inFlight.has(controller)) this.failed(controller, problem, problem !== 'UND_ERR_DESTROYED');
        },
      );
  }

  private answered(controller: AbortController, status: number): void {
    if (status !== 200) return this.failed(controller, `answered ${status}`, false);
    if (this.host.loseAnswer()) {
      // As if the connection died before the answer was read: the receiver sees it close.
      this.dropConnection();
      return this.failed(controller, 'answer lost (loseAnswers)', false);
    }
    const delivered = this.inFlight.get(controller)!.length;
    this.inFlight.delete(controller);
    this.lastProblem = undefined;
    this.host.counters.delivered += delivered;
    this.host.reachable(this, true);
    this.host.backlogChanged();
    this.kick();
  }

  /** `connecting`: the receiver could not be connected to (refused, reset, timed out), as opposed to an answer other than 200. */
  private failed(controller: AbortController, problem: string, connecting: boolean): void {
    this.host.counters.failures += 1;
    this.lastProblem = problem;
    // Its records wait again, first (those of other POSTs in flight may be delivered meanwhile: then
    // they reach the receiver out of order, as they would from such a CMS).
    this.waiting.unshiftAll(this.inFlight.get(controller)!);
    this.inFlight.delete(controller);
    if (connecting) this.host.reachable(this, false);
    if (this.retry) return;
    this.retry = this.host.clock.setTimeout(() => {
      this.retry = undefined;
      this.kick();
    }, this.host.switches.cdrRetryMs);
  }
}

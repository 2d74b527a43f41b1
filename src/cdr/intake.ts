// The CDR intake: every POST body a CMS sends is written to a spool (sinks/spool, the same
// durable writing the sinks use) and fdatasync'd before the receiver answers 200, so a crash
// after the 200 loses nothing; concurrent POSTs share one fdatasync. The bodies are then handed
// to `process` in the order they arrived per server (servers in parallel: a slow one holds up
// no other), and a body leaves the spool once it and every body before it were processed. After
// a crash the bodies not processed are processed again, first thing; what their records
// announced already is not announced twice (state/cdr-ledger.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CDR } from '../defaults.js';
import { Spool, type SpoolRecord } from '../sinks/spool/index.js';

/** One POST body as stored. */
export interface IntakeBody {
  /** Unique per body (names a body set aside). */
  id: string;
  server: string;
  /** When it arrived (ISO). */
  receivedAt: string;
  body: string;
  /** The body was larger than the limit: `body` is its beginning only. */
  truncated: boolean;
}

export interface CdrIntakeOptions {
  dir: string;
  logger: Logger;
  maxBytes?: number;
  /** Write in place, each write synchronous to the disk (the receiver's own thread does nothing else). */
  inPlace?: boolean;
  /** Turns one body into events; a rejection is logged and the body counts as processed (it is not retried). */
  process: (body: IntakeBody) => Promise<void>;
}

/** Thrown by `process` for a body that must stay in the intake for the next start (it is not processed now). */
export class KeepForNextStart extends Error {}

/** The intake holds as much as it may: the CMS should re-send later. */
export class IntakeFullError extends Error {
  constructor() {
    super('the CDR intake is full (records wait to be processed)');
  }
}

const BODY = 'body';
const TRUNCATED = 'truncated';

interface InFlight {
  record: SpoolRecord;
  done: boolean;
}

export class CdrIntake {
  readonly #spool: Spool;
  readonly #options: CdrIntakeOptions;
  readonly #abort = new AbortController();
  /** Handed out, in spool order; the prefix done is acknowledged. */
  readonly #inFlight: InFlight[] = [];
  /** Per server, the end of its chain of bodies being processed. */
  readonly #chains = new Map<string, Promise<void>>();
  #wakeTaker: (() => void) | undefined;
  #taking: Promise<void> | undefined;
  #closed = false;
  /** Bodies stored by this run, by spool record id: handed out as they are, not read back from their JSON line. */
  readonly #fresh = new Map<string, IntakeBody>();

  private constructor(spool: Spool, options: CdrIntakeOptions) {
    this.#spool = spool;
    this.#options = options;
  }

  static async open(options: CdrIntakeOptions): Promise<CdrIntake> {
    const spool = await Spool.open({
      dir: options.dir,
      maxBytes: options.maxBytes ?? CDR.intakeMaxBytes,
      segmentBytes: CDR.intakeSegmentBytes,
      logger: options.logger,
      ...(options.inPlace && { inPlace: true }),
    });
    if (spool.backlog > 0) options.logger.info({ bodies: spool.backlog }, 'CDR bodies received before the last stop and not yet processed: processing them first');
    return new CdrIntake(spool, options);
  }

  /** Bodies stored and not yet processed. */
  get backlog(): number {
    return this.#spool.backlog;
  }

  /** Starts handing stored bodies to `process`. */
  start(): void {
    this.#taking ??= this.#take().catch((error: unknown) => {
      this.#options.logger.error({ error: (error as Error).message }, 'the CDR intake stopped processing');
    });
  }

  /**
   * Stores one body and resolves once it is on the disk itself (then the CMS may be told 200).
   * Rejects with IntakeFullError when the intake is full, or with the disk's error.
   */
  async store(server: string, body: string, truncated: boolean): Promise<void> {
    if (this.#spool.full) throw new IntakeFullError();
    const id = randomUUID();
    const receivedAt = new Date().toISOString();
    this.#fresh.set(id, { id, server, receivedAt, body, truncated });
    this.#spool.append(id, server, truncated ? TRUNCATED : BODY, receivedAt, JSON.stringify(body));
    await this.#spool.durable();
  }

  /**
   * Stops taking bodies, waits (up to `drainMs`) for those in processing, and closes the spool:
   * what was not processed stays for the next run.
   */
  async close(drainMs = 5_000): Promise<void> {
    this.#abort.abort();
    this.#wakeTaker?.();
    await this.#taking;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#chains.values()), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
    this.#acknowledge();
    // What is still in processing now counts as not processed: it is processed again next time.
    this.#closed = true;
    await this.#spool.close();
  }

  async #take(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (this.#inFlight.length >= CDR.intakeInFlightRecords) {
        await new Promise<void>((resolve) => (this.#wakeTaker = resolve));
        this.#wakeTaker = undefined;
        continue;
      }
      const records = await this.#spool.next(CDR.intakeBatchRecords, 16 * 1024 * 1024, signal);
      for (const record of records) this.#dispatch(record);
    }
  }

  #dispatch(record: SpoolRecord): void {
    const entry: InFlight = { record, done: false };
    this.#inFlight.push(entry);
    const body = this.#read(record);
    const previous = this.#chains.get(record.server) ?? Promise.resolve();
    const next: Promise<void> = previous
      // Processed only once on the disk itself: the events it gives never precede the 200 the CMS may be told.
      .then(() => this.#durable(record))
      .then(() => (body === undefined ? undefined : this.#options.process(body)))
      .then(
        () => true,
        (error: unknown) => {
          if (error instanceof KeepForNextStart) return false;
          this.#options.logger.error({ server: record.server, error: (error as Error).message }, 'processing a CDR body failed; it is not retried');
          return true;
        },
      )
      .then((done) => {
        // Not done: it and every body after it stay in the intake (what follows is de-duplicated then).
        entry.done = done;
        if (this.#chains.get(record.server) === next) this.#chains.delete(record.server);
        this.#acknowledge();
        this.#wakeTaker?.();
      });
    this.#chains.set(record.server, next);
  }

  /** Waits for the record's fdatasync; while the disk refuses, tries again (or leaves it for the next start). */
  async #durable(record: SpoolRecord): Promise<void> {
    for (;;) {
      try {
        return await this.#spool.whenDurable(record);
      } catch {
        if (this.#abort.signal.aborted) throw new KeepForNextStart();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  #read(record: SpoolRecord): IntakeBody | undefined {
    const fresh = this.#fresh.get(record.id);
    if (fresh !== undefined) {
      this.#fresh.delete(record.id);
      return fresh;
    }
    if (record.corrupt !== undefined) {
      this.#options.logger.error({ record: record.corrupt }, 'a stored CDR body cannot be read back (the intake file was damaged); it is skipped');
      return undefined;
    }
    try {
      const body: unknown = JSON.parse(record.line);
      if (typeof body !== 'string') throw new Error('not a string');
      return { id: record.id, server: record.server, receivedAt: record.ts, body, truncated: record.type === TRUNCATED };
    } catch (error) {
      this.#options.logger.error({ server: record.server, error: (error as Error).message }, 'a stored CDR body cannot be read back; it is skipped');
      return undefined;
    }
  }

  /** Acknowledges the bodies processed with every body before them. */
  #acknowledge(): void {
    if (this.#closed) return;
    let last: SpoolRecord | undefined;
    while (this.#inFlight[0]?.done) last = this.#inFlight.shift()!.record;
    if (last !== undefined) this.#spool.ack(last);
  }
}

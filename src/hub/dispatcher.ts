// One server's handler queue: events are handled strictly in order, one at a time, through a
// bounded queue. A full queue is reported to the caller (who holds the CMS ack back) instead of
// growing without bound. Handler failures and timeouts are logged and counted; the feed goes on.
import type { CmsEvent } from '../state/events.js';
import { runInContext, type HandlerContext } from './context.js';
import type { FollowUp, HandlerRegistry } from './handlers.js';

export interface DispatcherHooks {
  onHandlerError(event: CmsEvent, kind: 'error' | 'timeout'): void;
  onHandlerDone(event: CmsEvent, seconds: number): void;
}

export interface DispatcherOptions {
  context: HandlerContext;
  registry: HandlerRegistry;
  queueSize: number;
  handlerTimeoutMs: number;
  hooks: DispatcherHooks;
}

interface Item {
  event: CmsEvent;
  /** Sequence of the CMS message the event came from; 0 when no ack is involved. */
  seq: number;
}

const TIMED_OUT = Symbol('timed out');

export class ServerDispatcher {
  private queue: Item[] = [];
  private head = 0;
  private running = false;
  private ackedSeq = 0;
  private followUps: { seq: number; run: FollowUp }[] = [];
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: DispatcherOptions) {}

  get depth(): number {
    return this.queue.length - this.head;
  }

  get full(): boolean {
    return this.depth >= this.options.queueSize;
  }

  enqueue(event: CmsEvent, seq: number): void {
    this.queue.push({ event, seq });
    if (!this.running) void this.drain();
  }

  /** Resolves once the queue is below its bound again. */
  waitForRoom(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves once everything queued so far has been handled. */
  waitForIdle(): Promise<void> {
    if (!this.running && this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The CMS message with this sequence (and all before it) has been acked: run their follow-ups. */
  acked(seq: number): void {
    this.ackedSeq = seq;
    if (this.followUps.length === 0) return;
    const ready = this.followUps.filter((f) => f.seq <= seq);
    this.followUps = this.followUps.filter((f) => f.seq > seq);
    for (const followUp of ready) this.runFollowUp(followUp.run);
  }

  /** Follow-ups of messages that will never be acked (the connection was lost) are dropped. */
  dropPendingFollowUps(): number {
    const dropped = this.followUps.length;
    this.followUps = [];
    return dropped;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Item; // let the event be collected
      await this.handle(item);
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.roomWaiters.length && !this.full) this.release(this.roomWaiters);
    }
    this.queue = [];
    this.head = 0;
    this.running = false;
    this.release(this.roomWaiters);
    this.release(this.idleWaiters);
  }

  private release(waiters: (() => void)[]): void {
    const list = waiters.splice(0);
    for (const resolve of list) resolve();
  }

  private async handle({ event, seq }: Item): Promise<void> {
    const { context, registry, hooks } = this.options;
    for (const handler of registry.for(event.type)) {
      const started = performance.now();
      try {
        const result = await this.withTimeout(runInContext(context, () => handler(event, context)));
        if (result === TIMED_OUT) {
          context.logger.warn({ event: event.type, timeoutMs: this.options.handlerTimeoutMs }, 'handler timed out; going on');
          hooks.onHandlerError(event, 'timeout');
        } else if (typeof result === 'function') {
          if (seq <= this.ackedSeq) this.runFollowUp(result);
          else this.followUps.push({ seq, run: result });
        }
      } catch (error) {
        context.logger.error({ event: event.type, err: error }, 'handler failed; going on');
        hooks.onHandlerError(event, 'error');
      }
      hooks.onHandlerDone(event, (performance.now() - started) / 1000);
    }
  }

  private withTimeout<T>(value: T | Promise<T>): T | Promise<T | typeof TIMED_OUT> {
    if (!(value instanceof Promise)) return value;
    let timer: NodeJS.Timeout;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.options.handlerTimeoutMs);
    });
    return Promise.race([value, timeout]).finally(() => clearTimeout(timer));
  }

  private runFollowUp(run: FollowUp): void {
    const { context } = this.options;
    try {
      const result = runInContext(context, run);
      if (result instanceof Promise) {
        result.catch((error) => context.logger.error({ err: error }, 'follow-up failed'));
      }
    } catch (error) {
      context.logger.error({ err: error }, 'follow-up failed');
    }
  }
}

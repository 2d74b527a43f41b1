// One server's handler queue: events are handled strictly in order, one at a time, through a
// bounded queue. A full queue is reported to the caller (who holds the CMS ack back) instead of
// growing without bound. Handler failures and timeouts are logged and counted; the feed goes on.
// A follow-up a handler returns runs once the CMS message its event came from was acked.
import { realClock, type Clock } from '../clock.js';
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
  clock?: Clock;
}

/**
 * The ack of one CMS message, shared by the queue items of its events: their follow-ups wait for
 * it. Settled once: acked (the follow-ups run) or not (the connection was lost; they are dropped).
 */
export class AckGate {
  state: 'waiting' | 'acked' | 'dropped' = 'waiting';
  followUps: FollowUp[] | undefined;
}

interface Item {
  event: CmsEvent;
  /** The ack its follow-ups wait for; undefined when no ack is involved. */
  gate: AckGate | undefined;
}

const TIMED_OUT = Symbol('timed out');

export class ServerDispatcher {
  private queue: Item[] = [];
  private head = 0;
  private running = false;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: DispatcherOptions) {}

  get depth(): number {
    return this.queue.length - this.head;
  }

  get full(): boolean {
    return this.depth >= this.options.queueSize;
  }

  enqueue(event: CmsEvent, gate?: AckGate): void {
    this.queue.push({ event, gate });
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

  /** The message behind `gate` was acked (`acked`), or never will be: its follow-ups run, or are dropped. */
  settle(gate: AckGate, acked: boolean): void {
    gate.state = acked ? 'acked' : 'dropped';
    const ready = gate.followUps;
    gate.followUps = undefined;
    if (acked && ready) for (const run of ready) this.runFollowUp(run);
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

  private async handle({ event, gate }: Item): Promise<void> {
    const { context, registry, hooks } = this.options;
    for (const handler of registry.for(event.type)) {
      const started = performance.now();
      try {
        const result = await this.withTimeout(runInContext(context, () => handler(event, context)));
        if (result === TIMED_OUT) {
          context.logger.warn({ event: event.type, timeoutMs: this.options.handlerTimeoutMs }, 'handler timed out; going on');
          hooks.onHandlerError(event, 'timeout');
        } else if (typeof result === 'function') {
          if (gate === undefined || gate.state === 'acked') this.runFollowUp(result);
          else if (gate.state === 'waiting') (gate.followUps ??= []).push(result);
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
    const clock = this.options.clock ?? realClock;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = clock.setTimeout(() => resolve(TIMED_OUT), this.options.handlerTimeoutMs);
    });
    return Promise.race([value, timeout]).finally(() => clock.clearTimeout(timer));
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

// The subscribeRequests of one connection. Subscriptions are desired state: changes made within
// one turn go out as one full-set request, at most one request is in flight, and the next waits
// for the previous one's messageAck. A request the server never acks fails the connection after
// subscribeTimeoutMs, unless the ack may be waiting behind our own receiver.
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import { buildSubscribeRequest, type MessageAck } from '../protocol/index.js';
import type { SubscriptionSet } from './subscription-set.js';

export interface SubscriptionRequestsOptions {
  subs: SubscriptionSet;
  clock: Clock;
  timeoutMs: number;
  log: Logger;
  send: (text: string) => void;
  /** True while the session's receiver holds frames back (the ack may be among them). */
  holding: () => boolean;
  /** The request was not acked in time. */
  onTimeout: (messageId: number) => void;
}

export type AckOutcome = 'ignored' | 'accepted' | 'refused';

export class SubscriptionRequests {
  readonly #options: SubscriptionRequestsOptions;
  #nextMessageId = 1;
  #inFlight: { messageId: number; timer: TimerHandle } | undefined;
  #scheduled = false;
  #disposed = false;

  constructor(options: SubscriptionRequestsOptions) {
    this.#options = options;
  }

  /** Sends the whole desired set now; returns the request's messageId. */
  send(): number {
    const { subs, clock, timeoutMs, log, send } = this.#options;
    const subscriptions = subs.buildRequest();
    const messageId = this.#nextMessageId++;
    send(buildSubscribeRequest(messageId, subscriptions));
    this.#inFlight = { messageId, timer: clock.setTimeout(() => this.#timedOut(), timeoutMs) };
    log.debug({ messageId, subscriptions: subscriptions.length }, 'subscribeRequest sent');
    return messageId;
  }

  /** Changes made within one turn go out as one request; the next waits for the previous ack. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#disposed && this.#inFlight === undefined && this.#options.subs.changed) this.send();
    });
  }

  /** A messageAck from the server: for the request in flight, or ignored. */
  acked(ack: MessageAck): AckOutcome {
    const inFlight = this.#inFlight;
    if (inFlight === undefined || ack.messageId !== inFlight.messageId) {
      this.#options.log.debug({ messageId: ack.messageId }, 'messageAck for no request in flight ignored');
      return 'ignored';
    }
    this.#options.clock.clearTimeout(inFlight.timer);
    this.#inFlight = undefined;
    if (ack.status !== 'success') return 'refused';
    if (this.#options.subs.changed) this.schedule();
    return 'accepted';
  }

  dispose(): void {
    this.#disposed = true;
    this.#options.clock.clearTimeout(this.#inFlight?.timer);
    this.#inFlight = undefined;
  }

  #timedOut(): void {
    const inFlight = this.#inFlight;
    if (this.#disposed || inFlight === undefined) return;
    const { clock, timeoutMs, holding, onTimeout } = this.#options;
    // While our receiver holds the queue the ack may be waiting in it: that is not the server's fault.
    if (holding()) {
      inFlight.timer = clock.setTimeout(() => this.#timedOut(), timeoutMs);
      return;
    }
    onTimeout(inFlight.messageId);
  }
}

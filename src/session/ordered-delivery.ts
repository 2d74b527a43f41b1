// Ordered delivery of one session's events. Server frames are handled strictly in arrival
// order, one at a time: parse → subscription index → ServerState → receiver(events) → ack →
// afterAck. When the receiver asks to wait (a full sink or handler queue, or ack-after-handlers),
// the ack of that message and everything after it (later frames, snapshot completions, server.*
// events) wait in the inbox until the wait settles. While nothing waits, nothing is queued or
// allocated beyond the events themselves.
import type { Logger } from 'pino';
import type { CmsEvent } from '../state/index.js';
import type { Delivery, EventReceiver } from './types.js';

/** The connection a message came from: acks it, unless the connection is gone (then false). */
export interface Acker {
  ack(messageId: number): boolean;
}

export class OrderedDelivery {
  readonly #receiver: EventReceiver;
  readonly #log: Logger;
  #holding = false;
  #inbox: (() => void)[] = [];

  constructor(receiver: EventReceiver, log: Logger) {
    this.#receiver = receiver;
    this.#log = log;
  }

  /** True while the receiver holds the queue: timeouts that may be waiting in it are not the server's fault. */
  get holding(): boolean {
    return this.#holding;
  }

  /** Runs `work` now, or in order once the receiver lets go. */
  inOrder(work: () => void): void {
    if (this.#holding) this.#inbox.push(work);
    else work();
  }

  /**
   * Hands `events` to the receiver, then acks `messageId` through `from` (now, or once the
   * receiver's wait settles), then runs the receiver's afterAck. Events of no message (server.*,
   * snapshots completed by quiet time) have neither `messageId` nor `from`.
   */
  deliver(events: CmsEvent[] | undefined, messageId?: number, from?: Acker): void {
    let delivery: Delivery | undefined;
    if (events !== undefined && events.length > 0) {
      try {
        delivery = this.#receiver(events, messageId);
      } catch (error) {
        this.#log.error({ error: describe(error) }, 'event receiver threw');
      }
    }
    if (delivery?.wait === undefined) {
      this.#acked(delivery, messageId, from);
      return;
    }
    this.#holding = true;
    const settled = (): void => {
      this.#holding = false;
      this.#acked(delivery, messageId, from);
      this.#drain();
    };
    delivery.wait.then(settled, (error: unknown) => {
      this.#log.error({ error: describe(error) }, 'event receiver failed');
      settled();
    });
  }

  #acked(delivery: Delivery | undefined, messageId: number | undefined, from: Acker | undefined): void {
    // The receiver may have stopped the session (or a handler ended the connection) meanwhile.
    const acked = messageId !== undefined && from !== undefined && from.ack(messageId);
    if (delivery?.afterAck === undefined) return;
    try {
      delivery.afterAck(acked);
    } catch (error) {
      this.#log.error({ error: describe(error) }, 'afterAck threw');
    }
  }

  #drain(): void {
    while (!this.#holding && this.#inbox.length > 0) (this.#inbox.shift() as () => void)();
  }
}

export const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

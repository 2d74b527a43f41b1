// The one place events leave the hub: each event is serialised once (eventLine) and the same
// line goes to every sink, then to every tap. A sink that cannot take more returns a promise;
// later writes to that sink queue behind it in order, and while any sink is blocked the hub
// holds its acks back (`blocked`).
import type { Logger } from 'pino';
import type { CmsEvent } from '../state/events.js';
import { eventLine } from '../state/event-line.js';
import type { Sink } from '../sinks/types.js';

/**
 * Listener for every event of every server, with its JSON line (SSE, dashboards) and the id of
 * the CMS message it came from (ids count per connection; undefined for events no message
 * carried, such as server.disconnected or a snapshot ended by quiet time). Taps run right after
 * the sinks were handed the event, which is usually just after the message was acked.
 */
export type EventTap = (event: CmsEvent, line: string, messageId: number | undefined) => void;

export class SinkFanout {
  readonly taps = new Set<EventTap>();
  #sinks: Sink[] = [];
  /** Per sink: the pending write while the sink is full, so later writes queue behind it in order. */
  #blocked: (Promise<void> | undefined)[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  get sinks(): readonly Sink[] {
    return this.#sinks;
  }

  setSinks(sinks: Sink[]): void {
    this.#sinks = sinks;
    this.#blocked = sinks.map(() => undefined);
  }

  /** True while some sink is full: the next message's ack must wait for it. */
  get blocked(): boolean {
    for (const wait of this.#blocked) if (wait !== undefined) return true;
    return false;
  }

  /**
   * Hands `events` to every sink and tap; returns what a full sink asks to wait for. `lines`:
   * their lines when the caller made them already (eventLine of each).
   */
  write(events: readonly CmsEvent[], messageId: number | undefined, lines?: readonly string[]): Promise<void> | undefined {
    if (this.#sinks.length === 0 && this.taps.size === 0) return undefined;
    let waits: Promise<void>[] | undefined;
    for (let k = 0; k < events.length; k++) {
      const event = events[k]!;
      try {
        const line = lines === undefined ? eventLine(event) : lines[k]!;
        for (let i = 0; i < this.#sinks.length; i++) {
          const wait = this.#writeToSink(i, event, line);
          if (wait) (waits ??= []).push(wait);
        }
        if (this.taps.size > 0) for (const tap of this.taps) tap(event, line, messageId);
      } catch (error) {
        this.#log.error({ err: error, event: event.id }, 'writing an event to a sink or tap failed');
      }
    }
    if (waits === undefined) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** Events of a server another instance follows (cluster mode): to the taps (SSE, dashboards) only, never to the sinks. */
  tapOnly(events: readonly CmsEvent[]): void {
    if (this.taps.size === 0) return;
    for (const event of events) {
      try {
        const line = eventLine(event);
        for (const tap of this.taps) tap(event, line, undefined);
      } catch (error) {
        this.#log.error({ err: error, event: event.id }, 'writing an event to a tap failed');
      }
    }
  }

  #writeToSink(index: number, event: CmsEvent, line: string): Promise<void> | undefined {
    const sink = this.#sinks[index]!;
    const blocked = this.#blocked[index];
    const pending = blocked ? blocked.then(() => sink.write(event, line)) : sink.write(event, line);
    if (!pending) return undefined;
    const settled: Promise<void> = pending
      .catch((error: unknown) => this.#log.error({ sink: sink.name, err: error }, 'sink write failed'))
      .then(() => {
        // A failed write unblocks too: holding every later ack behind it would stall the feed.
        if (this.#blocked[index] === settled) this.#blocked[index] = undefined;
      });
    this.#blocked[index] = settled;
    return settled;
  }
}

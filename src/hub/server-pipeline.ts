// Everything the hub keeps for one server, and the path one message's events take through it:
// counted, queued for the handlers, handed to the sinks and taps, and what the session must wait
// for before it acks (the contract's ack policy). The session calls receive() once per message
// and the returned afterAck right after it wrote the ack: the lines are built and written then,
// so the CMS already has the ack (and sends the next message) while this one is serialised.
// Nothing is given up by it: sinks keep their lines in memory until the end of the turn either
// way, and a sink that becomes full during that write holds the next ack back.
// With a state folder, each message's lines go to the server's journal first (model-journal.ts).
// Every message's events pass the meetings model first (state/meetings.ts), which puts the
// meeting events in their places among them.
import { HUB } from '../defaults.js';
import type { Delivery, ServerTarget, Session } from '../session/types.js';
import type { CmsEvent } from '../state/events.js';
import { eventLine } from '../state/event-line.js';
import type { Meetings } from '../state/meetings.js';
import type { ServerState } from '../state/server-state.js';
import { AckGate, type ServerDispatcher } from './dispatcher.js';
import type { SinkFanout } from './sink-fanout.js';

/**
 * Where each message's lines are written before any sink gets them (model-journal.ts: written
 * when append returns; in cluster mode NATS, cluster/journal.ts: written once the promise
 * resolves, refused if it rejects).
 */
export interface EventJournal {
  append(lines: readonly string[]): void | Promise<void>;
}

export interface ServerPipelineParts {
  target: ServerTarget;
  fanout: SinkFanout;
  dispatcher: ServerDispatcher;
  /** True when handlers are registered (events go to the dispatcher). */
  dispatching: () => boolean;
  /** Hold the ack until the handlers have run (config dispatch.ackAfterHandlers). */
  ackAfterHandlers: boolean;
  /** Builds the session; `receive` is this pipeline's entry for its events. */
  openSession: (receive: ServerPipeline['receive']) => Session;
  /** With a state folder: every event is journaled before the sinks get it (hub/model-journal.ts). */
  journal?: EventJournal;
  /** The meetings across all servers, which this server's events feed. */
  meetings?: Meetings;
  /**
   * Cluster mode: false once this instance may no longer act for the server (its lease is gone).
   * Its events then go nowhere but server.* (a last server.disconnected may still be printed).
   */
  mayAct?: () => boolean;
  /** Cluster mode: the epoch and owner stamped on every event (the NATS sink fences by the epoch). */
  fence?: { epoch: number; owner: string };
}

export class ServerPipeline {
  readonly target: ServerTarget;
  readonly session: Session;
  readonly dispatcher: ServerDispatcher;
  readonly eventCounts = new Map<string, number>();
  #totalEvents = 0;
  #samples: { at: number; total: number }[] = [];
  readonly #fanout: SinkFanout;
  readonly journal: EventJournal | undefined;
  readonly #meetings: Meetings | undefined;
  /** Cluster mode: the server's guard (undefined: always). */
  readonly mayAct: (() => boolean) | undefined;
  readonly fence: { epoch: number; owner: string } | undefined;
  #replaying = false;
  readonly #dispatching: () => boolean;
  readonly #ackAfterHandlers: boolean;
  /** Messages whose ack waits (a full sink or handler queue): their events may not be handed out yet. */
  #waiting = 0;
  /** The message whose lines wait for its ack (at most one: the session delivers one at a time). */
  #pending: CmsEvent[] | undefined;
  #pendingId: number | undefined;
  #pendingGate: AckGate | undefined;
  /** Cluster mode: the last hand-out waiting for NATS to hold its journal lines (later ones queue behind it). */
  #journalTail: Promise<void> | undefined;
  /** Hand-outs waiting for their journal lines (they are not settled). */
  #journalWaits = 0;
  /** The journal refused lines: nothing after them goes to the sinks (the next owner announces it). */
  #journalRefused = false;
  /** One object for every message that needs nothing but a write after its ack. */
  readonly #writeAfterAck: Delivery = { afterAck: (acked) => this.#flush(acked) };

  constructor(parts: ServerPipelineParts) {
    this.target = parts.target;
    this.#fanout = parts.fanout;
    this.dispatcher = parts.dispatcher;
    this.#dispatching = parts.dispatching;
    this.#ackAfterHandlers = parts.ackAfterHandlers;
    this.journal = parts.journal;
    this.#meetings = parts.meetings;
    this.mayAct = parts.mayAct;
    this.fence = parts.fence;
    this.session = parts.openSession(this.receive);
  }

  /** One message's events (the per-message path). */
  readonly receive = (produced: CmsEvent[], messageId: number | undefined): Delivery | undefined => {
    if (this.mayAct !== undefined && !this.mayAct()) return this.#receiveFenced(produced);
    // A replayed journal already holds its meeting events, and the model it restored already counts in the meetings.
    const events = this.#meetings === undefined || this.#replaying ? produced : this.#meetings.apply(this.target.name, produced);
    // Replayed journal events get this owner's epoch too: it hands them out again, under its lease.
    if (this.fence !== undefined) for (const event of events) Object.assign(event, this.fence);
    for (const event of events) this.#count(event.type);
    let gate: AckGate | undefined;
    let handlerWait: Promise<void> | undefined;
    if (this.#dispatching()) {
      if (messageId !== undefined) gate = new AckGate();
      for (const event of events) this.dispatcher.enqueue(event, gate);
      if (this.#ackAfterHandlers) handlerWait = this.dispatcher.waitForIdle();
      else if (this.dispatcher.full) handlerWait = this.dispatcher.waitForRoom();
    }
    if (handlerWait === undefined && !this.#fanout.blocked) {
      this.#pending = events;
      this.#pendingId = messageId;
      this.#pendingGate = gate;
      return this.#writeAfterAck;
    }
    // The ack waits: the lines go out now, in order behind what a full sink holds.
    const sinkWait = this.#handOut(events, messageId);
    const wait = sinkWait && handlerWait ? Promise.all([sinkWait, handlerWait]).then(() => undefined) : (sinkWait ?? handlerWait);
    if (wait === undefined) return gate && { afterAck: (acked) => this.dispatcher.settle(gate, acked) };
    this.#waiting++;
    const afterAck = (acked: boolean): void => {
      this.#waiting--;
      if (gate) this.dispatcher.settle(gate, acked);
    };
    return { wait, afterAck };
  };

  /** True when every event applied to the model was handed to the sinks (what a stored model may claim). */
  settled(): boolean {
    return this.#waiting === 0 && this.#journalWaits === 0 && !this.#fanout.blocked;
  }

  /** Resolves once settled() (polled: a handover waits for this, nothing on the message path does). */
  async drained(): Promise<void> {
    while (!this.settled()) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  get state(): ServerState {
    return this.session.state;
  }

  /** Events no session message carries (the hub's server.disconnected, a removed server's ends): through the same path. */
  async announce(events: CmsEvent[]): Promise<void> {
    if (events.length === 0) return;
    const delivery = this.receive(events, undefined);
    await delivery?.wait;
    delivery?.afterAck?.(false);
  }

  /**
   * The journal's events of the run before (after kill -9), handed to the sinks again before the
   * server connects. They are not journaled again: their journal stays until a model covers it.
   */
  async replay(events: readonly CmsEvent[]): Promise<void> {
    this.#replaying = true;
    try {
      for (const event of events) await this.announce([event]);
    } finally {
      this.#replaying = false;
    }
  }

  /** Called once a second by the hub. */
  sample(now: number): void {
    this.#samples.push({ at: now, total: this.#totalEvents });
    if (this.#samples.length > HUB.eventRateWindowSeconds + 1) this.#samples.shift();
  }

  eventsPerSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at === first.at) return 0;
    return Math.round(((last.total - first.total) * 1000 * 10) / (last.at - first.at)) / 10;
  }

  #flush(acked: boolean): void {
    const events = this.#pending;
    const gate = this.#pendingGate;
    this.#pending = undefined;
    this.#pendingGate = undefined;
    // A sink that fills up here holds back the next ack: the next receive() sees it blocked.
    // The lease may have ended between receive() and the ack: then these are the next owner's.
    if (events !== undefined && this.mayAct !== undefined && !this.mayAct()) this.#receiveFenced(events);
    else if (events !== undefined) void this.#handOut(events, this.#pendingId);
    if (gate !== undefined) this.dispatcher.settle(gate, acked);
  }

  /** To the sinks, through the journal first when there is one (nothing reaches a sink unjournaled). */
  #handOut(events: readonly CmsEvent[], messageId: number | undefined): Promise<void> | undefined {
    if (this.journal === undefined || this.#replaying) return this.#fanout.write(events, messageId);
    const lines = events.map(eventLine);
    // server.* events say what this run saw of the connection: after a restart they are not news.
    const journaled = lines.filter((_, k) => !events[k]!.type.startsWith('server.'));
    const written = journaled.length > 0 ? this.journal.append(journaled) : undefined;
    if (written === undefined && this.#journalTail === undefined) return this.#fanout.write(events, messageId, lines);
    return this.#afterJournal(written, events, messageId, lines);
  }

  /**
   * Cluster mode: the events go to the sinks once NATS holds their lines, in order behind the
   * hand-outs still waiting. Handed out before (as the publishes were once left unawaited), an
   * event whose line NATS lost when it went down was unknown to the next owner, which announced
   * it again. Lines refused end it: neither they nor anything after them go out here (server.*
   * events excepted), and the journal's owner gives the server up (cluster/coordinator.ts), so
   * that it is taken over afresh from what NATS holds.
   */
  #afterJournal(written: void | Promise<void>, events: readonly CmsEvent[], messageId: number | undefined, lines: string[]): Promise<void> {
    this.#journalWaits++;
    let sinkWait: Promise<void> | undefined;
    const previous = this.#journalTail;
    const ready = previous === undefined ? Promise.resolve(written) : previous.then(() => written);
    const tail: Promise<void> = ready
      .then(
        () => {
          // The lease may have ended while NATS had not confirmed: then these are the next owner's.
          if (this.#journalRefused || (this.mayAct !== undefined && !this.mayAct())) this.#receiveFenced(events);
          else sinkWait = this.#fanout.write(events, messageId, lines) ?? undefined;
        },
        () => {
          this.#journalRefused = true;
          this.#receiveFenced(events);
        },
      )
      .finally(() => {
        this.#journalWaits--;
        if (this.#journalTail === tail) this.#journalTail = undefined;
      });
    this.#journalTail = tail;
    return tail.then(() => sinkWait);
  }

  /** Past the lease: only server.* events go out (to the sinks alone); the rest is the next owner's to announce. */
  #receiveFenced(events: readonly CmsEvent[]): undefined {
    const serverEvents = events.filter((event) => event.type.startsWith('server.'));
    if (serverEvents.length > 0) void this.#fanout.write(serverEvents, undefined);
    return undefined;
  }

  #count(type: string): void {
    this.#totalEvents++;
    this.eventCounts.set(type, (this.eventCounts.get(type) ?? 0) + 1);
  }
}

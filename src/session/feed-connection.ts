// One connection attempt of a session and everything that belongs to it alone: the attempt's
// abort signal and timers, its socket, its subscribeRequests, its snapshots and its way to live.
// It holds the one switch over the server's messages. Once disposed, nothing of it acts again:
// each callback checks `disposed`, and the session only ever talks to its current connection, so
// nothing from an old socket can touch the model once a new attempt exists.
//
// Phases: connecting (slot, token, handshake: connectTimeoutMs from the slot) → subscribing (the
// first request until its messageAck and every subscription in it is active or dropped:
// subscribeTimeoutMs) → live.
import type WebSocket from 'ws';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock.js';
import type { SessionTimings } from '../defaults.js';
import { buildAck, parseServerFrame, type FrameError, type MessageAck, type SubscriptionUpdate } from '../protocol/index.js';
import type { CmsEvent, ServerState } from '../state/index.js';
import { TransportError, type EventSocket } from '../transport/index.js';
import { assertNever } from '../assert-never.js';
import { applyCallInfo, applyCallList, applyRoster, type DataMessageContext } from './data-messages.js';
import type { Acker, OrderedDelivery } from './ordered-delivery.js';
import { SnapshotTracker } from './snapshot-tracker.js';
import { SubscriptionRequests } from './subscription-requests.js';
import type { SubscriptionEntry, SubscriptionSet } from './subscription-set.js';
import type { SessionCounters } from './types.js';

/** What a connection needs of its session. */
export interface ConnectionHost {
  readonly where: string;
  readonly subs: SubscriptionSet;
  readonly state: ServerState;
  readonly delivery: OrderedDelivery;
  readonly counters: SessionCounters;
  readonly log: Logger;
  readonly timings: SessionTimings;
  readonly clock: Clock;
  /** False once the session may no longer act for its server (cluster mode: the lease is gone). */
  mayAct(): boolean;
  /** The socket is open and the first request is about to go out. */
  subscribing(conn: FeedConnection): void;
  /** Every subscription of the first request is active: returns the server.connected event. */
  live(conn: FeedConnection): CmsEvent;
  /** Called at most once, and never after dispose(). */
  failed(conn: FeedConnection, error: TransportError): void;
}

export class FeedConnection implements DataMessageContext, Acker {
  /** Aborts the token request / handshake in progress when the attempt is given up. */
  readonly abort = new AbortController();
  readonly subs: SubscriptionSet;
  readonly state: ServerState;
  readonly snapshots: SnapshotTracker;
  live = false;
  liveSince = 0;
  readonly #host: ConnectionHost;
  #socket: EventSocket | undefined;
  #requests: SubscriptionRequests | undefined;
  #firstRequestId = 0;
  #firstAcked = false;
  /** Indexes of the first request that are neither active nor dropped yet: live waits for them. */
  readonly #awaiting = new Set<number>();
  /** connectTimeoutMs while connecting, then subscribeTimeoutMs until live. */
  #phaseTimer: TimerHandle | undefined;
  #disposed = false;

  constructor(host: ConnectionHost) {
    this.#host = host;
    this.subs = host.subs;
    this.state = host.state;
    this.snapshots = new SnapshotTracker({
      subs: host.subs,
      state: host.state,
      quietMs: host.timings.snapshotQuietMs,
      clock: host.clock,
      onQuiet: () => this.#snapshotsQuiet(),
      onCallGone: (callId) => this.release(this.subs.removeCall(callId)),
    });
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** The attempt has its connect slot: the token request and handshake must finish in time. */
  startConnectTimer(): void {
    const { connectTimeoutMs } = this.#host.timings;
    this.#phase(connectTimeoutMs, () => {
      this.fail(new TransportError('network', 'TIMEOUT', `connecting to ${this.#host.where} took longer than ${seconds(connectTimeoutMs)}`));
    });
  }

  /** The socket is open: subscribe. */
  attach(socket: EventSocket): void {
    const host = this.#host;
    this.#socket = socket;
    socket.listen({ onFrame: this.#onFrame, onFailure: (error) => this.fail(error) });
    host.subscribing(this);
    this.state.beginResync();
    this.subs.reset();
    this.#requests = new SubscriptionRequests({
      subs: this.subs,
      clock: host.clock,
      timeoutMs: host.timings.subscribeTimeoutMs,
      log: host.log,
      send: (text) => socket.send(text),
      holding: () => host.delivery.holding,
      onTimeout: (messageId) => {
        const message = `no answer to subscribeRequest ${messageId} from ${host.where} within ${seconds(host.timings.subscribeTimeoutMs)}`;
        this.fail(new TransportError('protocol', 'TIMEOUT', message));
      },
    });
    this.#firstRequestId = this.#requests.send();
    for (const entry of this.subs.entries()) this.#awaiting.add(entry.index);
    this.#phase(host.timings.subscribeTimeoutMs, () => this.#subscribeTimedOut());
    host.log.debug({ subscriptions: this.#awaiting.size }, 'connected; subscribing');
  }

  /** The desired subscriptions changed: a request follows (coalesced, one in flight). */
  scheduleRequest(): void {
    this.#requests?.schedule();
  }

  /** Per-call subscriptions the client dropped: they no longer hold up live and have no snapshot to complete. */
  release(entries: SubscriptionEntry[]): void {
    if (entries.length === 0) return;
    for (const entry of entries) {
      entry.snapshot = 'complete';
      this.#awaiting.delete(entry.index);
    }
    this.scheduleRequest();
  }

  ack(messageId: number): boolean {
    if (this.#disposed || this.#socket === undefined) return false;
    if (!this.#host.mayAct()) {
      // Another instance may own the server now: no ack from here, and no socket to ack with.
      this.#socket.terminate();
      this.fail(new TransportError('closed', 'LEASE_LOST', `${this.#host.where}: this instance no longer holds the server's lease`));
      return false;
    }
    this.#socket.send(buildAck(messageId));
    this.#host.counters.acksSent++;
    return true;
  }

  fail(error: TransportError): void {
    if (!this.#disposed) this.#host.failed(this, error);
  }

  /** Ends the attempt: nothing of it acts afterwards. Resolves once its socket is gone. */
  dispose(): Promise<void> {
    this.#disposed = true;
    this.abort.abort(new TransportError('closed', 'CLOSED', 'connection attempt abandoned'));
    this.#host.clock.clearTimeout(this.#phaseTimer);
    this.#requests?.dispose();
    this.snapshots.dispose();
    return this.#socket?.close(this.#host.timings.closeGraceMs) ?? Promise.resolve();
  }

  // ---- DataMessageContext ----------------------------------------------------------------

  callAdded(callId: string): void {
    if (this.subs.addCall(callId)) this.scheduleRequest();
  }

  callRemoved(callId: string): void {
    this.release(this.subs.removeCall(callId));
  }

  unknownIndex(index: number): void {
    this.#host.counters.unknownIndexes++;
    this.#host.log.debug({ index }, 'update for an unknown subscription index (acked, skipped)');
  }

  // ---- frames -----------------------------------------------------------------------------

  readonly #onFrame = (data: WebSocket.RawData): void => {
    if (this.#disposed) return;
    const delivery = this.#host.delivery;
    if (delivery.holding) delivery.inOrder(() => this.#handleFrame(data));
    else this.#handleFrame(data);
  };

  #handleFrame(data: WebSocket.RawData): void {
    if (this.#disposed) return;
    this.#host.counters.messagesReceived++;
    const parsed = parseServerFrame(data);
    if (!parsed.ok) {
      this.#badFrame(parsed.error);
      return;
    }
    if (parsed.kind === 'messageAck') {
      this.#onMessageAck(parsed.ack);
      return;
    }
    const message = parsed.message;
    let events: CmsEvent[] | undefined;
    switch (message.type) {
      case 'subscriptionUpdate':
        this.#onSubscriptionUpdate(message);
        break;
      case 'callListUpdate':
        events = applyCallList(this, message);
        break;
      case 'callInfoUpdate':
        events = applyCallInfo(this, message);
        break;
      case 'rosterUpdate':
        events = applyRoster(this, message);
        break;
      default:
        assertNever(message, 'server message');
    }
    // A protocol error above may have ended this connection: then nothing is acked.
    if (this.#disposed) return;
    if (!this.live) events = this.#checkLive(events);
    this.#host.delivery.deliver(events, message.messageId, this);
  }

  #badFrame(error: FrameError): void {
    this.#host.counters.badFrames++;
    this.#host.log.warn({ code: error.code, messageId: error.messageId }, `bad frame from the server skipped: ${error.detail}`);
    // A message the server numbered is still acked (it waits for that ack). The parser gives an
    // error a messageId only for a `message` envelope, never for a messageAck.
    if (error.messageId !== undefined) this.ack(error.messageId);
  }

  #onMessageAck(ack: MessageAck): void {
    const outcome = (this.#requests as SubscriptionRequests).acked(ack);
    if (outcome === 'ignored') return;
    if (outcome === 'refused') {
      const status = JSON.stringify(String(ack.status).slice(0, 40));
      this.fail(new TransportError('protocol', 'PROTOCOL', `${this.#host.where} refused the subscription request (messageAck status ${status})`));
      return;
    }
    if (ack.messageId === this.#firstRequestId) this.#firstAcked = true;
    if (!this.live) this.#host.delivery.deliver(this.#checkLive(undefined));
  }

  #onSubscriptionUpdate(message: SubscriptionUpdate): void {
    for (const { index, state } of message.subscriptions) {
      const entry = this.subs.get(index);
      if (entry === undefined) {
        // A subscription already forgotten: a request that still listed it crossed the server's
        // report of its end (the server then reports it again), or the server lists the whole set.
        // Its state no longer matters; only data for an unknown index is counted.
        this.#host.log.debug({ index, state }, 'state of a subscription no longer in the set ignored');
        continue;
      }
      // Servers that list the whole set repeat unchanged states.
      if (entry.state === state) continue;
      entry.state = state;
      if (state === 'pending') continue;
      this.#awaiting.delete(index);
      if (state === 'active') {
        this.snapshots.opened(entry);
        continue;
      }
      if (entry.type === 'calls') {
        this.fail(new TransportError('protocol', 'PROTOCOL', `${this.#host.where} ended the calls subscription (state ${JSON.stringify(state)})`));
        return;
      }
      // deactivated (the call ended) or an error state for a call the server does not know.
      this.#host.log.debug({ call: entry.call, type: entry.type, state }, 'per-call subscription ended by the server');
      entry.snapshot = 'complete';
      this.subs.drop(entry);
    }
  }

  // ---- phases -----------------------------------------------------------------------------

  #checkLive(events: CmsEvent[] | undefined): CmsEvent[] | undefined {
    if (!this.#firstAcked || this.#awaiting.size > 0) return events;
    this.live = true;
    this.liveSince = this.#host.clock.now();
    this.#host.clock.clearTimeout(this.#phaseTimer);
    const connected = this.#host.live(this);
    if (events === undefined) return [connected];
    events.push(connected);
    return events;
  }

  #subscribeTimedOut(): void {
    if (this.#disposed || this.live) return;
    const { delivery, where, timings } = this.#host;
    if (delivery.holding) {
      this.#phase(timings.subscribeTimeoutMs, () => this.#subscribeTimedOut());
      return;
    }
    const waiting = this.#awaiting.size;
    const message = `${where} did not make every subscription active within ${seconds(timings.subscribeTimeoutMs)} (${waiting} still waiting${this.#firstAcked ? '' : ', request not acked'})`;
    this.fail(new TransportError('protocol', 'TIMEOUT', message));
  }

  /** The quiet period ended: open snapshots complete, in order behind anything still held. */
  #snapshotsQuiet(): void {
    this.#host.delivery.inOrder(() => {
      if (!this.#disposed) this.#host.delivery.deliver(this.snapshots.completeOpen([]));
    });
  }

  #phase(ms: number, onTimeout: () => void): void {
    const clock = this.#host.clock;
    clock.clearTimeout(this.#phaseTimer);
    this.#phaseTimer = clock.setTimeout(onTimeout, ms);
  }
}

export const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

// One server's feed: connect → subscribe → live, reconnect on any loss, acks, subscriptions.
//
// States: connecting (token + WebSocket handshake, connectTimeoutMs) → subscribing (first
// subscribeRequest until its messageAck and every subscription in it is active,
// subscribeTimeoutMs) → live → backoff (any failure) → connecting …; stop() → stopped.
//
// Epoch guard: every connection attempt gets a new epoch; every socket and timer callback
// carries the Connection it belongs to and returns at once unless that connection is still the
// current one. Nothing from an old socket can touch state once a new attempt exists.
//
// Ordering: server frames are handled strictly in arrival order, one at a time: parse → map
// the subscription index → ServerState → receiver(events) → ack. When the receiver returns a
// promise, the ack of that message and everything after it (later frames, snapshot completions,
// server.* events) wait in `inbox` until it settles. Without a promise nothing is queued or
// allocated beyond the events themselves.
//
// Snapshot completeness: the rule and its code are in snapshot-tracker.ts.
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { buildAck, buildSubscribeRequest, parseServerFrame } from '../protocol/index.js';
import type {
  CallInfoUpdate,
  CallListUpdate,
  FrameError,
  MessageAck,
  RosterUpdate,
  SubscriptionUpdate,
} from '../protocol/index.js';
import { ServerState, newEventId as defaultEventId, serverConnected, serverDisconnected } from '../state/index.js';
import type { CallView, CmsEvent } from '../state/index.js';
import { connectSlots } from '../transport/connect-slots.js';
import {
  PingWatchdog,
  TransportError,
  classifyError,
  createTlsConfig,
  fetchAuthToken,
  openEventSocket,
  type TlsConfig,
} from '../transport/index.js';
import { Backoff } from '../backoff.js';
import { closedError, newConnection, type Connection } from './connection.js';
import { resolveTimings } from './defaults.js';
import { SnapshotTracker } from './snapshot-tracker.js';
import { PER_CALL_TYPES, SubscriptionSet, type PerCallType, type SubscriptionEntry } from './subscription-set.js';
import type {
  EventReceiver,
  ServerTarget,
  Session,
  SessionCounters,
  SessionError,
  SessionOptions,
  SessionState,
  SessionStatus,
  SessionTimings,
} from './types.js';

/** Work waiting behind a receiver promise, in arrival order. */
type InboxItem =
  | { kind: 'frame'; conn: Connection; data: WebSocket.RawData }
  | { kind: 'snapshots'; conn: Connection }
  | { kind: 'events'; events: CmsEvent[] };

const ZERO_COUNTERS: SessionCounters = {
  messagesReceived: 0,
  acksSent: 0,
  badFrames: 0,
  unknownIndexes: 0,
  lateUpdates: 0,
  unknownIds: 0,
  reconnects: 0,
  connectAttempts: 0,
};

export function createSession(options: SessionOptions): Session {
  return new CmsSession(options);
}

class CmsSession implements Session {
  readonly name: string;
  readonly #target: ServerTarget;
  readonly #receiver: EventReceiver;
  readonly #log: Logger;
  readonly #onAcked: ((messageId: number) => void) | undefined;
  readonly #timings: SessionTimings;
  readonly #now: () => number;
  readonly #newEventId: () => string;
  readonly #tls: TlsConfig;
  readonly #where: string;
  readonly state: ServerState;
  readonly #state: ServerState;
  readonly #subs: SubscriptionSet;
  readonly #snapshots: SnapshotTracker;
  readonly #backoff: Backoff;
  readonly #counters: SessionCounters = { ...ZERO_COUNTERS };

  #status: SessionState = 'stopped';
  #since: number;
  #lastError: SessionError | null = null;
  #nextAttemptAt: number | null = null;
  /** Failures are logged loudly once per streak; repeats of the same one go to debug. */
  #lastReported: string | undefined;

  #running = false;
  #epoch = 0;
  #conn: Connection | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #opening: Promise<void> | undefined;
  readonly #closing = new Set<Promise<void>>();
  #requestScheduled = false;
  #holding = false;
  #inbox: InboxItem[] = [];

  constructor(options: SessionOptions) {
    this.#target = options.target;
    this.name = options.target.name;
    this.#receiver = options.receiver;
    this.#log = options.logger;
    this.#onAcked = options.onAcked;
    this.#timings = resolveTimings(options.timings);
    this.#now = options.now ?? Date.now;
    this.#newEventId = options.newEventId ?? defaultEventId;
    this.#tls = createTlsConfig(options.target);
    this.#where = `${options.target.host}:${options.target.port}`;
    this.#state = options.state ?? new ServerState({ server: this.name, now: options.now, newEventId: options.newEventId });
    this.state = this.#state;
    this.#subs = new SubscriptionSet(options.target.elements);
    // Calls known from an earlier session are followed from the first request on.
    for (const callId of this.#state.callIds()) this.#subs.addCall(callId);
    this.#snapshots = new SnapshotTracker({
      subs: this.#subs,
      state: this.#state,
      quietMs: this.#timings.snapshotQuietMs,
      onQuiet: (conn) => this.#snapshotsQuiet(conn),
      onCallGone: (callId) => this.#release(this.#subs.removeCall(callId)),
    });
    this.#backoff = new Backoff({
      initialMs: this.#timings.backoffInitialMs,
      maxMs: this.#timings.backoffMaxMs,
      random: options.random,
    });
    this.#since = this.#now();
  }

  // ---- public API ---------------------------------------------------------------------------

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#nextAttemptAt = null;
    const conn = this.#conn;
    if (conn !== undefined) {
      const wasLive = conn.live;
      this.#teardown(conn);
      if (wasLive) this.#notify(this.#disconnected('stopped'));
    }
    this.#enter('stopped');
    await this.#opening;
    while (this.#closing.size > 0) await Promise.all(this.#closing);
  }

  status(): SessionStatus {
    const conn = this.#conn;
    const stateCounters = this.#state.counters;
    return {
      name: this.name,
      state: this.#status,
      since: this.#iso(this.#since),
      connectedSince: conn?.live ? this.#iso(conn.liveSince) : null,
      lastError: this.#lastError,
      counters: { ...this.#counters, lateUpdates: stateCounters.lateUpdates, unknownIds: stateCounters.unknownIds },
      nextAttemptAt: this.#nextAttemptAt === null ? null : this.#iso(this.#nextAttemptAt),
    };
  }

  calls(): CallView[] {
    return this.#state.calls();
  }

  subscribeCall(callId: string, types: readonly PerCallType[] = PER_CALL_TYPES): void {
    if (this.#subs.include(callId, types)) this.#scheduleRequest();
  }

  unsubscribeCall(callId: string): void {
    this.#release(this.#subs.exclude(callId));
  }

  // ---- connecting ---------------------------------------------------------------------------

  #connect(): void {
    this.#retryTimer = undefined;
    this.#nextAttemptAt = null;
    const conn = newConnection(++this.#epoch);
    this.#conn = conn;
    this.#counters.connectAttempts++;
    this.#enter('connecting');
    if (this.#tls.insecure) {
      this.#log.warn(`TLS verification is off (tls.insecure) for ${this.#where}: the server's identity is not checked`);
    }
    this.#opening = this.#open(conn);
  }

  /** Waits for a connection slot, then token, then WebSocket; never rejects. */
  async #open(conn: Connection): Promise<void> {
    const { host, port, username, password } = this.#target;
    const signal = conn.abort.signal;
    let release: (() => void) | undefined;
    try {
      release = await connectSlots.acquire(signal);
      if (!this.#isCurrent(conn)) return;
      // The timeout counts from the slot, not from the queue: waiting is not the server's fault.
      const { connectTimeoutMs } = this.#timings;
      conn.phaseTimer = setTimeout(() => {
        this.#fail(conn, new TransportError('network', 'TIMEOUT', `connecting to ${this.#where} took longer than ${seconds(connectTimeoutMs)}`));
      }, connectTimeoutMs);
      // A fresh token for every attempt: the server may treat tokens as single-use and short-lived.
      const token = await fetchAuthToken({ tls: this.#tls, host, port, username, password, signal });
      if (!this.#isCurrent(conn)) return;
      const ws = await openEventSocket({ tls: this.#tls, host, port, token, secrets: [password], signal });
      if (!this.#isCurrent(conn)) {
        this.#closeSocket(ws);
        return;
      }
      this.#attach(conn, ws);
    } catch (error) {
      if (this.#isCurrent(conn)) this.#fail(conn, classifyError(error, `connecting to ${this.#where}`, [password]));
    } finally {
      release?.();
    }
  }

  #attach(conn: Connection, ws: WebSocket): void {
    clearTimeout(conn.phaseTimer);
    conn.ws = ws;
    const secrets = [this.#target.password];
    ws.on('message', (data) => this.#onFrame(conn, data));
    ws.on('error', (error) => {
      if (this.#isCurrent(conn)) this.#fail(conn, classifyError(error, `event WebSocket to ${this.#where}`, secrets));
    });
    ws.on('close', (code, reason) => {
      if (this.#isCurrent(conn)) this.#fail(conn, closedError(code, reason.toString('utf8'), this.#where));
    });
    const { pingIntervalMs, subscribeTimeoutMs } = this.#timings;
    if (pingIntervalMs > 0) {
      const watchdog = new PingWatchdog({
        intervalMs: pingIntervalMs,
        sendPing: () => ws.ping(),
        onDead: (unanswered) => {
          this.#fail(
            conn,
            new TransportError('network', 'TIMEOUT', `${this.#where} stopped answering WebSocket pings (${unanswered} unanswered; it answered before)`),
          );
        },
      });
      ws.on('pong', () => watchdog.pong());
      conn.watchdog = watchdog;
      watchdog.start();
    }

    this.#enter('subscribing');
    this.#state.beginResync();
    this.#subs.reset();
    const messageId = this.#sendRequest(conn);
    conn.firstRequestId = messageId;
    for (const entry of this.#subs.entries()) conn.awaiting.add(entry.index);
    conn.phaseTimer = setTimeout(() => this.#subscribeTimedOut(conn), subscribeTimeoutMs);
    this.#log.debug({ subscriptions: conn.awaiting.size }, 'connected; subscribing');
  }

  // ---- subscriptions ------------------------------------------------------------------------

  #sendRequest(conn: Connection): number {
    const subscriptions = this.#subs.buildRequest();
    const messageId = conn.nextMessageId++;
    (conn.ws as WebSocket).send(buildSubscribeRequest(messageId, subscriptions));
    conn.inFlight = {
      messageId,
      timer: setTimeout(() => this.#ackTimedOut(conn), this.#timings.subscribeTimeoutMs),
    };
    this.#log.debug({ messageId, subscriptions: subscriptions.length }, 'subscribeRequest sent');
    return messageId;
  }

  /** Changes made within one turn go out as one request; the next waits for the previous ack. */
  #scheduleRequest(): void {
    if (this.#requestScheduled) return;
    this.#requestScheduled = true;
    queueMicrotask(() => {
      this.#requestScheduled = false;
      const conn = this.#conn;
      if (conn?.ws !== undefined && conn.inFlight === undefined && this.#subs.changed) this.#sendRequest(conn);
    });
  }

  #ackTimedOut(conn: Connection): void {
    if (!this.#isCurrent(conn) || conn.inFlight === undefined) return;
    // While our receiver holds the queue the ack may be waiting in it: that is not the server's fault.
    if (this.#holding) {
      conn.inFlight.timer = setTimeout(() => this.#ackTimedOut(conn), this.#timings.subscribeTimeoutMs);
      return;
    }
    const message = `no answer to subscribeRequest ${conn.inFlight.messageId} from ${this.#where} within ${seconds(this.#timings.subscribeTimeoutMs)}`;
    this.#fail(conn, new TransportError('protocol', 'TIMEOUT', message));
  }

  #subscribeTimedOut(conn: Connection): void {
    if (!this.#isCurrent(conn) || conn.live) return;
    if (this.#holding) {
      conn.phaseTimer = setTimeout(() => this.#subscribeTimedOut(conn), this.#timings.subscribeTimeoutMs);
      return;
    }
    const waiting = conn.awaiting.size;
    const message = `${this.#where} did not make every subscription active within ${seconds(this.#timings.subscribeTimeoutMs)} (${waiting} still waiting${conn.firstAcked ? '' : ', request not acked'})`;
    this.#fail(conn, new TransportError('protocol', 'TIMEOUT', message));
  }

  /** Per-call subscriptions the client dropped: they no longer hold up live and have no snapshot to complete. */
  #release(entries: SubscriptionEntry[]): void {
    if (entries.length === 0) return;
    const conn = this.#conn;
    for (const entry of entries) {
      entry.snapshot = 'complete';
      conn?.awaiting.delete(entry.index);
    }
    this.#scheduleRequest();
  }

  // ---- frames -------------------------------------------------------------------------------

  #onFrame(conn: Connection, data: WebSocket.RawData): void {
    if (!this.#isCurrent(conn)) return;
    if (this.#holding) {
      this.#inbox.push({ kind: 'frame', conn, data });
      return;
    }
    this.#handleFrame(conn, data);
  }

  #handleFrame(conn: Connection, data: WebSocket.RawData): void {
    this.#counters.messagesReceived++;
    const parsed = parseServerFrame(data);
    if (!parsed.ok) {
      this.#badFrame(conn, parsed.error);
      return;
    }
    if (parsed.kind === 'messageAck') {
      this.#onMessageAck(conn, parsed.ack);
      return;
    }
    const message = parsed.message;
    let events: CmsEvent[] | undefined;
    switch (message.type) {
      case 'subscriptionUpdate':
        this.#onSubscriptionUpdate(conn, message);
        break;
      case 'callListUpdate':
        events = this.#onCallList(conn, message);
        break;
      case 'callInfoUpdate':
        events = this.#onCallInfo(message);
        break;
      case 'rosterUpdate':
        events = this.#onRoster(conn, message);
        break;
      default: {
        const unhandled: never = message;
        void unhandled;
      }
    }
    // A protocol error above may have ended this connection: then nothing is acked.
    if (!this.#isCurrent(conn)) return;
    if (!conn.live) events = this.#checkLive(conn, events);
    this.#deliver(conn, events, message.messageId);
  }

  #badFrame(conn: Connection, error: FrameError): void {
    this.#counters.badFrames++;
    this.#log.warn({ code: error.code, messageId: error.messageId }, `bad frame from the server skipped: ${error.detail}`);
    // A message the server numbered is still acked (it waits for that ack). The parser gives an
    // error a messageId only for a `message` envelope, never for a messageAck.
    if (error.messageId !== undefined) this.#ack(conn, error.messageId);
  }

  #onMessageAck(conn: Connection, ack: MessageAck): void {
    const inFlight = conn.inFlight;
    if (inFlight === undefined || ack.messageId !== inFlight.messageId) {
      this.#log.debug({ messageId: ack.messageId }, 'messageAck for no request in flight ignored');
      return;
    }
    clearTimeout(inFlight.timer);
    conn.inFlight = undefined;
    if (ack.status !== 'success') {
      const status = JSON.stringify(String(ack.status).slice(0, 40));
      this.#fail(conn, new TransportError('protocol', 'PROTOCOL', `${this.#where} refused the subscription request (messageAck status ${status})`));
      return;
    }
    if (ack.messageId === conn.firstRequestId) conn.firstAcked = true;
    if (this.#subs.changed) this.#scheduleRequest();
    if (!conn.live) this.#deliver(conn, this.#checkLive(conn, undefined), undefined);
  }

  #onSubscriptionUpdate(conn: Connection, message: SubscriptionUpdate): void {
    for (const { index, state } of message.subscriptions) {
      const entry = this.#subs.get(index);
      if (entry === undefined) {
        // A subscription already forgotten: a request that still listed it crossed the server's
        // report of its end (the server then reports it again), or the server lists the whole set.
        // Its state no longer matters; only data for an unknown index is counted.
        this.#log.debug({ index, state }, 'state of a subscription no longer in the set ignored');
        continue;
      }
      // Servers that list the whole set repeat unchanged states.
      if (entry.state === state) continue;
      entry.state = state;
      if (state === 'pending') continue;
      conn.awaiting.delete(index);
      if (state === 'active') {
        this.#snapshots.opened(conn, entry);
        continue;
      }
      if (entry.type === 'calls') {
        this.#fail(conn, new TransportError('protocol', 'PROTOCOL', `${this.#where} ended the calls subscription (state ${JSON.stringify(state)})`));
        return;
      }
      // deactivated (the call ended) or an error state for a call the server does not know.
      this.#log.debug({ call: entry.call, type: entry.type, state }, 'per-call subscription ended by the server');
      entry.snapshot = 'complete';
      this.#subs.drop(entry);
    }
  }

  #onCallList(conn: Connection, message: CallListUpdate): CmsEvent[] | undefined {
    const entry = this.#subs.get(message.subscriptionIndex);
    if (entry?.type !== 'calls') {
      this.#unknownIndex(message.subscriptionIndex);
      return undefined;
    }
    const events = this.#state.applyCallList(message.updates);
    let nonAdd = false;
    for (const update of message.updates) {
      if (update.updateType === 'add') {
        if (this.#subs.addCall(update.call)) this.#scheduleRequest();
      } else {
        nonAdd = true;
        if (update.updateType === 'remove') this.#release(this.#subs.removeCall(update.call));
      }
    }
    if (entry.snapshot === 'complete') return events;
    return this.#snapshots.progress(conn, entry, nonAdd, events);
  }

  #onCallInfo(message: CallInfoUpdate): CmsEvent[] | undefined {
    const entry = this.#subs.get(message.subscriptionIndex);
    if (entry?.type !== 'callInfo') {
      this.#unknownIndex(message.subscriptionIndex);
      return undefined;
    }
    return this.#state.applyCallInfo(entry.call as string, message.callInfo);
  }

  #onRoster(conn: Connection, message: RosterUpdate): CmsEvent[] | undefined {
    const entry = this.#subs.get(message.subscriptionIndex);
    if (entry?.type !== 'callRoster') {
      this.#unknownIndex(message.subscriptionIndex);
      return undefined;
    }
    const events = this.#state.applyRoster(entry.call as string, message.updates);
    if (entry.snapshot === 'complete') return events;
    let nonAdd = false;
    for (const update of message.updates) {
      if (update.updateType !== 'add') {
        nonAdd = true;
        break;
      }
    }
    return this.#snapshots.progress(conn, entry, nonAdd, events);
  }

  #unknownIndex(index: number): void {
    this.#counters.unknownIndexes++;
    this.#log.debug({ index }, 'update for an unknown subscription index (acked, skipped)');
  }

  #checkLive(conn: Connection, events: CmsEvent[] | undefined): CmsEvent[] | undefined {
    if (!conn.firstAcked || conn.awaiting.size > 0) return events;
    conn.live = true;
    conn.liveSince = this.#now();
    clearTimeout(conn.phaseTimer);
    this.#lastReported = undefined;
    this.#enter('live');
    this.#log.info({ calls: this.#state.callIds().length, subscriptions: this.#subs.size }, 'feed live');
    const connected = this.#connected();
    if (events === undefined) return [connected];
    events.push(connected);
    return events;
  }

  // ---- snapshots (the rule: snapshot-tracker.ts) ------------------------------------------

  /** The quiet period ended: open snapshots complete, in order behind anything still held. */
  #snapshotsQuiet(conn: Connection): void {
    if (!this.#isCurrent(conn)) return;
    if (this.#holding) this.#inbox.push({ kind: 'snapshots', conn });
    else this.#deliver(conn, this.#snapshots.completeOpen([]), undefined);
  }

  // ---- delivery and acks --------------------------------------------------------------------

  /** Hands events to the receiver, then acks `messageId` (when given) now or once its promise settles. */
  #deliver(conn: Connection | undefined, events: CmsEvent[] | undefined, messageId: number | undefined): void {
    if (events !== undefined && events.length > 0) {
      let held: void | Promise<void> = undefined;
      try {
        held = this.#receiver(events, messageId);
      } catch (error) {
        this.#log.error({ error: describe(error) }, 'event receiver threw');
      }
      if (held) {
        this.#hold(conn, held, messageId);
        return;
      }
    }
    // The receiver may have stopped the session (or a handler ended the connection) meanwhile.
    if (conn !== undefined && messageId !== undefined && this.#isCurrent(conn)) this.#ack(conn, messageId);
  }

  #hold(conn: Connection | undefined, held: Promise<void>, messageId: number | undefined): void {
    this.#holding = true;
    const settled = (): void => {
      this.#holding = false;
      if (conn !== undefined && messageId !== undefined && this.#isCurrent(conn)) this.#ack(conn, messageId);
      this.#drain();
    };
    held.then(settled, (error: unknown) => {
      this.#log.error({ error: describe(error) }, 'event receiver failed');
      settled();
    });
  }

  #drain(): void {
    while (!this.#holding && this.#inbox.length > 0) {
      const item = this.#inbox.shift() as InboxItem;
      switch (item.kind) {
        case 'frame':
          if (this.#isCurrent(item.conn)) this.#handleFrame(item.conn, item.data);
          break;
        case 'snapshots':
          if (this.#isCurrent(item.conn)) this.#deliver(item.conn, this.#snapshots.completeOpen([]), undefined);
          break;
        case 'events':
          this.#deliver(undefined, item.events, undefined);
          break;
        default: {
          const unhandled: never = item;
          void unhandled;
        }
      }
    }
  }

  /** Events that belong to no message (server.*): in order behind anything still held. */
  #notify(event: CmsEvent): void {
    if (this.#holding) this.#inbox.push({ kind: 'events', events: [event] });
    else this.#deliver(undefined, [event], undefined);
  }

  #ack(conn: Connection, messageId: number): void {
    (conn.ws as WebSocket).send(buildAck(messageId));
    this.#counters.acksSent++;
    if (this.#onAcked === undefined) return;
    try {
      this.#onAcked(messageId);
    } catch (error) {
      this.#log.error({ error: describe(error) }, 'onAcked threw');
    }
  }

  // ---- failure, backoff, teardown -----------------------------------------------------------

  #fail(conn: Connection, error: TransportError): void {
    if (!this.#isCurrent(conn)) return;
    const wasLive = conn.live;
    this.#teardown(conn);
    this.#lastError = { kind: error.kind, message: error.message, at: this.#iso(this.#now()) };
    if (wasLive) {
      this.#counters.reconnects++;
      if (this.#now() - conn.liveSince >= this.#timings.backoffResetAfterMs) this.#backoff.reset();
      this.#notify(this.#disconnected(error.message));
    }
    // Bad credentials and untrusted certificates are configuration problems, not blips: retry slowly.
    const slow = error.kind === 'auth' || error.kind === 'tls';
    const delay = slow ? this.#timings.authFailureRetryMs : this.#backoff.next();
    this.#report(error, delay);
    this.#nextAttemptAt = this.#now() + delay;
    this.#enter('backoff');
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #report(error: TransportError, delay: number): void {
    const key = `${error.code}:${error.message}`;
    const fields = { kind: error.kind, code: error.code, status: error.status, retryInMs: delay };
    if (key === this.#lastReported) this.#log.debug(fields, `still failing: ${error.message}`);
    else if (error.kind === 'auth' || error.kind === 'tls') this.#log.error(fields, error.message);
    else this.#log.warn(fields, error.message);
    this.#lastReported = key;
  }

  /** Ends a connection: the epoch moves on first, so nothing of it can act afterwards. */
  #teardown(conn: Connection): void {
    this.#epoch++;
    this.#conn = undefined;
    conn.abort.abort(new TransportError('closed', 'CLOSED', 'connection attempt abandoned'));
    clearTimeout(conn.phaseTimer);
    if (conn.inFlight !== undefined) clearTimeout(conn.inFlight.timer);
    clearTimeout(conn.snapshotTimer);
    conn.watchdog?.stop();
    if (conn.ws !== undefined) this.#closeSocket(conn.ws);
  }

  /** close(), then terminate() after closeGraceMs: a dead peer cannot hold teardown up. */
  #closeSocket(ws: WebSocket): void {
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => ws.terminate(), this.#timings.closeGraceMs);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#closing.add(closed);
    void closed.then(() => this.#closing.delete(closed));
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
  }

  // ---- helpers ------------------------------------------------------------------------------

  #isCurrent(conn: Connection): boolean {
    return conn.epoch === this.#epoch;
  }

  #enter(state: SessionState): void {
    this.#status = state;
    this.#since = this.#now();
  }

  #iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  #connected(): CmsEvent {
    return serverConnected(this.name, this.#newEventId(), this.#iso(this.#now()));
  }

  #disconnected(reason: string): CmsEvent {
    return serverDisconnected(this.name, this.#newEventId(), this.#iso(this.#now()), reason);
  }
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

// One server's feed: connect → subscribe → live, reconnect on any loss with backoff.
//
// States: connecting (slot, token, WebSocket handshake) → subscribing → live → backoff (any
// failure) → connecting …; stop() → stopped. What happens on one connection (its socket, its
// requests, its snapshots, the message switch) is FeedConnection's (feed-connection.ts); the
// order of delivery and acks is OrderedDelivery's (ordered-delivery.ts). This class owns the
// lifecycle: which connection is current, the retry timer, the backoff, and the status.
//
// One rule guards against old sockets: the session acts only for `#current`, and a connection
// is disposed the moment it stops being current, after which none of its callbacks act.
import type { Logger } from 'pino';
import { Backoff } from '../backoff.js';
import { realClock, type Clock, type TimerHandle } from '../clock.js';
import type { SessionTimings } from '../defaults.js';
import { ServerState, newEventId as defaultEventId, serverConnected, serverDisconnected } from '../state/index.js';
import type { CallView, CmsEvent } from '../state/index.js';
import {
  classifyError,
  connectSlots as processConnectSlots,
  createTlsConfig,
  fetchAuthToken,
  openEventSocket,
  type ConnectSlots,
  type TlsConfig,
  type TransportError,
} from '../transport/index.js';
import { resolveTimings } from './defaults.js';
import { FeedConnection, type ConnectionHost } from './feed-connection.js';
import { OrderedDelivery } from './ordered-delivery.js';
import { PER_CALL_TYPES, SubscriptionSet, type PerCallType, type SubscriptionEntry } from './subscription-set.js';
import type { ServerTarget, Session, SessionCounters, SessionError, SessionOptions, SessionState, SessionStatus } from './types.js';

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

class CmsSession implements Session, ConnectionHost {
  readonly name: string;
  readonly where: string;
  readonly state: ServerState;
  readonly subs: SubscriptionSet;
  readonly delivery: OrderedDelivery;
  readonly counters: SessionCounters = { ...ZERO_COUNTERS };
  readonly log: Logger;
  readonly timings: SessionTimings;
  readonly clock: Clock;
  readonly #target: ServerTarget;
  readonly #newEventId: () => string;
  readonly #tls: TlsConfig;
  readonly #slots: ConnectSlots;
  readonly #backoff: Backoff;
  readonly #mayAct: () => boolean;

  #status: SessionState = 'stopped';
  #since: number;
  #lastError: SessionError | null = null;
  #nextAttemptAt: number | null = null;
  /** Failures are logged loudly once per streak; repeats of the same one go to debug. */
  #lastReported: string | undefined;

  #running = false;
  #current: FeedConnection | undefined;
  #retryTimer: TimerHandle | undefined;
  #opening: Promise<void> | undefined;
  readonly #closing = new Set<Promise<void>>();

  constructor(options: SessionOptions) {
    this.#target = options.target;
    this.name = options.target.name;
    this.where = `${options.target.host}:${options.target.port}`;
    this.log = options.logger;
    this.timings = resolveTimings(options.timings);
    this.clock = options.clock ?? realClock;
    this.#newEventId = options.newEventId ?? defaultEventId;
    this.#tls = createTlsConfig(options.target);
    this.#slots = options.connectSlots ?? processConnectSlots;
    this.state = options.state ?? new ServerState({ server: this.name, now: this.clock.now.bind(this.clock), newEventId: options.newEventId });
    this.subs = new SubscriptionSet(options.target.elements);
    // Calls known from an earlier session are followed from the first request on.
    for (const callId of this.state.callIds()) this.subs.addCall(callId);
    this.delivery = new OrderedDelivery(options.receiver, this.log);
    this.#backoff = new Backoff({ initialMs: this.timings.backoffInitialMs, maxMs: this.timings.backoffMaxMs, random: options.random });
    this.#since = this.clock.now();
    this.#mayAct = options.mayAct ?? (() => true);
  }

  // ---- public API ---------------------------------------------------------------------------

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  async stop(reason = 'stopped'): Promise<void> {
    this.#running = false;
    this.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#nextAttemptAt = null;
    const conn = this.#current;
    if (conn !== undefined) {
      this.#end(conn);
      if (conn.live) this.#notify(this.#disconnected(reason));
    }
    this.#enter('stopped');
    await this.#opening;
    while (this.#closing.size > 0) await Promise.all(this.#closing);
  }

  status(): SessionStatus {
    const conn = this.#current;
    const stateCounters = this.state.counters;
    return {
      name: this.name,
      state: this.#status,
      since: iso(this.#since),
      connectedSince: conn?.live ? iso(conn.liveSince) : null,
      lastError: this.#lastError,
      counters: { ...this.counters, lateUpdates: stateCounters.lateUpdates, unknownIds: stateCounters.unknownIds },
      nextAttemptAt: this.#nextAttemptAt === null ? null : iso(this.#nextAttemptAt),
    };
  }

  calls(): CallView[] {
    return this.state.calls();
  }

  subscribeCall(callId: string, types: readonly PerCallType[] = PER_CALL_TYPES): void {
    if (this.subs.include(callId, types)) this.#current?.scheduleRequest();
  }

  unsubscribeCall(callId: string): void {
    this.#release(this.subs.exclude(callId));
  }

  // ---- ConnectionHost: what the current connection reports ---------------------------------

  mayAct(): boolean {
    return this.#mayAct();
  }

  subscribing(conn: FeedConnection): void {
    if (conn === this.#current) this.#enter('subscribing');
  }

  live(): CmsEvent {
    this.#lastReported = undefined;
    this.#enter('live');
    this.log.info({ calls: this.state.callIds().length, subscriptions: this.subs.size }, 'feed live');
    return serverConnected(this.name, this.#newEventId(), iso(this.clock.now()));
  }

  failed(conn: FeedConnection, error: TransportError): void {
    if (conn !== this.#current) return;
    this.#end(conn);
    const now = this.clock.now();
    this.#lastError = { kind: error.kind, code: error.code, message: error.message, at: iso(now) };
    if (conn.live) {
      this.counters.reconnects++;
      if (now - conn.liveSince >= this.timings.backoffResetAfterMs) this.#backoff.reset();
      this.#notify(this.#disconnected(error.message));
    }
    // Bad credentials and untrusted certificates are configuration problems, not blips: retry slowly.
    const slow = error.kind === 'auth' || error.kind === 'tls';
    const delay = slow ? this.timings.authFailureRetryMs : this.#backoff.next();
    this.#report(error, delay);
    this.#nextAttemptAt = now + delay;
    this.#enter('backoff');
    this.#retryTimer = this.clock.setTimeout(() => this.#connect(), delay);
  }

  // ---- connecting ---------------------------------------------------------------------------

  #connect(): void {
    this.#retryTimer = undefined;
    this.#nextAttemptAt = null;
    const conn = new FeedConnection(this);
    this.#current = conn;
    this.counters.connectAttempts++;
    this.#enter('connecting');
    if (this.#tls.insecure) {
      this.log.warn(`TLS verification is off (tls.insecure) for ${this.where}: the server's identity is not checked`);
    }
    this.#opening = this.#open(conn);
  }

  /** Waits for a connection slot, then token, then WebSocket; never rejects. */
  async #open(conn: FeedConnection): Promise<void> {
    const { host, port, username, password } = this.#target;
    const signal = conn.abort.signal;
    let release: (() => void) | undefined;
    try {
      release = await this.#slots.acquire(signal);
      if (conn !== this.#current) return;
      // The timeout counts from the slot, not from the queue: waiting is not the server's fault.
      conn.startConnectTimer();
      // A fresh token for every attempt: the server may treat tokens as single-use and short-lived.
      const token = await fetchAuthToken({ tls: this.#tls, host, port, username, password, signal });
      if (conn !== this.#current) return;
      const { pingIntervalMs, closeGraceMs } = this.timings;
      const socket = await openEventSocket({ tls: this.#tls, host, port, token, secrets: [password], signal, pingIntervalMs, clock: this.clock });
      if (conn !== this.#current) {
        this.#track(socket.close(closeGraceMs));
        return;
      }
      conn.attach(socket);
    } catch (error) {
      if (conn === this.#current) conn.fail(classifyError(error, `connecting to ${this.where}`, [password]));
    } finally {
      release?.();
    }
  }

  /** The current connection ends here: from now on nothing of it acts. */
  #end(conn: FeedConnection): void {
    this.#current = undefined;
    this.#track(conn.dispose());
  }

  #track(closing: Promise<void>): void {
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }

  /** Dropped per-call subscriptions no longer hold anything up. */
  #release(entries: SubscriptionEntry[]): void {
    if (this.#current !== undefined) this.#current.release(entries);
    else for (const entry of entries) entry.snapshot = 'complete';
  }

  #report(error: TransportError, delay: number): void {
    const key = `${error.code}:${error.message}`;
    const fields = { kind: error.kind, code: error.code, status: error.status, retryInMs: delay };
    if (key === this.#lastReported) this.log.debug(fields, `still failing: ${error.message}`);
    else if (error.kind === 'auth' || error.kind === 'tls') this.log.error(fields, error.message);
    else this.log.warn(fields, error.message);
    this.#lastReported = key;
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Events that belong to no message (server.*): in order behind anything still held. */
  #notify(event: CmsEvent): void {
    this.delivery.inOrder(() => this.delivery.deliver([event]));
  }

  #enter(state: SessionState): void {
    this.#status = state;
    this.#since = this.clock.now();
  }

  #disconnected(reason: string): CmsEvent {
    return serverDisconnected(this.name, this.#newEventId(), iso(this.clock.now()), reason);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

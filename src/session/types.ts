// Public shape of one server's session. The hub depends on this file only.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SessionTimings } from '../defaults.js';
import type { SubscriptionType } from '../protocol/index.js';
import type { CallView, CmsEvent } from '../state/events.js';
import type { ServerState } from '../state/server-state.js';
import type { ConnectSlots } from '../transport/connect-slots.js';
import type { TransportErrorCode } from '../transport/errors.js';
import type { ErrorKind, TlsOptions } from '../transport/types.js';
import type { PerCallType } from './subscription-set.js';

// Defined below this layer; re-exported so that the session's public shape stays in one place.
export type { ErrorKind, SessionTimings, TlsOptions };

export type SessionState = 'connecting' | 'subscribing' | 'live' | 'backoff' | 'stopped';

export interface ServerTarget {
  /** Configured name; appears in every event and log line of this server. */
  name: string;
  host: string;
  port: number;
  username: string;
  password: string;
  tls?: TlsOptions;
  /** Plain HTTP/WS instead of TLS: for the simulator's --no-tls mode and tests only. */
  plain?: boolean;
  /** Elements asked for, per subscription type; all elements by default. */
  elements?: Partial<Record<SubscriptionType, readonly string[]>>;
}

/**
 * What the receiver asks of the session for one message's events. `wait`: hold the ack of that
 * message (and everything after it) until the promise settles (backpressure, or ack after
 * handlers). `afterAck`: run right after the ack was written to the socket (`acked` true), or at
 * once when there is nothing to ack or the connection is gone (`acked` false). This is the one
 * place the order "ack first, then the rest" is decided.
 */
export interface Delivery {
  wait?: Promise<void>;
  afterAck?: (acked: boolean) => void;
}

/**
 * Receives the events produced by one server message, in order. `messageId` is given when the
 * events come from a server message that will be acked (not for timer-driven snapshot
 * completions or server.* events). Returning nothing lets the session ack at once. Must not throw.
 */
export type EventReceiver = (events: CmsEvent[], messageId?: number) => Delivery | undefined;

export interface SessionOptions {
  target: ServerTarget;
  receiver: EventReceiver;
  logger: Logger;
  /** Overrides of the defaults in src/session/defaults.ts. */
  timings?: Partial<SessionTimings>;
  /** Injected for tests: [0,1) random source for backoff jitter. */
  random?: () => number;
  /** Injected for tests: every timer of the session and its event timestamps. */
  clock?: Clock;
  /** Caps concurrent connection attempts; default: the one shared by the process. */
  connectSlots?: ConnectSlots;
  /** Injected for tests: event id generator. */
  newEventId?: () => string;
  /**
   * The model kept by an earlier session of the same server (restarted after a config change):
   * the new connection reconciles against it instead of announcing every call again.
   */
  state?: ServerState;
  /**
   * Cluster mode: false once this instance may no longer act for the server (its lease's local
   * deadline passed). Asked before every ack; when false the message is not acked and the
   * socket is torn down at once (no close handshake), so the next owner is the only one acking.
   */
  mayAct?: () => boolean;
}

// the server closed the socket

export interface SessionError {
  kind: ErrorKind;
  /** The precise cause (AUTH_REJECTED, TLS_UNTRUSTED, TIMEOUT, …). */
  code: TransportErrorCode;
  /** A sentence a person understands; never contains a password or token. */
  message: string;
  at: string;
}

export interface SessionCounters {
  messagesReceived: number;
  acksSent: number;
  badFrames: number;
  unknownIndexes: number;
  lateUpdates: number;
  unknownIds: number;
  reconnects: number;
  connectAttempts: number;
}

export interface SessionStatus {
  name: string;
  state: SessionState;
  /** ISO time the current state was entered. */
  since: string;
  /** ISO time the feed last became live, while it is live. */
  connectedSince: string | null;
  lastError: SessionError | null;
  counters: SessionCounters;
  /** When in backoff: ISO time of the next attempt. */
  nextAttemptAt: string | null;
}

export interface Session {
  readonly name: string;
  start(): void;
  /**
   * Closes the socket (bounded), cancels every timer; resolves when nothing is left. A live feed
   * announces server.disconnected with `reason` (default 'stopped').
   */
  stop(reason?: string): Promise<void>;
  status(): SessionStatus;
  /** The live model of calls and rosters, for the HTTP API and dashboard. */
  calls(): CallView[];
  /** The model itself, to hand on to a session that replaces this one. */
  readonly state: ServerState;
  /** Adds or drops per-call subscriptions beyond the defaults (for handlers). */
  subscribeCall(callId: string, types?: readonly PerCallType[]): void;
  unsubscribeCall(callId: string): void;
}

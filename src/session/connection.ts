// One connection attempt of a session and what belongs to it alone: its socket, timers and
// request bookkeeping. Every callback carries its Connection, and the session ignores those of
// any connection but the current one (the epoch guard, see session.ts).
import type WebSocket from 'ws';
import { TransportError, type PingWatchdog } from '../transport/index.js';

export interface Connection {
  readonly epoch: number;
  /** Aborts the token request / handshake in progress when the attempt is given up. */
  readonly abort: AbortController;
  ws: WebSocket | undefined;
  nextMessageId: number;
  /** The subscribeRequest waiting for its messageAck (at most one). */
  inFlight: { messageId: number; timer: NodeJS.Timeout } | undefined;
  firstRequestId: number;
  firstAcked: boolean;
  /** Indexes of the first request that are neither active nor dropped yet: live waits for them. */
  readonly awaiting: Set<number>;
  live: boolean;
  liveSince: number;
  /** connectTimeoutMs while connecting, then subscribeTimeoutMs until live. */
  phaseTimer: NodeJS.Timeout | undefined;
  /** Quiet period of the open snapshots (one per connection, see snapshot-tracker.ts). */
  snapshotTimer: NodeJS.Timeout | undefined;
  watchdog: PingWatchdog | undefined;
}

export function newConnection(epoch: number): Connection {
  return {
    epoch,
    abort: new AbortController(),
    ws: undefined,
    nextMessageId: 1,
    inFlight: undefined,
    firstRequestId: 0,
    firstAcked: false,
    awaiting: new Set(),
    live: false,
    liveSince: 0,
    phaseTimer: undefined,
    snapshotTimer: undefined,
    watchdog: undefined,
  };
}

/** The error for a WebSocket that closed, with the server's reason made printable and short. */
export function closedError(code: number, reason: string, where: string): TransportError {
  const said = reason.replace(/[\x00-\x1f]/g, ' ').trim().slice(0, 100);
  const detail = code === 1006 ? 'connection lost without a close frame, code 1006' : `code ${code}${said ? `: ${said}` : ''}`;
  return new TransportError('closed', 'CLOSED', `the event WebSocket to ${where} closed (${detail})`);
}

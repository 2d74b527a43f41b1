// What one event connection needs from the server that accepted it: the port between
// event-connection.ts and server.ts, so the connection never reaches into the server itself.
import type { Clock } from '../clock.js';
import type { EventConnection } from './event-connection.js';
import type { SimulatorSwitches } from './switches.js';
import type { SimulatedWorld } from './world.js';

/** What a connection needs from the server that accepted it. */
export interface ConnectionHost {
  readonly switches: SimulatorSwitches;
  readonly world: SimulatedWorld;
  /** Ack timeouts run on it (tests move a manual one). */
  readonly clock: Clock;
  acksStalled(): boolean;
  violation(connectionId: number, kind: string, detail: string): void;
  messageSent(connectionId: number, messageId: number): void;
  ackReceived(): void;
  subscribeRequested(): void;
  /** A ping arrived (`answered`: a pong went back). */
  pinged(answered: boolean): void;
  /** The connection has nothing queued or unacked any more. */
  drained(): void;
  closed(connection: EventConnection): void;
}

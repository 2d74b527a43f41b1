// Public shape of the simulator: what tests, benchmarks, the demo and the CLI code against.
import type { CallFields, ParticipantFields } from '../protocol/index.js';
import type { SimulatorSwitches } from './switches.js';
import type { Clock } from '../clock.js';

export type { SimulatorSwitches };

export interface SimulatorOptions {
  /** Shown in listings and the control API; default `cms`. */
  name?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /**
   * Default true: a self-signed certificate generated once per process. `{ cert, key }` takes PEM
   * text or paths to PEM files. false: plain HTTP and WebSocket.
   */
  tls?: boolean | { cert: string; key: string };
  /** Default admin. */
  username?: string;
  /** Default admin. */
  password?: string;
  switches?: Partial<SimulatorSwitches>;
  /** Ack timeouts run on it; default the real clock (tests pass a manual one). */
  clock?: Clock;
  /** What GET /api/v1/system/status reports in `softwareVersion`; default 3.8.1. */
  softwareVersion?: string;
}

export interface Violation {
  /** Date.now() when it was seen. */
  at: number;
  connectionId: number;
  /**
   * ackOfAck, unknownAck, duplicateAck, nonSuccessAck, badJson, unknownEnvelope,
   * unknownMessageType, malformedFrame, invalidSubscription, clientIdNotIncreasing, ackTimeout.
   */
  kind: string;
  detail: string;
}

export interface SimulatorStats {
  tokensIssued: number;
  handshakesRejected: number;
  connectionsOpened: number;
  openConnections: number;
  messagesSent: number;
  acksReceived: number;
  subscribeRequests: number;
  pingsReceived: number;
  pongsSent: number;
  /** Over the open connections: messages waiting for room in the ack window. */
  queued: number;
  /** Over the open connections: messages sent and not acked yet. */
  unacked: number;
}

/** One event connection as the server saw it (SimulatedServer.connectionFigures). Times are Date.now(). */
export interface ConnectionFigures {
  /** The connection's id, as violations name it. */
  id: number;
  openedAt: number;
  /** null while it is open. */
  closedAt: number | null;
  messagesSent: number;
  /** Acks of server messages received on it (acks of anything else count too: they are violations). */
  acksReceived: number;
  /** When the last ack arrived; null: none yet. */
  lastAckAt: number | null;
}

/** A roster entry's `callBridge` is there only for a participant hosted on another bridge of the cluster. */
export type CallSnapshot = CallFields & { id: string; roster: Array<ParticipantFields & { id: string; callBridge?: string }> };

/** One Call Bridge of a cluster, as REST `GET /callBridges` lists it. */
export interface CallBridgeInfo {
  /** The bridge's GUID: what `<callBridge>` names in a remote participant's REST answer. */
  readonly id: string;
  readonly name: string;
}

export interface World {
  /** Returns the call id (a uuid unless given). */
  createCall(fields?: Partial<CallFields> & { id?: string }): string;
  updateCall(callId: string, fields: Partial<CallFields>): void;
  /** Does NOT send roster removes for the remaining participants: the client must synthesize leaves. */
  endCall(callId: string, reason?: string): void;
  /**
   * Keeps the call's `participants` count in step: it counts connected and on-hold participants,
   * as a real bridge does (a dial-out counts once it connects, not while it rings).
   */
  addParticipant(callId: string, fields?: Partial<ParticipantFields> & { id?: string }): string;
  updateParticipant(callId: string, participantId: string, fields: Partial<ParticipantFields>): void;
  removeParticipant(callId: string, participantId: string, reason?: string): void;
  /** Runs fn and sends what it changed as one message per subscription (several roster updates in one message). */
  batch(fn: () => void): void;
  listCalls(): CallSnapshot[];
}

export interface Faults {
  /** Destroys every event socket at once, without a close frame. */
  dropAll(): void;
  /** Refuses tokens and upgrades with 503 and drops every socket, until comeUp(). */
  goDown(): void;
  comeUp(): void;
  /** While on, subscribeRequests are held: no messageAck and no subscriptionUpdate until it is off. */
  stallAcks(on: boolean): void;
  /** Writes `frame` as is to every open event socket, outside the message id sequence. */
  sendRaw(frame: string): void;
  /**
   * The next `count` authenticated REST requests answer 503 <databaseNotReady /> (0 cancels).
   * Number.MAX_SAFE_INTEGER keeps the REST API failing until restBusy(0). The token endpoint and
   * the events feed are not affected.
   */
  restBusy(count: number): void;
  /**
   * Raises an alarm that GET /system/alarms lists from now on; returns its id. Raising a type
   * that is active already returns the existing id and changes nothing.
   */
  raiseAlarm(type: string, failureReason?: string): string;
  /** Clears the active alarm of that type, if there is one. */
  clearAlarm(type: string): void;
}

/** An active alarm, as GET /system/alarms lists it. */
export interface AlarmInfo {
  id: string;
  /** e.g. cdrConnectionFailure, callBridgeConnectionFailure, callDistributionFailure, databaseConnectionError. */
  type: string;
  failureReason?: string;
  /** Whole seconds on the simulator's clock since it was raised. */
  activeTimeSeconds: number;
}

/** What GET /system/status reports. Call legs are counted as participants (one leg each here). */
export interface SystemStatus {
  softwareVersion: string;
  /** Whole seconds on the simulator's clock since it started. */
  uptimeSeconds: number;
  activated: boolean;
  /** The bridge is in a BridgeCluster (formBridgeCluster). */
  clusterEnabled: boolean;
  /** The clock's time, ISO 8601 to the second. */
  cdrTime: string;
  /** Participants hosted here that are connected or on hold, over all calls. */
  callLegsActive: number;
  /** The most callLegsActive has been since the start. */
  callLegsMaxActive: number;
  /** Participants hosted here that left, or whose call ended. */
  callLegsCompleted: number;
  /** The simulator carries no media: always 0. */
  audioBitRateOutgoing: number;
  videoBitRateOutgoing: number;
  audioBitRateIncoming: number;
  videoBitRateIncoming: number;
}

/** What the CDR side of a simulated bridge has done since it started (SimulatedCdr.stats). */
export interface CdrStats {
  /** POSTs sent to receivers (retries included). */
  posts: number;
  /** Records answered 200, counted once per receiver. */
  delivered: number;
  /** POSTs that failed: an answer other than 200, a connection refused, reset or timed out, an answer lost on purpose. */
  failures: number;
  /** Records a full buffer discarded (cdrBufferRecords), per receiver. */
  discarded: number;
  /** Records generated, counted once per receiver that got them (delivered + discarded + backlog, for receivers still listed). */
  records: number;
}

/**
 * The CDR side of a simulated bridge (the receivers REST /system/cdrReceivers lists, and the
 * records POSTed to them), for tests and benchmarks.
 */
export interface SimulatedCdr {
  /** The GUID in every POST's `<records session>`, new for each startSimulator. */
  readonly session: string;
  receivers(): Array<{ id: string; uri: string }>;
  /** Adds a receiver as POST /system/cdrReceivers would (same maximum); returns its id. */
  addReceiver(uri: string): string;
  /** Records generated and not yet answered 200, for one receiver or all; throws for an id not listed. */
  backlog(receiverId?: string): number;
  /** Resolves once every receiver's backlog is 0; rejects with a clear error after timeoutMs (default 10 s, real time). */
  drained(timeoutMs?: number): Promise<void>;
  /**
   * The next `count` 200 answers (over all receivers) are treated as lost, as if the connection
   * died before the answer was read: the connection is closed and those records are re-sent
   * cdrRetryMs later. Sets the count (0 cancels), as faults.restBusy does.
   */
  loseAnswers(count: number): void;
  /**
   * Generates, at once, the whole record sequence (legs start, update, call start, …, legs end,
   * call end) of `calls` short synthetic calls with `participantsPerCall` each, not touching the
   * world — for throughput benchmarks.
   */
  burst(calls: number, participantsPerCall: number): void;
  stats(): CdrStats;
}

/** One request the REST API received (never its credentials). */
export interface RestRequestRecord {
  /** clock.now() when it arrived. */
  at: number;
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  /** The Content-Type header as sent, when there was one. */
  contentType?: string;
  /** The form-encoded body's parameters (empty when the body was not form-encoded). */
  params: Record<string, string>;
  /** The first KiB of a body that was not form-encoded. */
  rawBody?: string;
  /** Basic auth with the bridge's username and password. */
  authenticated: boolean;
  /** The status answered. */
  status: number;
}

export interface SimulatedServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** https://host:port or http://host:port */
  readonly url: string;
  readonly caPem?: string;
  readonly caPath?: string;
  /** SHA-256 of the server certificate: upper-case hex pairs joined by colons. */
  readonly fingerprint?: string;
  readonly username: string;
  readonly password: string;
  /** Mutable at run time. */
  readonly switches: SimulatorSwitches;
  readonly world: World;
  /**
   * The bridges of the cluster this one belongs to, itself included (set by formBridgeCluster);
   * empty for a bridge on its own.
   */
  callBridges: readonly CallBridgeInfo[];
  readonly faults: Faults;
  violations(): Violation[];
  stats(): SimulatorStats;
  /**
   * Per connection, oldest first: every open one and the last 100 closed (who acked what, and
   * when: e.g. that a socket whose client lost its right to ack never acked again).
   */
  connectionFigures(): ConnectionFigures[];
  /** The REST requests received, oldest first: the last `last` of them (up to 1,000 are kept). */
  restRequests(last?: number): RestRequestRecord[];
  /** What GET /api/v1/system/status answers now. */
  systemStatus(): SystemStatus;
  /** The active alarms, oldest first, as GET /api/v1/system/alarms lists them. */
  alarms(): AlarmInfo[];
  /** Its CDR receivers and the records POSTed to them. */
  readonly cdr: SimulatedCdr;
  /** Fires for every server message frame written to a client socket (for latency benchmarks). */
  onFrameSent?: (connectionId: number, messageId: number) => void;
  /**
   * Resolves when every open connection has no queued or unacked message. Connections stalled for
   * good by an ack timeout never drain, so they are not waited for.
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

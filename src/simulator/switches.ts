// Every behaviour docs/protocol.md (§7) leaves unknown is a switch, so a client can be tested
// against each plausible server. Switches are read at the moment they matter, so tests and the
// control API can flip them on a running server.

export interface SimulatorSwitches {
  /** How long an issued token stays usable for a handshake. */
  tokenTtlMs: number;
  /** A token opens at most one WebSocket. */
  tokenSingleUse: boolean;
  /** HTTP status refusing an upgrade with a missing, unknown, used or expired token. */
  handshakeRejectStatus: number;
  /** How many server messages may be unacked at once; 1 is stop-and-wait. */
  ackWindow: number;
  /** How long the oldest unacked message may wait for its ack. */
  ackTimeoutMs: number;
  /** What happens when that wait runs out: close the socket, or never send again on it. */
  ackTimeoutAction: 'close' | 'stall';
  /** Status of the messageAck answering a subscribeRequest; anything but success rejects it. */
  subscribeAckStatus: string;
  /** State sent for a per-call subscription of an unknown call. */
  badCallState: string;
  /** subscriptionUpdate lists every subscription of the set, not only the changed ones. */
  subscriptionUpdateListsAll: boolean;
  /** A new callInfo subscription gets a full callInfoUpdate once it is active. */
  sendInitialCallInfo: boolean;
  /** Answer WebSocket pings with pongs. */
  answerPings: boolean;
  /** Concurrent event connections allowed; 0 is unlimited. */
  maxConnections: number;
  /** HTTP status refusing an upgrade beyond maxConnections. */
  connectionLimitStatus: number;
  /** After a call's remove, send one more roster update for it before the deactivations. */
  lateRosterAfterRemove: boolean;
  /** REST: status answering an unknown or stale call, participant or call leg id (production clients meet 400). */
  staleIdStatus: 400 | 404;
  /** REST: the most items one collection page holds, whatever `limit` asks. */
  restPageLimit: number;
  /** REST: a dial-out rings, then connects this many ms after it is created; 0 leaves it in `initial`. */
  dialOutAnswerMs: number;
  /**
   * In a cluster (bridge-cluster.ts): this bridge's roster of a distributed call also lists the
   * participants hosted on the meeting's other bridges, never counting them in `participants`.
   * Read when a participant joins or moves, so flipping it leaves existing rosters as they are.
   */
  listRemoteParticipants: boolean;
  /** CDR: the most records one POST to a receiver carries (1: one record per POST). */
  cdrRecordsPerPost: number;
  /**
   * CDR: POSTs to one receiver in flight at once, each on a connection of its own (1: the next
   * leaves once the last is answered). Unknown whether a CMS ever sends more than one; with more,
   * answers and re-sends can reach the receiver out of order.
   */
  cdrPostsInFlight: number;
  /**
   * CDR: records a receiver's buffer holds waiting (those in flight not counted); when it is full
   * the oldest waiting record is discarded and the next one sent says so in numPreceedingRecordsMissing.
   */
  cdrBufferRecords: number;
  /** CDR: how long after a failed POST (not 200, or no connection) the same records are sent again. */
  cdrRetryMs: number;
  /**
   * CDR: the `<records>` envelope carries `callBridge`, this bridge's id (its callBridges entry in
   * a cluster, else a GUID made at start). Unknown which CMS versions send it.
   */
  cdrCallBridgeAttribute: boolean;
  /**
   * CDR: verify an https receiver's certificate (against the system's CAs). Unknown whether a CMS
   * does; read when a connection to the receiver is made.
   */
  cdrVerifyReceiverTls: boolean;
}

export const DEFAULT_SWITCHES: Readonly<SimulatorSwitches> = Object.freeze({
  tokenTtlMs: 30_000,
  tokenSingleUse: true,
  handshakeRejectStatus: 401,
  ackWindow: 1,
  ackTimeoutMs: 30_000,
  ackTimeoutAction: 'close',
  subscribeAckStatus: 'success',
  badCallState: 'deactivated',
  subscriptionUpdateListsAll: false,
  sendInitialCallInfo: true,
  answerPings: true,
  maxConnections: 0,
  connectionLimitStatus: 503,
  lateRosterAfterRemove: false,
  staleIdStatus: 400,
  restPageLimit: 10,
  dialOutAnswerMs: 0,
  listRemoteParticipants: false,
  cdrRecordsPerPost: 1,
  cdrPostsInFlight: 1,
  cdrBufferRecords: 10_000,
  cdrRetryMs: 1000,
  cdrCallBridgeAttribute: false,
  cdrVerifyReceiverTls: false,
});

type Check = (value: unknown) => boolean;
const isStatus: Check = (v) => Number.isInteger(v) && (v as number) >= 400 && (v as number) <= 599;
const isCount = (min: number): Check => (v) => Number.isSafeInteger(v) && (v as number) >= min;
const isBoolean: Check = (v) => typeof v === 'boolean';
const isText: Check = (v) => typeof v === 'string' && v.length > 0;

const CHECKS: Record<keyof SimulatorSwitches, [Check, string]> = {
  tokenTtlMs: [isCount(0), 'an integer >= 0'],
  tokenSingleUse: [isBoolean, 'a boolean'],
  handshakeRejectStatus: [isStatus, 'an HTTP error status (400-599)'],
  ackWindow: [isCount(1), 'an integer >= 1'],
  ackTimeoutMs: [isCount(1), 'an integer >= 1'],
  ackTimeoutAction: [(v) => v === 'close' || v === 'stall', '"close" or "stall"'],
  subscribeAckStatus: [isText, 'a non-empty string'],
  badCallState: [isText, 'a non-empty string'],
  subscriptionUpdateListsAll: [isBoolean, 'a boolean'],
  sendInitialCallInfo: [isBoolean, 'a boolean'],
  answerPings: [isBoolean, 'a boolean'],
  maxConnections: [isCount(0), 'an integer >= 0'],
  connectionLimitStatus: [isStatus, 'an HTTP error status (400-599)'],
  lateRosterAfterRemove: [isBoolean, 'a boolean'],
  staleIdStatus: [(v) => v === 400 || v === 404, '400 or 404'],
  restPageLimit: [isCount(1), 'an integer >= 1'],
  dialOutAnswerMs: [isCount(0), 'an integer >= 0'],
  listRemoteParticipants: [isBoolean, 'a boolean'],
  cdrRecordsPerPost: [isCount(1), 'an integer >= 1'],
  cdrPostsInFlight: [(v) => isCount(1)(v) && (v as number) <= 16, 'an integer from 1 to 16'],
  cdrBufferRecords: [isCount(1), 'an integer >= 1'],
  cdrRetryMs: [isCount(0), 'an integer >= 0'],
  cdrCallBridgeAttribute: [isBoolean, 'a boolean'],
  cdrVerifyReceiverTls: [isBoolean, 'a boolean'],
};

/** Checks a partial set of switches; returns one message per bad field (empty when all are fine). */
export function checkSwitches(patch: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const check = CHECKS[key as keyof SimulatorSwitches];
    if (!check) problems.push(`unknown switch "${key}"`);
    else if (!check[0](value)) problems.push(`switch "${key}" must be ${check[1]}`);
  }
  return problems;
}

/** Defaults overlaid with `patch`; throws on a bad value so a typo never silently runs defaults. */
export function resolveSwitches(patch: Partial<SimulatorSwitches> = {}): SimulatorSwitches {
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const problems = checkSwitches(defined);
  if (problems.length > 0) throw new TypeError(`invalid simulator switches: ${problems.join('; ')}`);
  return { ...DEFAULT_SWITCHES, ...defined };
}

// The event contract (README.md, "Events"): the objects written to stdout, sent to
// sinks and SSE, and handed to handlers. Field names here are public API.
import type { CallFields, ParticipantFields } from '../protocol/index.js';

/** The merged current state of a call: callListUpdate and callInfoUpdate elements together. */
export interface CallState extends CallFields {
  id: string;
}

/** The merged current state of one roster entry. */
export interface ParticipantState extends ParticipantFields {
  id: string;
}

interface EventBase {
  /** Unique across servers, connections and daemon restarts; consumers de-duplicate on it. */
  id: string;
  /** ISO-8601 time the daemon produced the event. */
  ts: string;
  /** The server's configured name. */
  server: string;
  /** Present (true) on events inferred by reconciliation rather than read from a CMS message. */
  synthetic?: true;
  /**
   * Cluster mode: the epoch of the lease its instance held on the server (higher for every later
   * owner) and that instance's name. A consumer may drop, per server, events of an epoch lower
   * than the highest it has seen.
   */
  epoch?: number;
  owner?: string;
}

export interface ServerConnectedEvent extends EventBase {
  type: 'server.connected';
}

export interface ServerDisconnectedEvent extends EventBase {
  type: 'server.disconnected';
  reason: string;
}

/** One alarm of a CMS's /system/alarms, as the daemon keeps it. */
export interface ServerAlarm {
  /** The CMS's id of the alarm, when it gives one (it stays while the alarm is active). */
  id?: string;
  /** The CMS's alarm type (cdrConnectionFailure, callBridgeConnectionFailure, …). */
  type: string;
  /** ISO time it became active, as far as the CMS says (now minus its activeTimeSeconds). */
  since: string;
  failureReason?: string;
}

/** An alarm appeared in the server's /system/alarms (once per alarm, also across the daemon's restarts). */
export interface ServerAlarmRaisedEvent extends EventBase {
  type: 'server.alarm.raised';
  alarm: ServerAlarm;
}

/** An alarm went away from the server's /system/alarms. */
export interface ServerAlarmClearedEvent extends EventBase {
  type: 'server.alarm.cleared';
  alarm: ServerAlarm;
}

/** The record types a CMS sends (CDR guide 2.0–3.x); a type not listed still becomes `cdr.<type>`. */
export const CDR_RECORD_TYPES = [
  'callStart',
  'callEnd',
  'callLegStart',
  'callLegUpdate',
  'callLegEnd',
  'recordingStart',
  'recordingEnd',
  'streamingStart',
  'streamingEnd',
] as const;

/** A value of a CDR field, typed by its name (numbers, booleans, nested groups, lists). */
export type CdrValue = string | number | boolean | CdrValue[] | { [key: string]: CdrValue };

/** Where a CDR came from in the CMS's sequence, on every cdr.* event. */
interface CdrEventBase extends EventBase {
  /** The CMS's run: a new session means the bridge restarted. */
  session: string;
  /** The record's number for this receiver (de-duplication key with `session`). */
  recordIndex: number;
  /** The record's time as the CMS wrote it (RFC 3339, UTC). */
  recordTime: string;
}

/**
 * One CDR (`cdr.callStart`, `cdr.callLegEnd`, …). The ids of the live model it belongs to are
 * given when known, also when this record lacks them but an earlier one of its leg had them.
 */
export interface CdrRecordEvent extends CdrEventBase {
  type: `cdr.${(typeof CDR_RECORD_TYPES)[number]}`;
  /** Across the CMS's receivers, the record's number in its session. */
  correlatorIndex?: number;
  /** The Call Bridge's id, on clustered CMSs. */
  callBridge?: string;
  callId?: string;
  /** From the leg's `groupId`: the Events and REST participant id. */
  participantId?: string;
  callLegId?: string;
  recordingId?: string;
  streamingId?: string;
  /** The record's fields, typed; unknown elements kept as strings. */
  record: Record<string, CdrValue>;
}

/** The CMS says it had to discard records just before this one (its buffer ran over while it could not deliver). */
export interface CdrGapEvent extends CdrEventBase {
  type: 'cdr.gap';
  /** How many records were discarded just before `recordIndex`. */
  missing: number;
}

/** What meeting events say of their meeting (GET /api/meetings has the whole of it). */
export interface MeetingSummary {
  /** The callCorrelator its calls share, or `<server>:<callId>` for a call without one. */
  id: string;
  /** The name of its first instance still running. */
  name: string | null;
  /** The bridges hosting an instance of it, in the order they joined. */
  servers: string[];
  /** Participants, each counted once however many bridges list them. */
  participants: number;
}

interface MeetingEventBase extends EventBase {
  meetingId: string;
  meeting: MeetingSummary;
}

/** The first instance of a meeting appeared (just before that call's call.started); `server` is its bridge. */
export interface MeetingStartedEvent extends MeetingEventBase {
  type: 'meeting.started';
}

/** The last instance of a meeting ended (just after that call's call.ended); `server` is its bridge. */
export interface MeetingEndedEvent extends MeetingEventBase {
  type: 'meeting.ended';
}

interface CallEventBase extends EventBase {
  callId: string;
  call: CallState;
}

export interface CallStartedEvent extends CallEventBase {
  type: 'call.started';
}

export interface CallUpdatedEvent extends CallEventBase {
  type: 'call.updated';
  changes: Partial<CallFields>;
}

export interface CallEndedEvent extends CallEventBase {
  type: 'call.ended';
  reason?: string;
}

interface ParticipantEventBase extends CallEventBase {
  participantId: string;
  participant: ParticipantState;
}

export interface ParticipantJoinedEvent extends ParticipantEventBase {
  type: 'participant.joined';
}

export interface ParticipantUpdatedEvent extends ParticipantEventBase {
  type: 'participant.updated';
  changes: Partial<ParticipantFields>;
}

export interface ParticipantLeftEvent extends ParticipantEventBase {
  type: 'participant.left';
  reason?: string;
}

export type CmsEvent =
  | ServerConnectedEvent
  | ServerDisconnectedEvent
  | ServerAlarmRaisedEvent
  | ServerAlarmClearedEvent
  | MeetingStartedEvent
  | MeetingEndedEvent
  | CallStartedEvent
  | CallUpdatedEvent
  | CallEndedEvent
  | ParticipantJoinedEvent
  | ParticipantUpdatedEvent
  | ParticipantLeftEvent
  | CdrRecordEvent
  | CdrGapEvent;

export type CmsEventType = CmsEvent['type'];

/** The events of the live model's calls and rosters (they carry `call`, and `participant` on participant events). */
export type CallEvent = CallStartedEvent | CallUpdatedEvent | CallEndedEvent | ParticipantJoinedEvent | ParticipantUpdatedEvent | ParticipantLeftEvent;

export const isCallEvent = (event: CmsEvent): event is CallEvent => event.type.startsWith('call.') || event.type.startsWith('participant.');

/** cdr.<recordType> and cdr.gap: what a CMS pushed as call detail records. */
export const isCdrEvent = (event: CmsEvent): event is CdrRecordEvent | CdrGapEvent => event.type.startsWith('cdr.');

export type EventOfType<T extends CmsEventType> = Extract<CmsEvent, { type: T }>;

export const EVENT_TYPES: readonly CmsEventType[] = [
  'server.connected',
  'server.disconnected',
  'server.alarm.raised',
  'server.alarm.cleared',
  'meeting.started',
  'meeting.ended',
  'call.started',
  'call.updated',
  'call.ended',
  'participant.joined',
  'participant.updated',
  'participant.left',
  ...CDR_RECORD_TYPES.map((type) => `cdr.${type}` as const),
  'cdr.gap',
];

/** What GET /api/servers/{name}/calls returns for one call. */
export interface CallView extends CallState {
  roster: ParticipantState[];
}

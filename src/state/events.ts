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
  | ParticipantLeftEvent;

export type CmsEventType = CmsEvent['type'];

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
];

/** What GET /api/servers/{name}/calls returns for one call. */
export interface CallView extends CallState {
  roster: ParticipantState[];
}

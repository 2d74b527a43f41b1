// Wire types of the CMS Events protocol (docs/protocol.md), as discriminated unions.
import type { CallInfoElement, CallRosterElement, CallElement, SubscriptionType } from './elements.js';

export type ActiveState = 'active' | 'inactive';

/** Call elements as carried by callListUpdate/callInfoUpdate; null where unset. */
export interface CallFields {
  name?: string | null;
  participants?: number | null;
  distributedInstances?: number | null;
  recording?: ActiveState | null;
  endpointRecording?: ActiveState | null;
  streaming?: ActiveState | null;
  lockState?: 'locked' | 'unlocked' | null;
  callType?: string | null;
  callCorrelator?: string | null;
  joinAudioMuteOverride?: boolean | null;
}

/** Roster elements; values are kept as the server sent them (unknown enum values survive). */
export interface ParticipantFields {
  name?: string | null;
  uri?: string | null;
  state?: string | null;
  direction?: string | null;
  audioMuted?: boolean | null;
  videoMuted?: boolean | null;
  importance?: number | null;
  layout?: string | null;
  activeSpeaker?: boolean | null;
  presenter?: boolean | null;
  endpointRecording?: ActiveState | null;
  canMove?: boolean | null;
  movedParticipant?: string | null;
  movedParticipantCallBridge?: string | null;
}

export type UpdateType = 'add' | 'update' | 'remove';

export interface CallListEntry extends CallFields {
  call: string;
  updateType: UpdateType;
  reason?: string;
}

export interface RosterEntry extends ParticipantFields {
  participant: string;
  updateType: UpdateType;
  reason?: string;
}

export type Subscription =
  | { index: number; type: 'calls'; elements: readonly CallElement[] }
  | { index: number; type: 'callInfo'; call: string; elements: readonly CallInfoElement[] }
  | { index: number; type: 'callRoster'; call: string; elements: readonly CallRosterElement[] };

export type SubscriptionState = 'pending' | 'active' | 'deactivated' | (string & {});

export interface SubscriptionStatus {
  index: number;
  state: SubscriptionState;
}

export interface SubscribeRequest {
  messageId: number;
  type: 'subscribeRequest';
  subscriptions: Subscription[];
}

export interface SubscriptionUpdate {
  messageId: number;
  type: 'subscriptionUpdate';
  subscriptions: SubscriptionStatus[];
}

export interface CallListUpdate {
  messageId: number;
  type: 'callListUpdate';
  subscriptionIndex: number;
  updates: CallListEntry[];
}

export interface CallInfoUpdate {
  messageId: number;
  type: 'callInfoUpdate';
  subscriptionIndex: number;
  callInfo: CallFields;
}

export interface RosterUpdate {
  messageId: number;
  type: 'rosterUpdate';
  subscriptionIndex: number;
  updates: RosterEntry[];
}

/** Messages a server sends. */
export type ServerMessage = SubscriptionUpdate | CallListUpdate | CallInfoUpdate | RosterUpdate;
/** Messages a client sends. */
export type ClientMessage = SubscribeRequest;
export type AnyMessage = ServerMessage | ClientMessage;

export interface MessageAck {
  messageId: number;
  status: 'success' | (string & {});
}

export interface MessageEnvelope<M extends AnyMessage = AnyMessage> {
  type: 'message';
  message: M;
}

export interface MessageAckEnvelope {
  type: 'messageAck';
  messageAck: MessageAck;
}

export type Envelope<M extends AnyMessage = AnyMessage> = MessageEnvelope<M> | MessageAckEnvelope;

export type { SubscriptionType };

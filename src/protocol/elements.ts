// The one place that lists which elements each subscription type can ask for
// (docs/protocol.md §4). Everything else derives from these lists.

export const CALL_ELEMENTS = [
  'name',
  'participants',
  'distributedInstances',
  'recording',
  'endpointRecording',
  'streaming',
  'lockState',
  'callType',
  'callCorrelator',
] as const;

export const CALL_INFO_ELEMENTS = [...CALL_ELEMENTS, 'joinAudioMuteOverride'] as const;

export const CALL_ROSTER_ELEMENTS = [
  'name',
  'uri',
  'state',
  'direction',
  'audioMuted',
  'videoMuted',
  'importance',
  'layout',
  'activeSpeaker',
  'presenter',
  'endpointRecording',
  'canMove',
  'movedParticipant',
  'movedParticipantCallBridge',
] as const;

export type CallElement = (typeof CALL_ELEMENTS)[number];
export type CallInfoElement = (typeof CALL_INFO_ELEMENTS)[number];
export type CallRosterElement = (typeof CALL_ROSTER_ELEMENTS)[number];

export const ELEMENTS_BY_SUBSCRIPTION_TYPE = {
  calls: CALL_ELEMENTS,
  callInfo: CALL_INFO_ELEMENTS,
  callRoster: CALL_ROSTER_ELEMENTS,
} as const;

export type SubscriptionType = keyof typeof ELEMENTS_BY_SUBSCRIPTION_TYPE;
export const SUBSCRIPTION_TYPES = Object.keys(ELEMENTS_BY_SUBSCRIPTION_TYPE) as SubscriptionType[];

export const PARTICIPANT_STATES = ['initial', 'ringing', 'connected', 'onHold'] as const;
export const CALL_TYPES = ['coSpace', 'adHoc', 'lyncConferencing', 'forwarding'] as const;
export const LAYOUTS = [
  'allEqual',
  'telepresence',
  'onePlusN',
  'speakerOnly',
  'stacked',
  'allEqualQuarters',
  'allEqualNinths',
  'allEqualSixteenths',
  'allEqualTwentyFifths',
  'onePlusFive',
  'onePlusSeven',
  'onePlusNine',
  'automatic',
] as const;

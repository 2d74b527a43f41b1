export * from './events.js';
export * from './server-state.js';
export { newEventId } from './event-id.js';
export { eventLine } from './event-line.js';
export { serverConnected, serverDisconnected } from './server-events.js';
export { STORED_MODEL_VERSION, ReplayedModel, decodeModel, encodeModel, replayEvents, type StoredCall, type DecodedModel, type ModelExtras } from './stored-model.js';
export { Meetings, type MeetingView, type MeetingParticipant, type MeetingCounts, type MeetingsOptions } from './meetings.js';
export type { ListedAlarm } from './server-alarms.js';
export type { CdrDocument, CdrRecord, StoredCdr } from './cdr-ledger.js';

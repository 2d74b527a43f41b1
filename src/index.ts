// Library entry: the same pieces the daemon is made of.
export { createHub, Hub, currentContext, loadConfigFile, createLogger, ConfigError } from './hub/index.js';
export type { HubOptions, ServerView, EventTap, HandlerContext, SessionHandle, Handler, FollowUp, Config, ConfigInput } from './hub/index.js';
export { startHttpServer } from './http/server.js';
export type * from './state/events.js';
export type { MeetingView, MeetingParticipant } from './state/meetings.js';
export type { SessionStatus, SessionState, ServerTarget } from './session/types.js';
export type { Sink, SinkStatus } from './sinks/types.js';

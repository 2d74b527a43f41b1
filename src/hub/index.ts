export { Hub, createHub, type HubOptions, type ServerView, type EventTap } from './hub.js';
export { currentContext, type HandlerContext, type SessionHandle } from './context.js';
export type { Handler, FollowUp, HandlerKey } from './handlers.js';
export { loadConfigFile, validateConfig, toServerTarget, resolveSecret, type LoadedConfig } from './config-loader.js';
export { ConfigError } from './config-error.js';
export { createLogger, scrubSecrets, registerSecret } from './logger.js';
export type { Config, ConfigInput, ServerConfig } from './config-schema.js';
export { ModelStore } from './model-store.js';
export { resolveStateDir } from './stored-models.js';

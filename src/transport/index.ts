export * from './errors.js';
export * from './connect.js';
export * from './auth-token.js';
export * from './event-socket.js';
export * from './ping-watchdog.js';
export * from './types.js';

export * from './types.js';
export * from './errors.js';
export * from './connect.js';
export * from './connect-slots.js';
export * from './auth-token.js';
export * from './websocket-handshake.js';
export * from './event-socket.js';
export * from './ping-watchdog.js';

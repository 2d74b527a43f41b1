// server.connected / server.disconnected, built in one place (the session announces them, the
// hub does for a server it stops before it ever connected), so their lines look alike.
import type { ServerConnectedEvent, ServerDisconnectedEvent } from './events.js';

export function serverConnected(server: string, id: string, ts: string): ServerConnectedEvent {
  return { id, ts, type: 'server.connected', server };
}

export function serverDisconnected(server: string, id: string, ts: string, reason: string): ServerDisconnectedEvent {
  return { id, ts, type: 'server.disconnected', server, reason };
}

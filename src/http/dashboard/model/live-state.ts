// The servers and calls as they are now, and how one live event moves them forward. Every change
// is reported to the tracker so the view redraws only what an event touched.
import type { CallState, CmsEvent, ParticipantState, ServerView } from '../api.js';
import { assertNever } from '../../../assert-never.js';
import { isCdrEvent } from '../../../state/events.js';
import type { ChangeTracker } from './changes.js';

export interface CallEntry {
  server: string;
  call: CallState;
  roster: Map<string, ParticipantState>;
}

export interface LiveState {
  servers: Map<string, ServerView>;
  /** Per server, its calls by id. */
  calls: Map<string, Map<string, CallEntry>>;
}

export function applyEvent(state: LiveState, event: CmsEvent, changes: ChangeTracker): void {
  const server = event.server;
  switch (event.type) {
    case 'server.connected': {
      const status = state.servers.get(server);
      if (status && status.state !== 'live') {
        state.servers.set(server, { ...status, state: 'live', since: event.ts, connectedSince: event.ts });
        changes.markServer(server);
      }
      return;
    }
    case 'server.disconnected': {
      const status = state.servers.get(server);
      if (status && status.state === 'live') {
        // Provisional until the next GET /api/servers says whether it reconnects or backs off.
        state.servers.set(server, { ...status, state: 'connecting', since: event.ts, connectedSince: null });
        changes.markServer(server);
      }
      return;
    }
    case 'server.alarm.raised':
    case 'server.alarm.cleared':
      // The server's health comes with the next GET /api/servers.
      return;
    case 'meeting.started':
    case 'meeting.ended':
      // Meetings are the calls grouped by correlator: the call events that follow carry the change.
      return;
    case 'call.started':
    case 'call.updated':
      upsertCall(state, server, event.call, changes);
      return;
    case 'call.ended': {
      if (state.calls.get(server)?.delete(event.callId)) changes.markCall(server, event.callId);
      return;
    }
    case 'participant.joined':
    case 'participant.updated': {
      const entry = upsertCall(state, server, event.call, changes);
      if (entry) entry.roster.set(event.participantId, event.participant);
      return;
    }
    case 'participant.left': {
      const entry = state.calls.get(server)?.get(event.callId);
      if (!entry) return;
      entry.call = event.call;
      entry.roster.delete(event.participantId);
      changes.markCall(server, event.callId);
      return;
    }
    default:
      // CDRs change nothing the dashboard shows.
      if (isCdrEvent(event)) return;
      assertNever(event);
  }
}

/** Events carry the whole call, so an event for a call not seen yet (a missed start) creates it. */
function upsertCall(
  state: LiveState,
  server: string,
  call: CallState,
  changes: ChangeTracker,
): CallEntry | undefined {
  if (!state.servers.has(server)) return undefined;
  let byId = state.calls.get(server);
  if (!byId) state.calls.set(server, (byId = new Map()));
  let entry = byId.get(call.id);
  if (entry) entry.call = call;
  else byId.set(call.id, (entry = { server, call, roster: new Map() }));
  changes.markCall(server, call.id);
  return entry;
}

// Which servers, calls, meetings and participants the current filter shows. Pure.
import type { ParticipantState } from './api.js';
import { compareParticipants, type CallEntry, type MeetingMember, type SpreadMeeting } from './model.js';

export interface Filter {
  /** Only this server; null for all. */
  server: string | null;
  /** Participant name or URI contains this (case-insensitive); empty for everything. */
  query: string;
}

export const NO_FILTER: Filter = { server: null, query: '' };

export function normalizeQuery(text: string): string {
  return text.trim().toLocaleLowerCase();
}

export function showsServer(filter: Filter, server: string): boolean {
  return filter.server === null || filter.server === server;
}

export function matchesParticipant(participant: ParticipantState, query: string): boolean {
  if (!query) return true;
  return (
    (participant.name ?? '').toLocaleLowerCase().includes(query) ||
    (participant.uri ?? '').toLocaleLowerCase().includes(query)
  );
}

/** The roster entries to show, sorted; null when the search hides the whole call. */
export function visibleRoster(entry: CallEntry, filter: Filter): ParticipantState[] | null {
  return visible([...entry.roster.values()], (participant) => participant, filter);
}

/**
 * A spread meeting's participants to show, sorted; null when the filter hides the whole meeting
 * (it is shown under the server filter of any of its bridges).
 */
export function visibleMembers(meeting: SpreadMeeting, filter: Filter): MeetingMember[] | null {
  if (filter.server !== null && !meeting.servers.includes(filter.server)) return null;
  return visible(meeting.members, (member) => member.participant, filter);
}

/** Sorted, and only those the search matches: an empty list when nobody matches is hidden (null). */
function visible<T>(items: readonly T[], participantOf: (item: T) => ParticipantState, filter: Filter): T[] | null {
  const query = normalizeQuery(filter.query);
  const sorted = [...items].sort((a, b) => compareParticipants(participantOf(a), participantOf(b)));
  if (!query) return sorted;
  const matching = sorted.filter((item) => matchesParticipant(participantOf(item), query));
  return matching.length > 0 ? matching : null;
}

// Which servers, calls and participants the current filter shows. Pure.
import type { ParticipantState } from './api.js';
import { compareParticipants, type CallEntry } from './model.js';

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
  const query = normalizeQuery(filter.query);
  const roster = [...entry.roster.values()].sort(compareParticipants);
  if (!query) return roster;
  const matching = roster.filter((participant) => matchesParticipant(participant, query));
  return matching.length > 0 ? matching : null;
}

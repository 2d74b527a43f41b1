// The orders the dashboard lists things in: servers, calls and participants by name, as a person
// reads them ("Room 2" before "room 10"), with a plain comparison so equal names still order stably.
import type { ParticipantState } from '../api.js';
import type { CallEntry } from './live-state.js';

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

export function compareText(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function compareCalls(a: CallEntry, b: CallEntry): number {
  return compareText(a.call.name ?? '', b.call.name ?? '') || compareText(a.call.id, b.call.id);
}

export function compareParticipants(a: ParticipantState, b: ParticipantState): number {
  return (
    compareText(a.name || a.uri || '', b.name || b.uri || '') ||
    compareText(a.uri ?? '', b.uri ?? '') ||
    compareText(a.id, b.id)
  );
}

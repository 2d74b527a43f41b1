// Meetings spread over several bridges, as the dashboard groups them: a CMS cluster gives each
// bridge hosting part of a meeting its own call, all with the same callCorrelator, and
// participant ids are cluster-wide (README.md, "Meetings across bridges"). The calls and rosters
// come from the feed; only which bridge hosts a participant that several bridges list comes from
// the daemon (GET /api/meetings), as hints that may be late or missing. Pure.
import type { CallState, MeetingHintView, ParticipantState } from '../api.js';
import { compareText } from './compare.js';
import type { CallEntry } from './live-state.js';

/** One participant of a spread meeting, once, as its hosting bridge lists it. */
export interface MeetingMember {
  participant: ParticipantState;
  /** The hosting bridge, and its call: control acts there. */
  server: string;
  callId: string;
}

/** A meeting with calls on two or more bridges. */
export interface SpreadMeeting {
  /** The callCorrelator its calls share. */
  id: string;
  /** The name of its first call. */
  name: string;
  /** Its bridges, in the order of its calls. */
  servers: string[];
  /** Its calls, in the daemon's order when known (the first is the one to open). */
  calls: CallEntry[];
  /** Each participant once, in no particular order. */
  members: MeetingMember[];
}

/** What the daemon says of its meetings that the feed alone cannot: hosts and the order of calls. */
export interface MeetingHints {
  /** Per meeting id, the bridge hosting each participant. */
  hosts: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Per meeting id, its calls (callKey) in the order the daemon saw them appear. */
  order: ReadonlyMap<string, readonly string[]>;
}

export const NO_HINTS: MeetingHints = { hosts: new Map(), order: new Map() };

export function callKey(server: string, callId: string): string {
  return `${server}\u0000${callId}`;
}

/** The meeting a call belongs to across bridges; null when it carries no correlator. */
export function correlatorOf(call: CallState): string | null {
  const correlator = call.callCorrelator;
  return typeof correlator === 'string' && correlator !== '' ? correlator : null;
}

/** The hints in GET /api/meetings; a meeting of one call needs none. */
export function meetingHintsFrom(views: readonly MeetingHintView[]): MeetingHints {
  const hosts = new Map<string, Map<string, string>>();
  const order = new Map<string, string[]>();
  for (const view of Array.isArray(views) ? views : []) {
    if (typeof view?.id !== 'string' || !Array.isArray(view.calls) || view.calls.length < 2) continue;
    order.set(view.id, view.calls.map((c: MeetingHintView['calls'][number]) => callKey(c.server, c.callId)));
    const byParticipant = new Map<string, string>();
    for (const p of Array.isArray(view.participants) ? view.participants : []) {
      if (typeof p?.id === 'string' && typeof p.server === 'string') byParticipant.set(p.id, p.server);
    }
    hosts.set(view.id, byParticipant);
  }
  return { hosts, order };
}

/** The same hints give the same text: a refetch that changed nothing redraws nothing. */
export function hintsText(hints: MeetingHints): string {
  return JSON.stringify([[...hints.hosts].map(([id, hosts]) => [id, [...hosts]]), [...hints.order]]);
}

/**
 * Groups calls by callCorrelator and keeps the groups on two or more bridges: a meeting on one
 * bridge is a plain call. Sorted by name, as call cards are.
 */
export function groupSpreadMeetings(entries: Iterable<CallEntry>, hints: MeetingHints): SpreadMeeting[] {
  const groups = new Map<string, CallEntry[]>();
  for (const entry of entries) {
    const id = correlatorOf(entry.call);
    if (id === null) continue;
    const group = groups.get(id);
    if (group) group.push(entry);
    else groups.set(id, [entry]);
  }
  const meetings: SpreadMeeting[] = [];
  for (const [id, calls] of groups) {
    if (new Set(calls.map((entry) => entry.server)).size < 2) continue;
    meetings.push(spreadMeeting(id, calls, hints));
  }
  return meetings.sort((a, b) => compareText(a.name, b.name) || compareText(a.id, b.id));
}

function spreadMeeting(id: string, unordered: CallEntry[], hints: MeetingHints): SpreadMeeting {
  const calls = inCallOrder(unordered, hints.order.get(id) ?? []);
  const servers = [...new Set(calls.map((entry) => entry.server))];
  return { id, name: calls[0]?.call.name || '', servers, calls, members: membersOf(calls, hints.hosts.get(id)) };
}

/** The daemon's order first; calls it has not reported yet follow, by bridge then id. */
function inCallOrder(calls: CallEntry[], order: readonly string[]): CallEntry[] {
  const rank = (entry: CallEntry): number => {
    const at = order.indexOf(callKey(entry.server, entry.call.id));
    return at < 0 ? order.length : at;
  };
  return [...calls].sort(
    (a, b) => rank(a) - rank(b) || compareText(a.server, b.server) || compareText(a.call.id, b.call.id),
  );
}

/**
 * Each participant once: hosted by the bridge the daemon names when that bridge still lists
 * them (a hint may predate a move), otherwise by the first call that lists them.
 */
function membersOf(calls: CallEntry[], hosts: ReadonlyMap<string, string> | undefined): MeetingMember[] {
  const members = new Map<string, MeetingMember>();
  for (const entry of calls) {
    for (const participant of entry.roster.values()) {
      const known = members.get(participant.id);
      const hinted = hosts?.get(participant.id);
      if (known && (known.server === hinted || entry.server !== hinted)) continue;
      members.set(participant.id, { participant, server: entry.server, callId: entry.call.id });
    }
  }
  return [...members.values()];
}

/** Participants the bridges list more than once: the totals count each person once. */
export function duplicateListings(meeting: SpreadMeeting): number {
  let listed = 0;
  for (const entry of meeting.calls) listed += entry.roster.size;
  return listed - meeting.members.length;
}

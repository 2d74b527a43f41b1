// The meetings model's records (meetings.ts): a meeting, each bridge's call of it, each
// participant with what every listing bridge says of it; and what is read off them: the views
// GET /api/meetings shows, the summary meeting events carry, the host of a participant.
import type { CallState, MeetingSummary, ParticipantState } from './events.js';

/** A participant as GET /api/meetings shows it: the bridge hosting it, and that bridge's elements. */
export interface MeetingParticipant extends ParticipantState {
  server: string;
}

/** One meeting as GET /api/meetings shows it. */
export interface MeetingView {
  id: string;
  name: string | null;
  servers: string[];
  calls: { server: string; callId: string }[];
  participants: MeetingParticipant[];
}

/** One bridge's call of a meeting. */
export interface Instance {
  readonly server: string;
  readonly callId: string;
  name: string | null;
  meeting: Meeting;
}

/** One participant of a meeting: what each listing instance says of it. */
export interface Listing {
  /** By instance key, in the order the bridges listed it (the first is the host when none is known). */
  readonly by: Map<string, { server: string; state: ParticipantState }>;
  /** The bridge the REST API says hosts it, when known. */
  host: string | undefined;
}

export interface Meeting {
  readonly id: string;
  /** By instance key, in the order they appeared. */
  readonly instances: Map<string, Instance>;
  readonly participants: Map<string, Listing>;
}

export const instanceKey = (server: string, callId: string): string => `${server}\u0000${callId}`;


/** One meeting as GET /api/meetings shows it. */
export function viewOf(meeting: Meeting): MeetingView {
  return {
    id: meeting.id,
    name: nameOf(meeting),
    servers: serversOf(meeting),
    calls: [...meeting.instances.values()].map(({ server, callId }) => ({ server, callId })),
    participants: [...meeting.participants.values()].map((listing) => {
      const { server, state } = hostOf(listing);
      return { ...state, server };
    }),
  };
}

/** The bridges listing a participant, each once, in the order they listed it. */
export function listersOf(listing: Listing): string[] {
  const servers: string[] = [];
  for (const { server } of listing.by.values()) if (!servers.includes(server)) servers.push(server);
  return servers;
}

export function hasShared(meeting: Meeting): boolean {
  for (const listing of meeting.participants.values()) if (listing.by.size > 1) return true;
  return false;
}

export function meetingIdOf(server: string, call: CallState): string {
  const correlator = call.callCorrelator;
  return typeof correlator === 'string' && correlator !== '' ? correlator : `${server}:${call.id}`;
}

export function summaryOf(meeting: Meeting): MeetingSummary {
  return { id: meeting.id, name: nameOf(meeting), servers: serversOf(meeting), participants: meeting.participants.size };
}

/** The name of its first instance still running (bridges may name it differently). */
export function nameOf(meeting: Meeting): string | null {
  for (const instance of meeting.instances.values()) return instance.name;
  return null;
}

export function serversOf(meeting: Meeting): string[] {
  const servers: string[] = [];
  for (const { server } of meeting.instances.values()) if (!servers.includes(server)) servers.push(server);
  return servers;
}

/** The bridge the REST API named when it still lists the participant, otherwise the first that listed it. */
export function hostOf(listing: Listing): { server: string; state: ParticipantState } {
  let first: { server: string; state: ParticipantState } | undefined;
  for (const entry of listing.by.values()) {
    if (entry.server === listing.host) return entry;
    first ??= entry;
  }
  return first!;
}

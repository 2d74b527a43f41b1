// Meetings across bridges: the servers' models joined by callCorrelator (README.md, "Meetings
// across bridges"). A pure reducer over the servers' own events, in the order each server
// delivers them: it adds meeting.started just before the call.started of a meeting's first
// instance and meeting.ended just after the call.ended of its last, and keeps each meeting's
// participants once by participant id however many bridges list them.
//
// It holds nothing of its own worth storing: a meeting exists exactly while one of its calls is
// in some server's model, so after a restart it is rebuilt from the servers' stored models
// (restore()), and the reconciliation that ends their calls ends the meetings too.
import type { CallFields } from '../protocol/index.js';
import type { CallState, CmsEvent, ParticipantState } from './events.js';
import { hasShared, instanceKey, listersOf, meetingIdOf, serversOf, summaryOf, viewOf, type Instance, type Listing, type Meeting, type MeetingView } from './meeting-parts.js';
import { newEventId } from './event-id.js';
import { isoTime } from './iso-time.js';
import type { StoredCall } from './stored-model.js';

export type { MeetingParticipant, MeetingView } from './meeting-parts.js';

export interface MeetingCounts {
  meetings: number;
  /** Meetings with instances on more than one bridge. */
  spread: number;
  /** Participants of all meetings, each counted once. */
  participants: number;
}

export interface MeetingsOptions {
  now?: () => number;
  newEventId?: () => string;
  /**
   * Told when a participant becomes listed by more than one bridge and which of them hosts it is
   * not known: the hub asks the REST API (hub/meeting-hosts.ts) and answers with setHost().
   */
  onSharedParticipant?: (participantId: string, servers: readonly string[]) => void;
  /**
   * Told when a bridge's count of its own participants changed in a meeting where some people
   * are listed by several bridges: someone may have moved between bridges without any roster
   * saying so (each bridge still lists them), so the hosts known may be stale. The hub asks
   * again about sharedParticipants(meetingId), a while later.
   */
  onHostsInDoubt?: (meetingId: string) => void;
}

export class Meetings {
  readonly #meetings = new Map<string, Meeting>();
  readonly #instances = new Map<string, Instance>();
  /** Which meeting lists each participant (ids are cluster-wide: one meeting at a time). */
  readonly #participantMeeting = new Map<string, Meeting>();
  readonly #now: () => number;
  readonly #newEventId: () => string;
  readonly #onShared: MeetingsOptions['onSharedParticipant'];
  readonly #onDoubt: MeetingsOptions['onHostsInDoubt'];

  constructor(options: MeetingsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#newEventId = options.newEventId ?? newEventId;
    this.#onShared = options.onSharedParticipant;
    this.#onDoubt = options.onHostsInDoubt;
  }

  /**
   * One server's events, as delivered: returns them with the meeting events in their places
   * (the same array when there are none, which is almost always).
   */
  apply(server: string, events: readonly CmsEvent[]): CmsEvent[] {
    let out: CmsEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      let before: CmsEvent[] | undefined;
      let after: CmsEvent[] | undefined;
      switch (event.type) {
        case 'call.started':
          before = this.#startInstance(server, event.call, event.synthetic === true);
          break;
        case 'call.updated':
          after = this.#updateInstance(server, event.call, event.changes, event.synthetic === true);
          break;
        case 'call.ended':
          after = this.#endInstance(server, event.callId, event.synthetic === true);
          break;
        case 'participant.joined':
        case 'participant.updated':
          this.#list(server, event.callId, event.participant);
          break;
        case 'participant.left':
          this.#unlist(server, event.callId, event.participantId);
          break;
        default:
          break;
      }
      if (before === undefined && after === undefined) {
        out?.push(event);
        continue;
      }
      out ??= events.slice(0, i);
      if (before) out.push(...before);
      out.push(event);
      if (after) out.push(...after);
    }
    return out ?? (events as CmsEvent[]);
  }

  /** A server's calls known from before (a restart, a replaced session): joined without events. */
  restore(server: string, calls: readonly StoredCall[]): void {
    for (const { call, roster } of calls) {
      this.#startInstance(server, call, false);
      for (const participant of roster) this.#list(server, call.id, participant);
    }
  }

  /** The REST API says `server` hosts this participant. */
  setHost(participantId: string, server: string): void {
    const listing = this.#participantMeeting.get(participantId)?.participants.get(participantId);
    if (listing) listing.host = server;
  }

  /** The bridge the REST API said hosts the participant, while that bridge still lists them. */
  knownHost(participantId: string): string | undefined {
    const listing = this.#participantMeeting.get(participantId)?.participants.get(participantId);
    if (listing?.host === undefined) return undefined;
    return listersOf(listing).includes(listing.host) ? listing.host : undefined;
  }

  /** The meeting's participants listed by more than one bridge, each with those bridges (the known host first). */
  sharedParticipants(meetingId: string): Array<[participantId: string, servers: string[]]> {
    const meeting = this.#meetings.get(meetingId);
    if (meeting === undefined) return [];
    const shared: Array<[string, string[]]> = [];
    for (const [participantId, listing] of meeting.participants) {
      const servers = listersOf(listing);
      if (servers.length < 2) continue;
      if (listing.host !== undefined && servers.includes(listing.host)) servers.sort((x, y) => Number(y === listing.host) - Number(x === listing.host));
      shared.push([participantId, servers]);
    }
    return shared;
  }

  list(): MeetingView[] {
    return [...this.#meetings.values()].map((meeting) => viewOf(meeting));
  }

  get(id: string): MeetingView | undefined {
    const meeting = this.#meetings.get(id);
    return meeting && viewOf(meeting);
  }

  counts(): MeetingCounts {
    let spread = 0;
    let participants = 0;
    for (const meeting of this.#meetings.values()) {
      if (serversOf(meeting).length > 1) spread++;
      participants += meeting.participants.size;
    }
    return { meetings: this.#meetings.size, spread, participants };
  }

  /** Returns the meeting.started to put before the call.started, if this instance is its meeting's first. */
  #startInstance(server: string, call: CallState, synthetic: boolean): CmsEvent[] | undefined {
    const key = instanceKey(server, call.id);
    if (this.#instances.has(key)) return undefined;
    const id = meetingIdOf(server, call);
    let meeting = this.#meetings.get(id);
    const first = meeting === undefined;
    if (meeting === undefined) this.#meetings.set(id, (meeting = { id, instances: new Map(), participants: new Map() }));
    const instance: Instance = { server, callId: call.id, name: call.name ?? null, meeting };
    meeting.instances.set(key, instance);
    this.#instances.set(key, instance);
    return first ? [this.#event('meeting.started', server, meeting, synthetic)] : undefined;
  }

  /**
   * A new name is taken as is; a new callCorrelator moves the call to that meeting (ending the
   * old one if it was its last instance, starting the new one if it is its first), so that the
   * meetings are always what the servers' models say, which is what a restart rebuilds them from.
   */
  #updateInstance(server: string, call: CallState, changes: Partial<CallFields>, synthetic: boolean): CmsEvent[] | undefined {
    const key = instanceKey(server, call.id);
    const instance = this.#instances.get(key);
    if (instance === undefined) return this.#startInstance(server, call, synthetic);
    if ('name' in changes) instance.name = call.name ?? null;
    if ('participants' in changes && this.#onDoubt !== undefined && hasShared(instance.meeting)) this.#onDoubt(instance.meeting.id);
    if (!('callCorrelator' in changes) || meetingIdOf(server, call) === instance.meeting.id) return undefined;
    const roster = [...instance.meeting.participants].flatMap(([, listing]) => {
      const entry = listing.by.get(key);
      return entry ? [entry.state] : [];
    });
    const events = [...(this.#endInstance(server, call.id, synthetic) ?? []), ...(this.#startInstance(server, call, synthetic) ?? [])];
    for (const participant of roster) this.#list(server, call.id, participant);
    return events.length > 0 ? events : undefined;
  }

  /** Returns the meeting.ended to put after the call.ended, if this instance was its meeting's last. */
  #endInstance(server: string, callId: string, synthetic: boolean): CmsEvent[] | undefined {
    const key = instanceKey(server, callId);
    const instance = this.#instances.get(key);
    if (instance === undefined) return undefined;
    const meeting = instance.meeting;
    // Normally its participants left just before; a call's end takes any that did not.
    for (const [participantId, listing] of meeting.participants) {
      if (listing.by.has(key)) this.#unlist(server, callId, participantId);
    }
    // The event says what the meeting was when its last instance ended.
    const ended = meeting.instances.size === 1 ? this.#event('meeting.ended', server, meeting, synthetic) : undefined;
    meeting.instances.delete(key);
    this.#instances.delete(key);
    if (meeting.instances.size > 0) return undefined;
    this.#meetings.delete(meeting.id);
    return ended && [ended];
  }

  #list(server: string, callId: string, participant: ParticipantState): void {
    const key = instanceKey(server, callId);
    const meeting = this.#instances.get(key)?.meeting;
    if (meeting === undefined) return;
    let listing = meeting.participants.get(participant.id);
    if (listing === undefined) {
      meeting.participants.set(participant.id, (listing = { by: new Map(), host: undefined }));
      this.#participantMeeting.set(participant.id, meeting);
    }
    const known = listing.by.get(key);
    if (known !== undefined) {
      known.state = participant;
      return;
    }
    listing.by.set(key, { server, state: participant });
    this.#listersChanged(participant.id, listing);
  }

  #unlist(server: string, callId: string, participantId: string): void {
    const key = instanceKey(server, callId);
    const meeting = this.#instances.get(key)?.meeting;
    const listing = meeting?.participants.get(participantId);
    if (meeting === undefined || listing === undefined || !listing.by.delete(key)) return;
    if (listing.by.size > 0) {
      this.#listersChanged(participantId, listing);
      return;
    }
    meeting.participants.delete(participantId);
    if (this.#participantMeeting.get(participantId) === meeting) this.#participantMeeting.delete(participantId);
  }

  /** Who lists a participant changed: a known host may be stale (it moved); ask again when shared. */
  #listersChanged(participantId: string, listing: Listing): void {
    listing.host = undefined;
    if (listing.by.size < 2 || this.#onShared === undefined) return;
    const servers = listersOf(listing);
    if (servers.length > 1) this.#onShared(participantId, servers);
  }

  #event(type: 'meeting.started' | 'meeting.ended', server: string, meeting: Meeting, synthetic: boolean): CmsEvent {
    const event: CmsEvent = { id: this.#newEventId(), ts: isoTime(this.#now()), type, server, meetingId: meeting.id, meeting: summaryOf(meeting) };
    if (synthetic) event.synthetic = true;
    return event;
  }
}

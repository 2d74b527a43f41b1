// The live model of one server's calls and rosters: wire deltas in, contract events out
// (../../shared/design.md, "Events" and "State and reconciliation"). A pure reducer: the
// session owns sockets, timers and the subscription-index → call mapping, and tells this
// class when a connection starts and when a snapshot is complete.
//
// Reconciliation works with connection generations instead of flags: beginResync() bumps the
// generation, and an entity counts as confirmed when it was last re-announced in the current
// one. That makes beginResync() O(1) however many calls and participants are known.
import type { CallFields, CallListEntry, ParticipantFields, RosterEntry } from '../protocol/index.js';
import type {
  CallEndedEvent,
  CallStartedEvent,
  CallState,
  CallUpdatedEvent,
  CallView,
  CmsEvent,
  ParticipantJoinedEvent,
  ParticipantLeftEvent,
  ParticipantState,
  ParticipantUpdatedEvent,
} from './events.js';
import { newEventId } from './event-id.js';
import { CALL_FIELD_NAMES, PARTICIPANT_FIELD_NAMES, assignFields, mergeFields } from './fields.js';

export interface ServerStateOptions {
  /** The server's configured name, copied into every event. */
  server: string;
  /** Clock for event timestamps, ms since the epoch; Date.now by default. */
  now?: () => number;
  /** Event id generator; by default ids unique across servers, connections and restarts. */
  newEventId?: () => string;
}

export interface StateCounters {
  /** Roster or callInfo updates for a call that has ended or was never added. */
  lateUpdates: number;
  /** `update`/`remove` entries for a call or participant id that was never added. */
  unknownIds: number;
}

/** Reason of the participant.left events a call's end implies for its remaining roster. */
export const CALL_ENDED_REASON = 'callEnded';

// toISOString costs ~0.7 µs; at thousands of messages a second most fall in the same
// millisecond as the one before, so the last string is reused.
let lastMs = Number.NaN;
let lastIso = '';
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

interface ParticipantRecord {
  state: ParticipantState;
  /** Generation in which the roster subscription last announced this participant. */
  confirmedIn: number;
}

interface CallRecord {
  state: CallState;
  /**
   * A frozen copy of `state` that every event shares until the call changes (then it is
   * dropped and the next event makes a new one). Sharing lets the line serialiser reuse the
   * call's JSON (event-line.ts); freezing keeps a handler from changing other events.
   */
  view: Readonly<CallState> | undefined;
  roster: Map<string, ParticipantRecord>;
  /** Generation in which the call was first seen. */
  bornIn: number;
  /** Generation in which the calls subscription (or callInfo) last announced this call. */
  confirmedIn: number;
  /** Generation of the last callInfoUpdate; -1 before the first. */
  infoIn: number;
}

const reasonOf = (entry: { reason?: unknown }): string | undefined =>
  typeof entry.reason === 'string' ? entry.reason : undefined;

export class ServerState {
  readonly counters: StateCounters = { lateUpdates: 0, unknownIds: 0 };
  readonly #server: string;
  readonly #now: () => number;
  readonly #newEventId: () => string;
  readonly #calls = new Map<string, CallRecord>();
  #generation = 0;
  /** Timestamp shared by the events of one call into this class; computed on first use. */
  #batchTs: string | undefined;

  constructor(options: ServerStateOptions) {
    this.#server = options.server;
    this.#now = options.now ?? Date.now;
    this.#newEventId = options.newEventId ?? newEventId;
  }

  /** callListUpdate updates (for the `calls` subscription). */
  applyCallList(updates: readonly CallListEntry[]): CmsEvent[] {
    this.#batchTs = undefined;
    const events: CmsEvent[] = [];
    const generation = this.#generation;
    for (const entry of updates) {
      const call = this.#calls.get(entry.call);
      switch (entry.updateType) {
        case 'add': {
          if (call === undefined) {
            const state: CallState = { id: entry.call };
            assignFields(state, entry, CALL_FIELD_NAMES);
            const created: CallRecord = { state, view: undefined, roster: new Map(), bornIn: generation, confirmedIn: generation, infoIn: -1 };
            this.#calls.set(entry.call, created);
            events.push(this.#callStarted(created));
            break;
          }
          // A known call again: the snapshot after a reconnect, or a duplicate. Never announced twice.
          const synthetic = call.confirmedIn !== generation;
          call.confirmedIn = generation;
          const changes = this.#mergeCall(call, entry);
          if (changes !== undefined) events.push(this.#callUpdated(call, changes, synthetic));
          break;
        }
        case 'update': {
          if (call === undefined) {
            this.counters.unknownIds++;
            break;
          }
          call.confirmedIn = generation;
          const changes = this.#mergeCall(call, entry);
          if (changes !== undefined) events.push(this.#callUpdated(call, changes, false));
          break;
        }
        case 'remove':
          if (call === undefined) this.counters.unknownIds++;
          else this.#endCall(call, reasonOf(entry), false, events);
          break;
        default: {
          // The parser lets no other updateType through.
          const unhandled: never = entry.updateType;
          void unhandled;
        }
      }
    }
    return events;
  }

  /**
   * callInfoUpdate for one call: changed elements only, except the first after subscribing,
   * which is complete. That first one, on a connection after the one the call was first seen
   * on, is a snapshot: what it changes changed during the outage (synthetic).
   */
  applyCallInfo(callId: string, info: CallFields): CmsEvent[] {
    this.#batchTs = undefined;
    const call = this.#calls.get(callId);
    if (call === undefined) {
      this.counters.lateUpdates++;
      return [];
    }
    const generation = this.#generation;
    const synthetic = call.infoIn !== generation && call.bornIn !== generation;
    call.infoIn = generation;
    call.confirmedIn = generation;
    const changes = this.#mergeCall(call, info);
    return changes === undefined ? [] : [this.#callUpdated(call, changes, synthetic)];
  }

  /** rosterUpdate updates for one call. */
  applyRoster(callId: string, updates: readonly RosterEntry[]): CmsEvent[] {
    this.#batchTs = undefined;
    const call = this.#calls.get(callId);
    if (call === undefined) {
      // The calls subscription always adds a call before its roster can report anything, so
      // this is the tail of a call already removed (or garbage): nothing to announce.
      this.counters.lateUpdates += updates.length;
      return [];
    }
    const events: CmsEvent[] = [];
    const generation = this.#generation;
    const roster = call.roster;
    for (const entry of updates) {
      const participant = roster.get(entry.participant);
      switch (entry.updateType) {
        case 'add': {
          if (participant === undefined) {
            const state: ParticipantState = { id: entry.participant };
            assignFields(state, entry, PARTICIPANT_FIELD_NAMES);
            const created: ParticipantRecord = { state, confirmedIn: generation };
            roster.set(entry.participant, created);
            events.push(this.#participantJoined(call, created));
            break;
          }
          const synthetic = participant.confirmedIn !== generation;
          participant.confirmedIn = generation;
          const changes = mergeFields(participant.state, entry, PARTICIPANT_FIELD_NAMES);
          if (changes !== undefined) events.push(this.#participantUpdated(call, participant, changes, synthetic));
          break;
        }
        case 'update': {
          if (participant === undefined) {
            this.counters.unknownIds++;
            break;
          }
          participant.confirmedIn = generation;
          const changes = mergeFields(participant.state, entry, PARTICIPANT_FIELD_NAMES);
          if (changes !== undefined) events.push(this.#participantUpdated(call, participant, changes, false));
          break;
        }
        case 'remove':
          if (participant === undefined) {
            this.counters.unknownIds++;
            break;
          }
          roster.delete(entry.participant);
          events.push(this.#participantLeft(call, participant, reasonOf(entry), false));
          break;
        default: {
          const unhandled: never = entry.updateType;
          void unhandled;
        }
      }
    }
    return events;
  }

  /** A new connection starts: everything known becomes unconfirmed until a snapshot shows it again. */
  beginResync(): void {
    this.#generation++;
  }

  /**
   * The `calls` snapshot is complete: every call not announced since beginResync() ended while
   * no socket was open. Its remaining participants leave first (reason callEnded), then the
   * call ends without a reason; all of it synthetic.
   */
  completeCallsSnapshot(): CmsEvent[] {
    this.#batchTs = undefined;
    const events: CmsEvent[] = [];
    for (const call of this.#calls.values()) {
      if (call.confirmedIn !== this.#generation) this.#endCall(call, undefined, true, events);
    }
    return events;
  }

  /** The roster snapshot of one call is complete: participants not announced since beginResync() left (synthetic). */
  completeRosterSnapshot(callId: string): CmsEvent[] {
    this.#batchTs = undefined;
    const call = this.#calls.get(callId);
    if (call === undefined) return [];
    const events: CmsEvent[] = [];
    for (const [id, participant] of call.roster) {
      if (participant.confirmedIn === this.#generation) continue;
      call.roster.delete(id);
      events.push(this.#participantLeft(call, participant, undefined, true));
    }
    return events;
  }

  /** Drops everything without events (the server was removed from the configuration). */
  clear(): void {
    this.#calls.clear();
  }

  /** Copies of the current model, for GET /api/servers/{name}/calls. */
  calls(): CallView[] {
    const views: CallView[] = [];
    for (const call of this.#calls.values()) {
      const roster: ParticipantState[] = [];
      for (const participant of call.roster.values()) roster.push({ ...participant.state });
      views.push({ ...call.state, roster });
    }
    return views;
  }

  hasCall(callId: string): boolean {
    return this.#calls.has(callId);
  }

  callIds(): string[] {
    return [...this.#calls.keys()];
  }

  /**
   * Every join gets its leave: the remaining roster leaves (callEnded) before the call ends.
   * Those leaves are always synthetic: no roster message said so, the call's end implies it.
   */
  #endCall(call: CallRecord, reason: string | undefined, synthetic: boolean, events: CmsEvent[]): void {
    for (const participant of call.roster.values()) {
      events.push(this.#participantLeft(call, participant, CALL_ENDED_REASON, true));
    }
    call.roster.clear();
    this.#calls.delete(call.state.id);
    events.push(this.#callEnded(call, reason, synthetic));
  }

  #mergeCall(call: CallRecord, fields: CallFields): Partial<CallFields> | undefined {
    const changes = mergeFields(call.state, fields, CALL_FIELD_NAMES);
    if (changes !== undefined) call.view = undefined;
    return changes;
  }

  #callView(call: CallRecord): CallState {
    return (call.view ??= Object.freeze({ ...call.state }));
  }

  #ts(): string {
    return (this.#batchTs ??= isoTime(this.#now()));
  }

  // Event builders. `call` and `participant` are never the live state objects, which go on
  // changing while an event already handed out must not: `call` is the call's shared frozen
  // view, `participant` a shallow copy (it changes with almost every participant event).

  #callStarted(call: CallRecord): CallStartedEvent {
    return {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'call.started',
      server: this.#server,
      callId: call.state.id,
      call: this.#callView(call),
    };
  }

  #callUpdated(call: CallRecord, changes: Partial<CallFields>, synthetic: boolean): CallUpdatedEvent {
    const event: CallUpdatedEvent = {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'call.updated',
      server: this.#server,
      callId: call.state.id,
      changes,
      call: this.#callView(call),
    };
    if (synthetic) event.synthetic = true;
    return event;
  }

  #callEnded(call: CallRecord, reason: string | undefined, synthetic: boolean): CallEndedEvent {
    const event: CallEndedEvent = {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'call.ended',
      server: this.#server,
      callId: call.state.id,
      call: this.#callView(call),
    };
    if (reason !== undefined) event.reason = reason;
    if (synthetic) event.synthetic = true;
    return event;
  }

  #participantJoined(call: CallRecord, participant: ParticipantRecord): ParticipantJoinedEvent {
    return {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'participant.joined',
      server: this.#server,
      callId: call.state.id,
      participantId: participant.state.id,
      call: this.#callView(call),
      participant: { ...participant.state },
    };
  }

  #participantUpdated(
    call: CallRecord,
    participant: ParticipantRecord,
    changes: Partial<ParticipantFields>,
    synthetic: boolean,
  ): ParticipantUpdatedEvent {
    const event: ParticipantUpdatedEvent = {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'participant.updated',
      server: this.#server,
      callId: call.state.id,
      participantId: participant.state.id,
      changes,
      call: this.#callView(call),
      participant: { ...participant.state },
    };
    if (synthetic) event.synthetic = true;
    return event;
  }

  #participantLeft(
    call: CallRecord,
    participant: ParticipantRecord,
    reason: string | undefined,
    synthetic: boolean,
  ): ParticipantLeftEvent {
    const event: ParticipantLeftEvent = {
      id: this.#newEventId(),
      ts: this.#ts(),
      type: 'participant.left',
      server: this.#server,
      callId: call.state.id,
      participantId: participant.state.id,
      call: this.#callView(call),
      participant: { ...participant.state },
    };
    if (reason !== undefined) event.reason = reason;
    if (synthetic) event.synthetic = true;
    return event;
  }
}

// The live model of one server's calls and rosters: wire deltas in, contract events out
// (README.md, "Events"; docs/protocol.md §6 on snapshots). A pure reducer: the
// session owns sockets, timers and the subscription-index → call mapping, and tells this
// class when a connection starts and when a snapshot is complete.
//
// Reconciliation works with connection generations instead of flags: beginResync() bumps the
// generation, and an entity counts as confirmed when it was last re-announced in the current
// one. That makes beginResync() O(1) however many calls and participants are known.
import type { CallFields, CallListEntry, RosterEntry } from '../protocol/index.js';
import { isCdrEvent, type CallState, type CallView, type CmsEvent, type ParticipantState, type ServerAlarm } from './events.js';
import { newEventId } from './event-id.js';
import { EventBuilder } from './event-builder.js';
import type { CallRecord, ParticipantRecord } from './records.js';
import type { ModelExtras, StoredCall } from './stored-model.js';
import { ServerAlarms, type ListedAlarm } from './server-alarms.js';
import { CdrLedger, type CdrDocument } from './cdr-ledger.js';
import { CALL_FIELD_NAMES, PARTICIPANT_FIELD_NAMES, assignFields, mergeFields } from './fields.js';
import { assertNever } from '../assert-never.js';

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

/** Reason of the call.ended events of a server removed from the configuration (endAll). */
export const SERVER_REMOVED_REASON = 'serverRemoved';

const reasonOf = (entry: { reason?: unknown }): string | undefined =>
  typeof entry.reason === 'string' ? entry.reason : undefined;

export class ServerState {
  readonly counters: StateCounters = { lateUpdates: 0, unknownIds: 0 };
  readonly #events: EventBuilder;
  readonly #calls = new Map<string, CallRecord>();
  /** The server's alarms as announced (kept with the calls across restarts). */
  readonly #alarms: ServerAlarms;
  /** The server's CDRs as announced (kept with the calls across restarts). */
  readonly #cdr: CdrLedger;
  #generation = 0;
  #revision = 0;
  #restored = false;

  constructor(options: ServerStateOptions) {
    this.#events = new EventBuilder(options.server, options.now ?? Date.now, options.newEventId ?? newEventId);
    const now = options.now ?? Date.now;
    const eventId = options.newEventId ?? newEventId;
    this.#alarms = new ServerAlarms(options.server, now, eventId);
    this.#cdr = new CdrLedger({ server: options.server, now, newEventId: eventId });
  }

  /** The alarms announced and not cleared since, as they are kept across restarts. */
  alarms(): ServerAlarm[] {
    return this.#alarms.list();
  }

  /** The server's /system/alarms as read now: raised and cleared events, each exactly once. */
  applyAlarms(listed: readonly ListedAlarm[]): CmsEvent[] {
    return this.#changed(this.#alarms.apply(listed));
  }

  /** A CDR POST body's records: the events of those not announced yet (cdr-ledger.ts). */
  applyCdr(document: CdrDocument): CmsEvent[] {
    return this.#changed(this.#cdr.apply(document));
  }

  /** What the model keeps besides its calls, as it is kept across restarts and takeovers. */
  extras(): ModelExtras {
    return { alarms: this.#alarms.list(), cdr: this.#cdr.stored() };
  }

  /**
   * Takes over what an earlier run (or owner) kept besides the calls, then the alarm and CDR
   * events it announced after that (its journal's, replayed): none is announced again.
   */
  restoreExtras(extras: Partial<ModelExtras>, announcedSince: readonly CmsEvent[] = []): void {
    this.#alarms.restore(extras.alarms ?? []);
    this.#cdr.restore(extras.cdr);
    for (const event of announcedSince) {
      if (event.type.startsWith('server.alarm.')) this.#alarms.fold(event);
      else if (isCdrEvent(event)) this.#cdr.fold(event);
    }
  }

  /** Moves with every change to what was announced: a writer tells a changed model from an idle one. */
  get revision(): number {
    return this.#revision;
  }

  /** From restore() until the next calls snapshot completes: announced before a restart, not yet confirmed. */
  get restored(): boolean {
    return this.#restored;
  }

  /** What has been announced, call by call, as it is kept across the daemon's restarts. */
  stored(): StoredCall[] {
    const calls: StoredCall[] = [];
    for (const call of this.#calls.values()) {
      const roster: ParticipantState[] = [];
      for (const participant of call.roster.values()) roster.push({ ...participant.state });
      calls.push({ call: { ...call.state }, roster });
    }
    return calls;
  }

  /**
   * Takes over a model kept by an earlier run of the daemon, in place of an empty one. Its calls
   * and participants count as known from an earlier connection: the first snapshot reconciles
   * against them exactly as after an outage (nothing announced again; what changed, ended or
   * left meanwhile announced once, synthetic).
   */
  restore(calls: readonly StoredCall[]): void {
    if (this.#calls.size > 0) throw new Error('restore() is for a model that has seen nothing yet');
    for (const { call, roster } of calls) {
      const record: CallRecord = { state: { ...call }, view: undefined, roster: new Map(), bornIn: -1, confirmedIn: -1, infoIn: -1 };
      for (const participant of roster) record.roster.set(participant.id, { state: { ...participant }, confirmedIn: -1 });
      this.#calls.set(call.id, record);
    }
    this.#restored = calls.length > 0;
  }

  /** callListUpdate updates (for the `calls` subscription). */
  applyCallList(updates: readonly CallListEntry[]): CmsEvent[] {
    this.#events.batch();
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
            events.push(this.#events.callStarted(this.#callView(created)));
            break;
          }
          // A known call again: the snapshot after a reconnect, or a duplicate. Never announced twice.
          const synthetic = call.confirmedIn !== generation;
          call.confirmedIn = generation;
          const changes = this.#mergeCall(call, entry);
          if (changes !== undefined) events.push(this.#events.callUpdated(this.#callView(call), changes, synthetic));
          break;
        }
        case 'update': {
          if (call === undefined) {
            this.counters.unknownIds++;
            break;
          }
          call.confirmedIn = generation;
          const changes = this.#mergeCall(call, entry);
          if (changes !== undefined) events.push(this.#events.callUpdated(this.#callView(call), changes, false));
          break;
        }
        case 'remove':
          if (call === undefined) this.counters.unknownIds++;
          else this.#endCall(call, reasonOf(entry), false, events);
          break;
        default:
          // The parser lets no other updateType through.
          assertNever(entry.updateType, 'updateType');
      }
    }
    return this.#changed(events);
  }

  /**
   * callInfoUpdate for one call: changed elements only, except the first after subscribing,
   * which is complete. That first one, on a connection after the one the call was first seen
   * on, is a snapshot: what it changes changed during the outage (synthetic).
   */
  applyCallInfo(callId: string, info: CallFields): CmsEvent[] {
    this.#events.batch();
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
    return changes === undefined ? [] : this.#changed([this.#events.callUpdated(this.#callView(call), changes, synthetic)]);
  }

  /** rosterUpdate updates for one call. */
  applyRoster(callId: string, updates: readonly RosterEntry[]): CmsEvent[] {
    this.#events.batch();
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
            events.push(this.#events.participantJoined(this.#callView(call), created.state));
            break;
          }
          const synthetic = participant.confirmedIn !== generation;
          participant.confirmedIn = generation;
          const changes = mergeFields(participant.state, entry, PARTICIPANT_FIELD_NAMES);
          if (changes !== undefined) events.push(this.#events.participantUpdated(this.#callView(call), participant.state, changes, synthetic));
          break;
        }
        case 'update': {
          if (participant === undefined) {
            this.counters.unknownIds++;
            break;
          }
          participant.confirmedIn = generation;
          const changes = mergeFields(participant.state, entry, PARTICIPANT_FIELD_NAMES);
          if (changes !== undefined) events.push(this.#events.participantUpdated(this.#callView(call), participant.state, changes, false));
          break;
        }
        case 'remove':
          if (participant === undefined) {
            this.counters.unknownIds++;
            break;
          }
          roster.delete(entry.participant);
          events.push(this.#events.participantLeft(this.#callView(call), participant.state, reasonOf(entry), false));
          break;
        default:
          assertNever(entry.updateType, 'updateType');
      }
    }
    return this.#changed(events);
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
    this.#events.batch();
    const events: CmsEvent[] = [];
    for (const call of this.#calls.values()) {
      if (call.confirmedIn !== this.#generation) this.#endCall(call, undefined, true, events);
    }
    this.#restored = false;
    return this.#changed(events);
  }

  /** The roster snapshot of one call is complete: participants not announced since beginResync() left (synthetic). */
  completeRosterSnapshot(callId: string): CmsEvent[] {
    this.#events.batch();
    const call = this.#calls.get(callId);
    if (call === undefined) return [];
    const events: CmsEvent[] = [];
    for (const [id, participant] of call.roster) {
      if (participant.confirmedIn === this.#generation) continue;
      call.roster.delete(id);
      events.push(this.#events.participantLeft(this.#callView(call), participant.state, undefined, true));
    }
    return this.#changed(events);
  }

  /**
   * The server is gone for good (removed from the configuration): every call it had ends now,
   * its roster leaving first as always; all of it synthetic, since no server said so.
   */
  endAll(reason: string): CmsEvent[] {
    this.#events.batch();
    const events: CmsEvent[] = [];
    for (const call of this.#calls.values()) this.#endCall(call, reason, true, events);
    return this.#changed(events);
  }

  /** Copies of the current model, for GET /api/servers/{name}/calls. */
  calls(): CallView[] {
    return this.stored().map(({ call, roster }) => ({ ...call, roster }));
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
      events.push(this.#events.participantLeft(this.#callView(call), participant.state, CALL_ENDED_REASON, true));
    }
    call.roster.clear();
    this.#calls.delete(call.state.id);
    events.push(this.#events.callEnded(this.#callView(call), reason, synthetic));
  }

  #changed(events: CmsEvent[]): CmsEvent[] {
    if (events.length > 0) this.#revision++;
    return events;
  }

  #mergeCall(call: CallRecord, fields: CallFields): Partial<CallFields> | undefined {
    const changes = mergeFields(call.state, fields, CALL_FIELD_NAMES);
    if (changes !== undefined) call.view = undefined;
    return changes;
  }

  #callView(call: CallRecord): CallState {
    return (call.view ??= Object.freeze({ ...call.state }));
  }
}

// The model of one server as it is kept across the daemon's own restarts: what was announced,
// call by call, with each call's roster. Encoding and decoding only (pure); the files are the
// hub's (hub/model-store.ts). A stored model is trusted no further than it can be checked: an
// unknown version, a file of another server or a shape that is off is refused with a sentence
// that says what is wrong, and the server then starts fresh.
import type { StoredCdr } from './cdr-ledger.js';
import type { CallState, CmsEvent, ParticipantState, ServerAlarm } from './events.js';
import { CALL_FIELD_NAMES, PARTICIPANT_FIELD_NAMES } from './fields.js';

export const STORED_MODEL_VERSION = 1;

export interface StoredCall {
  call: CallState;
  roster: ParticipantState[];
}

export interface StoredModel {
  version: typeof STORED_MODEL_VERSION;
  server: string;
  /** When it was written (ISO-8601), for people reading the file. */
  savedAt: string;
  /** The last journal generation whose events it includes (hub/model-journal.ts); -1: none. */
  journal: number;
  calls: StoredCall[];
  /** The server's alarms as last announced (absent: none; older files have none). */
  alarms?: ServerAlarm[];
  /** What the server's CDRs announced (state/cdr-ledger.ts; absent: none). */
  cdr?: StoredCdr;
}

/** What a server's model keeps besides its calls. */
export interface ModelExtras {
  alarms: ServerAlarm[];
  cdr?: StoredCdr;
}

export function encodeModel(server: string, calls: StoredCall[], savedAt: string, journal = -1, extras: Partial<ModelExtras> = {}): string {
  const model: StoredModel = { version: STORED_MODEL_VERSION, server, savedAt, journal, calls };
  if (extras.alarms !== undefined && extras.alarms.length > 0) model.alarms = [...extras.alarms];
  if (extras.cdr !== undefined && (extras.cdr.sessions.length > 0 || extras.cdr.known.length > 0)) model.cdr = extras.cdr;
  return JSON.stringify(model);
}

export type DecodedModel = { ok: true; calls: StoredCall[]; savedAt: string; journal: number; extras: ModelExtras } | { ok: false; problem: string };

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): boolean => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** Reads a stored model of `server`; never throws. */
export function decodeModel(text: string, server: string): DecodedModel {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON, or cut short (${(error as Error).message})` };
  }
  if (!isObject(parsed)) return { ok: false, problem: 'not a JSON object' };
  if (parsed.version !== STORED_MODEL_VERSION) {
    return { ok: false, problem: `unknown version ${JSON.stringify(parsed.version)} (this daemon reads version ${STORED_MODEL_VERSION})` };
  }
  if (parsed.server !== server) return { ok: false, problem: `it is the model of server ${JSON.stringify(parsed.server)}, not ${JSON.stringify(server)}` };
  if (!Array.isArray(parsed.calls)) return { ok: false, problem: '`calls` is not a list' };
  const calls: StoredCall[] = [];
  for (const [index, entry] of parsed.calls.entries()) {
    const call = readEntity(isObject(entry) ? entry.call : undefined, CALL_FIELD_NAMES);
    if (call === undefined) return { ok: false, problem: `calls[${index}].call is not a call with a string id and plain values` };
    const rosterIn = isObject(entry) ? entry.roster : undefined;
    if (!Array.isArray(rosterIn)) return { ok: false, problem: `calls[${index}].roster is not a list` };
    const roster: ParticipantState[] = [];
    for (const [at, item] of rosterIn.entries()) {
      const participant = readEntity(item, PARTICIPANT_FIELD_NAMES);
      if (participant === undefined) return { ok: false, problem: `calls[${index}].roster[${at}] is not a participant with a string id and plain values` };
      roster.push(participant);
    }
    calls.push({ call, roster });
  }
  const journal = Number.isSafeInteger(parsed.journal) ? (parsed.journal as number) : -1;
  const alarms: ServerAlarm[] = [];
  if (parsed.alarms !== undefined) {
    if (!Array.isArray(parsed.alarms)) return { ok: false, problem: '`alarms` is not a list' };
    for (const [index, item] of parsed.alarms.entries()) {
      if (!isObject(item) || typeof item.type !== 'string' || typeof item.since !== 'string') return { ok: false, problem: `alarms[${index}] is not an alarm with a type and a since` };
      const alarm: ServerAlarm = { type: item.type, since: item.since };
      if (typeof item.id === 'string') alarm.id = item.id;
      if (typeof item.failureReason === 'string') alarm.failureReason = item.failureReason;
      alarms.push(alarm);
    }
  }
  const extras: ModelExtras = { alarms };
  if (parsed.cdr !== undefined) {
    const cdr = readStoredCdr(parsed.cdr);
    if (cdr === undefined) return { ok: false, problem: '`cdr` is not { sessions: [{ session, upTo, above }], known: [[id, ids]] }' };
    extras.cdr = cdr;
  }
  return { ok: true, calls, savedAt: typeof parsed.savedAt === 'string' ? parsed.savedAt : '', journal, extras };
}

function readStoredCdr(value: unknown): StoredCdr | undefined {
  if (!isObject(value) || !Array.isArray(value.sessions) || !Array.isArray(value.known)) return undefined;
  const whole = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  const sessions: StoredCdr['sessions'] = [];
  for (const mark of value.sessions) {
    if (!isObject(mark) || typeof mark.session !== 'string' || !whole(mark.upTo) || !Array.isArray(mark.above) || !mark.above.every(whole)) return undefined;
    sessions.push({ session: mark.session, upTo: mark.upTo, above: mark.above as number[] });
  }
  const known: StoredCdr['known'] = [];
  for (const entry of value.known) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !isObject(entry[1])) return undefined;
    const ids: Record<string, string> = {};
    for (const key of ['callId', 'participantId', 'callLegId'] as const) if (typeof entry[1][key] === 'string') ids[key] = entry[1][key] as string;
    known.push([entry[0], ids]);
  }
  return { sessions, known };
}

/**
 * A model kept up to date by event lines (journal lines, or another instance's events in
 * cluster mode): each event carries the whole current state of its call and participant, so
 * applying one is setting states. Lines that are not such events are skipped (a journal is
 * trusted no more than a model); meeting events are kept (handed out again) but change nothing,
 * since meetings are rebuilt from the calls.
 */
export class ReplayedModel {
  readonly #calls = new Map<string, { call: CallState; roster: Map<string, ParticipantState> }>();

  constructor(calls: readonly StoredCall[] = []) {
    for (const { call, roster } of calls) this.#calls.set(call.id, { call: { ...call }, roster: new Map(roster.map((p) => [p.id, { ...p }])) });
  }

  /** Applies one line; returns its event when the line is one worth handing out again, else undefined. */
  apply(line: string): CmsEvent | undefined {
    let event: CmsEvent;
    try {
      event = JSON.parse(line) as CmsEvent;
    } catch {
      return undefined;
    }
    if (!isObject(event) || typeof event.type !== 'string') return undefined;
    if (isMeetingEvent(event)) return event;
    // Alarm and CDR events change what the model keeps besides its calls (ServerState.restoreExtras).
    if (isExtraEvent(event)) return event as unknown as CmsEvent;
    if (!('callId' in event) || typeof event.callId !== 'string') return undefined;
    const call = readEntity<CallState>(event.call, CALL_FIELD_NAMES);
    if (call === undefined) return undefined;
    if (event.type === 'call.ended') {
      this.#calls.delete(event.callId);
      return event;
    }
    const entry = this.#calls.get(event.callId) ?? { call, roster: new Map<string, ParticipantState>() };
    entry.call = call;
    this.#calls.set(event.callId, entry);
    if (!('participantId' in event) || typeof event.participantId !== 'string') return event;
    const participantId: string = event.participantId;
    const participant = readEntity<ParticipantState>(event.participant, PARTICIPANT_FIELD_NAMES);
    if (event.type === 'participant.left' || participant === undefined) entry.roster.delete(participantId);
    else entry.roster.set(participantId, participant);
    return event;
  }

  calls(): StoredCall[] {
    return [...this.#calls.values()].map(({ call, roster }) => ({ call: { ...call }, roster: [...roster.values()].map((p) => ({ ...p })) }));
  }
}

/** The model after `lines` (journal lines, in order), and the events among them to hand out again. */
export function replayEvents(calls: readonly StoredCall[], lines: readonly string[]): { calls: StoredCall[]; events: CmsEvent[]; extraEvents: CmsEvent[] } {
  const model = new ReplayedModel(calls);
  const events: CmsEvent[] = [];
  for (const line of lines) {
    const event = model.apply(line);
    if (event !== undefined) events.push(event);
  }
  return { calls: model.calls(), events, extraEvents: events.filter((event) => isExtraEvent(event as unknown as Json)) };
}

/** Alarm and CDR events: they change what a model keeps besides its calls (ModelExtras). */
function isExtraEvent(event: Json): boolean {
  const type = event.type as string;
  return type.startsWith('server.alarm.') || type.startsWith('cdr.');
}

/** An entity with a string id and known elements of plain values; unknown keys are dropped. */
function readEntity<T extends { id: string }>(value: unknown, names: ReadonlySet<string>): T | undefined {
  if (!isObject(value) || typeof value.id !== 'string') return undefined;
  const entity: Json = { id: value.id };
  for (const key in value) {
    if (key === 'id' || !names.has(key)) continue;
    if (!isScalar(value[key])) return undefined;
    entity[key] = value[key];
  }
  return entity as T;
}

function isMeetingEvent(event: Json): boolean {
  return (event.type === 'meeting.started' || event.type === 'meeting.ended') && typeof event.meetingId === 'string' && isObject(event.meeting);
}

// The model of one server as it is kept across the daemon's own restarts: what was announced,
// call by call, with each call's roster. Encoding and decoding only (pure); the files are the
// hub's (hub/model-store.ts). A stored model is trusted no further than it can be checked: an
// unknown version, a file of another server or a shape that is off is refused with a sentence
// that says what is wrong, and the server then starts fresh.
import type { CallState, ParticipantState } from './events.js';
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
  calls: StoredCall[];
}

export function encodeModel(server: string, calls: StoredCall[], savedAt: string): string {
  const model: StoredModel = { version: STORED_MODEL_VERSION, server, savedAt, calls };
  return JSON.stringify(model);
}

export type DecodedModel = { ok: true; calls: StoredCall[]; savedAt: string } | { ok: false; problem: string };

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
  return { ok: true, calls, savedAt: typeof parsed.savedAt === 'string' ? parsed.savedAt : '' };
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

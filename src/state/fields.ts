// Merging wire elements into the state of a call or participant. Only known elements are
// taken: the wire entries also carry their id, updateType and reason, and a malformed frame
// may carry anything else.
import { CALL_INFO_ELEMENTS, CALL_ROSTER_ELEMENTS } from '../protocol/index.js';

type FieldBag = Record<string, unknown>;

export const CALL_FIELD_NAMES: ReadonlySet<string> = new Set<string>(CALL_INFO_ELEMENTS);
export const PARTICIPANT_FIELD_NAMES: ReadonlySet<string> = new Set<string>(CALL_ROSTER_ELEMENTS);

/** Copies the known elements of `source` into `target`. */
export function assignFields(target: object, source: object, names: ReadonlySet<string>): void {
  const into = target as FieldBag;
  const from = source as FieldBag;
  for (const key in from) {
    const value = from[key];
    if (value !== undefined && names.has(key)) into[key] = value;
  }
}

/**
 * Copies the known elements of `source` into `target` and returns those whose value actually
 * changed (new values), or undefined when none did. The changes object is allocated only on
 * the first real change: most roster updates change one element, many change none.
 */
export function mergeFields(target: object, source: object, names: ReadonlySet<string>): FieldBag | undefined {
  const into = target as FieldBag;
  const from = source as FieldBag;
  let changes: FieldBag | undefined;
  for (const key in from) {
    const value = from[key];
    if (value === undefined || into[key] === value || !names.has(key)) continue;
    into[key] = value;
    (changes ??= {})[key] = value;
  }
  return changes;
}

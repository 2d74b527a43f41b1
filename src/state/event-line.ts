// The NDJSON line of an event, exactly what JSON.stringify(event) gives, built faster.
//
// Every call and participant event carries the whole `call` object, and a busy call's
// participant events follow each other with the same call state. ServerState hands all those
// events one shared, frozen `call` object until the call changes, so its JSON is made once and
// remembered here (a WeakMap: it goes when the last event holding the object goes). Pipelined,
// JSON.stringify of whole events was 28 % of the daemon's busy time (BENCHMARKS.md).
import type { CallState, CmsEvent } from './events.js';

const callJsonCache = new WeakMap<CallState, string>();

function callJson(call: CallState): string {
  let json = callJsonCache.get(call);
  if (json === undefined) {
    json = JSON.stringify(call);
    // Only frozen objects are shared between events; others may still change.
    if (Object.isFrozen(call)) callJsonCache.set(call, json);
  }
  return json;
}

/** The keys of call and participant events, in the order ServerState writes them. */
const LINE_KEYS = ['id', 'ts', 'type', 'server', 'callId', 'participantId', 'changes', 'call', 'participant', 'reason', 'synthetic'];

/**
 * JSON.stringify(event), with the `call` object's JSON reused. Falls back to JSON.stringify for
 * any key it does not know or any order other than LINE_KEYS', so the line is always identical
 * to the plain one.
 */
export function eventLine(event: CmsEvent): string {
  if (!('call' in event)) return JSON.stringify(event);
  const fields = event as unknown as Record<string, unknown>;
  let line = '';
  let separator = '{';
  let at = 0;
  for (const key in fields) {
    while (at < LINE_KEYS.length && LINE_KEYS[at] !== key) at++;
    if (at === LINE_KEYS.length) return JSON.stringify(event);
    const value = fields[key];
    // JSON.stringify leaves out keys whose value is undefined; so does this.
    if (value === undefined) continue;
    line += `${separator}"${key}":${key === 'call' ? callJson(value as CallState) : JSON.stringify(value)}`;
    separator = ',';
  }
  return line === '' ? JSON.stringify(event) : `${line}}`;
}

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

/** The keys of call and participant events, numbered in the order ServerState writes them. */
const KEY_ORDER: Record<string, number> = {
  id: 1,
  ts: 2,
  type: 3,
  server: 4,
  callId: 5,
  participantId: 6,
  changes: 7,
  call: 8,
  participant: 9,
  reason: 10,
  synthetic: 11,
  epoch: 12,
  owner: 13,
};

/**
 * JSON.stringify(event), with the `call` object's JSON reused. Falls back to JSON.stringify for
 * any key it does not know or keys in another order than ServerState's, so the line is always
 * identical to the plain one. The keys are written one by one rather than in a loop, which
 * measured slower on this per-message path (BENCHMARKS.md).
 */
export function eventLine(event: CmsEvent): string {
  if (!('call' in event)) return JSON.stringify(event);
  let keys = 0;
  let last = 0;
  for (const key in event) {
    const position = KEY_ORDER[key];
    if (typeof position !== 'number' || position <= last) return JSON.stringify(event);
    last = position;
    keys++;
  }
  const e = event as Extract<CmsEvent, { call: CallState }> & {
    participantId?: string;
    changes?: object;
    participant?: object;
    reason?: string;
    synthetic?: true;
    epoch?: number;
    owner?: string;
  };
  let line = `{"id":${JSON.stringify(e.id)},"ts":${JSON.stringify(e.ts)},"type":"${e.type}","server":${JSON.stringify(e.server)},"callId":${JSON.stringify(e.callId)}`;
  let written = 5;
  if (e.participantId !== undefined) {
    line += `,"participantId":${JSON.stringify(e.participantId)}`;
    written++;
  }
  if (e.changes !== undefined) {
    line += `,"changes":${JSON.stringify(e.changes)}`;
    written++;
  }
  line += `,"call":${callJson(e.call)}`;
  written++;
  if (e.participant !== undefined) {
    line += `,"participant":${JSON.stringify(e.participant)}`;
    written++;
  }
  if (e.reason !== undefined) {
    line += `,"reason":${JSON.stringify(e.reason)}`;
    written++;
  }
  if (e.synthetic !== undefined) {
    line += `,"synthetic":${JSON.stringify(e.synthetic)}`;
    written++;
  }
  if (e.epoch !== undefined) {
    line += `,"epoch":${JSON.stringify(e.epoch)}`;
    written++;
  }
  if (e.owner !== undefined) {
    line += `,"owner":${JSON.stringify(e.owner)}`;
    written++;
  }
  // A key present with the value undefined is left out by JSON.stringify, and here too; a key
  // count that does not match means a shape this function does not know.
  if (written !== keys) return JSON.stringify(event);
  return `${line}}`;
}

// Words for what the daemon reports: states, errors, times, events. Pure.
import type { CmsEvent, ServerView } from './api.js';

const STATE_WORDS: Record<string, string> = {
  connecting: 'Connecting',
  subscribing: 'Subscribing',
  live: 'Live',
  backoff: 'Waiting to retry',
  stopped: 'Stopped',
  // Cluster mode: another instance follows it; this page shows it from what that instance publishes.
  standby: 'Followed elsewhere',
};

export function stateInWords(state: string): string {
  return STATE_WORDS[state] ?? capitalize(splitWords(state));
}

const ERROR_WORDS: Record<string, string> = {
  auth: 'Bad credentials',
  tls: 'Certificate not trusted',
  network: 'Network problem',
  handshake: 'WebSocket refused',
  protocol: 'Protocol error',
  closed: 'Closed by the server',
};

export function errorKindInWords(kind: string): string {
  return ERROR_WORDS[kind] ?? capitalize(splitWords(kind));
}

/** "12 s ago", "in 5 min", "just now". */
export function relativeTime(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '';
  const seconds = Math.round((now - at) / 1000);
  if (Math.abs(seconds) < 2) return 'just now';
  const amount = spanInWords(Math.abs(seconds));
  return seconds > 0 ? `${amount} ago` : `in ${amount}`;
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h"; a number never wraps away from its unit. */
export function spanInWords(seconds: number): string {
  const unit = (amount: number, name: string) => `${amount}\u00a0${name}`;
  if (seconds < 60) return unit(seconds, 's');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return unit(minutes, 'min');
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${unit(hours, 'h')} ${unit(minutes % 60, 'min')}` : unit(hours, 'h');
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${unit(days, 'd')} ${unit(hours % 24, 'h')}` : unit(days, 'd');
}

export function clockTime(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

export function rate(eventsPerSecond: number): string {
  if (!Number.isFinite(eventsPerSecond)) return '–';
  return eventsPerSecond >= 10 ? eventsPerSecond.toFixed(0) : eventsPerSecond.toFixed(1);
}

/** Why a server is not live, in one sentence; empty when there is nothing to say. */
export function serverTrouble(server: ServerView): string {
  const error = server.lastError;
  if (!error) return '';
  const kind = error.kind ? errorKindInWords(error.kind) : '';
  const message = (error.message ?? '').trim();
  if (!kind) return message;
  return message ? `${kind}: ${message}` : kind;
}

export function countLabel(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

const EVENT_WORDS: Record<CmsEvent['type'], string> = {
  'server.connected': 'Server connected',
  'server.disconnected': 'Server disconnected',
  'server.alarm.raised': 'Alarm raised',
  'server.alarm.cleared': 'Alarm cleared',
  'meeting.started': 'Meeting started',
  'meeting.ended': 'Meeting ended',
  'call.started': 'Call started',
  'call.updated': 'Call updated',
  'call.ended': 'Call ended',
  'participant.joined': 'Joined',
  'participant.updated': 'Updated',
  'participant.left': 'Left',
  'cdr.callStart': 'CDR: call start',
  'cdr.callEnd': 'CDR: call end',
  'cdr.callLegStart': 'CDR: leg start',
  'cdr.callLegUpdate': 'CDR: leg update',
  'cdr.callLegEnd': 'CDR: leg end',
  'cdr.recordingStart': 'CDR: recording start',
  'cdr.recordingEnd': 'CDR: recording end',
  'cdr.streamingStart': 'CDR: streaming start',
  'cdr.streamingEnd': 'CDR: streaming end',
  'cdr.gap': 'CDR: records lost by the CMS',
};

export function eventInWords(event: CmsEvent): string {
  return EVENT_WORDS[event.type] ?? event.type;
}

/** The detail line of a history entry: who, and what changed. */
export function eventDetail(event: CmsEvent): string {
  const parts: string[] = [];
  switch (event.type) {
    case 'participant.joined':
    case 'participant.updated':
    case 'participant.left':
      parts.push(participantLabel(event.participant.name, event.participant.uri, event.participantId));
      break;
    case 'call.started':
      parts.push(event.call.name || event.callId);
      break;
    case 'server.disconnected':
      parts.push(event.reason);
      break;
    default:
      break;
  }
  if ('changes' in event && event.changes) parts.push(changesInWords(event.changes));
  if ('reason' in event && event.reason && event.type !== 'server.disconnected') {
    parts.push(`reason: ${event.reason}`);
  }
  return parts.filter(Boolean).join(' · ');
}

export function participantLabel(
  name: string | null | undefined,
  uri: string | null | undefined,
  id: string,
): string {
  if (name && uri) return `${name} (${uri})`;
  return name || uri || id;
}

export function changesInWords(changes: Record<string, unknown>): string {
  return Object.entries(changes)
    .map(([field, value]) => `${splitWords(field)} → ${valueInWords(value)}`)
    .join(', ');
}

function valueInWords(value: unknown): string {
  if (value === null || value === undefined) return 'unset';
  if (value === true) return 'yes';
  if (value === false) return 'no';
  return String(value);
}

/** "audioMuted" → "audio muted". */
export function splitWords(identifier: string): string {
  return identifier.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// Shapes of the daemon's HTTP API as the dashboard reads them, and the calls that fetch them.
import type { CallState, CallView, CmsEvent, ParticipantState } from '../../state/events.js';
import type { SessionCounters, SessionError, SessionState } from '../../session/types.js';

export type { CallState, CallView, CmsEvent, ParticipantState };

/** A server's last failure as the dashboard shows it; `code` is absent from the older API form. */
export type ServerError = Omit<SessionError, 'code'> & { code?: SessionError['code'] };

/** One entry of GET /api/servers. */
export interface ServerView {
  name: string;
  host: string;
  port: number;
  /** `standby` in cluster mode: another instance follows it. */
  state: SessionState | 'standby';
  /** Cluster mode: the instance following it (null: none yet); absent otherwise. */
  owner?: string | null;
  /** The CMS's own health from its REST API (absent from older daemons, null when not read here). */
  cms?: {
    version: string | null;
    uptimeSeconds: number | null;
    callLegsActive: number | null;
    alarms: Array<{ type: string; since: string; failureReason?: string }>;
    lastError: string | null;
  } | null;
  since: string;
  connectedSince: string | null;
  lastError: ServerError | null;
  nextAttemptAt: string | null;
  counters: Partial<SessionCounters> & Record<string, number>;
  calls: number;
  eventsPerSecond: number;
  /** The calls shown were kept from before the daemon's restart and are not confirmed yet (absent from older daemons). */
  restored?: boolean;
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' }, signal });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return (await response.json()) as T;
}

export async function fetchServers(signal?: AbortSignal): Promise<ServerView[]> {
  const list = await getJson<RawServerView[]>('api/servers', signal);
  return Array.isArray(list) ? list.map(normalizeServer) : [];
}

/** The API may give lastError as an object, or as its message with the kind and time beside it. */
type RawServerView = Omit<ServerView, 'lastError'> & {
  lastError: ServerError | string | null;
  lastErrorKind?: string | null;
  lastErrorCode?: string | null;
  lastErrorAt?: string | null;
};

function normalizeServer(raw: RawServerView): ServerView {
  const { lastError, lastErrorKind, lastErrorCode, lastErrorAt, ...rest } = raw;
  let error: ServerError | null = null;
  if (typeof lastError === 'string') {
    error = { kind: (lastErrorKind ?? '') as SessionError['kind'], message: lastError, at: lastErrorAt ?? rest.since };
    if (lastErrorCode) error.code = lastErrorCode as SessionError['code'];
  } else if (lastError && typeof lastError === 'object') {
    error = lastError;
  }
  return { ...rest, lastError: error, counters: rest.counters ?? {} };
}

export function fetchCalls(server: string, signal?: AbortSignal): Promise<CallView[]> {
  return getJson<CallView[]>(`api/servers/${encodeURIComponent(server)}/calls`, signal);
}

/**
 * The part of a GET /api/meetings entry the dashboard reads: its calls in the daemon's order and
 * the bridge hosting each participant (the rest it has from the feed already).
 */
export interface MeetingHintView {
  id: string;
  calls: { server: string; callId: string }[];
  participants: { id: string; server: string }[];
}

/** Throws on an older daemon without meetings (404): the caller keeps what it had. */
export function fetchMeetings(signal?: AbortSignal): Promise<MeetingHintView[]> {
  return getJson<MeetingHintView[]>('api/meetings', signal);
}

export const EVENTS_PATH = 'api/events';

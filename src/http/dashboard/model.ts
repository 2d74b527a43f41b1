// The dashboard's live copy of the daemon's state: servers, calls and rosters, rebuilt from a
// snapshot (GET /api/servers, GET /api/servers/{name}/calls) and moved forward by events.
// Pure: no DOM, no timers, no fetches, so it is unit-tested in Node.
import { EVENT_TYPES } from '../../state/events.js';
import type { CallState, CallView, CmsEvent, ParticipantState, ServerView } from './api.js';
import { assertNever } from '../../assert-never.js';

export interface CallEntry {
  server: string;
  call: CallState;
  roster: Map<string, ParticipantState>;
}

/** What the view has to redraw since it last asked. */
export interface Changes {
  /** Servers added or removed: the list itself must be redrawn. */
  serverList: boolean;
  /** Servers whose header (state, error, rates) changed. */
  servers: Set<string>;
  /** Per server, calls that changed, appeared or ended. */
  calls: Map<string, Set<string>>;
  /** Calls (by historyKey) whose event history grew. */
  histories: Set<string>;
}

/** What the caller should do after a live event. */
export interface EventOutcome {
  refetchServers: boolean;
  refetchCalls: boolean;
}

const KNOWN_TYPES = new Set<string>(EVENT_TYPES);
const NOTHING: EventOutcome = { refetchServers: false, refetchCalls: false };

export const HISTORY_LENGTH = 50;
/** Calls whose history is kept, ended ones included; the oldest-touched go first. */
const HISTORY_CALLS = 1000;
/** Event ids remembered to drop duplicates (a reconnecting stream may replay a few). */
const SEEN_IDS = 5000;

interface CallsLoad {
  token: number;
  queue: CmsEvent[];
}

export function historyKey(server: string, callId: string): string {
  return `${server}\u0000${callId}`;
}

export class DashboardModel {
  readonly servers = new Map<string, ServerView>();
  private readonly calls = new Map<string, Map<string, CallEntry>>();
  private readonly histories = new Map<string, CmsEvent[]>();
  private readonly seen = new Set<string>();
  /** Servers whose calls have been loaded at least once since the last reload. */
  private readonly loaded = new Set<string>();
  private readonly loading = new Map<string, CallsLoad>();
  /** Non-null while the whole snapshot is being reloaded: every event waits here. */
  private reloadQueue: CmsEvent[] | null = null;
  private nextToken = 1;
  private changes: Changes = emptyChanges();

  /** Starts a full reload (a new or re-opened event stream): events wait until it ends. */
  beginReload(): void {
    this.reloadQueue ??= [];
    this.loaded.clear();
  }

  /** Ends the reload: each waiting event goes to its server's pending calls load, or is applied. */
  endReload(): void {
    const queue = this.reloadQueue ?? [];
    this.reloadQueue = null;
    for (const event of queue) this.route(event);
  }

  setServers(list: ServerView[]): void {
    const names = new Set(list.map((server) => server.name));
    for (const name of [...this.servers.keys()]) {
      if (names.has(name)) continue;
      this.servers.delete(name);
      this.calls.delete(name);
      this.loaded.delete(name);
      this.loading.delete(name);
      this.changes.serverList = true;
    }
    for (const server of list) {
      const previous = this.servers.get(server.name);
      if (!previous) this.changes.serverList = true;
      else if (JSON.stringify(previous) === JSON.stringify(server)) continue;
      this.servers.set(server.name, server);
      this.changes.servers.add(server.name);
    }
  }

  /** Servers whose calls still have to be fetched (never loaded, or the last load failed). */
  serversNeedingCalls(): string[] {
    return [...this.servers.keys()].filter((name) => !this.loaded.has(name) && !this.loading.has(name));
  }

  /** Starts a calls load for one server; its events wait until `setCalls` or `failCalls`. */
  beginCalls(server: string): number {
    const token = this.nextToken++;
    const current = this.loading.get(server);
    // Events queued for an earlier load predate this snapshot too: replaying them is harmless.
    this.loading.set(server, { token, queue: current?.queue ?? [] });
    return token;
  }

  /** Replaces a server's calls with a snapshot, then replays the events that arrived meanwhile. */
  setCalls(server: string, views: CallView[], token: number): void {
    const load = this.loading.get(server);
    if (!load || load.token !== token) return;
    this.loading.delete(server);
    if (!this.servers.has(server)) return;
    const previous = this.calls.get(server) ?? new Map<string, CallEntry>();
    const next = new Map<string, CallEntry>();
    for (const view of views) {
      const { roster, ...call } = view;
      next.set(call.id, { server, call, roster: new Map(roster.map((p) => [p.id, p])) });
    }
    this.calls.set(server, next);
    this.loaded.add(server);
    this.markCalls(server);
    for (const id of previous.keys()) this.markCall(server, id);
    for (const id of next.keys()) this.markCall(server, id);
    this.changes.servers.add(server);
    for (const event of load.queue) this.apply(event);
  }

  /** A calls load failed: apply what waited on top of the last known calls; it is retried later. */
  failCalls(server: string, token: number): void {
    const load = this.loading.get(server);
    if (!load || load.token !== token) return;
    this.loading.delete(server);
    for (const event of load.queue) this.apply(event);
  }

  /** One event from the live stream. */
  receive(event: CmsEvent): EventOutcome {
    // A newer daemon may send types this page does not know yet: they are skipped, not fatal.
    if (!KNOWN_TYPES.has(event.type) || this.seen.has(event.id)) return NOTHING;
    this.remember(event.id);
    if (event.type !== 'server.connected' && event.type !== 'server.disconnected') {
      this.record(event.server, event.callId, event);
    }
    if (this.reloadQueue) {
      this.reloadQueue.push(event);
      return NOTHING;
    }
    const known = this.servers.has(event.server);
    this.route(event);
    return {
      refetchServers:
        !known || event.type === 'server.connected' || event.type === 'server.disconnected',
      refetchCalls: known && event.type === 'server.connected',
    };
  }

  serverNames(): string[] {
    return [...this.servers.keys()].sort(compareText);
  }

  callsOf(server: string): CallEntry[] {
    return [...(this.calls.get(server)?.values() ?? [])].sort(compareCalls);
  }

  callCount(server: string): number {
    return this.calls.get(server)?.size ?? 0;
  }

  participantCount(server: string): number {
    let count = 0;
    for (const entry of this.calls.get(server)?.values() ?? []) count += entry.roster.size;
    return count;
  }

  call(server: string, callId: string): CallEntry | undefined {
    return this.calls.get(server)?.get(callId);
  }

  /** Latest events of a call, oldest first (also after the call ended). */
  history(server: string, callId: string): readonly CmsEvent[] {
    return this.histories.get(historyKey(server, callId)) ?? [];
  }

  isLoaded(server: string): boolean {
    return this.loaded.has(server);
  }

  takeChanges(): Changes {
    const taken = this.changes;
    this.changes = emptyChanges();
    return taken;
  }

  private route(event: CmsEvent): void {
    const load = this.loading.get(event.server);
    if (load) load.queue.push(event);
    else this.apply(event);
  }

  private apply(event: CmsEvent): void {
    const server = event.server;
    switch (event.type) {
      case 'server.connected': {
        const status = this.servers.get(server);
        if (status && status.state !== 'live') {
          this.servers.set(server, { ...status, state: 'live', since: event.ts, connectedSince: event.ts });
          this.changes.servers.add(server);
        }
        return;
      }
      case 'server.disconnected': {
        const status = this.servers.get(server);
        if (status && status.state === 'live') {
          // Provisional until the next GET /api/servers says whether it reconnects or backs off.
          this.servers.set(server, { ...status, state: 'connecting', since: event.ts, connectedSince: null });
          this.changes.servers.add(server);
        }
        return;
      }
      case 'call.started':
      case 'call.updated':
        this.upsertCall(server, event.call);
        return;
      case 'call.ended': {
        if (this.calls.get(server)?.delete(event.callId)) this.markCall(server, event.callId);
        return;
      }
      case 'participant.joined':
      case 'participant.updated': {
        const entry = this.upsertCall(server, event.call);
        if (entry) entry.roster.set(event.participantId, event.participant);
        return;
      }
      case 'participant.left': {
        const entry = this.calls.get(server)?.get(event.callId);
        if (!entry) return;
        entry.call = event.call;
        entry.roster.delete(event.participantId);
        this.markCall(server, event.callId);
        return;
      }
      default:
        assertNever(event);
    }
  }

  private upsertCall(server: string, call: CallState): CallEntry | undefined {
    if (!this.servers.has(server)) return undefined;
    let byId = this.calls.get(server);
    if (!byId) this.calls.set(server, (byId = new Map()));
    let entry = byId.get(call.id);
    if (entry) entry.call = call;
    else byId.set(call.id, (entry = { server, call, roster: new Map() }));
    this.markCall(server, call.id);
    return entry;
  }

  private markCall(server: string, callId: string): void {
    this.markCalls(server).add(callId);
  }

  /** The server's call list is redrawn even when no single call changed (an empty snapshot). */
  private markCalls(server: string): Set<string> {
    let ids = this.changes.calls.get(server);
    if (!ids) this.changes.calls.set(server, (ids = new Set()));
    return ids;
  }

  private record(server: string, callId: string, event: CmsEvent): void {
    const key = historyKey(server, callId);
    const events = this.histories.get(key) ?? [];
    // Re-inserting keeps the Map in least-recently-touched order for eviction.
    this.histories.delete(key);
    this.histories.set(key, events);
    events.push(event);
    if (events.length > HISTORY_LENGTH) events.splice(0, events.length - HISTORY_LENGTH);
    if (this.histories.size > HISTORY_CALLS) {
      const oldest = this.histories.keys().next().value;
      if (oldest !== undefined) this.histories.delete(oldest);
    }
    this.changes.histories.add(key);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

function emptyChanges(): Changes {
  return { serverList: false, servers: new Set(), calls: new Map(), histories: new Set() };
}

const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

export function compareText(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

function compareCalls(a: CallEntry, b: CallEntry): number {
  return compareText(a.call.name ?? '', b.call.name ?? '') || compareText(a.call.id, b.call.id);
}

export function compareParticipants(a: ParticipantState, b: ParticipantState): number {
  return (
    compareText(a.name || a.uri || '', b.name || b.uri || '') ||
    compareText(a.uri ?? '', b.uri ?? '') ||
    compareText(a.id, b.id)
  );
}

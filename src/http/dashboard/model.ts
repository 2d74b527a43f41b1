// The dashboard's live copy of the daemon's state: servers, calls and rosters, rebuilt from a
// snapshot (GET /api/servers, GET /api/servers/{name}/calls) and moved forward by events, and
// the calls grouped into meetings spread over several bridges (model/meetings.ts).
// This class orders snapshots and events (an event that arrives while its snapshot loads waits
// for it); live-state.ts applies them. Pure: no DOM, no timers, no fetches, so it is unit-tested
// in Node.
import { EVENT_TYPES, isCallEvent } from '../../state/events.js';
import type { CallView, CmsEvent, MeetingHintView, ServerView } from './api.js';
import { CallHistories } from './model/call-histories.js';
import { ChangeTracker, type Changes } from './model/changes.js';
import { compareCalls, compareText } from './model/compare.js';
import { CorrelatorIndex } from './model/correlator-index.js';
import { applyEvent, type CallEntry, type LiveState } from './model/live-state.js';
import {
  correlatorOf,
  duplicateListings,
  groupSpreadMeetings,
  hintsText,
  meetingHintsFrom,
  NO_HINTS,
  type MeetingHints,
  type SpreadMeeting,
} from './model/meetings.js';
import { RecentIds } from './model/recent-ids.js';

export { HISTORY_LENGTH, historyKey } from './model/call-histories.js';
export type { Changes } from './model/changes.js';
export { compareParticipants, compareText } from './model/compare.js';
export type { CallEntry } from './model/live-state.js';
export type { MeetingMember, SpreadMeeting } from './model/meetings.js';

/** What the caller should do after a live event. */
export interface EventOutcome {
  refetchServers: boolean;
  refetchCalls: boolean;
  /** A meeting started or ended, or a call of a spread meeting changed: its hosts may have too. */
  refetchMeetingHints: boolean;
}

const KNOWN_TYPES = new Set<string>(EVENT_TYPES);
const NOTHING: EventOutcome = { refetchServers: false, refetchCalls: false, refetchMeetingHints: false };

interface CallsLoad {
  token: number;
  queue: CmsEvent[];
}

export class DashboardModel {
  readonly servers = new Map<string, ServerView>();
  private readonly calls = new Map<string, Map<string, CallEntry>>();
  private readonly live: LiveState = { servers: this.servers, calls: this.calls };
  private readonly histories = new CallHistories();
  private readonly seen = new RecentIds();
  /** Servers whose calls have been loaded at least once since the last reload. */
  private readonly loaded = new Set<string>();
  private readonly loading = new Map<string, CallsLoad>();
  /** Non-null while the whole snapshot is being reloaded: every event waits here. */
  private reloadQueue: CmsEvent[] | null = null;
  private nextToken = 1;
  private readonly changes = new ChangeTracker();
  private readonly correlators = new CorrelatorIndex();
  private hints: MeetingHints = NO_HINTS;
  private hintsAsText = hintsText(NO_HINTS);

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
      this.correlators.dropServer(name);
      this.loaded.delete(name);
      this.loading.delete(name);
      this.changes.markServerList();
    }
    for (const server of list) {
      const previous = this.servers.get(server.name);
      if (!previous) this.changes.markServerList();
      else if (JSON.stringify(previous) === JSON.stringify(server)) continue;
      this.servers.set(server.name, server);
      this.changes.markServer(server.name);
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
    for (const id of previous.keys()) if (!next.has(id)) this.correlators.set(server, id, null);
    for (const [id, entry] of next) this.correlators.set(server, id, correlatorOf(entry.call));
    this.loaded.add(server);
    this.changes.markCallList(server);
    for (const id of previous.keys()) this.changes.markCall(server, id);
    for (const id of next.keys()) this.changes.markCall(server, id);
    this.changes.markServer(server);
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
    this.seen.add(event.id);
    if (isCallEvent(event)) {
      this.changes.markHistory(this.histories.record(event.server, event.callId, event));
    }
    if (this.reloadQueue) {
      this.reloadQueue.push(event);
      return NOTHING;
    }
    const known = this.servers.has(event.server);
    const spreadBefore = this.touchesSpreadMeeting(event);
    this.route(event);
    return {
      refetchServers:
        !known || event.type === 'server.connected' || event.type === 'server.disconnected',
      refetchCalls: known && event.type === 'server.connected',
      refetchMeetingHints:
        event.type === 'meeting.started' ||
        event.type === 'meeting.ended' ||
        spreadBefore ||
        this.touchesSpreadMeeting(event),
    };
  }

  /** The daemon's word on its meetings (GET /api/meetings); unchanged hints redraw nothing. */
  setMeetingHints(views: MeetingHintView[]): void {
    const hints = meetingHintsFrom(views);
    const text = hintsText(hints);
    if (text === this.hintsAsText) return;
    this.hints = hints;
    this.hintsAsText = text;
    this.changes.markMeetingHints();
  }

  /** Meetings with calls on two or more bridges, by name. */
  spreadMeetings(): SpreadMeeting[] {
    const entries: CallEntry[] = [];
    for (const { server, callId } of this.correlators.spreadCalls()) {
      const entry = this.call(server, callId);
      if (entry) entries.push(entry);
    }
    return groupSpreadMeetings(entries, this.hints);
  }

  /** The id of the spread meeting this call is part of (it is shown there, not in its server's card). */
  spreadMeetingOf(server: string, callId: string): string | undefined {
    return this.correlators.spreadMeetingOf(server, callId);
  }

  hasSpreadMeetings(): boolean {
    return this.correlators.hasSpread();
  }

  /** Participants of every server, each person once although several bridges may list them. */
  participantTotal(): number {
    let total = 0;
    for (const name of this.servers.keys()) total += this.participantCount(name);
    for (const meeting of this.spreadMeetings()) total -= duplicateListings(meeting);
    return total;
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
    return this.histories.of(server, callId);
  }

  isLoaded(server: string): boolean {
    return this.loaded.has(server);
  }

  takeChanges(): Changes {
    return this.changes.take();
  }

  private route(event: CmsEvent): void {
    const load = this.loading.get(event.server);
    if (load) load.queue.push(event);
    else this.apply(event);
  }

  private apply(event: CmsEvent): void {
    applyEvent(this.live, event, this.changes);
    if (isCallEvent(event)) {
      const entry = this.call(event.server, event.callId);
      this.correlators.set(event.server, event.callId, entry ? correlatorOf(entry.call) : null);
    }
  }

  /** Whether the event's call is, or is about to be, part of a spread meeting. */
  private touchesSpreadMeeting(event: CmsEvent): boolean {
    if (!isCallEvent(event)) return false;
    return (
      this.correlators.spreadMeetingOf(event.server, event.callId) !== undefined ||
      this.correlators.isSpread(correlatorOf(event.call))
    );
  }
}

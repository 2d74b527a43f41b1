// When is a subscription's snapshot complete? The server sends no end-of-snapshot marker, and an
// empty roster sends nothing at all. The rule, per `calls` and `callRoster` subscription on each
// connection:
//   1. the snapshot is complete at the first message for its index that contains a non-`add`
//      update (after applying that message: live traffic has begun);
//   2. otherwise, every snapshot still open is complete once snapshotQuietMs pass without an
//      `add`-only message for any open snapshot, counted from the last subscription that became
//      `active` (and each snapshot counts as open only from its own `active`).
// Rule 2 uses one quiet period per connection rather than one per index because a server sends
// the snapshots of a whole request in one burst, index after index, under stop-and-wait: on a
// slow link the last roster's adds can arrive long after its `active`, and a per-index clock
// would expire first and announce its participants as gone. It never completes a snapshot
// earlier than a per-index quiet period would. Only at completion does ServerState declare
// what the snapshot did not re-announce as gone (completeCallsSnapshot / completeRosterSnapshot:
// synthetic call.ended / participant.left).
import type { Clock, TimerHandle } from '../clock.js';
import type { CmsEvent, ServerState } from '../state/index.js';
import type { SubscriptionEntry, SubscriptionSet } from './subscription-set.js';

export interface SnapshotTrackerOptions {
  subs: SubscriptionSet;
  state: ServerState;
  quietMs: number;
  clock: Clock;
  /**
   * The quiet period is over. The connection then calls completeOpen() in order with the rest of
   * its work (a receiver may be holding it back).
   */
  onQuiet: () => void;
  /** The calls snapshot found this call gone: its per-call subscriptions are to be released. */
  onCallGone: (callId: string) => void;
}

/** The snapshots of one connection; the connection disposes of it when it ends. */
export class SnapshotTracker {
  #quietTimer: TimerHandle | undefined;

  constructor(private readonly options: SnapshotTrackerOptions) {}

  /** True while a quiet period is counting down. */
  get quietPending(): boolean {
    return this.#quietTimer !== undefined;
  }

  /** A subscription became `active`: its snapshot (calls and callRoster only) opens. */
  opened(entry: SubscriptionEntry): void {
    if (entry.type === 'callInfo' || entry.snapshot !== 'idle') return;
    entry.snapshot = 'waiting';
    this.#activity();
  }

  /** A message for a subscription whose snapshot is not complete yet was applied, giving `events`. */
  progress(entry: SubscriptionEntry, nonAdd: boolean, events: CmsEvent[]): CmsEvent[] {
    if (nonAdd) return this.#complete(entry, events);
    // Adds only: still snapshot data (before `active` the quiet period has not started yet).
    if (entry.snapshot === 'waiting') this.#activity();
    return events;
  }

  /** Completes every open snapshot; `calls` first, so that calls gone while we were away end before rosters settle. */
  completeOpen(events: CmsEvent[]): CmsEvent[] {
    const open: SubscriptionEntry[] = [];
    for (const entry of this.options.subs.entries()) if (entry.snapshot === 'waiting') open.push(entry);
    // Completing `calls` may release rosters of ended calls: those are skipped below.
    for (const entry of open) if (entry.snapshot === 'waiting') this.#complete(entry, events);
    return events;
  }

  dispose(): void {
    this.options.clock.clearTimeout(this.#quietTimer);
    this.#quietTimer = undefined;
  }

  /** A snapshot opened, or an add-only message fed an open one: the quiet period starts over. */
  #activity(): void {
    if (this.#quietTimer !== undefined) {
      this.#quietTimer.refresh();
      return;
    }
    this.#quietTimer = this.options.clock.setTimeout(() => {
      this.#quietTimer = undefined;
      this.options.onQuiet();
    }, this.options.quietMs);
  }

  #complete(entry: SubscriptionEntry, events: CmsEvent[]): CmsEvent[] {
    entry.snapshot = 'complete';
    const { state, onCallGone } = this.options;
    if (entry.type !== 'calls') {
      for (const event of state.completeRosterSnapshot(entry.call as string)) events.push(event);
      return events;
    }
    for (const event of state.completeCallsSnapshot()) {
      events.push(event);
      if (event.type === 'call.ended') onCallGone(event.callId);
    }
    return events;
  }
}

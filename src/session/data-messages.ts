// The three data messages of the feed, one function each: subscription index → entry → the
// model (ServerState) → snapshot progress. No sockets and no timers: the connection passes
// itself as the context.
import type { CallInfoUpdate, CallListUpdate, RosterUpdate } from '../protocol/index.js';
import type { CmsEvent, ServerState } from '../state/index.js';
import type { SnapshotTracker } from './snapshot-tracker.js';
import type { SubscriptionSet } from './subscription-set.js';

export interface DataMessageContext {
  readonly subs: SubscriptionSet;
  readonly state: ServerState;
  readonly snapshots: SnapshotTracker;
  /** A call appeared: its per-call subscriptions are to be requested. */
  callAdded(callId: string): void;
  /** A call was removed: its per-call subscriptions are released. */
  callRemoved(callId: string): void;
  /** Data for an index that is not (or no longer) in the set, or of the wrong type. */
  unknownIndex(index: number): void;
}

export function applyCallList(ctx: DataMessageContext, message: CallListUpdate): CmsEvent[] | undefined {
  const entry = ctx.subs.get(message.subscriptionIndex);
  if (entry?.type !== 'calls') {
    ctx.unknownIndex(message.subscriptionIndex);
    return undefined;
  }
  const events = ctx.state.applyCallList(message.updates);
  let nonAdd = false;
  for (const update of message.updates) {
    if (update.updateType === 'add') ctx.callAdded(update.call);
    else {
      nonAdd = true;
      if (update.updateType === 'remove') ctx.callRemoved(update.call);
    }
  }
  if (entry.snapshot === 'complete') return events;
  return ctx.snapshots.progress(entry, nonAdd, events);
}

export function applyCallInfo(ctx: DataMessageContext, message: CallInfoUpdate): CmsEvent[] | undefined {
  const entry = ctx.subs.get(message.subscriptionIndex);
  if (entry?.type !== 'callInfo') {
    ctx.unknownIndex(message.subscriptionIndex);
    return undefined;
  }
  return ctx.state.applyCallInfo(entry.call as string, message.callInfo);
}

export function applyRoster(ctx: DataMessageContext, message: RosterUpdate): CmsEvent[] | undefined {
  const entry = ctx.subs.get(message.subscriptionIndex);
  if (entry?.type !== 'callRoster') {
    ctx.unknownIndex(message.subscriptionIndex);
    return undefined;
  }
  const events = ctx.state.applyRoster(entry.call as string, message.updates);
  if (entry.snapshot === 'complete') return events;
  let nonAdd = false;
  for (const update of message.updates) {
    if (update.updateType !== 'add') {
      nonAdd = true;
      break;
    }
  }
  return ctx.snapshots.progress(entry, nonAdd, events);
}

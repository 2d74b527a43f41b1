// Server messages built from the world: snapshots for a subscription that just became active,
// and deltas for a list of world changes. Messages are built with `messageId: 0`; the
// connection stamps the real id when the message leaves, since only then is its place known.
import type {
  CallInfoUpdate,
  CallListEntry,
  CallListUpdate,
  RosterEntry,
  RosterUpdate,
  ServerMessage,
  SubscriptionStatus,
  SubscriptionUpdate,
} from '../protocol/index.js';
import type { LiveSubscription, SubscriptionIndex } from './subscriptions.js';
import type { CallRecord, WorldChange } from './world.js';
import { assertNever } from '../assert-never.js';

type Values = Record<string, unknown>;
type Entry = CallListEntry | RosterEntry;

/** Updates per snapshot message: large rosters arrive over several messages, as on a real bridge. */
export const SNAPSHOT_CHUNK = 10;

/** Every subscribed element, null where unset: what `add` and a full callInfoUpdate carry. */
function allValues(target: Values, fields: Values, sub: LiveSubscription): Values {
  for (const element of sub.elements) target[element] = fields[element] ?? null;
  return target;
}

/** The subscribed elements among `changed`; false when none is subscribed. */
function changedValues(target: Values, fields: Values, changed: readonly string[], sub: LiveSubscription): boolean {
  let any = false;
  for (const element of changed) {
    if (sub.elementSet.has(element)) {
      target[element] = fields[element] ?? null;
      any = true;
    }
  }
  return any;
}

export function subscriptionUpdate(subscriptions: Iterable<LiveSubscription>, stateOf?: (sub: LiveSubscription) => string): SubscriptionUpdate {
  const list: SubscriptionStatus[] = [];
  for (const sub of subscriptions) list.push({ index: sub.index, state: stateOf ? stateOf(sub) : sub.state });
  return { messageId: 0, type: 'subscriptionUpdate', subscriptions: list };
}

const callAdd = (call: CallRecord, sub: LiveSubscription): CallListEntry =>
  allValues({ call: call.id, updateType: 'add' }, call.fields, sub) as unknown as CallListEntry;

/** The current state of a subscription that just became active, as `add` updates. */
export function snapshot(sub: LiveSubscription, calls: Iterable<CallRecord>, call: CallRecord | undefined, withCallInfo: boolean): ServerMessage[] {
  if (sub.type === 'callInfo') {
    if (!withCallInfo || !call) return [];
    const callInfo = allValues({}, call.fields, sub);
    return [{ messageId: 0, type: 'callInfoUpdate', subscriptionIndex: sub.index, callInfo } as CallInfoUpdate];
  }
  const entries: Entry[] = [];
  if (sub.type === 'calls') for (const each of calls) entries.push(callAdd(each, sub));
  else if (call) {
    for (const participant of call.roster.values()) {
      entries.push(allValues({ participant: participant.id, updateType: 'add' }, participant.fields, sub) as unknown as RosterEntry);
    }
  }
  const type = sub.type === 'calls' ? 'callListUpdate' : 'rosterUpdate';
  const messages: ServerMessage[] = [];
  for (let i = 0; i < entries.length; i += SNAPSHOT_CHUNK) {
    messages.push({ messageId: 0, type, subscriptionIndex: sub.index, updates: entries.slice(i, i + SNAPSHOT_CHUNK) } as ServerMessage);
  }
  return messages;
}

/** A late roster update for a call already removed: the race real bridges show (see the fixture). */
export function lateRosterUpdate(sub: LiveSubscription, call: CallRecord): RosterUpdate | undefined {
  const participant = call.roster.values().next().value ?? call.departed;
  if (!participant) return undefined;
  const entry: Values = { participant: participant.id, updateType: 'update' };
  const element = sub.elementSet.has('activeSpeaker') ? 'activeSpeaker' : sub.elements[0];
  if (element) entry[element] = participant.fields[element] ?? null;
  return { messageId: 0, type: 'rosterUpdate', subscriptionIndex: sub.index, updates: [entry as unknown as RosterEntry] };
}

interface Draft {
  message: CallListUpdate | RosterUpdate | CallInfoUpdate;
  /** The last list entry per id, so a batch touching one participant twice sends one update. */
  lastById?: Map<string, Entry>;
}

/**
 * Groups a list of world changes into one message per subscription, in the order each
 * subscription was first touched. Calls whose `remove` was among the changes are returned in
 * `ended`, so the caller can deactivate their per-call subscriptions after these messages.
 */
export function deltaMessages(changes: readonly WorldChange[], subs: SubscriptionIndex): { messages: ServerMessage[]; ended: CallRecord[] } {
  const drafts = new Map<LiveSubscription, Draft>();
  const ended: CallRecord[] = [];

  const listDraft = (sub: LiveSubscription, type: 'callListUpdate' | 'rosterUpdate'): Draft => {
    let draft = drafts.get(sub);
    if (!draft) {
      draft = { message: { messageId: 0, type, subscriptionIndex: sub.index, updates: [] } as CallListUpdate | RosterUpdate };
      drafts.set(sub, draft);
    }
    return draft;
  };
  const push = (draft: Draft, id: string, entry: Entry) => {
    (draft.message as CallListUpdate | RosterUpdate).updates.push(entry as never);
    (draft.lastById ??= new Map()).set(id, entry);
  };
  /** An update merges into the entry already drafted for the same id; an `add` already holds the latest values. */
  const update = (sub: LiveSubscription, type: 'callListUpdate' | 'rosterUpdate', idField: 'call' | 'participant', id: string, fields: Values, changed: readonly string[]) => {
    const existing = drafts.get(sub)?.lastById?.get(id);
    if (existing && existing.updateType !== 'remove') {
      if (existing.updateType === 'update') changedValues(existing as unknown as Values, fields, changed, sub);
      return;
    }
    const entry: Values = { [idField]: id, updateType: 'update' };
    if (changedValues(entry, fields, changed, sub)) push(listDraft(sub, type), id, entry as unknown as Entry);
  };

  for (const change of changes) {
    const call = change.call;
    switch (change.kind) {
      case 'callAdded':
        for (const sub of subs.calls) push(listDraft(sub, 'callListUpdate'), call.id, callAdd(call, sub));
        break;
      case 'callUpdated':
        for (const sub of subs.infoOf(call.id)) {
          let draft = drafts.get(sub);
          const callInfo: Values = draft ? ((draft.message as CallInfoUpdate).callInfo as Values) : {};
          if (changedValues(callInfo, call.fields, change.fields, sub) && !draft) {
            draft = { message: { messageId: 0, type: 'callInfoUpdate', subscriptionIndex: sub.index, callInfo } };
            drafts.set(sub, draft);
          }
        }
        for (const sub of subs.calls) update(sub, 'callListUpdate', 'call', call.id, call.fields, change.fields);
        break;
      case 'callRemoved':
        for (const sub of subs.calls) {
          push(listDraft(sub, 'callListUpdate'), call.id, { call: call.id, updateType: 'remove', reason: change.reason });
        }
        ended.push(call);
        break;
      case 'participantAdded':
        for (const sub of subs.rosterOf(call.id)) {
          const entry = allValues({ participant: change.participant.id, updateType: 'add' }, change.participant.fields, sub);
          push(listDraft(sub, 'rosterUpdate'), change.participant.id, entry as unknown as Entry);
        }
        break;
      case 'participantUpdated':
        for (const sub of subs.rosterOf(call.id)) {
          update(sub, 'rosterUpdate', 'participant', change.participant.id, change.participant.fields, change.fields);
        }
        break;
      case 'participantRemoved':
        for (const sub of subs.rosterOf(call.id)) {
          const entry: RosterEntry = { participant: change.participant.id, updateType: 'remove' };
          if (change.reason !== undefined) entry.reason = change.reason;
          push(listDraft(sub, 'rosterUpdate'), change.participant.id, entry);
        }
        break;
      default:
        assertNever(change, 'world change');
    }
  }
  const messages: ServerMessage[] = [];
  for (const draft of drafts.values()) messages.push(draft.message);
  return { messages, ended };
}

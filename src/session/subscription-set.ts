// The subscriptions of one server as desired state (docs/protocol.md §4): `calls`, plus `callInfo` and
// `callRoster` for every followed call. A subscribeRequest always carries the whole set, so the
// class answers two questions: what is the set now, and which subscription does an index name.
//
// Indexes belong to a connection: reset() forgets them, and within a connection an index is
// never reused, so an update can never be credited to the wrong call. A subscription the client
// drops keeps its index mapping until the server reports it ended (it does so for a dropped
// subscription and for a call that ended): until then, updates the server had queued still find
// their call. The server's messageAck does not mark that point, since acks may overtake queued
// messages. Past MAX_RETIRED such mappings the oldest go, so a server that never reports cannot
// grow memory without bound.
//
// Pure: no sockets, no timers, no clock.
import { SESSION_LIMITS } from '../defaults.js';
import {
  ELEMENTS_BY_SUBSCRIPTION_TYPE,
  type Subscription,
  type SubscriptionState,
  type SubscriptionType,
} from '../protocol/index.js';

/** Dropped subscriptions whose end the server has not reported yet, kept for their late updates. */
export const MAX_RETIRED = SESSION_LIMITS.maxRetiredIndexes;

export type PerCallType = 'callInfo' | 'callRoster';
export const PER_CALL_TYPES: readonly PerCallType[] = ['callInfo', 'callRoster'];

/** Progress of a subscription's initial snapshot on the current connection (calls and callRoster). */
export type SnapshotPhase = 'idle' | 'waiting' | 'complete';

export interface SubscriptionEntry {
  readonly type: SubscriptionType;
  /** The call of a callInfo/callRoster subscription; undefined for `calls`. */
  readonly call: string | undefined;
  /** Index on the current connection; 0 until it is first requested there. */
  index: number;
  /** The last state the server reported on the current connection. */
  state: SubscriptionState | undefined;
  /** Owned by the session: progress of this subscription's snapshot. */
  snapshot: SnapshotPhase;
  /** Left out of the set by the client; mapped until the server reports it ended. */
  retired: boolean;
}

type CallSubscriptions = { [T in PerCallType]?: SubscriptionEntry };

export type ElementSelection = Partial<Record<SubscriptionType, readonly string[]>>;

const newEntry = (type: SubscriptionType, call: string | undefined): SubscriptionEntry => ({
  type,
  call,
  index: 0,
  state: undefined,
  snapshot: 'idle',
  retired: false,
});

export class SubscriptionSet {
  readonly #elements: Record<SubscriptionType, readonly string[]>;
  /** Per-call types followed for every call that appears; a type configured with [] is not. */
  readonly #defaultTypes: readonly PerCallType[];
  readonly #callsEntry = newEntry('calls', undefined);
  /** Followed calls; a call with no entries is known but deliberately not followed (exclude()). */
  readonly #perCall = new Map<string, CallSubscriptions>();
  readonly #byIndex = new Map<number, SubscriptionEntry>();
  #nextIndex = 1;
  #changed = true;
  /** Dropped by the client, by index, oldest first. */
  readonly #retired = new Map<number, SubscriptionEntry>();

  /**
   * `elements` selects elements per type; all of them by default. An empty list for callInfo or
   * callRoster means "not for every call" (include() can still ask for it, with all elements).
   */
  constructor(elements: ElementSelection = {}) {
    const pick = (type: SubscriptionType): readonly string[] => {
      const chosen = elements[type];
      return chosen && chosen.length > 0 ? chosen : ELEMENTS_BY_SUBSCRIPTION_TYPE[type];
    };
    this.#elements = { calls: pick('calls'), callInfo: pick('callInfo'), callRoster: pick('callRoster') };
    this.#defaultTypes = PER_CALL_TYPES.filter((type) => elements[type] === undefined || elements[type].length > 0);
  }

  /** True when the desired set differs from the last request built. */
  get changed(): boolean {
    return this.#changed;
  }

  /** Number of subscriptions in the desired set. */
  get size(): number {
    let size = 1;
    for (const subs of this.#perCall.values()) size += (subs.callInfo ? 1 : 0) + (subs.callRoster ? 1 : 0);
    return size;
  }

  /** The subscription an index names on this connection (dropped ones until the server reports them ended). */
  get(index: number): SubscriptionEntry | undefined {
    return this.#byIndex.get(index);
  }

  /** True for a known call (followed, or excluded by the client). */
  hasCall(callId: string): boolean {
    return this.#perCall.has(callId);
  }

  /** Every subscription of the desired set. */
  *entries(): IterableIterator<SubscriptionEntry> {
    yield this.#callsEntry;
    for (const subs of this.#perCall.values()) {
      if (subs.callInfo) yield subs.callInfo;
      if (subs.callRoster) yield subs.callRoster;
    }
  }

  /** A call appeared: follow it with the default types, unless it is known already. Returns true on a change. */
  addCall(callId: string): boolean {
    if (this.#perCall.has(callId)) return false;
    this.#perCall.set(callId, {});
    return this.include(callId, this.#defaultTypes);
  }

  /** Follows these per-call types of a call too (known or not). Returns true on a change. */
  include(callId: string, types: readonly PerCallType[]): boolean {
    let subs = this.#perCall.get(callId);
    if (subs === undefined) this.#perCall.set(callId, (subs = {}));
    let changed = false;
    for (const type of types) {
      if (subs[type]) continue;
      subs[type] = newEntry(type, callId);
      changed = true;
    }
    if (changed) this.#changed = true;
    return changed;
  }

  /** Stops following a call; it stays known, so a snapshot re-announcing it does not resubscribe. */
  exclude(callId: string): SubscriptionEntry[] {
    const subs = this.#perCall.get(callId);
    if (subs === undefined) {
      this.#perCall.set(callId, {});
      return [];
    }
    return this.#retire(subs);
  }

  /** The call ended: forget it and drop its subscriptions. Returns the dropped ones. */
  removeCall(callId: string): SubscriptionEntry[] {
    const subs = this.#perCall.get(callId);
    if (subs === undefined) return [];
    this.#perCall.delete(callId);
    return this.#retire(subs);
  }

  /**
   * The server reported a subscription ended (deactivated, or an error state for a call it does
   * not know). It leaves the set without a new request: the server has already dropped it.
   */
  drop(entry: SubscriptionEntry): void {
    if (entry.call === undefined) return;
    const subs = this.#perCall.get(entry.call);
    if (subs?.[entry.type as PerCallType] === entry) delete subs[entry.type as PerCallType];
    if (this.#byIndex.get(entry.index) === entry) this.#byIndex.delete(entry.index);
    this.#retired.delete(entry.index);
  }

  /** The full desired set as a request body; assigns indexes to new subscriptions. */
  buildRequest(): Subscription[] {
    const list: Subscription[] = [];
    for (const entry of this.entries()) {
      if (entry.index === 0) {
        entry.index = this.#nextIndex++;
        this.#byIndex.set(entry.index, entry);
      }
      list.push(this.#toWire(entry));
    }
    this.#changed = false;
    return list;
  }

  /** A new connection: indexes and server states start over; the next request carries everything. */
  reset(): void {
    this.#byIndex.clear();
    this.#retired.clear();
    this.#nextIndex = 1;
    for (const entry of this.entries()) {
      entry.index = 0;
      entry.state = undefined;
      entry.snapshot = 'idle';
    }
    this.#changed = true;
  }

  #retire(subs: CallSubscriptions): SubscriptionEntry[] {
    const retired: SubscriptionEntry[] = [];
    for (const type of PER_CALL_TYPES) {
      const entry = subs[type];
      if (entry === undefined) continue;
      delete subs[type];
      entry.retired = true;
      retired.push(entry);
      if (entry.index === 0) continue;
      this.#retired.set(entry.index, entry);
      if (this.#retired.size > MAX_RETIRED) {
        const [oldest] = this.#retired.keys();
        this.#retired.delete(oldest);
        this.#byIndex.delete(oldest);
      }
    }
    if (retired.length > 0) this.#changed = true;
    return retired;
  }

  #toWire(entry: SubscriptionEntry): Subscription {
    // Configured element names are passed through as given; the config layer validates them.
    const elements = this.#elements[entry.type] as never;
    return entry.type === 'calls'
      ? { index: entry.index, type: 'calls', elements }
      : { index: entry.index, type: entry.type, call: entry.call as string, elements };
  }
}

// A connection's subscription set: checking a requested set, and finding the subscriptions a
// world change concerns without scanning the whole set.
import { ELEMENTS_BY_SUBSCRIPTION_TYPE, type Subscription, type SubscriptionType } from '../protocol/index.js';

export interface LiveSubscription {
  readonly index: number;
  readonly type: SubscriptionType;
  /** The call of a callInfo/callRoster subscription. */
  readonly call: string | undefined;
  /** Subscribed elements, in the reference's order, so every message spells them alike. */
  readonly elements: readonly string[];
  readonly elementSet: ReadonlySet<string>;
  /** Equal keys mean the same subscription: a request repeating it must not restart it. */
  readonly key: string;
  state: string;
}

export type CheckedRequest =
  | { ok: true; subscriptions: LiveSubscription[]; problems: string[] }
  | { ok: false; problem: string };

/**
 * Turns a parsed request into pending subscriptions. Unknown elements are reported in `problems`
 * and left out (the rest of the subscription works); a repeated index rejects the whole request.
 */
export function checkRequest(requested: readonly Subscription[]): CheckedRequest {
  const seen = new Set<number>();
  const problems: string[] = [];
  const subscriptions: LiveSubscription[] = [];
  for (const sub of requested) {
    if (seen.has(sub.index)) return { ok: false, problem: `index ${sub.index} appears twice` };
    seen.add(sub.index);
    const known: readonly string[] = ELEMENTS_BY_SUBSCRIPTION_TYPE[sub.type];
    const asked = new Set<string>(sub.elements ?? []);
    for (const element of asked) {
      if (!known.includes(element)) problems.push(`index ${sub.index}: "${element}" is not a ${sub.type} element`);
    }
    const elements = known.filter((element) => asked.has(element));
    const call = sub.type === 'calls' ? undefined : sub.call;
    subscriptions.push({
      index: sub.index,
      type: sub.type,
      call,
      elements,
      elementSet: new Set(elements),
      key: `${sub.type}|${call ?? ''}|${elements.join(',')}`,
      state: 'pending',
    });
  }
  return { ok: true, subscriptions, problems };
}

/** The active subscriptions, looked up the way world changes need them. */
export class SubscriptionIndex {
  calls: LiveSubscription[] = [];
  private readonly info = new Map<string, LiveSubscription[]>();
  private readonly roster = new Map<string, LiveSubscription[]>();
  private static readonly NONE: readonly LiveSubscription[] = [];

  rebuild(set: Iterable<LiveSubscription>): void {
    this.calls = [];
    this.info.clear();
    this.roster.clear();
    for (const sub of set) {
      if (sub.state !== 'active') continue;
      if (sub.type === 'calls') this.calls.push(sub);
      else {
        const byCall = sub.type === 'callInfo' ? this.info : this.roster;
        const list = byCall.get(sub.call as string);
        if (list) list.push(sub);
        else byCall.set(sub.call as string, [sub]);
      }
    }
  }

  infoOf(callId: string): readonly LiveSubscription[] {
    return this.info.get(callId) ?? SubscriptionIndex.NONE;
  }

  rosterOf(callId: string): readonly LiveSubscription[] {
    return this.roster.get(callId) ?? SubscriptionIndex.NONE;
  }
}

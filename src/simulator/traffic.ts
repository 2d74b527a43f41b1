// Plays realistic meetings on a world: calls start and end, people dial in or are dialled out
// (ringing, connect with their name and number filled in), mute, hold, speak over each other,
// change layout, leave. The pace is a budget of server messages per second, as seen by a client
// subscribed to everything; each action spends what it will roughly cost on the wire.
import { CALL_TYPES, LAYOUTS } from '../protocol/index.js';
import type { CallSnapshot, World } from './types.js';
import { WorldError } from './world.js';
import { realClock, type Clock, type TimerHandle } from '../clock.js';

export interface TrafficOptions {
  /** Approximate server messages per second; default 5; 0 plays nothing. */
  rate?: number;
  /** Default Math.random; inject a seeded one for a reproducible run. */
  random?: () => number;
  /** Most calls live at once; default 4. */
  maxCalls?: number;
  /** The pace's clock; default the real one (performance.now for sub-millisecond pauses). Tests pass a manual one. */
  clock?: Clock;
}

const MEETING_NAMES = ['Weekly Sync', 'Design Review', 'Sales Standup', 'Board Meeting', 'Incident Bridge', 'All Hands', 'Customer Call', 'Sprint Planning', '1:1', 'Training'];
const PEOPLE = ['Kim Lee', 'Ana Souza', 'Ravi Patel', 'Jonas Berg', 'Mei Chen', 'Omar Haddad', 'Lucia Rossi', 'Tom Walsh', 'Aiko Tanaka', 'Sam Okafor'];
const ROOMS = ['Room 4.12', 'Boardroom', 'Huddle 2', 'Lab East', 'Studio B'];
const HANGUP_REASONS = [undefined, 'participantInitiated'];

/** Names of people still joining are pruned past this many (others may remove them behind our back). */
const FORGET_NAMES_ABOVE = 256;
/** Most actions played in one tick, and how far behind the schedule may fall before it is reset,
 * so that a stalled event loop does not unleash a flood. */
const MAX_STEPS_PER_TICK = 200;
const MAX_CATCH_UP_MS = 1000;

interface Plan {
  /** Roster size the meeting grows to. */
  size: number;
  /** Step after which people only leave, and the call ends once empty. */
  endsAt: number;
}

type Call = CallSnapshot;
type Person = Call['roster'][number];

export function startTraffic(world: World, options: TrafficOptions = {}): { stop(): void } {
  const rate = options.rate ?? 5;
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`traffic rate must be a number >= 0, not ${rate}`);
  if (rate === 0) return { stop: () => undefined };
  const player = new MeetingPlayer(world, options.random ?? Math.random, options.maxCalls ?? 4);
  // People act independently, so actions come as a Poisson process: each one after an
  // exponentially distributed pause, as long on average as its messages are worth at this rate.
  // (An interval timer per server gave every server a fixed rhythm, and intervals that fire in
  // the same turn are re-armed from the same clock reading, so servers shared ticks: with 100
  // servers at 5,000 messages/s the busiest millisecond held 20–32 sends, against 17–20 now.)
  // The pauses draw on Math.random, not `random`, so a seeded run still plays the same actions.
  const meanGapMs = 1000 / rate;
  const clock = options.clock ?? realClock;
  const now = options.clock ? () => clock.now() : () => performance.now();
  let nextAt = now() + exponential() * meanGapMs;
  let stopped = false;
  let timer: TimerHandle | undefined;
  const schedule = (delay: number): void => {
    timer = clock.setTimeout(tick, Math.max(0, delay));
    (timer as { unref?: () => void }).unref?.();
  };
  const tick = (): void => {
    const at = now();
    if (at - nextAt > MAX_CATCH_UP_MS) nextAt = at;
    for (let steps = 0; nextAt <= at && steps < MAX_STEPS_PER_TICK; steps += 1) nextAt += exponential() * player.step() * meanGapMs;
    if (!stopped) schedule(nextAt - at);
  };
  schedule(nextAt - now());
  return {
    stop: () => {
      stopped = true;
      clock.clearTimeout(timer);
    },
  };
}

/** A draw from the exponential distribution with mean 1. */
function exponential(): number {
  return -Math.log(1 - Math.random());
}

class MeetingPlayer {
  private readonly plans = new Map<string, Plan>();
  /** Who a participant turns out to be: the roster shows the name only once the call connects. */
  private readonly names = new Map<string, string>();
  private steps = 0;
  private dialled = 5550000;

  constructor(
    private readonly world: World,
    private readonly random: () => number,
    private readonly maxCalls: number,
  ) {}

  /** Plays one action; returns the number of messages it costs (at least 1). */
  step(): number {
    this.steps += 1;
    const calls = this.world.listCalls();
    this.forgetEnded(calls);
    const actions: Array<[weight: number, act: () => number]> = [];
    if (calls.length < this.maxCalls) actions.push([calls.length === 0 ? 100 : 3, () => this.startCall()]);
    for (const call of calls) this.actionsFor(call, actions);
    if (actions.length === 0) return 1;
    try {
      return Math.max(1, this.pickWeighted(actions)());
    } catch (error) {
      // Someone else (a test, the control API) changed the world between our read and our write.
      if (error instanceof WorldError) return 1;
      throw error;
    }
  }

  private actionsFor(call: Call, actions: Array<[number, () => number]>): void {
    const plan = this.planFor(call.id);
    const ending = this.steps >= plan.endsAt;
    const roster = call.roster;
    const connected = roster.filter((p) => p.state === 'connected');
    if (ending) {
      if (roster.length === 0) actions.push([20, () => this.endCall(call, 'allLeft')]);
      else actions.push([20, () => this.leave(call, this.pick(roster), roster.length === 1)]);
      return;
    }
    if (roster.length < plan.size) actions.push([6, () => this.join(call)]);
    for (const person of roster) {
      if (person.state === 'initial' || person.state === 'ringing') actions.push([8, () => this.progress(call, person)]);
    }
    if (connected.length > 0) {
      actions.push([4, () => this.toggle(call, this.pick(connected), this.random() < 0.7 ? 'audioMuted' : 'videoMuted')]);
      actions.push([1, () => this.hold(call, this.pick(connected))]);
      actions.push([1, () => this.toggle(call, this.pick(connected), 'presenter')]);
      actions.push([1, () => this.leave(call, this.pick(connected), false)]);
    }
    const held = roster.filter((p) => p.state === 'onHold');
    if (held.length > 0) actions.push([2, () => this.resume(call, this.pick(held))]);
    if (connected.length >= 2) {
      actions.push([6, () => this.flapSpeaker(call, connected)]);
      actions.push([1, () => this.changeLayout(call)]);
    }
    actions.push([1, () => this.toggleRecording(call)]);
    // A meeting ended by its host while people are still in it: the client must synthesize the leaves.
    if (roster.length > 0) actions.push([0.1, () => this.endCall(call, 'participantInitiated')]);
  }

  private startCall(): number {
    const callType = this.random() < 0.85 ? 'coSpace' : this.pick(CALL_TYPES.slice(1));
    const id = this.world.createCall({ name: this.pick(MEETING_NAMES), callType });
    this.planFor(id);
    // callListUpdate add, then the client's per-call subscriptions: pending, active, callInfo.
    return 4;
  }

  private join(call: Call): number {
    const layout = call.roster[0]?.layout ?? 'allEqual';
    if (this.random() < 0.6) {
      const room = this.random() < 0.4;
      const person = room ? this.pick(ROOMS) : this.pick(PEOPLE);
      const uri = `${person.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.com`;
      const id = this.world.addParticipant(call.id, { name: '', uri, state: 'initial', direction: 'incoming', layout, canMove: !room });
      this.names.set(id, person);
    } else {
      this.dialled += 1;
      const id = this.world.addParticipant(call.id, { name: '', uri: `${this.dialled}@example.com`, state: 'initial', direction: 'outgoing', layout });
      this.names.set(id, this.pick(PEOPLE));
    }
    return 1;
  }

  /** Dial-in: initial → connected. Dial-out: initial → ringing → connected, or no answer. */
  private progress(call: Call, person: Person): number {
    if (person.direction === 'outgoing' && person.state === 'initial') {
      if (this.random() < 0.1) return this.leave(call, person, false, 'unknownDestination');
      this.world.updateParticipant(call.id, person.id, { state: 'ringing' });
      return 1;
    }
    const uri = person.uri ?? '';
    const user = uri.split('@', 1)[0] ?? '';
    const numbered = /^\d+$/.test(user) && !uri.includes(';x-cisco-number=');
    this.world.updateParticipant(call.id, person.id, {
      state: 'connected',
      name: person.name || this.names.get(person.id) || this.pick(PEOPLE),
      ...(numbered ? { uri: `${uri};x-cisco-number=${user}` } : {}),
    });
    this.names.delete(person.id);
    // Roster update, then the count change on callInfo and callList.
    return 3;
  }

  private toggle(call: Call, person: Person, element: 'audioMuted' | 'videoMuted' | 'presenter'): number {
    this.world.updateParticipant(call.id, person.id, { [element]: !person[element] });
    return 1;
  }

  private hold(call: Call, person: Person): number {
    this.world.updateParticipant(call.id, person.id, { state: 'onHold', activeSpeaker: false });
    return 1;
  }

  private resume(call: Call, person: Person): number {
    this.world.updateParticipant(call.id, person.id, { state: 'connected' });
    return 1;
  }

  /** The speaker moves: one message with two roster updates. */
  private flapSpeaker(call: Call, connected: Person[]): number {
    const current = connected.find((p) => p.activeSpeaker);
    const others = connected.filter((p) => p !== current);
    const next = this.pick(others);
    this.world.batch(() => {
      if (current) this.world.updateParticipant(call.id, current.id, { activeSpeaker: false });
      this.world.updateParticipant(call.id, next.id, { activeSpeaker: true });
    });
    return 1;
  }

  /** A layout change for everyone: one message with an update per participant. */
  private changeLayout(call: Call): number {
    const layout = this.pick(LAYOUTS);
    this.world.batch(() => {
      for (const person of call.roster) this.world.updateParticipant(call.id, person.id, { layout });
    });
    return 1;
  }

  private toggleRecording(call: Call): number {
    this.world.updateCall(call.id, { recording: call.recording === 'active' ? 'inactive' : 'active' });
    return 2;
  }

  /** The last one out ends the call: the roster remove, then the call's remove, no "participants: 0". */
  private leave(call: Call, person: Person, last: boolean, reason = this.pick(HANGUP_REASONS)): number {
    this.names.delete(person.id);
    if (last) {
      this.world.batch(() => {
        this.world.removeParticipant(call.id, person.id, reason);
        this.world.endCall(call.id, 'allLeft');
      });
      this.plans.delete(call.id);
      return 3;
    }
    this.world.removeParticipant(call.id, person.id, reason);
    return person.state === 'connected' || person.state === 'onHold' ? 3 : 1;
  }

  private endCall(call: Call, reason: string): number {
    for (const person of call.roster) this.names.delete(person.id);
    this.world.endCall(call.id, reason);
    this.plans.delete(call.id);
    // callListUpdate remove, then deactivated for its per-call subscriptions.
    return 2;
  }

  private planFor(callId: string): Plan {
    let plan = this.plans.get(callId);
    if (!plan) {
      plan = { size: 2 + Math.floor(this.random() * 5), endsAt: this.steps + 60 + Math.floor(this.random() * 140) };
      this.plans.set(callId, plan);
    }
    return plan;
  }

  /** Drops what the player remembers of calls and people that someone else removed. */
  private forgetEnded(calls: readonly Call[]): void {
    if (this.plans.size > calls.length) {
      const live = new Set(calls.map((c) => c.id));
      for (const id of this.plans.keys()) if (!live.has(id)) this.plans.delete(id);
    }
    if (this.names.size > FORGET_NAMES_ABOVE) {
      const present = new Set(calls.flatMap((c) => c.roster.map((p) => p.id)));
      for (const id of this.names.keys()) if (!present.has(id)) this.names.delete(id);
    }
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length) % items.length] as T;
  }

  private pickWeighted<T>(weighted: ReadonlyArray<[number, T]>): T {
    let total = 0;
    for (const [weight] of weighted) total += weight;
    let roll = this.random() * total;
    for (const [weight, item] of weighted) {
      roll -= weight;
      if (roll < 0) return item;
    }
    return weighted[weighted.length - 1]![1];
  }
}
